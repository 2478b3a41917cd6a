"""A field reaches the customer only when it is flagged visible, is not retired, and its stage
is live and visible to the customer (ARCHITECTURE.md: an internal stage makes everything on it
internal). The rule has a form for queries (the fields' customer_sees annotation) and one for
a field in hand (StageField.reaches_customer, used while saving a form); both must say what
the written rule says, for every combination."""

from __future__ import annotations

import itertools

import pytest
from django.utils import timezone

from jobline.pipelines.models import Pipeline, Stage, StageField


def written_rule(field_visible: bool, retired: bool, stage_visible: bool, deleted: bool) -> bool:
    return field_visible and not retired and stage_visible and not deleted


@pytest.mark.parametrize(
    ("field_visible", "retired", "stage_visible", "deleted"),
    list(itertools.product([True, False], repeat=4)),
)
def test_both_forms_of_the_rule_say_what_is_written(
    blank: Pipeline, field_visible: bool, retired: bool, stage_visible: bool, deleted: bool
) -> None:
    now = timezone.now()
    stage = Stage.objects.create(
        pipeline=blank, name="Checked", position=10_000, visible_to_customer=stage_visible,
        deleted_at=now if deleted else None,
    )  # fmt: skip
    field = StageField.objects.create(
        stage=stage, label="Serial", visible_to_customer=field_visible,
        retired_at=now if retired else None,
    )  # fmt: skip
    expected = written_rule(field_visible, retired, stage_visible, deleted)
    in_hand = StageField.objects.select_related("stage").get(pk=field.pk)
    assert in_hand.reaches_customer is expected
    annotated = StageField.objects.with_customer_visibility().get(pk=field.pk)
    assert annotated.customer_sees is expected
