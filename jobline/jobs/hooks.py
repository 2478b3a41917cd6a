"""What the jobs app tells the layers above it, without importing them.

Every feed entry, once written, is handed to the handlers registered here, inside the same
transaction (so what they write — an e-mail in the outbox, a bell notification — commits or
rolls back with the change). The notifications app registers its handler in its AppConfig.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from jobline.jobs.models import Activity, Job
from jobline.workspaces.viewers import Viewer

ActivityHandler = Callable[[Activity], None]

_activity_handlers: list[ActivityHandler] = []


def on_activity_logged(handler: ActivityHandler) -> None:
    """Register ``handler`` for every new feed entry (registering twice changes nothing)."""
    if handler not in _activity_handlers:
        _activity_handlers.append(handler)


def activity_logged(activity: Activity) -> None:
    for handler in _activity_handlers:
        handler(activity)


@dataclass(frozen=True)
class JobPageSection:
    """A section a higher layer adds to the job page (the bookings app's visits): the
    template file that draws it and what it needs."""

    template: str
    context: dict[str, Any]


JobPageSectionProvider = Callable[[Job, Viewer | None], JobPageSection | None]

_job_page_sections: list[JobPageSectionProvider] = []


def on_job_page(provider: JobPageSectionProvider) -> None:
    """Register ``provider`` to add a section to every job page (None: nothing to add)."""
    if provider not in _job_page_sections:
        _job_page_sections.append(provider)


def job_page_sections(job: Job, viewer: Viewer | None) -> list[JobPageSection]:
    return [s for provider in _job_page_sections if (s := provider(job, viewer)) is not None]


# The visits (bookings app) a viewer may see on a job, by id: a visit's feed entries reach a
# customer only while the visit itself does (still on this job, still theirs). Without a
# provider registered, no visit entry reaches anyone who sees as a customer (fails closed).
VisibleVisits = Callable[[Job, Viewer], set[int]]

_visible_visits: list[VisibleVisits] = []


def on_visible_visits(provider: VisibleVisits) -> None:
    if provider not in _visible_visits:
        _visible_visits.append(provider)


def visible_visits(job: Job, viewer: Viewer) -> set[int]:
    found: set[int] = set()
    for provider in _visible_visits:
        found |= provider(job, viewer)
    return found


# What a higher layer may refuse of a move (the approvals app: moving on past a stage the
# customer has not approved). A guard raises django's ValidationError with the reason; the
# move is then not made, and the board and the job page show the reason.
MoveGuard = Callable[[Job, Any, Any], None]

_move_guards: list[MoveGuard] = []


def on_move_forward(guard: MoveGuard) -> None:
    if guard not in _move_guards:
        _move_guards.append(guard)


def check_move_forward(job: Job, current: Any, target: Any) -> None:
    for guard in _move_guards:
        guard(job, current, target)


@dataclass(frozen=True)
class CustomerWait:
    """Something else a job may wait for from its customer (the approvals app: an approval
    asked and not yet given), for the dashboard's "waiting on the customer": ``condition``
    builds the jobs' filter (a Q on the Job, such as an Exists over ``OuterRef("pk")``) and
    ``waiting_for`` says, for the jobs shown, what each one waits for, by job id."""

    condition: Callable[[], Q]
    waiting_for: Callable[[list[int]], list[tuple[int, str]]]


_customer_waits: list[CustomerWait] = []


def on_customer_wait(wait: CustomerWait) -> None:
    if wait not in _customer_waits:
        _customer_waits.append(wait)


def customer_waits() -> list[CustomerWait]:
    return list(_customer_waits)
