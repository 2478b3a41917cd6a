"""Customer e-mails: queued with the change, sent after the digest window through the
portal's visibility rule, one digest for several changes, never what became internal."""

from __future__ import annotations

import datetime as dt
from html import unescape
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.utils import timezone

from jobline.customers.unsubscribe import unsubscribe_token
from jobline.jobs import requests as document_requests
from jobline.jobs import services
from jobline.jobs.models import Job
from jobline.jobs.uploads import attachment_add
from jobline.notifications.delivery import deliver_due
from jobline.notifications.models import EmailKind, EmailStatus, OutgoingEmail
from tests.conftest import Cast


def after_window() -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=6)


def customer_mail(cast: Cast) -> list[Any]:
    return [m for m in mail.outbox if cast.customer.email in m.to]


def html_of(message: Any) -> str:
    return next(content for content, kind in message.alternatives if kind == "text/html")


def reply(job: Job, cast: Cast, body: str, visibility: str = "customer") -> Any:
    return services.message_add(job=job, body=body, visibility=visibility, actor=cast.staff)


def stage_named(job: Job, name: str) -> Any:
    return job.pipeline.stages.get(name=name)


def test_a_reply_waits_for_the_window_then_goes_with_both_parts_and_a_link(
    portal: Cast, priya_job: Job
) -> None:
    reply(priya_job, portal, "Your screen arrives on Tuesday.")
    assert deliver_due() == {}  # still inside the 5-minute window
    assert customer_mail(portal) == []

    assert deliver_due(now=after_window()) == {"sent": 1}
    [message] = customer_mail(portal)
    assert "Harbour Renovations" in message.subject
    assert "Your screen arrives on Tuesday." in message.body
    assert "Your screen arrives on Tuesday." in html_of(message)
    assert f"http://testserver/user/jobs/{priya_job.pk}/" in message.body
    assert f'href="http://testserver/user/jobs/{priya_job.pk}/"' in html_of(message)
    unsubscribe = f"/user/unsubscribe/{unsubscribe_token(portal.customer)}/"
    assert message.extra_headers["List-Unsubscribe"] == f"<http://testserver{unsubscribe}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    email = OutgoingEmail.objects.get()
    assert (email.status, email.attempts, email.kind) == (
        EmailStatus.SENT,
        1,
        EmailKind.CUSTOMER_UPDATE,
    )


def test_the_text_part_is_plain_text_and_the_html_part_is_escaped(
    portal: Cast, priya_job: Job
) -> None:
    reply(priya_job, portal, "Parts & labour: <b>£80</b>, it's booked.")
    deliver_due(now=after_window())
    [message] = customer_mail(portal)
    assert "Parts & labour: <b>£80</b>, it's booked." in message.body
    assert "&amp;" not in message.body and "&#39;" not in message.body
    html = html_of(message)
    assert "Parts &amp; labour: &lt;b&gt;£80&lt;/b&gt;, it" in html
    assert "Parts & labour: <b>£80</b>, it's booked." in unescape(html)
    assert "<b>£80</b>" not in html


@pytest.fixture(autouse=True)
def base_url(settings: Any) -> None:
    settings.JOBLINE_BASE_URL = "http://testserver"


def test_several_changes_in_the_window_become_one_digest(portal: Cast, priya_job: Job) -> None:
    services.job_move(
        job=priya_job, stage=stage_named(priya_job, "Diagnosis"), actor=portal.staff,
        expected_version=None, enforce_required=False,
    )  # fmt: skip
    reply(priya_job, portal, "We found the fault.")
    attachment_add(
        job=priya_job, upload=SimpleUploadedFile("quote.txt", b"Quote: 80 GBP"),
        visibility="customer", actor=portal.staff,
    )  # fmt: skip
    document_requests.request_create(job=priya_job, title="Proof of purchase", actor=portal.staff)

    deliver_due(now=after_window())
    [message] = customer_mail(portal)
    assert "4 updates" in message.subject
    # The stage reads as its customer label ("Diagnosis" is "Being checked" to customers).
    for text in ("Being checked", "We found the fault.", "quote.txt", "Proof of purchase"):
        assert text in message.body
    assert "Diagnosis" not in message.body
    assert OutgoingEmail.objects.count() == 1


def test_a_reply_made_internal_within_the_window_is_never_sent(
    portal: Cast, priya_job: Job
) -> None:
    message = reply(priya_job, portal, "Oops, meant for the team")
    services.message_make_internal(message=message, actor=portal.staff)

    assert deliver_due(now=after_window()) == {"withheld": 1}
    assert customer_mail(portal) == []
    assert OutgoingEmail.objects.get().status == EmailStatus.WITHHELD


def test_only_the_rest_of_a_digest_goes_when_one_reply_turns_internal(
    portal: Cast, priya_job: Job
) -> None:
    reply(priya_job, portal, "Visible words")
    wrong = reply(priya_job, portal, "Secret words")
    services.message_make_internal(message=wrong, actor=portal.staff)

    deliver_due(now=after_window())
    [message] = customer_mail(portal)
    assert "Visible words" in message.body
    assert "Secret words" not in message.body + html_of(message) + message.subject


