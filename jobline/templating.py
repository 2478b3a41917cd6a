"""The Jinja2 environment every page, partial and e-mail is rendered with (settings.TEMPLATES).

Templates live in each app's ``jinja2/`` folder (and the project's ``jobline/jinja2/``),
autoescaped. Jinja2 renders a page in a fraction of the time Django's own engine takes (a
variable there costs ~5-8 µs, a formatted date 30-75 µs), so the rows a page repeats hundreds
of times can stay template files. Django's template engine remains configured for Django's
own admin only.

What the templates get beyond Django's context processors: ``url()``, ``static()``,
``htmx_script()``, ``querystring()``, and the formatting filters and functions below. None of
them decides who may see what: ``money()`` asks the money rule (sees_money) for the viewer in
the template's context, and everything else shows what the views' selectors handed over.

This module is project glue, like urls.py: it may import any app, and no app imports it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2
from babel import Locale
from babel.numbers import format_currency
from django.core.signals import setting_changed
from django.middleware.csrf import get_token
from django.template import defaultfilters
from django.template.backends import jinja2 as django_jinja2
from django.templatetags.static import static
from django.test.signals import template_rendered
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import formats, timezone
from django_htmx.jinja import htmx_script
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from jobline.bookings.services import when as booking_when
from jobline.core.wall_time import span_words
from jobline.pipelines.models import FieldType, contrast_text_colour
from jobline.workspaces.viewers import sees_money


def url(name: str, *args: Any, **kwargs: Any) -> str:
    """reverse(), remembered: a page asks for ~30 URLs (~60 µs each through Django's
    resolver), most of them the same on every page. The answer depends only on the name,
    the arguments, the script prefix and the URLconf, so those are the key."""
    try:
        return _reverse(
            name, args, tuple(sorted(kwargs.items())), get_script_prefix(), get_urlconf()
        )
    except TypeError:  # an unhashable argument: not worth remembering
        return reverse(name, args=args or None, kwargs=kwargs or None)


@lru_cache(maxsize=4096)
def _reverse(
    name: str, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...], prefix: str, urlconf: Any
) -> str:
    return reverse(name, args=args or None, kwargs=dict(kwargs) or None, urlconf=urlconf)


def _forget_urls(*, setting: str, **_: Any) -> None:
    if setting == "ROOT_URLCONF":  # tests swap the URLconf
        _reverse.cache_clear()


setting_changed.connect(_forget_urls)


class OncePerRender:
    """A value made the first time a template shows it, then repeated. The CSRF field: Django
    masks the token anew for every form (~0.15 ms each, a dozen forms on the job page); one
    mask per response protects as well (the token still changes with every response)."""

    __slots__ = ("_make", "_value")

    def __init__(self, make: Callable[[], str]) -> None:
        self._make = make
        self._value: str | None = None

    def __str__(self) -> str:
        if self._value is None:
            self._value = self._make()
        return self._value

    def __html__(self) -> str:
        return str(self)


def date(value: Any, format: str | None = None, tz: str | None = None) -> str:
    """Django's date formatting (DATE_FORMAT names or format characters), in the current time
    zone, or in ``tz`` (e-mails are written in the business's time zone)."""
    if value in (None, ""):
        return ""
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        value = value.astimezone(ZoneInfo(tz)) if tz else timezone.localtime(value)
    return formats.date_format(value, format) if format else formats.date_format(value)


def iso(value: dt.date | dt.datetime | None) -> str:
    return value.isoformat() if value is not None else ""


# The formats pages repeat on every row ("1 Dec 2026", "1 Dec", "1 Dec 2026, 14:30"), in the
# current time zone: Python's own formatting (~1 µs), not Django's date filter (~15 µs a
# date, 50 of them a board column).
def day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value)
    return f"{value.day} {value:%b %Y}"


def day_month(value: dt.date | None) -> str:
    return f"{value.day} {value:%b}" if value is not None else ""


def moment(value: dt.datetime | None, tz: str | None = None) -> str:
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(tz)) if tz else timezone.localtime(value)
    return f"{local.day} {local:%b %Y, %H:%M}"


