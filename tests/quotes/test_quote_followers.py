"""Quote followers, from the written rule: the customer's acceptance or decline is told (a bell
line and an e-mail each) to the quote's owner and to every member who pressed Follow on its
page, once each, and only to people who may see the quote: active members of its workspace
whose role sees money (Admins and Managers). A follower moved to Staff, or removed, hears
nothing, and an e-mail written for them before the change does not go. With no owner who may
see it, the workspace's Admins are told in the owner's place. Staff cannot follow a quote
(its page is money), and another workspace's member gets a 404."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from jobline.accounts.models import User
from jobline.notifications.delivery import deliver
from jobline.notifications.models import EmailKind, EmailStatus, Notification, OutgoingEmail
from jobline.quotes.models import Quote, QuoteFollower, TaxRate
from jobline.workspaces.models import Membership, Role
from tests.bookings.conftest import text_of
from tests.conftest import Cast, client_for
from tests.quotes.test_quote_views import (
    a_quote,
    accepted,
    add_vat,
    public_path,
    quotes_everywhere,
    sent,
)

DECIDED = "Q-1001 Kitchen refit: accepted by Priya Natarajan"


@pytest.fixture
def vat(cast: Cast) -> TaxRate:
    return add_vat(quotes_everywhere(cast))


@pytest.fixture
def kitchen(cast: Cast, vat: TaxRate) -> Quote:
    """Priya's kitchen quote, owned by Ada (Admin) and sent: Q-1001."""
    quote = sent(cast, a_quote(cast, vat=vat))
    assert quote.owner == cast.admin
    return quote


def follow(user: User, quote: Quote, follow: str = "1") -> Client:
    client = client_for(user)
    response = client.post(f"/quotes/{quote.pk}/follow/", {"follow": follow})
    assert response.status_code == 302
    assert response["Location"] == f"/quotes/{quote.pk}/"
    return client


def told() -> list[tuple[str, str]]:
    """(who got a bell line, its text), and the same people must have an e-mail each."""
    bells = [
        (bell.recipient.email, bell.text)
        for bell in Notification.objects.select_related("recipient").order_by("recipient__email")
    ]
    emails = sorted(
        OutgoingEmail.objects.filter(kind=EmailKind.QUOTE_DECIDED).values_list(
            "to_address", flat=True
        )
    )
    assert emails == [address for address, _text in bells]
    return bells


def test_a_manager_who_follows_hears_the_acceptance_with_the_owner(
    cast: Cast, kitchen: Quote
) -> None:
    client = follow(cast.manager, kitchen)
    page = client.get(f"/quotes/{kitchen.pk}/")
    assert page.status_code == 200
    assert 'aria-pressed="true"' in page.text
    assert "Owner Ada Admin" in text_of(page.text)
    accepted(kitchen)
    assert told() == [("admin@harbour.test", DECIDED), ("manager@harbour.test", DECIDED)]
    [bell] = Notification.objects.filter(recipient=cast.manager)
    assert bell.link == f"/quotes/{kitchen.pk}/"
    for email in OutgoingEmail.objects.filter(kind=EmailKind.QUOTE_DECIDED):
        assert deliver(email.pk).status == EmailStatus.SENT
    assert sorted(m.to[0] for m in mail.outbox if m.subject == DECIDED) == [
        "admin@harbour.test",
        "manager@harbour.test",
    ]


def test_a_decline_is_told_to_followers_too(cast: Cast, kitchen: Quote) -> None:
    follow(cast.manager, kitchen)
    Client().post(public_path(kitchen, "decline/"), {"reason": "Too dear", "revision": 1})
    declined = "Q-1001 Kitchen refit: declined by Priya Natarajan"
    assert told() == [("admin@harbour.test", declined), ("manager@harbour.test", declined)]


