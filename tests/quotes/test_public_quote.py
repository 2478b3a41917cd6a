"""The customer's public quote page /q/<token>/ (no sign-in; the link's token is the key).

The right token opens the quote as the customer reads it (never its internal notes); a
tampered, made-up or draft token, or Quotes switched off, is a 404. The customer's first
look marks it viewed; a member of the business looking does not. Ticking optional lines
recomputes the totals; accepting records the name, the network address and the lines
chosen; a quote that expired, was declined, was superseded by a newer revision or was
accepted already cannot be accepted (409, saying why, changing nothing). Declining says so;
the page warns when the quote expires within 3 days and says when it was updated.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from jobline.quotes import services, tokens
from jobline.quotes.models import Quote, QuoteEvent, QuoteEventKind, QuoteStatus, TaxRate
from jobline.quotes.services import LineInput
from tests.bookings.conftest import Page, text_of
from tests.conftest import Cast
from tests.quotes.test_quote_views import (
    CUSTOMER_NOTE,
    INTERNAL_NOTE,
    TOTAL,
    TOTAL_WITH_FAN,
    a_quote,
    accepted,
    add_vat,
    fresh,
    local_today,
    optional_line,
    public_path,
    quotes_everywhere,
    sent,
    switch_quotes,
)

ACTIONS = ("", "totals/", "pdf/")
POSTS = ("accept/", "decline/")


@pytest.fixture
def quotes_on(cast: Cast) -> Cast:
    return quotes_everywhere(cast)


@pytest.fixture
def vat(quotes_on: Cast) -> TaxRate:
    return add_vat(quotes_on)


@pytest.fixture
def open_quote(cast: Cast, vat: TaxRate) -> Quote:
    """Priya's kitchen quote, sent (Q-1001, revision 1)."""
    return sent(cast, a_quote(cast, vat=vat))


@pytest.fixture
def customer() -> Client:
    """Whoever holds the link: nobody signed in."""
    return Client()


def revised(cast: Cast, quote: Quote, *, labour_days: int = 3) -> Quote:
    """The sent quote edited by Ada: revision 2, labour for ``labour_days`` days."""
    quote = fresh(quote)
    rate = TaxRate.objects.get(workspace=cast.workspace, name="VAT")
    return services.quote_update(
        quote=quote, actor=cast.admin, title=quote.title, customer=quote.customer,
        lines=[LineInput(description="Labour (fitting)", quantity=Decimal(labour_days),
                         unit_price=Decimal("400.00"), tax_rate=rate),
               LineInput(description="Extractor fan", quantity=Decimal(1),
                         unit_price=Decimal("150.00"), tax_rate=rate, optional=True)],
        expires_on=quote.expires_on, customer_notes=quote.customer_notes,
        internal_notes=quote.internal_notes,
    )  # fmt: skip