def message_html(body: str) -> str:
    """A message's text as the feed shows it: escaped, links made clickable (trimmed to 60
    characters) and line breaks kept. It depends on the text alone and messages are
    history, so each text is worked out once (Django's urlize costs ~0.15 ms a message)."""
    if len(body) > _REMEMBERED_MESSAGE_LENGTH:
        return _message_html(body)
    return _remembered_message_html(body)


def _message_html(body: str) -> str:
    # Django's filters escape the text and mark their answer escaped (Jinja keeps it as is).
    linked = defaultfilters.urlizetrunc(body, 60, autoescape=True)
    return defaultfilters.linebreaksbr(linked, autoescape=True)


_REMEMBERED_MESSAGE_LENGTH = 2_000
_remembered_message_html = lru_cache(maxsize=2048)(_message_html)


def number(value: Any) -> str:
    """A Decimal as people write it: 20 not 20.0000 or 2E+1, 9.975, 1.5."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    text = f"{amount:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def clock(value: dt.datetime | None, tz: str | None = None) -> str:
    """ "14:30", in the current time zone (or ``tz``)."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(tz)) if tz else timezone.localtime(value)
    return f"{local:%H:%M}"


def localdate(value: dt.datetime, tz: str | None = None) -> dt.date:
    return (value.astimezone(ZoneInfo(tz)) if tz else timezone.localtime(value)).date()


def span(starts_at: dt.datetime, ends_at: dt.datetime, tz: str | None = None) -> str:
    return span_words(starts_at, ends_at, tz or timezone.get_current_timezone_name())


def visit_when(booking: Any, tz: str | None = None) -> str:
    """A visit's day and times, "Tue 8 Dec 2026, 10:00–11:30", in the current time zone
    (the workspace's on staff pages) or ``tz`` (the portal and e-mails name their own)."""
    return booking_when(booking, tz or timezone.get_current_timezone_name())


def weekday_moment(value: dt.datetime | None, tz: str | None = None) -> str:
    """ "Tue 8 Dec, 10:00": a visit's start where space is short."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(tz)) if tz else timezone.localtime(value)
    return f"{local:%a} {local.day} {local:%b, %H:%M}"


def weekday_day(value: dt.datetime | None, tz: str | None = None) -> str:
    """ "Tue 8 Dec": a visit's day beside its times."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(tz)) if tz else timezone.localtime(value)
    return f"{local:%a} {local.day} {local:%b}"


def duration_ago(seconds: int) -> str:
    """How long ago, roughly: "4 s ago", "12 min ago", "3 h ago", "2 days ago"."""
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def local_today() -> dt.date:
    return timezone.localdate()


def days_since(moment: dt.datetime | None) -> int:
    return 0 if moment is None else max(0, (timezone.now() - moment).days)


def querystring(request: Any, **changes: Any) -> str:
    """The current query string with ``changes`` applied (None removes a key), as Django's
    {% querystring %} tag makes it."""
    query = request.GET.copy()
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return "?" + urlencode(list(query.lists()), doseq=True)


@pass_context
def money(context: Context, amount: Any, currency: str | None = None) -> str:
    """An amount in the workspace's currency (or ``currency``: a quote keeps the one it was
    written in) and locale — or nothing at all for a viewer who may not see money
    (sees_money fails closed: no viewer in the context, no amount)."""
    if not sees_money(context.get("viewer")):
        return ""
    workspace = context.get("workspace") or context.get("business")
    currency = currency or getattr(workspace, "currency", "GBP")
    try:
        return _formatted(str(amount), currency, getattr(workspace, "locale", "en-GB"))
    except (InvalidOperation, ValueError):
        return str(amount or "")


@lru_cache(maxsize=4096)
def _formatted(amount: str, currency: str, locale: str) -> str:
    """babel's formatting of one amount, remembered (~60 µs each, fifty a list page): it
    depends on the amount's text, the currency and the locale alone."""
    return format_currency(Decimal(amount), currency, locale=_locale(locale))


@lru_cache(maxsize=64)
def _locale(name: str) -> Locale:
    """babel's Locale of a workspace's locale, parsed once (per call it cost ~15 µs, fifty
    amounts a page)."""
    return Locale.parse(name.replace("-", "_"))


