"""The rules of a stage's job form: conditions, what counts as filled, what is still missing.
Pure functions of the fields and the saved values; the services and forms both use them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jobline.jobs.activity import value_as_text
from jobline.pipelines.models import StageField


def condition_holds(field: StageField, values: Mapping[int, Any]) -> bool:
    """A condition compares the other field's value as text; a checkbox reads "true"/"false"."""
    if field.condition_field_id is None:
        return True
    value = values.get(field.condition_field_id)
    if isinstance(value, bool) or value is None:
        text = "true" if value else "false"
    else:
        text = value_as_text(value)
    return text == field.condition_value


def is_filled(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, str | list | dict):
        return bool(value)
    return True


def same_value(old: Any, new: Any) -> bool:
    """Saving an empty value over an empty one changes nothing."""
    return (old if is_filled(old) else None) == (new if is_filled(new) else None)


def missing_required(fields: Iterable[StageField], values: Mapping[int, Any]) -> list[StageField]:
    """The live required fields, shown by their conditions, that have no value yet."""
    return [
        f
        for f in fields
        if f.retired_at is None
        and f.required
        and condition_holds(f, values)
        and not is_filled(values.get(f.pk))
    ]
