"""`make bench` builds its workspace through the real services: a small run of the same
generator, so a change to the services cannot silently break the benchmark."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Count, OuterRef, Q
from django.test import Client
from django.utils import timezone

import bench
from bench import billing_data, bookings_data, generate, measure, quotes_data
from jobline.accounts.models import User
from jobline.billing.models import Instalment, InstalmentStatus, Invoice
from jobline.bookings.models import Assignment, Booking, BookingStatus, CalendarFeed
from jobline.bookings.services import next_visit_of
from jobline.core import wall_time
from jobline.jobs.choices import ActivityKind
from jobline.jobs.models import Activity, Job
from jobline.quotes import services as quote_services
from jobline.quotes import tokens
from jobline.quotes.models import (
    OPEN_STATUSES,
    Quote,
    QuoteEvent,
    QuoteNumberSequence,
    QuoteRevision,
    QuoteStatus,
    TaxRate,
)
from jobline.workspaces.models import Workspace


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    per_pipeline = {"standard": 12, "renovation": 4, "beauty": 4, "legal": 4, "repair": 4}
    monkeypatch.setattr(generate, "JOBS_PER_PIPELINE", per_pipeline)
    monkeypatch.setattr(bench, "JOB_COUNT", sum(per_pipeline.values()))
    monkeypatch.setattr(bench, "ACTIVITY_COUNT", 3_000)
    monkeypatch.setattr(bench, "CUSTOMER_COUNT", 30)
    monkeypatch.setattr(bench, "FEED_JOB_ENTRIES", 1_000)
    # Bookings: 10 per member in the bench week, everyone else 1 a weekday for 2 weeks either
    # side of it, so the bench week is still the busiest.
    monkeypatch.setattr(bench, "WEEK_BOOKINGS", 250)
    monkeypatch.setattr(bench, "VISITS_JOB_VISITS", 12)
    monkeypatch.setattr(bench, "FEED_MEMBER_BOOKINGS", 120)
    monkeypatch.setattr(bookings_data, "OTHERS_PER_WEEKDAY", 1)
    monkeypatch.setattr(bookings_data, "OTHERS_WEEKS_BEFORE", 2)
    monkeypatch.setattr(bookings_data, "OTHERS_WEEKS_AFTER", 2)
    monkeypatch.setattr(bench, "QUOTE_COUNT", 400)


def _check_bookings(workspace: Workspace) -> None:
    assert workspace.module_bookings
    monday, count = bookings_data.bench_week(workspace)
    assert count == bench.WEEK_BOOKINGS
    assert monday.weekday() == 0
    today = wall_time.local(Booking.objects.order_by("-created_at")[0].created_at, "UTC").date()
    assert 7 <= (monday - today).days <= 14
    # The same share of the week for every member, and every one of its visits scheduled.
    start = wall_time.day_bounds(monday, workspace.time_zone)[0]
    end = wall_time.day_bounds(monday + dt.timedelta(days=6), workspace.time_zone)[1]
    week = Assignment.objects.filter(starts_at__gte=start, starts_at__lt=end)
    shares = week.values("membership").annotate(n=Count("pk")).values_list("n", flat=True)
    assert set(shares) == {bench.WEEK_BOOKINGS // 25}
    assert not week.exclude(booking__status=BookingStatus.SCHEDULED).exists()
    # Assignments carry their booking's times; only scheduled ones block time, and no
    # member's blocking assignments overlap.
    assert not Assignment.objects.exclude(
        starts_at=Booking.objects.filter(pk=OuterRef("booking_id")).values("starts_at")[:1]
    ).exists()
    assert not Assignment.objects.filter(
        Q(blocks_time=True) & ~Q(booking__status=BookingStatus.SCHEDULED)
    ).exists()
    seen: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
    for member, s, e in Assignment.objects.filter(blocks_time=True).values_list(
        "membership_id", "starts_at", "ends_at"
    ):
        for other_s, other_e in seen.get(member, []):
            assert e <= other_s or s >= other_e
        seen.setdefault(member, []).append((s, e))
    assert not Booking.objects.filter(overlap_allowed=True).exists()
    assert not Booking.objects.filter(status=BookingStatus.CANCELLED, cancel_reason="").exists()
    # The visits job: its visits, their feed entries, its version and next visit.
    job = Job.objects.get(workspace=workspace, number=bench.VISITS_JOB_NUMBER)
    visits = Booking.objects.filter(job=job)
    assert visits.count() == bench.VISITS_JOB_VISITS
    assert set(visits.values_list("customer_id", flat=True)) == {job.customer_id}
    assert job.next_visit_at is not None
    assert job.next_visit_at == next_visit_of(job.pk)
    assert Activity.objects.filter(job=job, kind=ActivityKind.VISIT_BOOKED).count() == (
        bench.VISITS_JOB_VISITS
    )
    assert job.version == Activity.objects.filter(job=job).count()
    assert job.last_activity_at == Activity.objects.filter(job=job).latest("created_at").created_at
    assert Booking.objects.exclude(job=job).filter(job__isnull=False).count() == 0
    # The feed member: their bookings and a feed.
    member = bookings_data.feed_membership(workspace)
    assert Assignment.objects.filter(membership=member).count() == bench.FEED_MEMBER_BOOKINGS
    assert CalendarFeed.objects.filter(membership=member).exists()


def _check_quotes(workspace: Workspace) -> None:
    assert workspace.module_quotes
    (vat,) = TaxRate.objects.filter(workspace=workspace)
    assert (vat.name, vat.percent) == ("VAT", 20)
    quotes = list(
        Quote.objects.filter(workspace=workspace)
        .select_related("workspace", "customer")
        .prefetch_related("lines", "revisions", "events")
        .order_by("created_at", "id")
    )
    assert len(quotes) == bench.QUOTE_COUNT
    assert len({q.customer_id for q in quotes}) > bench.CUSTOMER_COUNT / 2
    statuses = {q.status for q in quotes}
    assert {"draft", "accepted", "declined", "expired"} <= statuses
    assert QuoteStatus.CONVERTED not in statuses
    assert not any(q.job_id for q in quotes)
    # Numbered when sent, gapless, in the order they were created; drafts burn none.
    sent = [q for q in quotes if q.status != QuoteStatus.DRAFT]
    assert [q.number for q in sent] == list(
        range(bench.QUOTE_FIRST_NUMBER, bench.QUOTE_FIRST_NUMBER + len(sent))
    )
    assert [q.pk for q in quotes] == sorted(q.pk for q in quotes)
    sequence = QuoteNumberSequence.objects.get(workspace=workspace)
    assert sequence.next_number == bench.QUOTE_FIRST_NUMBER + len(sent)
    now = timezone.now()
    today = quote_services.local_today(workspace)
    for quote in quotes:
        lines = list(quote.lines.all())
        assert 1 <= len(lines) <= 5 and not lines[0].optional
        assert quote.total == quote_services.quote_totals(quote, lines).total
        assert quote.token_hash == tokens.token_hash(tokens.token_for(quote.uid))
        assert now - dt.timedelta(days=366) < quote.created_at < now
        events = sorted(quote.events.all(), key=lambda e: (e.created_at, e.pk))
        assert [e.created_at for e in events] == sorted(e.created_at for e in events)
        assert quote.version == len(events)
        assert quote.updated_at == events[-1].created_at
        if quote.status == QuoteStatus.DRAFT:
            assert quote.number is None and quote.revision == 0 and quote.sent_at is None
            assert [e.kind for e in events] == ["created"]
            assert not quote.revisions.all()
            continue
        # Sent: revision 1, as quote_send records it.
        (revision,) = quote.revisions.all()
        assert quote.revision == revision.number == 1
        assert revision.content == quote_services.content_of(quote, lines)
        assert revision.content_hash == quotes_data.content_hash(revision.content)
        assert quote.created_at <= quote.sent_at == revision.created_at <= now
        assert [e.kind for e in events][:2] == ["created", "sent"]
        if quote.status in OPEN_STATUSES:
            assert quote.expires_on >= today
        if quote.status == QuoteStatus.EXPIRED:
            assert quote.expires_on < today and events[-1].kind == "expired"
        if quote.status in (QuoteStatus.VIEWED, QuoteStatus.ACCEPTED, QuoteStatus.DECLINED):
            assert quote.sent_at <= quote.viewed_at
            assert events[2].kind == "viewed" and events[2].by_customer
        if quote.status in (QuoteStatus.ACCEPTED, QuoteStatus.DECLINED):
            assert quote.viewed_at <= quote.decided_at <= now
            assert events[-1].kind == quote.status and events[-1].by_customer
            assert quote.decided_at.date() <= quote.expires_on
        if quote.status == QuoteStatus.ACCEPTED:
            ticked = quote.accepted_lines
            assert set(ticked) <= {line.pk for line in lines if line.optional}
            total = quote_services.quote_totals(quote, lines, ticked=ticked).total
            assert quote.accepted_total == total
            assert quote.accepted_revision == 1
            assert quote.accepted_hash == quotes_data.content_hash(
                {"revision": revision.content_hash, "optional_lines": ticked, "total": str(total)}
            )
        else:
            assert quote.accepted_total is None and quote.accepted_lines == []
    assert QuoteEvent.objects.filter(quote__workspace=workspace).count() == sum(
        q.version for q in quotes
    )
    assert QuoteRevision.objects.filter(quote__workspace=workspace).count() == len(sent)


def _check_quote_pages(workspace: Workspace) -> None:
    """The bench's three quote requests answer with what bench/measure.py expects of them."""
    scenarios, facts = measure.quotes_scenarios(workspace)
    assert facts["quotes"] == bench.QUOTE_COUNT
    assert 0 < facts["quotes_search_matches"] < bench.QUOTE_COUNT
    assert 0 < facts["quotes_status_matches"] < bench.QUOTE_COUNT
    client = Client()
    client.force_login(User.objects.get(email=bench.ADMIN_EMAIL))
    for scenario in scenarios:
        measure._request(client, scenario)  # raises when the page is not what was expected


