"""Quote services (quotes/services.py): numbering, sending, revisions, acceptance and its
record, declining, expiry in each workspace's own today, bad input refused with nothing
written, tax rates, and conversion into a job and its first visit.

The standard quote (``write``): a boiler 1,200.00 and labour 3.5 × 45.00 less 10 % = 141.75,
both at VAT 20 %, and an optional magnetic filter 150.00. Without the filter: 1,341.75 + VAT
268.35 = 1,610.10; with it: 1,491.75 + 298.35 = 1,790.10. A 25 % deposit is 402.525 → 402.53
and 447.525 → 447.53 (half-up).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jobline.bookings import services as booking_services
from jobline.bookings.models import Assignment, Booking
from jobline.bookings.services import Overlap
from jobline.customers.models import Customer
from jobline.jobs.models import Activity, ActivityKind, Job
from jobline.notifications.models import EmailKind, Notification, OutgoingEmail
from jobline.pipelines.models import Pipeline, Stage
from jobline.pipelines.services import pipeline_create_from_blueprint
from jobline.quotes import services, tokens
from jobline.quotes.models import (
    Quote,
    QuoteEvent,
    QuoteEventKind,
    QuoteLine,
    QuoteRevision,
    QuoteStatus,
    TaxRate,
)
from jobline.quotes.services import (
    AlreadyConverted,
    FirstVisit,
    LineInput,
    NotAcceptable,
)
from jobline.workspaces.models import Membership, Workspace
from tests.conftest import Cast

D = Decimal
UTC = dt.UTC
HOUR = dt.timedelta(hours=1)
T10 = dt.datetime(2030, 6, 4, 9, 0, tzinfo=UTC)  # Tue 4 Jun 2030, 10:00 in London
# Tue 4 Jun 2030 08:00 in Sydney (AEST, UTC+10) is still Mon 3 Jun in UTC and in London.
SYDNEY_MORNING = dt.datetime(2030, 6, 3, 22, 0, tzinfo=UTC)
JUNE_3, JUNE_4 = dt.date(2030, 6, 3), dt.date(2030, 6, 4)
HEX64 = re.compile(r"^[0-9a-f]{64}$")


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture
def quotes_on(cast: Cast) -> Cast:
    for workspace in (cast.workspace, cast.other_workspace):
        workspace.module_quotes = True
        workspace.save(update_fields=["module_quotes"])
    return cast


@pytest.fixture
def vat(quotes_on: Cast) -> TaxRate:
    return services.tax_rate_add(
        workspace=quotes_on.workspace, actor=quotes_on.admin, name="VAT", percent=20
    )


@pytest.fixture
def repair(cast: Cast) -> Pipeline:
    return pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="repair", actor=cast.admin
    )


@pytest.fixture
def sam(cast: Cast) -> Membership:
    return cast.membership(cast.staff)


def standard_lines(vat: TaxRate | None) -> list[LineInput]:
    return [
        LineInput("Combi boiler, supplied and fitted", D(1), D("1200.00"), tax_rate=vat),
        LineInput("Labour (hours)", D("3.5"), D("45.00"), D(10), tax_rate=vat),
        LineInput("Magnetic filter", D(1), D("150.00"), tax_rate=vat, optional=True),
    ]


def write(cast: Cast, vat: TaxRate | None, **overrides: Any) -> Quote:
    values: dict[str, Any] = {
        "workspace": cast.workspace, "actor": cast.admin, "owner": cast.manager,
        "title": "Boiler replacement", "customer": cast.customer,
        "lines": standard_lines(vat), "deposit_kind": "percent", "deposit_value": D(25),
    }  # fmt: skip
    values.update(overrides)
    return services.quote_create(**values)


def sent(cast: Cast, vat: TaxRate | None, **overrides: Any) -> Quote:
    return services.quote_send(quote=write(cast, vat, **overrides), actor=cast.admin)


def fresh(quote: Quote) -> Quote:
    return Quote.objects.select_related("workspace", "customer").get(pk=quote.pk)


def optional_line(quote: Quote) -> QuoteLine:
    return QuoteLine.objects.get(quote=quote, optional=True)


def accepted(quote: Quote, *, with_filter: bool = True) -> Quote:
    ticked = [optional_line(quote).pk] if with_filter else []
    return services.quote_accept(quote=quote, name="Priya Natarajan", ip="203.0.113.7",
                                 ticked=ticked)  # fmt: skip


def error_keys(error: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return set(error.value.message_dict)


def set_time_zone(workspace: Workspace, time_zone: str) -> None:
    workspace.time_zone = time_zone
    workspace.save(update_fields=["time_zone"])


@pytest.fixture
def sydney_morning(monkeypatch: pytest.MonkeyPatch) -> Iterator[dt.datetime]:
    """The clock stopped at Tue 4 Jun 2030 08:00 in Sydney (still 3 Jun in UTC)."""
    monkeypatch.setattr(timezone, "now", lambda: SYDNEY_MORNING)
    yield SYDNEY_MORNING


# ----------------------------------------------------------------------------- numbering


def test_drafts_burn_no_numbers(quotes_on: Cast, vat: TaxRate) -> None:
    first, second, third = (write(quotes_on, vat, title=f"Quote {i}") for i in range(3))
    assert [q.number for q in (first, second, third)] == [None, None, None]
    assert first.reference == "Draft"
    assert services.quote_send(quote=second, actor=quotes_on.admin).reference == "Q-1001"
    assert services.quote_send(quote=first, actor=quotes_on.admin).reference == "Q-1002"
    assert fresh(third).number is None
    # Sending again keeps the number.
    assert services.quote_send(quote=second, actor=quotes_on.admin).number == 1001


def test_numbers_are_per_workspace(quotes_on: Cast, vat: TaxRate) -> None:
    assert sent(quotes_on, vat).number == 1001
    elsewhere = Customer.objects.create(
        workspace=quotes_on.other_workspace, name="Eve Elsewhere", email="eve@example.com",
        created_by=quotes_on.outsider,
    )  # fmt: skip
    theirs = services.quote_create(
        workspace=quotes_on.other_workspace, actor=quotes_on.outsider, title="Leak",
        customer=elsewhere, lines=[LineInput("Call-out", D(1), D(90))],
    )  # fmt: skip
    assert services.quote_send(quote=theirs, actor=quotes_on.outsider).number == 1001
    assert sent(quotes_on, vat).number == 1002


# ----------------------------------------------------------------------------- sending


def test_send_refuses_a_customer_without_an_e_mail_address(quotes_on: Cast, vat: TaxRate) -> None:
    silent = Customer.objects.create(
        workspace=quotes_on.workspace, name="No Mail", created_by=quotes_on.admin
    )
    quote = write(quotes_on, vat, customer=silent)
    with pytest.raises(ValidationError) as error:
        services.quote_send(quote=quote, actor=quotes_on.admin)
    assert error_keys(error) == {"customer"}
    quote = fresh(quote)
    assert (quote.status, quote.number, quote.revision) == (QuoteStatus.DRAFT, None, 0)
    assert not OutgoingEmail.objects.exists()
    assert sent(quotes_on, vat).number == 1001  # the refusal burnt no number


def test_send_refuses_an_expired_quote(quotes_on: Cast, vat: TaxRate) -> None:
    quote = write(quotes_on, vat)
    yesterday = services.local_today(quotes_on.workspace) - dt.timedelta(days=1)
    Quote.objects.filter(pk=quote.pk).update(expires_on=yesterday)
    with pytest.raises(ValidationError) as error:
        services.quote_send(quote=quote, actor=quotes_on.admin)
    assert error_keys(error) == {"expires_on"}
    assert fresh(quote).number is None
    assert not OutgoingEmail.objects.exists()


def test_sending_numbers_it_makes_revision_1_and_e_mails_the_customer(
    quotes_on: Cast, vat: TaxRate
) -> None:
    quote = sent(quotes_on, vat)
    assert (quote.status, quote.revision) == (QuoteStatus.SENT, 1)
    revision = QuoteRevision.objects.get(quote=quote)
    assert revision.number == 1 and HEX64.match(revision.content_hash)
    assert revision.content["total_without_options"] == "1610.10"
    email = OutgoingEmail.objects.get(quote=quote)
    assert (email.kind, email.to_address) == (EmailKind.QUOTE, "priya@example.com")
    assert fresh(quote).total == D("1610.10")


# ----------------------------------------------------------------------------- editing


def update(quote: Quote, cast: Cast, vat: TaxRate | None, **overrides: Any) -> Quote:
    values: dict[str, Any] = {
        "quote": quote, "actor": cast.admin, "title": "Boiler replacement (revised)",
        "customer": cast.customer,
        "lines": [*standard_lines(vat), LineInput("Thermostat", D(1), D("80.00"), tax_rate=vat)],
        "deposit_kind": "percent", "deposit_value": D(25),
    }  # fmt: skip
    values.update(overrides)
    return services.quote_update(**values)


def test_editing_a_draft_shows_the_customer_nothing(quotes_on: Cast, vat: TaxRate) -> None:
    quote = write(quotes_on, vat)
    edited = update(quote, quotes_on, vat)
    assert (edited.status, edited.number, edited.revision) == (QuoteStatus.DRAFT, None, 0)
    assert fresh(quote).total == D("1706.10")  # 1,421.75 + VAT 284.35
    assert not QuoteRevision.objects.exists()
    assert not OutgoingEmail.objects.exists()
    assert QuoteEvent.objects.filter(quote=quote, kind=QuoteEventKind.CHANGED).count() == 1
    # Its link opens nothing: a draft never reaches a customer.
    assert Client().get(f"/q/{tokens.token_for(quote.uid)}/").status_code == 404


def test_editing_a_sent_quote_makes_revision_2_and_e_mails_the_customer_again(
    quotes_on: Cast, vat: TaxRate
) -> None:
    quote = sent(quotes_on, vat)
    services.quote_mark_viewed(quote=quote)
    assert fresh(quote).status == QuoteStatus.VIEWED
    edited = update(quote, quotes_on, vat)
    quote = fresh(quote)
    assert (quote.status, quote.revision, quote.number) == (QuoteStatus.SENT, 2, 1001)
    assert edited.revision == 2
    revisions = list(QuoteRevision.objects.filter(quote=quote).order_by("number"))
    assert [r.number for r in revisions] == [1, 2]
    assert all(HEX64.match(r.content_hash) for r in revisions)
    assert revisions[0].content_hash != revisions[1].content_hash
    assert revisions[0].content["total_without_options"] == "1610.10"
    assert revisions[1].content["total_without_options"] == "1706.10"
    assert revisions[1].content["title"] == "Boiler replacement (revised)"
    assert len(revisions[1].content["lines"]) == 4
    emails = OutgoingEmail.objects.filter(quote=quote, kind=EmailKind.QUOTE).order_by("pk")
    assert [e.to_address for e in emails] == ["priya@example.com"] * 2
    assert QuoteEvent.objects.filter(quote=quote, kind=QuoteEventKind.REVISED).count() == 1


def test_a_sent_quote_stays_with_its_customer(quotes_on: Cast, vat: TaxRate) -> None:
    quote = sent(quotes_on, vat)
    with pytest.raises(ValidationError) as error:
        update(quote, quotes_on, vat, customer=quotes_on.second_customer)
    assert error_keys(error) == {"customer"}
    assert fresh(quote).revision == 1


@pytest.mark.parametrize("outcome", ["accepted", "declined", "converted"])
def test_a_decided_quote_cannot_be_edited(
    quotes_on: Cast, vat: TaxRate, repair: Pipeline, outcome: str
) -> None:
    quote = sent(quotes_on, vat)
    if outcome == "declined":
        services.quote_decline(quote=quote, reason="Too dear")
    else:
        accepted(quote)
    if outcome == "converted":
        services.quote_convert(quote=quote, actor=quotes_on.admin, pipeline=repair)
    before = fresh(quote)
    with pytest.raises(ValidationError, match="can no longer be edited"):
        update(quote, quotes_on, vat)
    after = fresh(quote)
    assert (after.status, after.revision, after.title, after.version) == (
        outcome, 1, "Boiler replacement", before.version,
    )  # fmt: skip
    assert QuoteLine.objects.filter(quote=quote).count() == 3
    assert QuoteRevision.objects.filter(quote=quote).count() == 1


def test_a_stale_edit_is_refused(quotes_on: Cast, vat: TaxRate) -> None:
    quote = write(quotes_on, vat)
    update(quote, quotes_on, vat, expected_version=quote.version)
    with pytest.raises(services.StaleQuote):
        update(quote, quotes_on, vat, expected_version=quote.version, title="Lost edit")
    assert fresh(quote).title == "Boiler replacement (revised)"


# ----------------------------------------------------------------------------- acceptance


def test_acceptance_records_who_what_and_tells_the_owner(quotes_on: Cast, vat: TaxRate) -> None:
    quote = sent(quotes_on, vat)
    filter_line = optional_line(quote)
    boiler = QuoteLine.objects.get(quote=quote, position=0)
    at = timezone.now()
    services.quote_accept(
        quote=quote, name="  Priya Natarajan ", ip="203.0.113.7",
        ticked=[filter_line.pk, boiler.pk, 999_999], revision_seen=1, at=at,
    )  # fmt: skip
    quote = fresh(quote)
    assert quote.status == QuoteStatus.ACCEPTED
    assert (quote.accepted_name, quote.accepted_ip, quote.accepted_revision) == (
        "Priya Natarajan", "203.0.113.7", 1,
    )  # fmt: skip
    assert quote.accepted_lines == [filter_line.pk]  # only optional lines of this quote
    assert quote.accepted_total == D("1790.10")
    assert HEX64.match(quote.accepted_hash)
    assert quote.decided_at == at
    event = QuoteEvent.objects.get(quote=quote, kind=QuoteEventKind.ACCEPTED)
    assert event.by_customer and event.actor is None
    # The owner (Max) hears of it: a bell line to the quote's page and an e-mail.
    bell = Notification.objects.get(recipient=quotes_on.manager)
    assert bell.link == reverse("quotes:detail", args=[quote.pk])
    assert "Q-1001" in bell.text and "accepted" in bell.text
    assert not Notification.objects.exclude(recipient=quotes_on.manager).exists()
    decided = OutgoingEmail.objects.get(kind=EmailKind.QUOTE_DECIDED)
    assert (decided.recipient, decided.to_address) == (quotes_on.manager, "manager@harbour.test")


def test_the_acceptance_hash_covers_the_lines_chosen(quotes_on: Cast, vat: TaxRate) -> None:
    with_filter = accepted(sent(quotes_on, vat), with_filter=True)
    without_filter = accepted(sent(quotes_on, vat), with_filter=False)
    assert fresh(without_filter).accepted_total == D("1610.10")
    assert fresh(without_filter).accepted_lines == []
    assert with_filter.accepted_hash != without_filter.accepted_hash


def test_acceptance_is_refused_the_day_after_expiry_in_the_workspace_s_own_time_zone(
    quotes_on: Cast, vat: TaxRate, sydney_morning: dt.datetime
) -> None:
    """It is 4 June in Sydney but still 3 June in UTC and London: a quote valid until 3 June
    has expired in Sydney, not in London."""
    set_time_zone(quotes_on.workspace, "Australia/Sydney")
    assert services.local_today(fresh(sent(quotes_on, vat)).workspace) == JUNE_4
    quote = sent(quotes_on, vat)
    Quote.objects.filter(pk=quote.pk).update(expires_on=JUNE_3)
    with pytest.raises(NotAcceptable, match="expired"):
        services.quote_accept(quote=quote, name="Priya", ip=None, at=sydney_morning)
    assert fresh(quote).status == QuoteStatus.SENT
    assert not Notification.objects.exists()
    with pytest.raises(NotAcceptable, match="expired"):
        services.quote_decline(quote=quote, at=sydney_morning)
    # The same quote in London (where it is 3 June, its last day) can still be accepted.
    set_time_zone(quotes_on.workspace, "Europe/London")
    services.quote_accept(quote=quote, name="Priya", ip=None, at=sydney_morning)
    assert fresh(quote).status == QuoteStatus.ACCEPTED


def test_acceptance_is_refused_once_marked_expired(quotes_on: Cast, vat: TaxRate) -> None:
    quote = sent(quotes_on, vat)
    Quote.objects.filter(pk=quote.pk).update(status=QuoteStatus.EXPIRED)
    with pytest.raises(NotAcceptable, match="expired"):
        accepted(quote)


def test_acceptance_is_refused_after_a_decline(quotes_on: Cast, vat: TaxRate) -> None:
    quote = sent(quotes_on, vat)
    services.quote_decline(quote=quote, reason="Went elsewhere")
    with pytest.raises(NotAcceptable, match="declined"):
        accepted(quote)
    assert fresh(quote).status == QuoteStatus.DECLINED


def test_a_second_acceptance_is_refused_and_changes_nothing(quotes_on: Cast, vat: TaxRate) -> None:
    quote = sent(quotes_on, vat)
    accepted(quote, with_filter=True)
    first = fresh(quote)
    with pytest.raises(NotAcceptable, match="already been accepted"):
        services.quote_accept(quote=quote, name="Someone Else", ip="198.51.100.1", ticked=[])
    again = fresh(quote)
    assert (again.accepted_name, again.accepted_total, again.accepted_hash) == (
        first.accepted_name, first.accepted_total, first.accepted_hash,
    )  # fmt: skip
    assert Notification.objects.count() == 1
    with pytest.raises(NotAcceptable):
        services.quote_decline(quote=quote)


def test_acceptance_of_a_superseded_revision_is_refused(quotes_on: Cast, vat: TaxRate) -> None:
    quote = sent(quotes_on, vat)
    update(quote, quotes_on, vat)  # revision 2
    with pytest.raises(NotAcceptable, match="updated after you opened it"):
        services.quote_accept(quote=quote, name="Priya", ip=None, revision_seen=1)
    with pytest.raises(NotAcceptable, match="updated after you opened it"):
        services.quote_decline(quote=quote, revision_seen=1)
    assert fresh(quote).status == QuoteStatus.SENT
    services.quote_accept(quote=quote, name="Priya", ip=None, revision_seen=2)
    assert fresh(quote).accepted_revision == 2
    assert fresh(quote).accepted_total == D("1706.10")


@pytest.mark.parametrize("name", ["", "   "])
def test_acceptance_needs_a_typed_name(quotes_on: Cast, vat: TaxRate, name: str) -> None:
    quote = sent(quotes_on, vat)
    with pytest.raises(ValidationError) as error:
        services.quote_accept(quote=quote, name=name, ip=None)
    assert error_keys(error) == {"name"}
    assert fresh(quote).status == QuoteStatus.SENT
    assert not Notification.objects.exists()


def test_decline_records_the_reason_and_tells_the_owner(quotes_on: Cast, vat: TaxRate) -> None:
    quote = sent(quotes_on, vat)
    services.quote_decline(quote=quote, reason="  Found someone cheaper  ", revision_seen=1)
    quote = fresh(quote)
    assert (quote.status, quote.decline_reason) == (QuoteStatus.DECLINED, "Found someone cheaper")
    assert quote.decided_at is not None and quote.accepted_total is None
    event = QuoteEvent.objects.get(quote=quote, kind=QuoteEventKind.DECLINED)
    assert event.by_customer and event.detail == "Found someone cheaper"
    bell = Notification.objects.get(recipient=quotes_on.manager)
    assert "declined" in bell.text
    assert OutgoingEmail.objects.filter(kind=EmailKind.QUOTE_DECIDED).count() == 1


def test_a_decision_with_no_owner_goes_to_the_admins(quotes_on: Cast, vat: TaxRate) -> None:
    quote = sent(quotes_on, vat)
    Quote.objects.filter(pk=quote.pk).update(owner=None)
    accepted(quote)
    assert list(Notification.objects.values_list("recipient", flat=True)) == [quotes_on.admin.pk]


# ----------------------------------------------------------------------------- expiry


def test_quotes_expire_marks_only_open_quotes_past_expiry_in_their_own_time_zone(
    quotes_on: Cast, vat: TaxRate
) -> None:
    set_time_zone(quotes_on.workspace, "Australia/Sydney")  # 4 June there
    set_time_zone(quotes_on.other_workspace, "Europe/London")  # 3 June there
    their_customer = Customer.objects.create(
        workspace=quotes_on.other_workspace, name="Eve", email="eve@example.com",
        created_by=quotes_on.outsider,
    )  # fmt: skip

    def harbour(status: str, expires_on: dt.date) -> Quote:
        quote = write(quotes_on, vat) if status == "draft" else sent(quotes_on, vat)
        if status == "viewed":
            services.quote_mark_viewed(quote=quote)
        if status == "accepted":
            accepted(quote)
        Quote.objects.filter(pk=quote.pk).update(expires_on=expires_on)
        return quote

    past_sent = harbour("sent", JUNE_3)
    past_viewed = harbour("viewed", dt.date(2030, 5, 1))
    last_day = harbour("sent", JUNE_4)
    draft = harbour("draft", JUNE_3)
    done = harbour("accepted", JUNE_3)
    london = services.quote_send(quote=services.quote_create(
        workspace=quotes_on.other_workspace, actor=quotes_on.outsider, title="Leak",
        customer=their_customer, lines=[LineInput("Call-out", D(1), D(90))],
    ), actor=quotes_on.outsider)  # fmt: skip
    Quote.objects.filter(pk=london.pk).update(expires_on=JUNE_3)

    assert services.quotes_expire(now=SYDNEY_MORNING) == 2
    status = {
        q.pk: fresh(q).status for q in (past_sent, past_viewed, last_day, draft, done, london)
    }
    assert status == {
        past_sent.pk: QuoteStatus.EXPIRED, past_viewed.pk: QuoteStatus.EXPIRED,
        last_day.pk: QuoteStatus.SENT, draft.pk: QuoteStatus.DRAFT,
        done.pk: QuoteStatus.ACCEPTED, london.pk: QuoteStatus.SENT,
    }  # fmt: skip
    expired_events = QuoteEvent.objects.filter(kind=QuoteEventKind.EXPIRED)
    assert set(expired_events.values_list("quote", flat=True)) == {past_sent.pk, past_viewed.pk}
    # Run again: nothing more to do.
    assert services.quotes_expire(now=SYDNEY_MORNING) == 0
    # Once 4 June begins in London, its quote goes too.
    assert services.quotes_expire(now=SYDNEY_MORNING + dt.timedelta(hours=2)) == 1
    assert fresh(london).status == QuoteStatus.EXPIRED


def test_an_expired_quote_reopens_when_edited_with_a_new_date(
    quotes_on: Cast, vat: TaxRate
) -> None:
    quote = sent(quotes_on, vat)
    Quote.objects.filter(pk=quote.pk).update(status=QuoteStatus.EXPIRED)
    later = services.local_today(quotes_on.workspace) + dt.timedelta(days=14)
    update(quote, quotes_on, vat, expires_on=later)
    quote = fresh(quote)
    assert (quote.status, quote.revision, quote.expires_on) == (QuoteStatus.SENT, 2, later)
    accepted(quote)


# ----------------------------------------------------------------------------- bad input


def other_workspace_rate(cast: Cast) -> TaxRate:
    return TaxRate.objects.create(workspace=cast.other_workspace, name="MwSt", percent=D(19))


def archived_customer(cast: Cast) -> Customer:
    return Customer.objects.create(
        workspace=cast.workspace, name="Gone", email="gone@example.com",
        created_by=cast.admin, archived_at=timezone.now(),
    )  # fmt: skip


def other_workspace_customer(cast: Cast) -> Customer:
    return Customer.objects.create(
        workspace=cast.other_workspace, name="Eve", email="eve@example.com",
        created_by=cast.outsider,
    )  # fmt: skip


BAD_INPUT = {
    "negative quantity": ("lines", lambda c, v: {"lines": [LineInput("x", D(-1), D(10))]}),
    "negative price": ("lines", lambda c, v: {"lines": [LineInput("x", D(1), D("-0.01"))]}),
    "discount over 100": (
        "lines", lambda c, v: {"lines": [LineInput("x", D(1), D(10), D("100.01"))]},
    ),
    "negative discount": ("lines", lambda c, v: {"lines": [LineInput("x", D(1), D(10), D(-5))]}),
    "quantity not a number": ("lines", lambda c, v: {"lines": [LineInput("x", "lots", D(10))]}),
    "infinite price": ("lines", lambda c, v: {"lines": [LineInput("x", D(1), D("Infinity"))]}),
    "no description": ("lines", lambda c, v: {"lines": [LineInput("  ", D(1), D(10))]}),
    "another workspace's tax rate": (
        "lines",
        lambda c, v: {"lines": [LineInput("x", D(1), D(10), tax_rate=other_workspace_rate(c))]},
    ),
    "only optional lines": (
        "lines", lambda c, v: {"lines": [LineInput("x", D(1), D(10), tax_rate=v, optional=True)]},
    ),
    "no lines": ("lines", lambda c, v: {"lines": []}),
    "archived customer": ("customer", lambda c, v: {"customer": archived_customer(c)}),
    "another workspace's customer": (
        "customer", lambda c, v: {"customer": other_workspace_customer(c)},
    ),
    "no customer": ("customer", lambda c, v: {"customer": None}),
    "no title": ("title", lambda c, v: {"title": "   "}),
    "deposit over 100 %": ("deposit_value", lambda c, v: {"deposit_value": D("100.5")}),
    "expiry in the past": ("expires_on", lambda c, v: {"expires_on": dt.date(2020, 1, 1)}),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_INPUT, ids=list(BAD_INPUT))
def test_bad_input_is_refused_with_its_field_and_nothing_is_saved(
    quotes_on: Cast, vat: TaxRate, case: str
) -> None:
    key, overrides = BAD_INPUT[case]
    extra = overrides(quotes_on, vat)
    customers = Customer.objects.count()
    with pytest.raises(ValidationError) as error:
        write(quotes_on, vat, **extra)
    assert key in error_keys(error), error.value
    assert not Quote.objects.exists()
    assert not QuoteLine.objects.exists()
    assert not QuoteEvent.objects.exists()
    assert Customer.objects.count() == customers


def test_bad_lines_with_a_new_customer_leave_no_customer_behind(
    quotes_on: Cast, vat: TaxRate
) -> None:
    customers = Customer.objects.count()
    with pytest.raises(ValidationError) as error:
        write(
            quotes_on, vat, customer=None, new_customer_name="Newcomer",
            new_customer_email="new@example.com", lines=[LineInput("x", D(-1), D(1))],
        )  # fmt: skip
    assert error_keys(error) == {"lines"}
    assert Customer.objects.count() == customers
    assert not Quote.objects.exists()


def test_a_line_error_names_the_line(quotes_on: Cast, vat: TaxRate) -> None:
    with pytest.raises(ValidationError) as error:
        write(quotes_on, vat, lines=[LineInput("ok", D(1), D(1)), LineInput("x", D(-2), D(1))])
    assert error.value.message_dict["lines"] == ["Line 2: the quantity cannot be negative."]


def test_a_bad_edit_leaves_the_quote_as_it_was(quotes_on: Cast, vat: TaxRate) -> None:
    quote = sent(quotes_on, vat)
    before = fresh(quote)
    with pytest.raises(ValidationError) as error:
        update(quote, quotes_on, vat, lines=[LineInput("x", D(1), D(10), D(101))])
    assert error_keys(error) == {"lines"}
    after = fresh(quote)
    assert (after.revision, after.version, after.total, after.title) == (
        before.revision, before.version, before.total, before.title,
    )  # fmt: skip
    assert QuoteLine.objects.filter(quote=quote).count() == 3
    assert OutgoingEmail.objects.filter(quote=quote).count() == 1


@pytest.mark.parametrize("percent", ["100.01", "-0.01", "-5", "9.97501", "12.34567", "abc", "NaN"])
def test_tax_rate_add_refuses_a_bad_percent(quotes_on: Cast, percent: str) -> None:
    with pytest.raises(ValidationError) as error:
        services.tax_rate_add(
            workspace=quotes_on.workspace, actor=quotes_on.admin, name="Odd", percent=percent
        )
    assert error_keys(error) == {"percent"}
    assert not TaxRate.objects.exists()


@pytest.mark.parametrize("percent", ["0", "9.975", "12.3456", "100"])
def test_tax_rate_add_accepts_0_to_100_with_up_to_4_decimals(quotes_on: Cast, percent: str) -> None:
    rate = services.tax_rate_add(
        workspace=quotes_on.workspace, actor=quotes_on.admin, name="Rate", percent=percent
    )
    assert TaxRate.objects.get(pk=rate.pk).percent == D(percent)


def test_tax_rate_add_needs_a_name(quotes_on: Cast) -> None:
    with pytest.raises(ValidationError) as error:
        services.tax_rate_add(
            workspace=quotes_on.workspace, actor=quotes_on.admin, name=" ", percent=20
        )
    assert error_keys(error) == {"name"}


def test_an_archived_tax_rate_cannot_be_used_and_a_rate_edit_does_not_change_a_quote(
    quotes_on: Cast, vat: TaxRate
) -> None:
    quote = write(quotes_on, vat)
    TaxRate.objects.filter(pk=vat.pk).update(percent=D(25))
    assert fresh(quote).total == D("1610.10")
    assert services.quote_totals(fresh(quote)).total == D("1610.10")
    services.tax_rate_archive(tax_rate=TaxRate.objects.get(pk=vat.pk), actor=quotes_on.admin)
    with pytest.raises(ValidationError) as error:
        write(quotes_on, TaxRate.objects.get(pk=vat.pk))
    assert error_keys(error) == {"lines"}


# ----------------------------------------------------------------------------- conversion


def first_stage(pipeline: Pipeline) -> Stage:
    return Stage.objects.filter(pipeline=pipeline).live().first()


def test_converting_an_accepted_quote_makes_the_job_its_visit_and_the_links(
    quotes_on: Cast, vat: TaxRate, repair: Pipeline, sam: Membership
) -> None:
    quote = accepted(sent(quotes_on, vat), with_filter=True)
    job = services.quote_convert(
        quote=quote, actor=quotes_on.admin, pipeline=repair, owner=quotes_on.staff,
        visit=FirstVisit(starts_at=T10, minutes=90, staff=[sam]),
    )  # fmt: skip
    job = Job.objects.get(pk=job.pk)
    assert (job.title, job.customer, job.pipeline, job.owner) == (
        "Boiler replacement", quotes_on.customer, repair, quotes_on.staff,
    )  # fmt: skip
    assert job.stage == first_stage(repair)
    assert job.value == fresh(quote).accepted_total == D("1790.10")
    assert job.deposit_due == D("447.53")
    booking = Booking.objects.get(job=job)
    assert (booking.starts_at, booking.ends_at) == (T10, T10 + dt.timedelta(minutes=90))
    assert list(Assignment.objects.filter(booking=booking).values_list("membership", flat=True)) \
        == [sam.pk]  # fmt: skip
    quote = fresh(quote)
    assert (quote.status, quote.job_id) == (QuoteStatus.CONVERTED, job.pk)
    assert quote.converted_at is not None
    assert job.quote == quote
    event = QuoteEvent.objects.get(quote=quote, kind=QuoteEventKind.CONVERTED)
    assert event.detail == job.reference and event.actor == quotes_on.admin
    entry = Activity.objects.get(job=job, kind=ActivityKind.QUOTE_CONVERTED)
    assert entry.data["quote"] == quote.pk and entry.data["reference"] == "Q-1001"
    # Twice: the same job back, nothing new.
    with pytest.raises(AlreadyConverted) as again:
        services.quote_convert(quote=quote, actor=quotes_on.admin, pipeline=repair)
    assert again.value.job.pk == job.pk
    assert job.reference in str(again.value)
    assert Job.objects.count() == 1 and Booking.objects.count() == 1


def test_converting_without_a_deposit_leaves_none_due(
    quotes_on: Cast, vat: TaxRate, repair: Pipeline
) -> None:
    quote = accepted(sent(quotes_on, vat, deposit_kind="none"), with_filter=False)
    job = services.quote_convert(quote=quote, actor=quotes_on.admin, pipeline=repair)
    job = Job.objects.get(pk=job.pk)
    assert (job.value, job.deposit_due) == (D("1610.10"), None)
    assert not Booking.objects.exists()


def test_converting_a_sent_quote_needs_without_acceptance(
    quotes_on: Cast, vat: TaxRate, repair: Pipeline
) -> None:
    quote = sent(quotes_on, vat)
    with pytest.raises(ValidationError) as error:
        services.quote_convert(quote=quote, actor=quotes_on.admin, pipeline=repair)
    assert error_keys(error) == {"without_acceptance"}
    assert not Job.objects.exists()
    job = services.quote_convert(
        quote=quote, actor=quotes_on.admin, pipeline=repair, without_acceptance=True
    )
    job = Job.objects.get(pk=job.pk)
    assert (job.value, job.deposit_due) == (D("1610.10"), D("402.53"))  # no optional lines
    assert fresh(quote).status == QuoteStatus.CONVERTED


@pytest.mark.parametrize("state", ["draft", "declined", "expired"])
def test_a_draft_declined_or_expired_quote_cannot_be_converted(
    quotes_on: Cast, vat: TaxRate, repair: Pipeline, state: str
) -> None:
    quote = write(quotes_on, vat) if state == "draft" else sent(quotes_on, vat)
    if state == "declined":
        services.quote_decline(quote=quote)
    if state == "expired":
        Quote.objects.filter(pk=quote.pk).update(status=QuoteStatus.EXPIRED)
    for without_acceptance in (False, True):
        with pytest.raises(ValidationError, match="cannot be converted"):
            services.quote_convert(quote=quote, actor=quotes_on.admin, pipeline=repair,
                                   without_acceptance=without_acceptance)  # fmt: skip
    assert not Job.objects.exists()
    assert fresh(quote).status == state


def test_an_overlapping_first_visit_converts_nothing_unless_booked_anyway(
    quotes_on: Cast, vat: TaxRate, repair: Pipeline, sam: Membership
) -> None:
    busy = booking_services.booking_create(
        workspace=quotes_on.workspace, actor=quotes_on.manager, title="Other visit",
        starts_at=T10, ends_at=T10 + HOUR, staff=[sam],
    )  # fmt: skip
    quote = accepted(sent(quotes_on, vat))
    visit = FirstVisit(starts_at=T10 + dt.timedelta(minutes=30), minutes=60, staff=[sam])
    with pytest.raises(Overlap) as overlap:
        services.quote_convert(quote=quote, actor=quotes_on.admin, pipeline=repair, visit=visit)
    assert [b.pk for b in overlap.value.conflicts] == [busy.pk]
    # Rolled back: no job, no visit, no feed entry, the quote still accepted and unlinked.
    assert not Job.objects.exists()
    assert not Activity.objects.exists()
    assert list(Booking.objects.values_list("pk", flat=True)) == [busy.pk]
    after = fresh(quote)
    assert (after.status, after.job_id, after.converted_at) == (QuoteStatus.ACCEPTED, None, None)
    assert not QuoteEvent.objects.filter(kind=QuoteEventKind.CONVERTED).exists()

    anyway = FirstVisit(starts_at=visit.starts_at, minutes=60, staff=[sam], book_anyway=True)
    job = services.quote_convert(quote=quote, actor=quotes_on.admin, pipeline=repair,
                                 visit=anyway)  # fmt: skip
    booking = Booking.objects.get(job=job)
    assert booking.overlap_allowed
    assert fresh(quote).job_id == job.pk


def test_a_pipeline_of_another_workspace_is_refused(quotes_on: Cast, vat: TaxRate) -> None:
    theirs = pipeline_create_from_blueprint(
        workspace=quotes_on.other_workspace, blueprint_key="repair", actor=quotes_on.outsider
    )
    quote = accepted(sent(quotes_on, vat))
    with pytest.raises(ValidationError) as error:
        services.quote_convert(quote=quote, actor=quotes_on.admin, pipeline=theirs)
    assert error_keys(error) == {"pipeline"}
    assert not Job.objects.exists()
    assert fresh(quote).status == QuoteStatus.ACCEPTED


def test_auto_convert_makes_the_job_on_acceptance_in_the_pipeline_s_first_stage(
    quotes_on: Cast, vat: TaxRate, repair: Pipeline
) -> None:
    quotes_on.workspace.quotes_auto_convert = True
    quotes_on.workspace.save(update_fields=["quotes_auto_convert"])
    quote = sent(quotes_on, vat, pipeline=repair)
    accepted(quote, with_filter=True)
    quote = fresh(quote)
    assert quote.status == QuoteStatus.CONVERTED
    job = Job.objects.get(pk=quote.job_id)
    assert (job.pipeline, job.stage) == (repair, first_stage(repair))
    assert (job.value, job.deposit_due) == (D("1790.10"), D("447.53"))
    assert job.owner == quotes_on.manager  # the quote's owner
    assert not Booking.objects.exists()
    assert Activity.objects.filter(job=job, kind=ActivityKind.QUOTE_CONVERTED).count() == 1
    kinds = list(
        QuoteEvent.objects.filter(quote=quote).order_by("pk").values_list("kind", flat=True)
    )
    assert kinds[-2:] == [QuoteEventKind.ACCEPTED, QuoteEventKind.CONVERTED]
    # The owner still hears of the acceptance.
    assert Notification.objects.filter(recipient=quotes_on.manager).count() == 1


def test_auto_convert_without_a_pipeline_on_the_quote_uses_the_workspace_s_first(
    quotes_on: Cast, vat: TaxRate, repair: Pipeline
) -> None:
    quotes_on.workspace.quotes_auto_convert = True
    quotes_on.workspace.save(update_fields=["quotes_auto_convert"])
    quote = accepted(sent(quotes_on, vat))
    first = (
        Pipeline.objects.filter(workspace=quotes_on.workspace, archived_at__isnull=True)
        .order_by("name", "pk")
        .first()
    )
    job = Job.objects.get(pk=fresh(quote).job_id)
    assert job.pipeline == first and job.stage == first_stage(first)


@pytest.mark.parametrize("owner", ["none", "left"])
def test_auto_convert_never_stops_the_customer_accepting(
    quotes_on: Cast, vat: TaxRate, repair: Pipeline, owner: str
) -> None:
    """A quote without an owner, or whose owner left, is still the customer's to accept (the
    decision then goes to the Admins, notifications.tell_owner_of_decision): the workspace's
    auto-convert must not turn their acceptance into an error."""
    quotes_on.workspace.quotes_auto_convert = True
    quotes_on.workspace.save(update_fields=["quotes_auto_convert"])
    quote = sent(quotes_on, vat, pipeline=repair)
    if owner == "none":
        Quote.objects.filter(pk=quote.pk).update(owner=None)
    else:
        Membership.objects.filter(user=quotes_on.manager, workspace=quotes_on.workspace).delete()
    accepted(quote)
    after = fresh(quote)
    assert after.status in (QuoteStatus.ACCEPTED, QuoteStatus.CONVERTED)
    assert after.accepted_total == D("1790.10")
    assert Notification.objects.filter(recipient=quotes_on.admin).count() == 1


def test_send_refuses_an_archived_customer(quotes_on: Cast, vat: TaxRate) -> None:
    """A customer archived after the draft was written: the send must not report success
    while the listener (rightly) e-mails nobody."""
    quote = write(quotes_on, vat)
    Customer.objects.filter(pk=quotes_on.customer.pk).update(archived_at=timezone.now())
    with pytest.raises(ValidationError) as error:
        services.quote_send(quote=quote, actor=quotes_on.admin)
    assert error_keys(error) == {"customer"}
    assert fresh(quote).status == QuoteStatus.DRAFT and fresh(quote).number is None


def test_the_job_is_worth_the_accepted_total_even_after_a_rounding_change(
    quotes_on: Cast, repair: Pipeline
) -> None:
    """Three lines of 0.05 at GST 10 %: 0.17 rounded per rate, 0.18 per line. The customer
    accepted 0.17; the workspace then switches to per-line rounding; the job made from the
    quote must be worth what was accepted."""
    gst = services.tax_rate_add(
        workspace=quotes_on.workspace, actor=quotes_on.admin, name="GST", percent=10
    )
    lines = [LineInput(f"Washer {i}", D(1), D("0.05"), tax_rate=gst) for i in range(3)]
    quote = sent(quotes_on, gst, lines=lines, deposit_kind="none")
    services.quote_accept(quote=quote, name="Priya", ip=None)
    assert fresh(quote).accepted_total == D("0.17")
    quotes_on.workspace.tax_rounding = "per_line"
    quotes_on.workspace.save(update_fields=["tax_rounding"])
    job = services.quote_convert(quote=quote, actor=quotes_on.admin, pipeline=repair)
    assert Job.objects.get(pk=job.pk).value == D("0.17")
