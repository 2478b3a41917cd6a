"""The unsubscribe link in customer e-mails (/user/unsubscribe/<token>/).

Mail scanners open every link of an e-mail they deliver: a GET must change nothing. The page's
one button (a POST), and a mail program's RFC 8058 one-click POST, unsubscribe; no sign-in is
needed, the signed token is the authority."""

from __future__ import annotations

import pytest
from django.test import Client

from jobline.customers.models import Customer
from jobline.customers.unsubscribe import unsubscribe_token
from tests.conftest import Cast


def notify_on_replies(customer: Customer) -> bool:
    return Customer.objects.values_list("notify_on_replies", flat=True).get(pk=customer.pk)


def url_for(customer: Customer) -> str:
    return f"/user/unsubscribe/{unsubscribe_token(customer)}/"


def test_opening_the_link_changes_nothing_and_offers_one_button(portal: Cast) -> None:
    page = Client().get(url_for(portal.customer))
    assert page.status_code == 200
    assert notify_on_replies(portal.customer) is True
    assert page.text.count("<button") == 1
    assert "Stop e-mails about replies" in page.text


def test_a_mail_scanner_opening_the_link_twice_changes_nothing(portal: Cast) -> None:
    scanner = Client()
    for _ in range(2):
        assert scanner.get(url_for(portal.customer)).status_code == 200
        assert scanner.head(url_for(portal.customer)).status_code == 200
    assert notify_on_replies(portal.customer) is True


def test_the_button_unsubscribes_without_signing_in_and_can_be_undone(portal: Cast) -> None:
    url = url_for(portal.customer)
    response = Client(enforce_csrf_checks=True).post(url, {"action": "unsubscribe"})
    assert response.status_code == 200
    assert "won't get e-mails about replies" in response.text
    assert notify_on_replies(portal.customer) is False

    again = Client().post(url, {"action": "resubscribe"})
    assert again.status_code == 200
    assert notify_on_replies(portal.customer) is True


def test_a_mail_programs_one_click_post_unsubscribes(portal: Cast) -> None:
    # RFC 8058: the mail program POSTs "List-Unsubscribe=One-Click" to the header's URL.
    response = Client(enforce_csrf_checks=True).post(
        url_for(portal.customer), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert notify_on_replies(portal.customer) is False


def test_other_methods_are_refused(portal: Cast) -> None:
    for method in ("put", "patch", "delete"):
        response = getattr(Client(), method)(url_for(portal.customer))
        assert response.status_code == 405, method
    assert notify_on_replies(portal.customer) is True


@pytest.mark.parametrize("token", ["nonsense", "eyJjdXN0b21lciI6MX0:1abc:forged"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_link_changes_nothing(portal: Cast, token: str, method: str) -> None:
    response = getattr(Client(), method)(f"/user/unsubscribe/{token}/", {"action": "unsubscribe"})
    assert response.status_code == 404
    assert "not recognised" in response.text
    assert notify_on_replies(portal.customer) is True


def test_the_token_names_one_customer_only(portal: Cast) -> None:
    Client().post(url_for(portal.customer), {"action": "unsubscribe"})
    assert notify_on_replies(portal.customer) is False
    assert notify_on_replies(portal.second_customer) is True