@pytest.mark.django_db(transaction=True)
def test_the_generator_builds_a_complete_workspace(small: None) -> None:
    generate.generate(chunk=10)

    status = generate.workspace_status()
    assert generate.is_complete(status), status
    assert Job.objects.filter(workspace=status["workspace"]).count() == 28
    assert Activity.objects.filter(job__number=bench.FEED_JOB_NUMBER).count() == 1_000
    _check_bookings(Workspace.objects.get(pk=status["workspace"].pk))
    _check_quotes(Workspace.objects.get(pk=status["workspace"].pk))
    # Nothing is generated twice.
    assert generate.ensure() is None


@pytest.mark.django_db(transaction=True)
def test_the_bookings_are_added_to_a_workspace_generated_without_them(small: None) -> None:
    generate.generate(chunk=10, bookings=False)
    status = generate.workspace_status()
    assert generate.jobs_complete(status) and not generate.is_complete(status)
    assert status["bookings"] == 0
    jobs = Job.objects.count()

    assert generate.ensure() is not None

    status = generate.workspace_status()
    assert generate.is_complete(status), status
    assert Job.objects.count() == jobs
    _check_bookings(Workspace.objects.get(pk=status["workspace"].pk))
    assert generate.ensure() is None


@pytest.mark.django_db(transaction=True)
def test_the_quotes_are_added_to_a_workspace_generated_without_them(small: None) -> None:
    generate.generate(chunk=10, quotes=False)
    status = generate.workspace_status()
    assert generate.jobs_complete(status) and bookings_data.is_complete(status)
    assert not generate.is_complete(status)
    assert status["quotes"] == 0
    bookings = Booking.objects.count()

    assert generate.ensure() is not None

    status = generate.workspace_status()
    assert generate.is_complete(status), status
    assert Booking.objects.count() == bookings
    workspace = Workspace.objects.get(pk=status["workspace"].pk)
    _check_quotes(workspace)
    _check_quote_pages(workspace)
    assert generate.ensure() is None


