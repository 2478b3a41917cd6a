"""Small presentation pieces for jobs: stage chips, feed sentences, money, days in stage."""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_currency
from django import template
from django.template.defaultfilters import linebreaksbr, urlizetrunc
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.translation import gettext

from jobline.jobs import activity
from jobline.jobs.models import Activity
from jobline.pipelines.models import FieldType, Stage, contrast_text_colour
from jobline.workspaces.viewers import sees_money

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
    """An amount in the workspace's currency and locale — or nothing at all for a viewer who
    may not see money (sees_money fails closed: no viewer in the context, no amount)."""
    if not sees_money(context.get("viewer")):
        return ""
    workspace = context.get("workspace") or context.get("business")
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


@register.simple_tag(takes_context=True)
def feed_sentence(context: dict[str, Any], entry: Activity) -> SafeString:
    """What happened, in words, from the entry's typed payload (jobs/activity.py). Names were
    copied into the entry when it was written. Form entries carry ``lines`` and
    ``hidden_amounts`` from selectors.feed (the money rule already applied)."""
    payload = entry.payload
    if isinstance(payload, activity.Created):
        return format_html("created the job in <strong>{}</strong>", payload.stage.name)
    if isinstance(payload, activity.StatusChanged):
        verb = "closed the job:" if payload.closed else "moved the job"
        if payload.reopened:
            verb = "reopened the job:"
        return format_html(
            "{} <strong>{}</strong> → <strong>{}</strong>", verb, payload.old.name, payload.new.name
        )
    if isinstance(payload, activity.OwnerChanged | activity.CustomerChanged):
        what = "owner" if isinstance(payload, activity.OwnerChanged) else "customer"
        old = payload.old.name if payload.old else "nobody"
        new = payload.new.name if payload.new else "nobody"
        return format_html("changed the {} from {} to <strong>{}</strong>", what, old, new)
    if isinstance(payload, activity.DueDateChanged):
        return format_html(
            "changed the due date from {} to <strong>{}</strong>",
            payload.old.isoformat() if payload.old else "none",
            payload.new.isoformat() if payload.new else "none",
        )
    if isinstance(payload, activity.TitleChanged):
        return format_html(
            "renamed the job from “{}” to <strong>“{}”</strong>", payload.old, payload.new
        )
    if isinstance(payload, activity.Note):
        return mark_safe("added an internal note")
    if isinstance(payload, activity.Reply):
        return mark_safe("replied to the customer")
    if isinstance(payload, activity.ReplyMadeInternal):
        return mark_safe("made a reply internal (the customer no longer sees it)")
    if isinstance(payload, activity.FileAdded):
        return format_html("added the file <strong>{}</strong>", payload.name)
    if isinstance(payload, activity.FileVisibilityChanged):
        new = "visible to the customer" if payload.shared else "internal"
        return format_html("made <strong>{}</strong> {}", payload.name, new)
    if isinstance(payload, activity.FormSaved):
        lines = format_html_join(
            "",
            "<li>{}{}: {} → <strong>{}</strong></li>",
            (
                (line.label, " (retired field)" if line.retired else "", line.old or "—",
                 line.new or "—")
                for line in getattr(entry, "lines", [])
            ),
        )  # fmt: skip
        hidden = getattr(entry, "hidden_amounts", 0)
        if hidden:
            lines = format_html("{}<li class=\"muted\">{} amount{} not shown</li>", lines,
                                hidden, "s" if hidden > 1 else "")  # fmt: skip
        return format_html(
            'saved the <strong>{}</strong> form<ul class="changes">{}</ul>',
            payload.stage.name,
            lines,
        )
    if isinstance(payload, activity.RequestCreated):
        return format_html("asked the customer for <strong>{}</strong>", payload.title)
    if isinstance(payload, activity.RequestFulfilled):
        return format_html("sent the requested <strong>{}</strong>", payload.title)
    if isinstance(payload, activity.RequestReopened):
        return format_html(
            "reopened the request for <strong>{}</strong>: {}", payload.title, payload.reason
        )
    if isinstance(payload, activity.Archived):
        return mark_safe("archived the job")
    if isinstance(payload, activity.Restored):
        return mark_safe("restored the job")
    if isinstance(payload, activity.Copied):
        if payload.direction == "to":
            return format_html(
                "copied the job into <strong>{}</strong> as {}", payload.pipeline, payload.job
            )
        return format_html(
            "created this job as a copy of {} from <strong>{}</strong>",
            payload.job,
            payload.pipeline,
        )
    return format_html("{}", entry.get_kind_display())


# ----------------------------------------------------------------------------- repeated rows


def _e(value: Any) -> str:
    """conditional_escape without its lazy-string wrapper (~1 µs a call, 20+ calls a row)."""
    return value if isinstance(value, SafeData) else html.escape(str(value))


def _html(template_: str, *args: Any) -> SafeString:
    """format_html (every argument escaped unless already safe), for the per-row code."""
    return SafeString(template_.format(*map(_e, args)))


