"""Small presentation pieces for jobs: stage chips, feed sentences, money, days in stage."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_currency
from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from jobline.jobs.models import Activity, ActivityKind
from jobline.jobs.selectors import is_customer_visible
from jobline.pipelines.models import FieldType, Stage, contrast_text_colour

register = template.Library()


@register.simple_tag
def stage_chip(stage: Stage) -> SafeString:
    """A stage's colour as a chip, text colour chosen for contrast. Colours come from the
    business, so they go through a data attribute that app.js applies (no inline styles)."""
    return format_html(
        '<span class="chip chip-stage" data-bg="{}" data-fg="{}">{}</span>',
        stage.colour,
        stage.text_colour,
        stage.name,
    )


@register.simple_tag
def colour_chip(colour: str, text: str) -> SafeString:
    return format_html(
        '<span class="chip chip-stage" data-bg="{}" data-fg="{}">{}</span>',
        colour,
        contrast_text_colour(colour),
        text,
    )


@register.filter
def days_since(moment: dt.datetime | None) -> int:
    if moment is None:
        return 0
    return max(0, (timezone.now() - moment).days)


@register.simple_tag(takes_context=True)
def money(context: dict[str, Any], amount: Any) -> str:
    workspace = context.get("workspace")
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount or "")
    currency = getattr(workspace, "currency", "GBP")
    locale = getattr(workspace, "locale", "en-GB").replace("-", "_")
    return format_currency(value, currency, locale=locale)


@register.simple_tag(takes_context=True)
def field_display(context: dict[str, Any], field: Any, value: Any) -> str:
    """A saved stage-form value as people read it."""
    if value is None or value == "" or value == []:
        return "—"
    if field.field_type == FieldType.CHECKBOX:
        return "Yes" if value else "No"
    if field.field_type == FieldType.MONEY:
        return money(context, value)
    if field.field_type == FieldType.DATE:
        try:
            return dt.date.fromisoformat(value).strftime("%-d %b %Y")
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, list):
        return ", ".join(str(v.get("name", v)) if isinstance(v, dict) else str(v) for v in value)
    return str(value)


@register.simple_tag(takes_context=True)
def saved_value(context: dict[str, Any], field: Any, values: dict[int, Any]) -> str:
    return field_display(context, field, values.get(field.pk))


@register.filter
def customer_visible(entry: Activity) -> bool:
    return is_customer_visible(entry)


def _stage_name(ref: dict[str, Any] | None) -> str:
    return (ref or {}).get("name", "?")


@register.simple_tag(takes_context=True)
def feed_sentence(context: dict[str, Any], entry: Activity) -> SafeString:
    """What happened, in words. Names were copied into the entry when it was written."""
    data = entry.data or {}
    membership = context.get("membership")
    sees_money = membership is None or membership.can_see_money
    kind = entry.kind
    if kind == ActivityKind.CREATED:
        return format_html("created the job in <strong>{}</strong>", _stage_name(data.get("stage")))
    if kind == ActivityKind.STATUS_CHANGED:
        verb = "closed the job:" if data.get("closed") else "moved the job"
        if data.get("reopened"):
            verb = "reopened the job:"
        return format_html(
            "{} <strong>{}</strong> → <strong>{}</strong>",
            verb,
            _stage_name(data.get("from")),
            _stage_name(data.get("to")),
        )
    if kind in (ActivityKind.OWNER_CHANGED, ActivityKind.CUSTOMER_CHANGED):
        what = "owner" if kind == ActivityKind.OWNER_CHANGED else "customer"
        old = (data.get("old") or {}).get("name") or "nobody"
        new = (data.get("new") or {}).get("name") or "nobody"
        return format_html("changed the {} from {} to <strong>{}</strong>", what, old, new)
    if kind == ActivityKind.DUE_DATE_CHANGED:
        return format_html(
            "changed the due date from {} to <strong>{}</strong>",
            data.get("old") or "none",
            data.get("new") or "none",
        )
    if kind == ActivityKind.TITLE_CHANGED:
        return format_html(
            "renamed the job from “{}” to <strong>“{}”</strong>", data.get("old"), data.get("new")
        )
    if kind == ActivityKind.NOTE:
        return mark_safe("added an internal note")
    if kind == ActivityKind.REPLY:
        return mark_safe("replied to the customer")
    if kind == ActivityKind.REPLY_VISIBILITY_CHANGED:
        return mark_safe("made a reply internal (the customer no longer sees it)")
    if kind == ActivityKind.FILE_ADDED:
        return format_html("added the file <strong>{}</strong>", data.get("name", "a file"))
    if kind == ActivityKind.FILE_VISIBILITY_CHANGED:
        new = "visible to the customer" if data.get("new") == "customer" else "internal"
        return format_html("made <strong>{}</strong> {}", data.get("name", "a file"), new)
    if kind == ActivityKind.FORM_SAVED:
        retired = getattr(entry, "retired_field_ids", set())
        changes = [c for c in data.get("changes", []) if sees_money or not c.get("money")]
        hidden = len(data.get("changes", [])) - len(changes)
        lines = format_html_join(
            "",
            "<li>{}{}: {} → <strong>{}</strong></li>",
            (
                (
                    change.get("label"),
                    " (retired field)" if change.get("field") in retired else "",
                    change.get("old") or "—",
                    change.get("new") or "—",
                )
                for change in changes
            ),
        )
        if hidden:
            lines = format_html("{}<li class=\"muted\">{} amount{} not shown</li>", lines,
                                hidden, "s" if hidden > 1 else "")  # fmt: skip
        return format_html(
            'saved the <strong>{}</strong> form<ul class="changes">{}</ul>',
            _stage_name(data.get("stage")),
            lines,
        )
    if kind == ActivityKind.REQUEST_CREATED:
        return format_html("asked the customer for <strong>{}</strong>", data.get("title"))
    if kind == ActivityKind.REQUEST_FULFILLED:
        return format_html("sent the requested <strong>{}</strong>", data.get("title"))
    if kind == ActivityKind.REQUEST_REOPENED:
        return format_html(
            "reopened the request for <strong>{}</strong>: {}", data.get("title"),
            data.get("reason"),
        )  # fmt: skip
    if kind == ActivityKind.ARCHIVED:
        return mark_safe("archived the job")
    if kind == ActivityKind.RESTORED:
        return mark_safe("restored the job")
    if kind == ActivityKind.COPIED:
        if data.get("direction") == "to":
            return format_html(
                "copied the job into <strong>{}</strong> as {}", data.get("pipeline"),
                data.get("job"),
            )  # fmt: skip
        return format_html(
            "created this job as a copy of {} from <strong>{}</strong>",
            data.get("job"),
            data.get("pipeline"),
        )
    return format_html("{}", entry.get_kind_display())