def test_unfollowing_stops_it(cast: Cast, kitchen: Quote) -> None:
    follow(cast.manager, kitchen)
    client = follow(cast.manager, kitchen, "0")
    assert 'aria-pressed="false"' in client.get(f"/quotes/{kitchen.pk}/").text
    accepted(kitchen)
    assert told() == [("admin@harbour.test", DECIDED)]


def test_following_twice_or_as_the_owner_tells_each_person_once(cast: Cast, kitchen: Quote) -> None:
    follow(cast.manager, kitchen)
    follow(cast.manager, kitchen)
    QuoteFollower.objects.create(quote=kitchen, user=cast.admin)  # the owner following too
    assert QuoteFollower.objects.filter(quote=kitchen).count() == 2
    accepted(kitchen)
    assert told() == [("admin@harbour.test", DECIDED), ("manager@harbour.test", DECIDED)]


def test_the_owners_page_has_no_follow_button(cast: Cast, kitchen: Quote) -> None:
    page = client_for(cast.admin).get(f"/quotes/{kitchen.pk}/")
    assert page.status_code == 200
    assert f'action="/quotes/{kitchen.pk}/follow/"' not in page.text
    other = client_for(cast.manager).get(f"/quotes/{kitchen.pk}/")
    assert f'action="/quotes/{kitchen.pk}/follow/"' in other.text


def test_a_follower_moved_to_staff_hears_nothing(cast: Cast, kitchen: Quote) -> None:
    follow(cast.manager, kitchen)
    Membership.objects.filter(user=cast.manager).update(role=Role.STAFF)
    accepted(kitchen)
    assert told() == [("admin@harbour.test", DECIDED)]


def test_a_follower_removed_from_the_workspace_hears_nothing(cast: Cast, kitchen: Quote) -> None:
    follow(cast.manager, kitchen)
    Membership.objects.filter(user=cast.manager).update(removed_at=timezone.now())
    accepted(kitchen)
    assert told() == [("admin@harbour.test", DECIDED)]


def test_an_email_written_before_the_follower_lost_money_does_not_go(
    cast: Cast, kitchen: Quote
) -> None:
    follow(cast.manager, kitchen)
    accepted(kitchen)
    email = OutgoingEmail.objects.get(kind=EmailKind.QUOTE_DECIDED, recipient=cast.manager)
    Membership.objects.filter(user=cast.manager).update(role=Role.STAFF)
    assert deliver(email.pk).status == EmailStatus.WITHHELD
    assert [m for m in mail.outbox if "manager@harbour.test" in m.to] == []


def test_with_the_owner_gone_the_admins_and_the_followers_hear(cast: Cast, kitchen: Quote) -> None:
    second_admin = User.objects.create_user(
        email="second@harbour.test", password="x" * 12, full_name="Bea Admin"
    )
    Membership.objects.create(workspace=cast.workspace, user=second_admin, role=Role.ADMIN)
    Quote.objects.filter(pk=kitchen.pk).update(owner=cast.manager)
    QuoteFollower.objects.create(quote=kitchen, user=second_admin)
    Membership.objects.filter(user=cast.manager).update(removed_at=timezone.now())
    accepted(kitchen)
    assert told() == [("admin@harbour.test", DECIDED), ("second@harbour.test", DECIDED)]


def test_staff_cannot_follow_a_quote(cast: Cast, kitchen: Quote) -> None:
    response = client_for(cast.staff).post(f"/quotes/{kitchen.pk}/follow/", {"follow": "1"})
    assert response.status_code == 403
    assert not QuoteFollower.objects.exists()


def test_another_workspace_cannot_follow_it(cast: Cast, kitchen: Quote) -> None:
    response = client_for(cast.outsider).post(f"/quotes/{kitchen.pk}/follow/", {"follow": "1"})
    assert response.status_code == 404
    assert not QuoteFollower.objects.exists()


def test_following_is_a_post(cast: Cast, kitchen: Quote) -> None:
    response = client_for(cast.manager).get(f"/quotes/{kitchen.pk}/follow/")
    assert response.status_code == 405
    assert not QuoteFollower.objects.exists()