class _Clock:
    """The `date` filter's "P" ('2:30 p.m.', 'noon'), its words translated once a response."""

    def __init__(self) -> None:
        self.am, self.pm = gettext("a.m."), gettext("p.m.")
        self.midnight, self.noon = gettext("midnight"), gettext("noon")

    def p(self, moment: dt.datetime) -> str:
        hour, minute = moment.hour, moment.minute
        if minute == 0 and hour in (0, 12):
            return self.midnight if hour == 0 else self.noon
        twelve = hour % 12 or 12
        clock = f"{twelve}:{minute:02d}" if minute else str(twelve)
        return f"{clock} {self.pm if hour > 11 else self.am}"


# The feed's entries, the list's rows and the board's cards are the pages' repeated markup.
# Through the template engine each costs 0.2-0.3 ms (~5-8 µs a variable, 30-75 µs a date);
# written here with format_html (which escapes every argument) a fraction of it. The page
# structure stays in the templates. tests/jobs/test_row_rendering.py checks these against the
# template markup they replaced, escaping included.

_CSRF_INPUT = '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'


def _lock_icon() -> str:
    return render_to_string("includes/icon_lock.html")


def _two_arg_url(name: str) -> Any:
    """reverse() once, then fill in two integer arguments per row."""
    a, b = 987654321, 876543219
    head, _, rest = reverse(name, args=[a, b]).partition(str(a))
    middle, _, tail = rest.partition(str(b))
    return lambda x, y: f"{head}{int(x)}{middle}{int(y)}{tail}"


class _Months(dict):  # type: ignore[type-arg]
    """The `date` filter's "M" (the month's abbreviation, translated), looked up once a month
    per response instead of one dateformat call (30-75 µs) per date."""

    def __missing__(self, month: int) -> str:
        self[month] = text = formats.date_format(dt.date(2000, month, 1), "M")
        return text


def _j_m_y(day: dt.date, months: _Months) -> str:
    """= {{ day|date:"j M Y" }}"""
    return f"{day.day} {months[day.month]} {day.year}"


def _owner_avatar(owner: Any) -> SafeString:
    """The owner's initials on a list row or a board card."""
    return _html(
        '<span class="avatar avatar-small" title="{}" aria-label="Owner {}">{}</span>',
        owner.full_name,
        owner.full_name,
        owner.initials,
    )


@register.simple_tag(takes_context=True)
def job_list_rows(context: dict[str, Any], jobs: list[Any]) -> SafeString:
    """The list's <tr>s (jobs/_list_results.html draws the table around them). job.url:
    views._with_urls."""
    today = timezone.localdate()
    months = _Months()
    chips: dict[int, SafeString] = {}  # one per stage, not one format_html per row
    rows = []
    for job in jobs:
        chip = chips.get(job.stage_id)
        if chip is None:
            chip = chips[job.stage_id] = stage_chip(job.stage)
        owner, customer, due = job.owner, job.customer, job.due_date
        overdue = due is not None and job.closed_at is None and due < today
        rows.append(
            _html(
                "<tr>\n"
                '          <td class="nowrap"><a href="{}">{}</a></td>\n'
                '          <td><a href="{}">{}</a>{}</td>\n'
                '          <td>{} <span class="muted small hide-phone">{}</span></td>\n'
                '          <td class="hide-phone">{}</td>\n'
                '          <td class="hide-phone">{}</td>\n'
                '          <td class="nowrap{}" data-label="Due">{}</td>\n'
                "        </tr>",
                job.url,
                job.reference,
                job.url,
                job.title,
                SafeString(' <span class="chip chip-archived">Archived</span>')
                if job.archived_at is not None
                else "",
                chip,
                job.pipeline.name,
                (customer.name if customer else "") or "—",
                _owner_avatar(owner) if owner else "—",
                " overdue" if overdue else "",
                (_j_m_y(due, months) + (" · overdue" if overdue else "")) if due else "—",
            )
        )
    return SafeString("\n      ".join(rows))