@pass_context
def field_display(context: Context, field: Any, value: Any) -> str:
    """A saved stage-form value as people read it (amounts through money())."""
    if value is None or value == "" or value == []:
        return "—"
    if field.field_type == FieldType.CHECKBOX:
        return "Yes" if value else "No"
    if field.field_type == FieldType.MONEY:
        return money(context, value) or "—"
    if field.field_type == FieldType.DATE:
        try:
            day = dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            return str(value)
        return f"{day.day} {day:%b %Y}"
    if isinstance(value, list):
        return ", ".join(str(v.get("name", v)) if isinstance(v, dict) else str(v) for v in value)
    return str(value)


class Jinja2(django_jinja2.Jinja2):
    """Django's Jinja2 backend, with two changes that matter.

    - The view's context wins over the context processors' (as in Django's own engine):
      Django's Jinja2 backend lets a processor overwrite what the view passed, so the staff
      "View as customer" page would get the member's viewer back, and with it their amounts.
    - Rendering says so (django.test.signals.template_rendered), so the test client shows a
      response's context and templates as it does for Django's engine. Without receivers
      (outside tests) the signal costs nothing.
    """

    def get_template(self, template_name: str) -> Template:
        return Template(super().get_template(template_name))

    def from_string(self, template_code: str) -> Template:
        return Template(super().from_string(template_code))


class Template:
    def __init__(self, template: django_jinja2.Template) -> None:
        self.template = template.template
        self.backend = template.backend
        self.origin = template.origin
        self.name = template.template.name

    def render(self, context: dict[str, Any] | None = None, request: Any = None) -> str:
        merged: dict[str, Any] = {}
        if request is not None:
            merged["request"] = request
            token = OncePerRender(lambda: get_token(request))
            merged["csrf_token"] = token
            merged["csrf_input"] = OncePerRender(
                lambda: f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
            )
            for context_processor in self.backend.template_context_processors:
                merged.update(context_processor(request))
        merged.update(context or {})
        template_rendered.send(sender=self, template=self, context=merged)
        return self.template.render(merged)


class _Environment(Environment):
    """Jinja's environment, with each template's globals one plain dict.

    Jinja 3 keeps them as a ``ChainMap`` over the environment's, and copies that map into a
    new dict for every render and every include (``runtime.new_context``), key by key through
    the chain: about 8 µs each time, 50 times on a job page. The globals are all set in
    ``environment()`` below, before any template is loaded, and never changed after, so a
    snapshot per template is the same map."""

    def make_globals(self, d: Any = None) -> dict[str, Any]:  # type: ignore[override]
        return {**self.globals, **(d or {})}


def environment(**options: Any) -> Environment:
    # A missing variable is empty and falsy, in development too (Django's default there
    # prints "{{ name }}" into the page).
    options["undefined"] = jinja2.Undefined
    # Pages and partials (.html) are escaped; plain-text e-mails (.txt) are text, not HTML,
    # so "&" stays "&" in them.
    options["autoescape"] = jinja2.select_autoescape(
        enabled_extensions=("html",), disabled_extensions=("txt",), default_for_string=True
    )
    env = _Environment(**options)
    env.globals.update(
        url=url,
        static=static,
        htmx_script=htmx_script,
        querystring=querystring,
        money=money,
        field_display=field_display,
        text_colour=contrast_text_colour,
        local_today=local_today,
        visit_when=visit_when,
        span_words=span,
    )
    env.filters.update(
        date=date,
        iso=iso,
        day=day,
        day_month=day_month,
        moment=moment,
        clock=clock,
        number=number,
        localdate=localdate,
        weekday_moment=weekday_moment,
        weekday_day=weekday_day,
        days_since=days_since,
        duration_ago=duration_ago,
        pluralize=defaultfilters.pluralize,
        linebreaksbr=defaultfilters.linebreaksbr,
        message_html=message_html,
        filesizeformat=defaultfilters.filesizeformat,
        truncatechars=defaultfilters.truncatechars,
        capfirst=defaultfilters.capfirst,
    )
    return env
