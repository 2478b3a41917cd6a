"""A double-clicked form is stored (and sent) once. Every create form carries a one-time token;
a repeat of a token that was already used shows the first result instead of a second copy."""

from __future__ import annotations

import re

from django.test import Client

from jobline.jobs.models import DocumentRequest, Job, Message
from jobline.notifications.models import OutgoingEmail
from jobline.pipelines.models import Pipeline
from tests.conftest import Cast, client_for

FORM = re.compile(r'<form[^>]*action="(?P<action>[^"]+)"(?P<body>.*?)</form>', re.DOTALL)
TOKEN = re.compile(r'name="one_time_token" value="([^"]+)"')


def token_of_form(client: Client, page: str, action: str) -> str:
    """The one-time token inside the page's form that posts to ``action``."""
    response = client.get(page)
    assert response.status_code == 200
    for form in FORM.finditer(response.text):
        if form["action"] == action:
            token = TOKEN.search(form["body"])
            assert token, f"the form posting to {action} on {page} has no one-time token"
            return token.group(1)
    raise AssertionError(f"no form posting to {action} on {page}")


def test_a_double_clicked_note_is_stored_once(job: Job, as_staff: Client) -> None:
    token = token_of_form(as_staff, f"/jobs/{job.number}/", f"/jobs/{job.number}/messages/")
    data = {"body": "Back cover ordered", "visibility": "internal", "version": job.version,
            "one_time_token": token}  # fmt: skip
    first = as_staff.post(f"/jobs/{job.number}/messages/", data)
    second = as_staff.post(f"/jobs/{job.number}/messages/", data)
    assert first.status_code == 302 and second.status_code == 302
    assert second.url == first.url  # the repeat shows the first result
    assert Message.objects.filter(job=job, body="Back cover ordered").count() == 1


def test_a_double_clicked_reply_is_sent_once(portal: Cast, priya_job: Job) -> None:
    as_admin = client_for(portal.admin)
    token = token_of_form(
        as_admin, f"/jobs/{priya_job.number}/", f"/jobs/{priya_job.number}/messages/"
    )
    data = {"body": "Ready on Friday", "visibility": "customer", "version": priya_job.version,
            "one_time_token": token}  # fmt: skip
    for _ in range(2):
        assert as_admin.post(f"/jobs/{priya_job.number}/messages/", data).status_code == 302
    assert Message.objects.filter(job=priya_job, body="Ready on Friday").count() == 1
    email = OutgoingEmail.objects.get(job=priya_job, customer=portal.customer)
    assert len(email.activity_ids) == 1


def test_a_double_clicked_new_job_makes_one_job(
    cast: Cast, repair: Pipeline, as_manager: Client
) -> None:
    token = token_of_form(as_manager, "/jobs/new/", "/jobs/new/")
    data = {"title": "Tablet won't charge", "pipeline": repair.pk, "one_time_token": token}
    first = as_manager.post("/jobs/new/", data)
    second = as_manager.post("/jobs/new/", data)
    assert first.status_code == 302 and second.status_code == 302
    job = Job.objects.get(workspace=cast.workspace, title="Tablet won't charge")
    assert first.url == second.url == f"/jobs/{job.number}/"


def test_a_double_clicked_document_request_asks_once(job: Job, as_staff: Client) -> None:
    action = f"/jobs/{job.number}/requests/"
    token = token_of_form(as_staff, f"/jobs/{job.number}/", action)
    data = {"title": "Proof of purchase", "one_time_token": token}
    for _ in range(2):
        assert as_staff.post(action, data).status_code == 302
    assert DocumentRequest.objects.filter(job=job, title="Proof of purchase").count() == 1


def test_a_customers_double_clicked_reply_is_stored_once(priya_job: Job, as_priya: Client) -> None:
    token = token_of_form(
        as_priya, f"/user/jobs/{priya_job.pk}/", f"/user/jobs/{priya_job.pk}/reply/"
    )
    data = {"body": "Thanks, see you Friday", "one_time_token": token}
    for _ in range(2):
        assert as_priya.post(f"/user/jobs/{priya_job.pk}/reply/", data).status_code == 302
    assert Message.objects.filter(job=priya_job, body="Thanks, see you Friday").count() == 1


def test_a_token_is_not_used_up_by_a_refused_post(job: Job, as_staff: Client) -> None:
    token = token_of_form(as_staff, f"/jobs/{job.number}/", f"/jobs/{job.number}/messages/")
    refused = as_staff.post(
        f"/jobs/{job.number}/messages/",
        {"body": "", "visibility": "internal", "version": job.version, "one_time_token": token},
    )
    assert refused.status_code == 400
    accepted = as_staff.post(
        f"/jobs/{job.number}/messages/",
        {"body": "Now with words", "visibility": "internal", "version": job.version,
         "one_time_token": token},
    )  # fmt: skip
    assert accepted.status_code == 302
    assert Message.objects.filter(job=job, body="Now with words").count() == 1


def test_another_persons_token_does_not_swallow_their_post(
    job: Job, as_staff: Client, as_manager: Client
) -> None:
    token = token_of_form(as_staff, f"/jobs/{job.number}/", f"/jobs/{job.number}/messages/")
    data = {"body": "From Sam", "visibility": "internal", "version": job.version,
            "one_time_token": token}  # fmt: skip
    as_staff.post(f"/jobs/{job.number}/messages/", data)
    as_manager.post(f"/jobs/{job.number}/messages/", {**data, "body": "From Max"})
    assert set(Message.objects.filter(job=job).values_list("body", flat=True)) == {
        "From Sam", "From Max",
    }  # fmt: skip
