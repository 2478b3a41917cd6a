"""Bookings fixtures and page helpers for the view, feed, portal and reminder tests.

``bookings_on`` switches the Bookings module on in Harbour and in the outsider's workspace,
so an outsider's 404 on Harbour's visits comes from tenancy, not from the module. ``book``
makes a visit through the service (Sam by default); ``Page`` reads a rendered form: each
field's value, what is ticked or chosen, and the errors drawn next to it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from typing import Any

import pytest

from jobline.bookings import services
from jobline.bookings.models import Booking
from jobline.core import wall_time
from jobline.jobs.models import Job
from jobline.jobs.services import job_create
from jobline.pipelines.models import Pipeline
from jobline.pipelines.services import pipeline_create_from_blueprint
from jobline.workspaces.models import Membership
from tests.conftest import Cast

UTC = dt.UTC
HOUR = dt.timedelta(hours=1)
LONDON = "Europe/London"
SYDNEY = "Australia/Sydney"
# Tue 4 Jun 2030, 10:00 BST (Harbour's default zone is Europe/London).
T10 = dt.datetime(2030, 6, 4, 9, 0, tzinfo=UTC)
INTERNAL_SECRET = "GATE-CODE-4711"


def local(day: dt.date, hour: int, minute: int = 0, time_zone: str = SYDNEY) -> dt.datetime:
    """The UTC instant of ``hour:minute`` on ``day`` on the wall clock of ``time_zone``."""
    return wall_time.instant_on(day, dt.time(hour, minute), time_zone)


def set_time_zone(cast: Cast, time_zone: str) -> None:
    cast.workspace.time_zone = time_zone
    cast.workspace.save(update_fields=["time_zone"])


def set_bookings_module(cast: Cast, on: bool) -> None:
    cast.workspace.module_bookings = on
    cast.workspace.save(update_fields=["module_bookings"])


@pytest.fixture
def bookings_on(cast: Cast) -> Cast:
    """The Bookings module on in Harbour and in the outsider's workspace."""
    for workspace in (cast.workspace, cast.other_workspace):
        workspace.module_bookings = True
        workspace.save(update_fields=["module_bookings"])
    return cast


@pytest.fixture
def repair(cast: Cast) -> Pipeline:
    return pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="repair", actor=cast.admin
    )


@pytest.fixture
def job(cast: Cast, repair: Pipeline) -> Job:
    """A job of Priya's, owned by Sam."""
    return job_create(
        workspace=cast.workspace, pipeline=repair, title="Boiler replacement",
        actor=cast.admin, owner=cast.staff, customer=cast.customer,
    )  # fmt: skip


@pytest.fixture
def sam(cast: Cast) -> Membership:
    return cast.membership(cast.staff)


@pytest.fixture
def max_(cast: Cast) -> Membership:
    return cast.membership(cast.manager)


@pytest.fixture
def ada(cast: Cast) -> Membership:
    return cast.membership(cast.admin)


def book(
    cast: Cast,
    *,
    title: str = "Boiler service",
    start: dt.datetime = T10,
    end: dt.datetime | None = None,
    staff: list[Membership] | None = None,
    **extra: Any,
) -> Booking:
    """A visit booked through the service by Max (the manager), for Sam unless ``staff``."""
    return services.booking_create(
        workspace=cast.workspace,
        actor=cast.manager,
        title=title,
        starts_at=start,
        ends_at=end if end is not None else start + HOUR,
        staff=staff if staff is not None else [cast.membership(cast.staff)],
        **extra,
    )


def fresh(booking: Booking) -> Booking:
    return Booking.objects.get(pk=booking.pk)


# ----------------------------------------------------------------------------- reading pages

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip


@dataclass
class _Block:
    """A form field's block (``.field``): the inputs it holds and the errors shown in it."""

    names: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


class Page(HTMLParser):
    """What a rendered form shows: each input's value, ticked boxes, chosen options, textarea
    contents, and the error messages inside each field's own block."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.inputs: list[dict[str, str | None]] = []
        self.textareas: dict[str, str] = {}
        self.selected: dict[str, list[str]] = {}
        self.blocks: list[_Block] = []
        self._stack: list[tuple[str, _Block | None, bool]] = []  # tag, block, is error <p>
        self._textarea: str | None = None
        self._select: str | None = None
        self._error_text: list[str] | None = None
        self.feed(html)
        self.close()

    def _open_block(self) -> _Block | None:
        for _tag, block, _error in reversed(self._stack):
            if block is not None:
                return block
        return None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        name = attributes.get("name")
        block = self._open_block()
        if tag in {"input", "select", "textarea"} and name and block is not None:
            block.names.add(name)
        if tag == "input":
            self.inputs.append(attributes)
        elif tag == "textarea" and name:
            self._textarea = name
            self.textareas[name] = ""
        elif tag == "select" and name:
            self._select = name
            self.selected.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in attributes:
            self.selected[self._select].append(attributes.get("value") or "")
        if tag in VOID:
            return
        new_block = _Block() if tag in {"div", "fieldset"} and "field" in classes else None
        if new_block is not None:
            self.blocks.append(new_block)
        is_error = tag == "p" and "error" in classes
        if is_error:
            self._error_text = []
        self._stack.append((tag, new_block, is_error))

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        if tag == "select":
            self._select = None
        if tag in VOID:
            return
        while self._stack:
            open_tag, _block, is_error = self._stack.pop()
            if is_error and self._error_text is not None:
                owner = self._open_block()
                if owner is not None:
                    owner.errors.append(" ".join("".join(self._error_text).split()))
                self._error_text = None
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.textareas[self._textarea] += data
        if self._error_text is not None:
            self._error_text.append(data)

    # ------------------------------------------------------------------------ questions

    def errors(self, name: str) -> list[str]:
        """The errors shown in the field block of the input called ``name``."""
        return [e for block in self.blocks if name in block.names for e in block.errors]

    def value(self, name: str) -> str | None:
        for attributes in self.inputs:
            if attributes.get("name") == name and attributes.get("type") not in {
                "checkbox",
                "radio",
            }:
                return attributes.get("value")
        return None

    def checked(self, name: str) -> set[str]:
        return {
            attributes.get("value") or ""
            for attributes in self.inputs
            if attributes.get("name") == name and "checked" in attributes
        }

    def has_input(self, name: str) -> bool:
        return any(attributes.get("name") == name for attributes in self.inputs)


def text_of(html: str) -> str:
    """The page's words without tags, whitespace collapsed (for "shows X" checks)."""
    without_tags = re.sub(r"<[^>]+>", " ", html)
    words = " ".join(unescape(without_tags).split())
    return re.sub(r" ([,.;:])", r"\1", words)


def section(html: str, section_id: str) -> str:
    """The ``<section id=...>`` of a page, up to its end."""
    start = html.index(f'id="{section_id}"')
    return html[start : html.index("</section>", start)]
