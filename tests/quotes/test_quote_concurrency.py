"""Quotes under real concurrency (PostgreSQL): each request on its own connection, all
released together behind a barrier (tests/concurrency.py).

- Numbers come from the workspace's locked sequence row: twenty drafts sent at once are
  Q-1001…Q-1020, no gap, no duplicate (the row itself is created by the first of them).
- Converting locks the quote first: of simultaneous conversions one makes the job, the
  others raise AlreadyConverted naming it.
- Accepting and declining at the same moment: one decision wins, the other is refused.

SQLite serialises writers itself, so these are PostgreSQL only.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from jobline.jobs.models import Activity, ActivityKind, Job
from jobline.notifications.models import EmailKind, Notification, OutgoingEmail
from jobline.pipelines.models import Pipeline
from jobline.pipelines.services import pipeline_create_from_blueprint
from jobline.quotes import services
from jobline.quotes.models import (
    Quote,
    QuoteEvent,
    QuoteEventKind,
    QuoteLine,
    QuoteNumberSequence,
    QuoteRevision,
    QuoteStatus,
)
from jobline.quotes.services import AlreadyConverted, LineInput, NotAcceptable
from tests.concurrency import run_together
from tests.conftest import Cast

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs a server with concurrent writers"
    ),
]

D = Decimal
SENDS = 20


@pytest.fixture
def quotes_on(cast: Cast) -> Cast:
    cast.workspace.module_quotes = True
    cast.workspace.save(update_fields=["module_quotes"])
    return cast


@pytest.fixture
def repair(cast: Cast) -> Pipeline:
    return pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="repair", actor=cast.admin
    )


def draft(cast: Cast, title: str = "Boiler replacement") -> Quote:
    return services.quote_create(
        workspace=cast.workspace, actor=cast.admin, owner=cast.manager, title=title,
        customer=cast.customer, deposit_kind="percent", deposit_value=D(25),
        lines=[
            LineInput("Combi boiler", D(1), D("1200.00")),
            LineInput("Magnetic filter", D(1), D("150.00"), optional=True),
        ],
    )  # fmt: skip


def open_quote(cast: Cast) -> Quote:
    return services.quote_send(quote=draft(cast), actor=cast.admin)


def accepted_quote(cast: Cast) -> Quote:
    quote = open_quote(cast)
    ticked = [QuoteLine.objects.get(quote=quote, optional=True).pk]
    return services.quote_accept(quote=quote, name="Priya", ip="203.0.113.7", ticked=ticked)


def test_twenty_simultaneous_first_sends_number_1001_to_1020_without_gaps(
    quotes_on: Cast,
) -> None:
    drafts = [draft(quotes_on, f"Quote {i}") for i in range(SENDS)]
    assert not QuoteNumberSequence.objects.exists()  # the first send creates the row

    def send(quote: Quote) -> Callable[[], Any]:
        return lambda: services.quote_send(quote=Quote.objects.get(pk=quote.pk),
                                           actor=quotes_on.admin)  # fmt: skip

    results = run_together([send(q) for q in drafts])
    assert all(isinstance(r, Quote) for r in results), results
    numbers = sorted(Quote.objects.values_list("number", flat=True))
    assert numbers == list(range(1001, 1001 + SENDS))
    assert sorted(r.number for r in results) == numbers
    assert QuoteNumberSequence.objects.get(workspace=quotes_on.workspace).next_number == 1021
    assert QuoteRevision.objects.filter(number=1).count() == SENDS
    assert OutgoingEmail.objects.filter(kind=EmailKind.QUOTE).count() == SENDS
    # The next send carries on from there.
    assert open_quote(quotes_on).number == 1001 + SENDS


def test_simultaneous_sends_with_an_existing_sequence_leave_no_gap(quotes_on: Cast) -> None:
    assert open_quote(quotes_on).number == 1001
    drafts = [draft(quotes_on, f"Quote {i}") for i in range(SENDS)]

    def send(quote: Quote) -> Callable[[], Any]:
        return lambda: services.quote_send(quote=Quote.objects.get(pk=quote.pk),
                                           actor=quotes_on.admin)  # fmt: skip

    results = run_together([send(q) for q in drafts])
    assert all(isinstance(r, Quote) for r in results), results
    assert sorted(Quote.objects.values_list("number", flat=True)) == list(range(1001, 1002 + SENDS))


def test_the_same_draft_sent_twice_at_once_is_numbered_once(quotes_on: Cast) -> None:
    quote = draft(quotes_on)

    def send() -> Quote:
        return services.quote_send(quote=Quote.objects.get(pk=quote.pk), actor=quotes_on.admin)

    results = run_together([send, send])
    assert all(isinstance(r, Quote) for r in results), results
    assert Quote.objects.get(pk=quote.pk).number == 1001
    assert QuoteRevision.objects.filter(quote=quote).count() == 1
    assert QuoteNumberSequence.objects.get(workspace=quotes_on.workspace).next_number == 1002


@pytest.mark.parametrize("requests", [2, 5])
def test_simultaneous_conversions_make_one_job(
    quotes_on: Cast, repair: Pipeline, requests: int
) -> None:
    quote = accepted_quote(quotes_on)

    def convert() -> Job:
        return services.quote_convert(
            quote=Quote.objects.get(pk=quote.pk), actor=quotes_on.admin, pipeline=repair
        )

    results = run_together([convert] * requests)
    jobs = [r for r in results if isinstance(r, Job)]
    refused = [r for r in results if isinstance(r, AlreadyConverted)]
    assert (len(jobs), len(refused)) == (1, requests - 1), results
    job = jobs[0]
    assert Job.objects.count() == 1
    assert all(r.job.pk == job.pk for r in refused)
    assert all(job.reference in str(r) for r in refused)
    quote = Quote.objects.get(pk=quote.pk)
    assert (quote.status, quote.job_id) == (QuoteStatus.CONVERTED, job.pk)
    assert Job.objects.get(pk=job.pk).value == quote.accepted_total == D("1350.00")
    assert QuoteEvent.objects.filter(quote=quote, kind=QuoteEventKind.CONVERTED).count() == 1
    assert Activity.objects.filter(kind=ActivityKind.QUOTE_CONVERTED).count() == 1


def test_simultaneous_accept_and_decline_one_decision_wins(quotes_on: Cast) -> None:
    for _ in range(3):
        quote = open_quote(quotes_on)

        def accept(pk: int = quote.pk) -> Quote:
            return services.quote_accept(quote=Quote.objects.get(pk=pk), name="Priya", ip=None)

        def decline(pk: int = quote.pk) -> Quote:
            return services.quote_decline(quote=Quote.objects.get(pk=pk), reason="No thanks")

        results = run_together([accept, decline])
        won = [r for r in results if isinstance(r, Quote)]
        refused = [r for r in results if isinstance(r, NotAcceptable)]
        assert (len(won), len(refused)) == (1, 1), results
        final = Quote.objects.get(pk=quote.pk)
        assert final.status == won[0].status
        if final.status == QuoteStatus.ACCEPTED:
            assert (final.accepted_name, final.decline_reason) == ("Priya", "")
        else:
            assert (final.status, final.accepted_name) == (QuoteStatus.DECLINED, "")
        decided = QuoteEvent.objects.filter(
            quote=quote, kind__in=[QuoteEventKind.ACCEPTED, QuoteEventKind.DECLINED]
        )
        assert decided.count() == 1
        assert Notification.objects.filter(text__startswith=f"{quote.reference} ").count() == 1


def test_simultaneous_acceptances_record_one(quotes_on: Cast) -> None:
    quote = open_quote(quotes_on)

    def accept(name: str) -> Callable[[], Any]:
        return lambda: services.quote_accept(quote=Quote.objects.get(pk=quote.pk), name=name,
                                             ip=None)  # fmt: skip

    results = run_together([accept(f"Person {i}") for i in range(5)])
    won = [r for r in results if isinstance(r, Quote)]
    refused = [r for r in results if isinstance(r, NotAcceptable)]
    assert (len(won), len(refused)) == (1, 4), results
    assert Quote.objects.get(pk=quote.pk).accepted_name == won[0].accepted_name
    assert QuoteEvent.objects.filter(quote=quote, kind=QuoteEventKind.ACCEPTED).count() == 1