def _check_billing(workspace: Workspace) -> None:
    """Every job has a schedule that adds up to its value; the invoices are numbered from
    INV-1001 without a gap, the counter after them; each job's amount due is what its
    requested instalments still await; the billing scenarios answer as they should."""
    jobs = Job.objects.filter(workspace=workspace)
    assert jobs.filter(value__isnull=True).count() == 0
    for job in jobs:
        amounts = [i.amount for i in Instalment.objects.filter(job=job)]
        assert amounts and sum(amounts) == job.value, job.number
        owing = sum(
            (i.amount - i.paid for i in Instalment.objects.filter(
                job=job, status__in=[InstalmentStatus.REQUESTED, InstalmentStatus.PART_PAID])),
            start=0,
        )  # fmt: skip
        assert (job.money_outstanding or 0) == owing, job.number
    numbers = sorted(Invoice.objects.filter(workspace=workspace).values_list("number", flat=True))
    assert numbers == list(range(1001, 1001 + len(numbers))) and numbers
    assert workspace.invoice_sequence.next_number == 1001 + len(numbers)
    scenarios, _facts = measure.billing_scenarios(
        workspace, busiest=Job.objects.filter(workspace=workspace).first().stage
    )
    assert {s.key for s in scenarios} == {
        "money_job",
        "money_column",
        "money_page",
        "dashboard",
        "trigger_move",
    }
    client = Client()
    client.force_login(User.objects.get(email=bench.ADMIN_EMAIL))
    for scenario in scenarios:
        if scenario.key == "money_column":
            continue  # the small workspace's first stage may owe nothing
        measure._request(client, scenario)  # raises when the page is not what was expected
        measure._request(client, scenario)  # the trigger move again: it asks again


@pytest.mark.django_db(transaction=True)
def test_the_schedules_are_added_to_a_workspace_generated_without_them(small: None) -> None:
    generate.generate(chunk=10, billing=False)
    status = generate.workspace_status()
    assert not billing_data.is_complete(status) and status["scheduled_jobs"] == 0
    assert generate.ensure() is not None
    status = generate.workspace_status()
    assert generate.is_complete(status), status
    _check_billing(Workspace.objects.get(pk=status["workspace"].pk))
    assert generate.ensure() is None
