"""ChoiceLabels (core/models.py) gathers a field's labels once; every label it gives is the
one Django's own get_FOO_display() gives, for each choice and for a value outside them."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import models

from jobline.core.models import ChoiceLabels

MODELS = [m for m in apps.get_models() if issubclass(m, ChoiceLabels)]


def test_the_models_whose_lists_show_labels_have_them() -> None:
    names = {m._meta.label for m in MODELS}
    assert {"quotes.Quote", "bookings.Booking", "jobs.Activity", "workspaces.Membership"} <= names


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_each_label_is_djangos(model: type[models.Model]) -> None:
    fields = [f for f in model._meta.concrete_fields if f.choices]
    assert fields, model
    for field in fields:
        for value in [*(value for value, _label in field.flatchoices), "not-a-choice"]:
            instance = model(**{field.attname: value})
            ours = getattr(instance, f"get_{field.name}_display")()
            assert ours == models.Model._get_FIELD_display(instance, field), (field, value)
            assert ours is not None
