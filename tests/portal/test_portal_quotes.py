"""The portal's quote list /user/quotes/: a signed-in customer sees their own quotes once
sent (never drafts), each linking to its public page; another customer of the same business
does not see them; with Quotes or the portal switched off nothing is listed."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from jobline.quotes import tokens
from jobline.quotes.models import Quote, QuoteStatus, TaxRate
from tests.bookings.conftest import text_of
from tests.conftest import Cast
from tests.quotes.test_quote_views import (
    INTERNAL_NOTE,
    TOTAL,
    a_quote,
    add_vat,
    fresh,
    public_path,
    quotes_everywhere,
    sent,
    switch_quotes,
)


@pytest.fixture
def harbour(portal: Cast) -> Cast:
    """The portal and Quotes on; Priya and Tom sign in as themselves."""
    return quotes_everywhere(portal)


@pytest.fixture
def vat(harbour: Cast) -> TaxRate:
    return add_vat(harbour)


@pytest.fixture
def priyas_quotes(harbour: Cast, vat: TaxRate) -> tuple[Quote, Quote]:
    """Priya's sent kitchen quote (Q-1001) and her draft garden quote."""
    kitchen = sent(harbour, a_quote(harbour, vat=vat, title="Kitchen refit"))
    draft = a_quote(harbour, vat=vat, title="Garden wall")
    return kitchen, draft


def listed(client: Client) -> str:
    response = client.get("/user/quotes/")
    assert response.status_code == 200
    return response.text


def test_the_customer_sees_their_sent_quote_with_its_link_but_not_the_draft(
    priyas_quotes: tuple[Quote, Quote], as_priya: Client
) -> None:
    kitchen, draft = priyas_quotes
    page = listed(as_priya)
    words = text_of(page)
    assert "Kitchen refit" in words
    assert "Harbour Renovations · Q-1001" in words
    assert "Waiting for you" in words
    assert f'href="{public_path(kitchen)}"' in page
    assert "Garden wall" not in page
    assert tokens.token_for(draft.uid) not in page
    assert INTERNAL_NOTE not in page
    opened = as_priya.get(public_path(kitchen))
    assert opened.status_code == 200
    assert fresh(kitchen).status == QuoteStatus.VIEWED  # Priya is the customer, not staff


def test_a_decided_quote_stays_listed_with_its_status(
    priyas_quotes: tuple[Quote, Quote], as_priya: Client
) -> None:
    kitchen, _draft = priyas_quotes
    response = as_priya.post(public_path(kitchen, "decline/"), {"reason": "", "revision": 1})
    assert response.status_code == 302
    words = text_of(listed(as_priya))
    assert "Kitchen refit" in words
    assert "Declined" in words
    assert "Waiting for you" not in words


def test_another_customer_of_the_business_does_not_see_them(
    harbour: Cast, priyas_quotes: tuple[Quote, Quote], vat: TaxRate, as_tom: Client,
    as_priya: Client,
) -> None:  # fmt: skip
    kitchen, _draft = priyas_quotes
    toms = sent(harbour, a_quote(harbour, vat=vat, title="Bathroom tiles",
                                 customer=harbour.second_customer))  # fmt: skip
    page = listed(as_tom)
    assert "Bathroom tiles" in page
    assert "Kitchen refit" not in page
    assert tokens.token_for(kitchen.uid) not in page
    assert "Bathroom tiles" not in listed(as_priya)
    assert tokens.token_for(toms.uid) not in listed(as_priya)


def test_with_quotes_switched_off_nothing_is_listed(
    harbour: Cast, priyas_quotes: tuple[Quote, Quote], as_priya: Client
) -> None:
    switch_quotes(harbour, False)
    page = listed(as_priya)
    assert "Kitchen refit" not in page
    assert "No quotes yet." in page


def test_with_the_portal_switched_off_nothing_is_listed(
    harbour: Cast, priyas_quotes: tuple[Quote, Quote], as_priya: Client
) -> None:
    harbour.workspace.portal_enabled = False
    harbour.workspace.save(update_fields=["portal_enabled"])
    page = listed(as_priya)
    assert "Kitchen refit" not in page
    assert "No quotes yet." in page


def test_an_archived_customer_profile_lists_nothing(
    harbour: Cast, priyas_quotes: tuple[Quote, Quote], as_priya: Client
) -> None:
    harbour.customer.archived_at = timezone.now()
    harbour.customer.save(update_fields=["archived_at"])
    assert "Kitchen refit" not in listed(as_priya)


def test_the_list_asks_anyone_signed_out_to_sign_in(priyas_quotes: tuple[Quote, Quote]) -> None:
    response = Client().get("/user/quotes/")
    assert response.status_code == 302
    assert response["Location"].startswith("/user/sign-in/")
    assert "Kitchen refit" not in response.text
    assert TOTAL not in response.text