def accept_data(quote: Quote, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {"name": "Priya Natarajan", "revision": fresh(quote).revision}
    data.update(changes)
    return data


def decision_state(quote: Quote) -> tuple[object, ...]:
    row = fresh(quote)
    return (row.status, row.accepted_name, row.accepted_ip, row.accepted_lines,
            row.accepted_total, row.decided_at, row.decline_reason, row.version,
            QuoteEvent.objects.filter(quote=quote).count())  # fmt: skip


# ----------------------------------------------------------------------------- opening


def test_the_right_token_shows_the_quote_as_the_customer_reads_it(
    open_quote: Quote, customer: Client
) -> None:
    response = customer.get(public_path(open_quote))
    assert response.status_code == 200
    assert '<p class="quote-badge">Quote</p>' in response.text
    words = text_of(response.text)
    assert "Harbour Renovations" in words
    assert "Q-1001" in words
    assert "Kitchen refit" in words
    for line in ("Labour (fitting)", "Wall tiles", "Extractor fan"):
        assert line in words
    assert "Subtotal £1,070.00" in words
    assert "VAT 20 % £214.00" in words
    assert f"Total {TOTAL}" in words
    assert CUSTOMER_NOTE in words
    assert "Accept quote" in words
    assert INTERNAL_NOTE not in response.text
    assert "Internal" not in response.text


def tampered(token: str) -> str:
    return token[:10] + ("0" if token[10] != "0" else "1") + token[11:]


@pytest.mark.parametrize("kind", ["tampered", "made-up", "short", "draft"])
def test_a_wrong_token_is_404_everywhere(
    cast: Cast, open_quote: Quote, vat: TaxRate, customer: Client, kind: str
) -> None:
    good = tokens.token_for(open_quote.uid)
    draft = a_quote(cast, vat=vat, title="Garden wall")
    token = {"tampered": tampered(good), "made-up": "f" * 64, "short": "abc123",
             "draft": tokens.token_for(draft.uid)}[kind]  # fmt: skip
    assert token != good
    before = (decision_state(open_quote), decision_state(draft))
    for action in ACTIONS:
        response = customer.get(f"/q/{token}/{action}")
        assert response.status_code == 404, action
        assert "Kitchen refit" not in response.text
        assert "Garden wall" not in response.text
    for action in POSTS:
        response = customer.post(f"/q/{token}/{action}", {"name": "Mallory", "revision": 1})
        assert response.status_code == 404, action
    assert (decision_state(open_quote), decision_state(draft)) == before
    assert fresh(draft).viewed_at is None


def test_with_quotes_switched_off_the_link_is_404(
    cast: Cast, open_quote: Quote, customer: Client
) -> None:
    switch_quotes(cast, False)
    before = decision_state(open_quote)
    for action in ACTIONS:
        response = customer.get(public_path(open_quote, action))
        assert response.status_code == 404, action
        assert "Kitchen refit" not in response.text
    for action in POSTS:
        response = customer.post(public_path(open_quote, action), accept_data(open_quote))
        assert response.status_code == 404, action
    assert decision_state(open_quote) == before
    assert fresh(open_quote).viewed_at is None


def test_the_customers_first_look_marks_the_quote_viewed_once(
    open_quote: Quote, customer: Client
) -> None:
    assert fresh(open_quote).viewed_at is None
    first = customer.get(public_path(open_quote))
    assert first.status_code == 200
    quote = fresh(open_quote)
    assert quote.viewed_at is not None
    assert quote.status == QuoteStatus.VIEWED
    [event] = QuoteEvent.objects.filter(quote=quote, kind=QuoteEventKind.VIEWED)
    assert event.by_customer
    assert event.actor is None
    again = customer.get(public_path(open_quote))
    assert again.status_code == 200
    assert fresh(open_quote).viewed_at == quote.viewed_at
    assert QuoteEvent.objects.filter(quote=quote, kind=QuoteEventKind.VIEWED).count() == 1


@pytest.mark.parametrize("member", ["admin", "staff"])
def test_a_member_of_the_business_opening_the_link_does_not_mark_it_viewed(
    open_quote: Quote, as_admin: Client, as_staff: Client, member: str
) -> None:
    client = as_admin if member == "admin" else as_staff
    response = client.get(public_path(open_quote))
    assert response.status_code == 200
    assert "Kitchen refit" in response.text
    assert INTERNAL_NOTE not in response.text
    quote = fresh(open_quote)
    assert quote.viewed_at is None
    assert quote.status == QuoteStatus.SENT
    assert not QuoteEvent.objects.filter(quote=quote, kind=QuoteEventKind.VIEWED).exists()


def test_the_outsider_opening_the_link_counts_as_the_customer(
    open_quote: Quote, as_outsider: Client
) -> None:
    response = as_outsider.get(public_path(open_quote))
    assert response.status_code == 200
    assert fresh(open_quote).status == QuoteStatus.VIEWED


# ----------------------------------------------------------------------------- optional lines


def test_ticking_the_optional_line_adds_it_to_the_totals(
    open_quote: Quote, customer: Client
) -> None:
    fan = optional_line(open_quote)
    with_fan = customer.get(public_path(open_quote, "totals/"), {"line": fan.pk})
    assert with_fan.status_code == 200
    assert 'id="quote-totals"' in with_fan.text
    assert "<html" not in with_fan.text  # the partial only
    words = text_of(with_fan.text)
    assert f"Total {TOTAL_WITH_FAN}" in words
    assert "VAT 20 % £244.00" in words
    assert 'data-total="1464.00"' in with_fan.text
    without = customer.get(public_path(open_quote, "totals/"))
    assert without.status_code == 200
    assert f"Total {TOTAL}" in text_of(without.text)
    assert TOTAL_WITH_FAN not in without.text


def test_ticking_a_line_that_is_not_optional_or_not_this_quotes_changes_nothing(
    cast: Cast, open_quote: Quote, vat: TaxRate, customer: Client
) -> None:
    other = sent(cast, a_quote(cast, vat=vat, title="Garden wall"))
    labour = open_quote.lines.get(description="Labour (fitting)")
    for line_id in (labour.pk, optional_line(other).pk, "abc", "9" * 30):
        response = customer.get(public_path(open_quote, "totals/"), {"line": line_id})
        assert response.status_code == 200, line_id
        assert f"Total {TOTAL}" in text_of(response.text), line_id


# ----------------------------------------------------------------------------- accepting


def test_accepting_with_the_optional_line_ticked_records_it_all(
    open_quote: Quote, customer: Client
) -> None:
    fan = optional_line(open_quote)
    data = accept_data(open_quote, name="  Priya Natarajan ", line=[fan.pk])
    response = customer.post(public_path(open_quote, "accept/"), data,
                             REMOTE_ADDR="203.0.113.9")  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == public_path(open_quote)
    quote = fresh(open_quote)
    assert quote.status == QuoteStatus.ACCEPTED
    assert quote.accepted_name == "Priya Natarajan"
    assert quote.accepted_ip == "203.0.113.9"
    assert quote.accepted_lines == [fan.pk]
    assert quote.accepted_total == Decimal("1464.00")
    assert quote.accepted_revision == 1
    assert len(quote.accepted_hash) == 64
    assert quote.decided_at is not None
    page = customer.get(response["Location"])
    assert page.status_code == 200
    words = text_of(page.text)
    assert "Accepted by Priya Natarajan" in words
    assert f"Total {TOTAL_WITH_FAN}" in words
    assert "Optional, chosen" in words
    assert "Accept quote" not in words
    assert INTERNAL_NOTE not in page.text


def test_accepting_without_a_name_is_400_with_the_message(
    open_quote: Quote, customer: Client
) -> None:
    before = decision_state(open_quote)
    for name in ("", "   "):
        response = customer.post(public_path(open_quote, "accept/"),
                                 accept_data(open_quote, name=name))  # fmt: skip
        assert response.status_code == 400
        assert Page(response.text).errors("name"), name
        assert "Accept quote" in response.text
    assert decision_state(open_quote) == before


def expire(quote: Quote, cast: Cast) -> None:
    Quote.objects.filter(pk=quote.pk).update(expires_on=local_today(cast) - dt.timedelta(days=1))


def decline(quote: Quote) -> None:
    services.quote_decline(quote=fresh(quote), reason="Too dear")


@pytest.mark.parametrize(
    ("case", "sentence"),
    [("expired", "This quote has expired; ask for a new one."),
     ("declined", "This quote was declined; ask for a new one."),
     ("superseded", "This quote was updated after you opened it; read the new version and "
                    "decide again."),
     ("accepted", "This quote has already been accepted.")],
)  # fmt: skip
def test_a_quote_that_cannot_be_accepted_any_more_is_409_saying_why(
    cast: Cast, open_quote: Quote, customer: Client, case: str, sentence: str
) -> None:
    revision = 1
    if case == "expired":
        expire(open_quote, cast)
    elif case == "declined":
        decline(open_quote)
    elif case == "superseded":
        revised(cast, open_quote)
        assert fresh(open_quote).revision == 2
    else:
        accepted(open_quote, with_fan=False, name="Priya N.")
    before = decision_state(open_quote)
    data = {"name": "Someone Else", "revision": revision, "line": [optional_line(open_quote).pk]}
    response = customer.post(public_path(open_quote, "accept/"), data)
    assert response.status_code == 409
    assert sentence in text_of(response.text)
    assert decision_state(open_quote) == before
    assert fresh(open_quote).accepted_name != "Someone Else"


def test_declining_with_a_reason_says_declined(open_quote: Quote, customer: Client) -> None:
    response = customer.post(public_path(open_quote, "decline/"),
                             {"reason": "We chose someone nearer.", "revision": 1})  # fmt: skip
    assert response.status_code == 302
    quote = fresh(open_quote)
    assert quote.status == QuoteStatus.DECLINED
    assert quote.decline_reason == "We chose someone nearer."
    page = customer.get(response["Location"])
    assert page.status_code == 200
    assert "Declined on" in text_of(page.text)
    assert "Accept quote" not in page.text
    again = customer.post(public_path(open_quote, "decline/"), {"reason": "", "revision": 1})
    assert again.status_code == 409
    assert "This quote was declined; ask for a new one." in text_of(again.text)


# ----------------------------------------------------------------------------- what it says


@pytest.mark.parametrize(
    ("days", "warning"),
    [(0, "This quote expires today"), (1, "This quote expires tomorrow"),
     (3, "This quote expires in 3 days"), (4, None)],
)  # fmt: skip
def test_the_page_warns_when_the_quote_expires_within_3_days(
    cast: Cast, vat: TaxRate, quotes_on: Cast, customer: Client, days: int, warning: str | None
) -> None:
    expires_on = local_today(cast) + dt.timedelta(days=days)
    quote = sent(cast, a_quote(cast, vat=vat, expires_on=expires_on))
    response = customer.get(public_path(quote))
    assert response.status_code == 200
    words = text_of(response.text)
    if warning:
        assert warning in words
    else:
        assert "This quote expires" not in words
    assert "Accept quote" in words


def test_an_expired_quote_says_so_and_offers_no_accept(
    cast: Cast, open_quote: Quote, customer: Client
) -> None:
    expire(open_quote, cast)
    response = customer.get(public_path(open_quote))
    assert response.status_code == 200
    assert "Expired on" in text_of(response.text)
    assert "Accept quote" not in response.text


def test_the_customer_sees_that_a_revised_quote_was_updated(
    cast: Cast, open_quote: Quote, customer: Client
) -> None:
    first = customer.get(public_path(open_quote))
    assert first.status_code == 200
    assert "was updated" not in first.text
    revised(cast, open_quote)
    response = customer.get(public_path(open_quote))
    assert response.status_code == 200
    words = text_of(response.text)
    assert "This quote was updated on" in words
    assert "revision 2" in words
    assert "Wall tiles" not in words
    assert Page(response.text).value("revision") == "2"
    # 3 × 400 = 1,200 + VAT 240
    assert "Total £1,440.00" in words


def test_the_pdf_link_answers_a_pdf(open_quote: Quote, customer: Client) -> None:
    page = customer.get(public_path(open_quote))
    assert page.status_code == 200
    assert f'href="{public_path(open_quote, "pdf/")}"' in page.text
    response = customer.get(public_path(open_quote, "pdf/"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_the_public_pages_refuse_the_wrong_methods(open_quote: Quote, customer: Client) -> None:
    for action in ACTIONS:
        response = customer.post(public_path(open_quote, action))
        assert response.status_code == 405, action
    for action in POSTS:
        response = customer.get(public_path(open_quote, action))
        assert response.status_code == 405, action
    assert fresh(open_quote).status == QuoteStatus.SENT