def _board_card(job: Any, *, today: dt.date, now: dt.datetime, months: _Months,
                csrf_token: Any, stage_options: Any) -> SafeString:  # fmt: skip
    owner, customer, due, n = job.owner, job.customer, job.due_date, int(job.number)
    overdue = due is not None and job.closed_at is None and due < today
    if due:
        due_html = _html(
            '<span class="{} nowrap"{}>Due {} {}{}</span>',
            "overdue" if overdue else "muted",
            SafeString(' title="Overdue"') if overdue else "",
            due.day,
            months[due.month],
            SafeString('<span class="visually-hidden"> (overdue)</span>') if overdue else "",
        )
    else:
        due_html = SafeString('<span class="muted">No due date</span>')
    entered = job.stage_entered_at
    return _html(
        '<li class="card board-card{}" id="job-card-{}" draggable="true" data-number="{}"'
        ' data-version="{}" data-stage="{}">\n'
        '  <a class="board-card-title" href="{}"><span class="muted">{}</span> {}</a>\n'
        '  <div class="board-card-meta">\n'
        '    <span class="board-card-customer">{}</span>\n'
        '    <span class="muted nowrap" title="Days in this stage">{}d</span>\n'
        "    {}\n"
        "  </div>\n"
        '  <div class="board-card-meta">\n'
        "    {}\n"
        '    <form method="post" action="{}" class="move-form" hx-post="{}"'
        ' hx-target="#job-card-{}" hx-swap="outerHTML">\n'
        "      " + _CSRF_INPUT + "\n"
        '      <input type="hidden" name="version" value="{}">\n'
        '      <input type="hidden" name="from" value="board">\n'
        '      <label class="visually-hidden" for="move-{}">Move {} to</label>\n'
        '      <select name="stage" id="move-{}" class="move-select" data-autosubmit>\n'
        '        <option value="{}" selected>Move to…</option>{}\n'
        "      </select>\n"
        '      <button type="submit" class="button button-quiet button-small js-hide">Move'
        "</button>\n"
        "    </form>\n"
        "  </div>\n"
        "</li>",
        " is-overdue" if overdue else "",
        n,
        n,
        int(job.version),
        int(job.stage_id),
        job.url,
        job.reference,
        job.title,
        (customer.name if customer else "") or "No customer",
        max(0, (now - entered).days) if entered is not None else 0,
        _owner_avatar(owner) if owner else "",
        due_html,
        job.move_url,
        job.move_url,
        n,
        csrf_token,
        int(job.version),
        n,
        job.reference,
        n,
        int(job.stage_id),
        stage_options,
    )


@register.simple_tag(takes_context=True)
def board_cards(context: dict[str, Any], jobs: list[Any]) -> SafeString:
    """Board cards (jobs/_board_cards.html, jobs/_board_card.html). job.url and job.move_url:
    views._with_urls; stage_options: views._stage_options (already escaped)."""
    options = {
        "today": timezone.localdate(),
        "now": timezone.now(),
        "months": _Months(),
        "csrf_token": context.get("csrf_token") or "",
        "stage_options": context.get("stage_options", ""),
    }
    return SafeString("".join(_board_card(job, **options) for job in jobs))


@register.simple_tag(takes_context=True)
def board_card(context: dict[str, Any], job: Any) -> SafeString:
    """One card: the answer to a move from the board."""
    return board_cards(context, [job])


@register.simple_tag(takes_context=True)
def feed_entry_items(context: dict[str, Any], entries: list[Activity], job: Any) -> SafeString:
    """The <li> of each feed entry (jobs/_feed_entries.html draws the list around them)."""
    csrf_token = context.get("csrf_token") or ""
    lock = _lock_icon()
    months = _Months()
    # The title is the timestamp as {{ created_at }} shows it (DATETIME_FORMAT, en-gb
    # "j M Y, P"), built without a dateformat call when that is the format.
    clock = _Clock() if formats.get_format("DATETIME_FORMAT") == "j M Y, P" else None
    make_internal_url = None
    parts = []
    for entry in entries:
        visible = entry.customer_sees
        actor = entry.actor
        message = entry.message
        created_at = entry.created_at
        if actor:
            avatar = _html(
                '<span class="avatar avatar-small" aria-hidden="true">{}</span>', actor.initials
            )
            name = conditional_escape(actor.full_name)
        else:
            avatar = SafeString(
                '<span class="avatar avatar-small avatar-system" aria-hidden="true">J</span>'
            )
            name = "Customer" if entry.actor_kind == "customer" else "Jobline"
        message_html = SafeString("")
        if message:
            message_html = _html(
                '\n    <div class="feed-message{}">{}</div>',
                "" if visible else " is-internal",
                linebreaksbr(urlizetrunc(message.body, 60, autoescape=True), autoescape=True),
            )
            if entry.kind == "reply" and visible:
                if make_internal_url is None:
                    make_internal_url = _two_arg_url("jobs:message_make_internal")
                message_html += _html(
                    '\n    <form method="post" action="{}" class="inline-form" data-confirm="Make'
                    ' this reply internal? The customer will no longer see it.">'
                    + _CSRF_INPUT
                    + '<button type="submit" class="link-button small">Make internal</button>'
                    "</form>",
                    make_internal_url(job.number, entry.message_id),
                    csrf_token,
                )
        local = timezone.localtime(created_at)
        parts.append(
            _html(
                '<li class="feed-entry feed-{}{}" id="entry-{}">\n'
                '    <div class="feed-line">{}'
                '<div class="feed-text"><strong>{}</strong> {}</div></div>{}\n'
                '    <p class="feed-foot small">'
                '<time datetime="{}" title="{}">{}</time> {}</p>\n'
                "  </li>",
                entry.kind,
                "" if visible else " is-internal",
                int(entry.pk),
                avatar,
                name,
                feed_sentence(context, entry),
                message_html,
                created_at.isoformat(),
                f"{local.day} {months[local.month]} {local.year}, {clock.p(local)}"
                if clock
                else formats.localize(local),
                # = date:"j M Y, H:i"
                f"{local.day} {months[local.month]} {local.year}, {local:%H:%M}",
                SafeString('<span class="chip chip-visible">Visible</span>')
                if visible
                else _html('<span class="chip chip-internal">{} Internal</span>', lock),
            )
        )
    return SafeString("\n  ".join(parts))