def test_internal_notes_and_internal_stages_queue_nothing(portal: Cast, priya_job: Job) -> None:
    reply(priya_job, portal, "For the team", visibility="internal")
    services.job_move(
        job=priya_job, stage=stage_named(priya_job, "Awaiting parts"), actor=portal.staff,
        expected_version=None, enforce_required=False,
    )  # fmt: skip
    attachment_add(
        job=priya_job, upload=SimpleUploadedFile("cost.txt", b"our margin"),
        visibility="internal", actor=portal.staff,
    )  # fmt: skip
    assert not OutgoingEmail.objects.exists()


def test_the_customers_own_actions_are_not_emailed_back(
    portal: Cast, priya_job: Job, as_priya: Client
) -> None:
    as_priya.post(f"/user/jobs/{priya_job.pk}/reply/", {"body": "Thanks!"})
    assert not OutgoingEmail.objects.filter(kind=EmailKind.CUSTOMER_UPDATE).exists()


def test_notify_on_replies_off_stops_replies_but_not_document_requests(
    portal: Cast, priya_job: Job
) -> None:
    portal.customer.notify_on_replies = False
    portal.customer.save()
    reply(priya_job, portal, "A reply")
    assert not OutgoingEmail.objects.exists()
    document_requests.request_create(job=priya_job, title="Photo ID", actor=portal.staff)

    deliver_due(now=after_window())
    [message] = customer_mail(portal)
    assert "Photo ID" in message.body and "A reply" not in message.body
    assert "/user/unsubscribe/" not in message.body  # nothing left to unsubscribe from


def test_unsubscribing_while_an_email_waits_drops_the_replies_from_it(
    portal: Cast, priya_job: Job
) -> None:
    reply(priya_job, portal, "A reply")
    Client().post(
        f"/user/unsubscribe/{unsubscribe_token(portal.customer)}/", {"action": "unsubscribe"}
    )
    assert deliver_due(now=after_window()) == {"withheld": 1}
    assert customer_mail(portal) == []


def test_with_the_portal_off_emails_carry_no_portal_link(portal: Cast, priya_job: Job) -> None:
    portal.workspace.portal_jobs = False
    portal.workspace.save()
    reply(priya_job, portal, "Ready tomorrow")
    deliver_due(now=after_window())
    [message] = customer_mail(portal)
    assert "Ready tomorrow" in message.body
    assert "/user/jobs/" not in message.body + html_of(message)


def test_a_customer_without_an_email_address_gets_nothing(portal: Cast, priya_job: Job) -> None:
    portal.customer.email = ""
    portal.customer.save()
    reply(priya_job, portal, "Hello")
    assert not OutgoingEmail.objects.exists()


def test_a_change_that_rolls_back_leaves_no_email(portal: Cast, priya_job: Job) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        reply(priya_job, portal, "Never happened")
        raise RuntimeError("the rest of the change failed")
    assert not OutgoingEmail.objects.exists()


def test_times_in_emails_are_in_the_businesss_time_zone(portal: Cast, priya_job: Job) -> None:
    portal.workspace.time_zone = "Asia/Tokyo"  # UTC+9, no daylight saving
    portal.workspace.save()
    message = reply(priya_job, portal, "Hello")
    deliver_due(now=after_window())
    tokyo = timezone.localtime(message.created_at, timezone=dt.timezone(dt.timedelta(hours=9)))
    assert f"{tokyo:%H:%M}" in customer_mail(portal)[0].body


# --- The customer's own e-mail settings ---------------------------------------------------


def test_the_customer_turns_reply_emails_off_and_on_from_their_account(
    portal: Cast, as_priya: Client
) -> None:
    page = as_priya.get("/user/account/").text
    assert "E-mail me when Harbour Renovations replies" in page
    as_priya.post("/user/account/emails/", {})
    portal.customer.refresh_from_db()
    assert portal.customer.notify_on_replies is False
    as_priya.post("/user/account/emails/", {"notify": [str(portal.customer.pk)]})
    portal.customer.refresh_from_db()
    assert portal.customer.notify_on_replies is True


def test_a_customer_cannot_change_another_customers_email_settings(
    portal: Cast, as_priya: Client
) -> None:
    portal.second_customer.notify_on_replies = False
    portal.second_customer.save()
    as_priya.post("/user/account/emails/", {"notify": [str(portal.second_customer.pk)]})
    portal.second_customer.refresh_from_db()
    assert portal.second_customer.notify_on_replies is False
    portal.customer.refresh_from_db()
    assert portal.customer.notify_on_replies is False  # her own box was left unticked
    assert "Tom" not in as_priya.get("/user/account/").text


def test_an_email_goes_to_the_address_the_customer_has_when_it_is_sent(
    portal: Cast, priya_job: Job
) -> None:
    reply(priya_job, portal, "Hello")
    portal.customer.email = "priya.new@example.com"
    portal.customer.save()
    deliver_due(now=after_window())
    assert [m.to for m in mail.outbox] == [["priya.new@example.com"]]
    assert OutgoingEmail.objects.get().to_address == "priya.new@example.com"  # as admins see it
