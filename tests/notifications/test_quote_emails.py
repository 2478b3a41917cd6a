"""Quote e-mails: sending a quote e-mails its customer once the outbox is delivered (the
business and quote in the subject, the public link and the total in the body, never the
internal notes); a new revision's e-mail says it was updated; a quote withdrawn before the
e-mail went (decided, converted, Quotes off) is withheld. The customer's acceptance gives
the quote's owner a bell line to the quote's page and an e-mail. The delivery page lists a
quote's e-mails by their Q- reference."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from jobline.notifications.delivery import deliver
from jobline.notifications.models import EmailKind, EmailStatus, Notification, OutgoingEmail
from jobline.pipelines.services import pipeline_create_from_blueprint
from jobline.quotes import services, tokens
from jobline.quotes.models import Quote, QuoteLine, TaxRate
from jobline.quotes.services import LineInput
from tests.bookings.conftest import text_of
from tests.conftest import Cast, client_for
from tests.quotes.test_quote_views import (
    INTERNAL_NOTE,
    TOTAL,
    a_quote,
    accepted,
    add_vat,
    fresh,
    public_path,
    quotes_everywhere,
    sent,
    switch_quotes,
)

SUBJECT = "Harbour Renovations: quote Q-1001, Kitchen refit"


@pytest.fixture
def quotes_on(cast: Cast) -> Cast:
    return quotes_everywhere(cast)


@pytest.fixture
def vat(quotes_on: Cast) -> TaxRate:
    return add_vat(quotes_on)


@pytest.fixture
def kitchen(quotes_on: Cast, vat: TaxRate) -> Quote:
    """Priya's kitchen quote, sent by Ada (its owner): Q-1001, its e-mail in the outbox."""
    return sent(quotes_on, a_quote(quotes_on, vat=vat))


def quote_emails(kind: str = EmailKind.QUOTE) -> list[OutgoingEmail]:
    return list(OutgoingEmail.objects.filter(kind=kind).order_by("id"))


def html_of(message: Any) -> str:
    return next(content for content, kind in message.alternatives if kind == "text/html")


def parts(message: Any) -> tuple[str, str, str]:
    return message.subject, message.body, html_of(message)


def delivered(email: OutgoingEmail) -> Any:
    """The e-mail sent through the outbox; the one message it put in the mailbox."""
    before = len(mail.outbox)
    assert deliver(email.pk).status == "sent"
    assert OutgoingEmail.objects.get(pk=email.pk).status == EmailStatus.SENT
    assert len(mail.outbox) == before + 1
    return mail.outbox[-1]


def test_sending_a_quote_emails_the_customer_its_link_and_total(cast: Cast, kitchen: Quote) -> None:
    [email] = quote_emails()
    assert mail.outbox == []  # queued, not sent, until the outbox is delivered
    message = delivered(email)
    assert message.to == ["priya@example.com"]
    assert message.subject == SUBJECT
    link = f"{settings.JOBLINE_BASE_URL}/q/{tokens.token_for(kitchen.uid)}/"
    subject, body, html = parts(message)
    assert link in body
    assert f'href="{link}"' in html
    assert f"Total: {TOTAL}" in body
    assert TOTAL in html
    assert "Harbour Renovations sent you a quote." in body
    assert "updated" not in subject
    for part in (subject, body, html):
        assert INTERNAL_NOTE not in part
    assert OutgoingEmail.objects.get(pk=email.pk).subject == SUBJECT


def test_send_again_emails_the_customer_again(cast: Cast, kitchen: Quote) -> None:
    sent(cast, kitchen)
    first, second = quote_emails()
    assert delivered(first).subject == SUBJECT
    assert delivered(second).subject == SUBJECT


def test_a_new_revision_is_emailed_as_updated(cast: Cast, kitchen: Quote, vat: TaxRate) -> None:
    quote = fresh(kitchen)
    services.quote_update(
        quote=quote, actor=cast.admin, title=quote.title, customer=quote.customer,
        lines=[LineInput(description="Labour (fitting)", quantity=Decimal(3),
                         unit_price=Decimal("400.00"), tax_rate=vat)],
        expires_on=quote.expires_on, internal_notes=INTERNAL_NOTE,
    )  # fmt: skip
    first, revision = quote_emails()
    assert revision.lines == ["revised"]
    message = delivered(revision)
    subject, body, html = parts(message)
    assert subject == "Harbour Renovations: updated quote Q-1001, Kitchen refit"
    assert "updated your quote Q-1001 (revision 2)" in body
    assert "updated your quote Q-1001 (revision 2)" in text_of(html)
    assert "Total: £1,440.00" in body
    for part in (subject, body, html):
        assert INTERNAL_NOTE not in part
    assert delivered(first).subject == SUBJECT  # the older one reads the quote as it is now


def withdraw(cast: Cast, quote: Quote, how: str) -> None:
    if how == "declined":
        services.quote_decline(quote=fresh(quote), reason="Changed our minds")
    elif how == "accepted":
        accepted(quote)
    elif how == "converted":
        pipeline = pipeline_create_from_blueprint(
            workspace=cast.workspace, blueprint_key="repair", actor=cast.admin
        )
        services.quote_convert(quote=fresh(quote), actor=cast.admin, pipeline=pipeline,
                               without_acceptance=True)  # fmt: skip
    elif how == "quotes-off":
        switch_quotes(cast, False)
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("how", ["declined", "accepted", "converted", "quotes-off"])
def test_a_quote_withdrawn_before_its_email_went_is_withheld(
    cast: Cast, kitchen: Quote, how: str
) -> None:
    [email] = quote_emails()
    withdraw(cast, kitchen, how)
    assert deliver(email.pk).status == "withheld"
    assert OutgoingEmail.objects.get(pk=email.pk).status == EmailStatus.WITHHELD
    assert [m for m in mail.outbox if "priya@example.com" in m.to] == []


def test_the_customers_acceptance_tells_the_owner_by_bell_and_email(
    cast: Cast, kitchen: Quote
) -> None:
    fan = QuoteLine.objects.get(quote=kitchen, optional=True)
    data = {"name": "Priya Natarajan", "revision": 1, "line": [fan.pk]}
    response = Client().post(public_path(kitchen, "accept/"), data)
    assert response.status_code == 302
    text = "Q-1001 Kitchen refit: accepted by Priya Natarajan"
    [bell] = Notification.objects.all()
    assert bell.recipient == cast.admin
    assert bell.workspace == cast.workspace
    assert bell.link == f"/quotes/{kitchen.pk}/"
    assert bell.text == text
    assert bell.read_at is None
    [email] = quote_emails(EmailKind.QUOTE_DECIDED)
    message = delivered(email)
    assert message.to == ["admin@harbour.test"]
    assert message.subject == text
    link = f"{settings.JOBLINE_BASE_URL}/quotes/{kitchen.pk}/?workspace={cast.workspace.pk}"
    assert link in message.body
    assert "convert it to a job" in message.body
    bell_page = client_for(cast.admin).get("/notifications/")
    assert bell_page.status_code == 200
    assert text in text_of(bell_page.text)
    assert f'href="/quotes/{kitchen.pk}/"' in bell_page.text


def test_the_customers_decline_tells_the_owner_too(cast: Cast, kitchen: Quote) -> None:
    response = Client().post(public_path(kitchen, "decline/"), {"reason": "", "revision": 1})
    assert response.status_code == 302
    [bell] = Notification.objects.all()
    assert bell.recipient == cast.admin
    assert bell.text == "Q-1001 Kitchen refit: declined by Priya Natarajan"
    [email] = quote_emails(EmailKind.QUOTE_DECIDED)
    assert delivered(email).subject == bell.text


def test_the_delivery_page_lists_quote_emails_by_their_reference(
    cast: Cast, kitchen: Quote, as_admin: Client
) -> None:
    waiting = as_admin.get("/notifications/email/")
    assert waiting.status_code == 200
    assert f'href="/quotes/{kitchen.pk}/">Q-1001</a>' in waiting.text
    [email] = quote_emails()
    delivered(email)
    accepted(kitchen)
    [decided] = quote_emails(EmailKind.QUOTE_DECIDED)
    delivered(decided)
    page = as_admin.get("/notifications/email/")
    assert page.status_code == 200
    assert page.text.count(f'href="/quotes/{kitchen.pk}/">Q-1001</a>') == 2
    words = text_of(page.text)
    assert SUBJECT in words
    assert "priya@example.com" in words
    assert INTERNAL_NOTE not in page.text
