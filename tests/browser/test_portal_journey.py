"""The customer's journey in a real browser: the sign-in link from the e-mail, the job in
its customer-facing status, a reply with a file, a requested document, a field filled in —
and then the owner sees all of it in the job's feed and in their notifications."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from typing import Any

from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from jobline.jobs.requests import request_create
from jobline.jobs.services import job_create, job_move, message_add
from jobline.notifications.delivery import deliver_due
from jobline.pipelines.services import pipeline_create_from_blueprint
from tests.browser.conftest import Screenshot, assert_accessible, scroll_width
from tests.conftest import Cast


def jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (120, 90), "#16a34a").save(buffer, format="JPEG")
    return buffer.getvalue()


def test_customer_follows_replies_uploads_and_fills_in_and_the_owner_sees_it(
    page: Page,
    browser: Browser,
    live_server: Any,
    settings: Any,
    cast: Cast,
    mailoutbox: list,
    sign_in: Callable[..., None],
    screenshot: Screenshot,
) -> None:
    settings.JOBLINE_BASE_URL = live_server.url  # links in e-mails lead to this server
    cast.workspace.portal_enabled = True
    cast.workspace.save()
    legal = pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="legal", actor=cast.admin
    )
    review = legal.stages.get(name="Client review")
    job = job_create(
        workspace=cast.workspace, pipeline=legal, title="Lease renewal", actor=cast.admin,
        owner=cast.staff, customer=cast.customer,
    )  # fmt: skip
    job_move(job=job, stage=review, actor=cast.admin, expected_version=None,
             enforce_required=False)  # fmt: skip
    request_create(job=job, title="Photo ID", actor=cast.staff)

    # Staff invite Priya; she opens the link from the e-mail.
    sign_in(cast.staff.email)
    page.goto(f"/customers/{cast.customer.pk}/")
    page.get_by_role("button", name="Invite to portal").click()
    expect(page.locator(".toast-success")).to_contain_text("Sign-in link sent")
    link = re.search(r"https?://\S+/user/sign-in/\S+/", mailoutbox[-1].body).group(0)

    customer = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    customer.goto(link)
    assert_accessible(customer, "portal-sign-in-confirm")
    customer.get_by_role("button", name="Continue").click()
    expect(customer.get_by_role("heading", name="Your jobs")).to_be_visible()
    screenshot(customer, "portal-jobs")
    assert_accessible(customer, "portal-jobs")
    customer.get_by_role("link", name="Lease renewal").click()
    expect(customer.locator(".chip-stage").first).to_have_text("Your review")
    expect(customer.locator(".stepper")).to_contain_text("Intake")
    assert_accessible(customer, "portal-job")

    customer.get_by_label("Your message").fill("Looks fine apart from clause 4.")
    customer.get_by_label("Attach files").set_input_files(
        [{"name": "markup.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}]
    )
    customer.locator("#conversation").get_by_role("button", name="Send").click()
    expect(customer.locator(".toast-success")).to_be_visible()
    expect(customer.get_by_text("Looks fine apart from clause 4.")).to_be_visible()

    customer.get_by_label("File for Photo ID").set_input_files(
        [{"name": "passport.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}]
    )
    customer.get_by_role("button", name="Send Photo ID").click()
    expect(customer.locator("#asked .chip-won")).to_have_text("Done")

    customer.get_by_label("Client comments").fill("Please extend the break clause.")
    customer.get_by_role("button", name="Save details").click()
    expect(customer.locator(".toast-success")).to_contain_text("Saved")
    screenshot(customer, "portal-job")
    customer.set_viewport_size({"width": 375, "height": 800})
    assert scroll_width(customer) <= 375

    # The owner sees all of it in the feed and in the notifications.
    page.goto(f"/jobs/{job.number}/")
    feed = page.locator("#feed-entries")
    expect(feed).to_contain_text("Looks fine apart from clause 4.")
    expect(feed).to_contain_text("sent the requested Photo ID")
    expect(feed).to_contain_text("Please extend the break clause.")
    page.goto("/notifications/")
    notes = page.locator(".notification-list")
    expect(notes).to_contain_text("Priya Natarajan replied")
    expect(notes).to_contain_text("sent “Photo ID”")
    expect(notes).to_contain_text("filled in Client comments")

    # The owner answers; after the digest window Priya's e-mail links straight to the job.
    message_add(job=job, body="Break clause extended.", visibility="customer", actor=cast.staff)
    deliver_due(now=timezone.now() + dt.timedelta(minutes=6))
    assert any(cast.staff.email in m.to and "replied" in m.body for m in mailoutbox)
    update = next(m for m in mailoutbox if m.to == [cast.customer.email] and "extended" in m.body)
    job_link = re.search(r"https?://\S+/user/jobs/\d+/", update.body).group(0)
    customer.goto(job_link)
    expect(customer.get_by_text("Break clause extended.")).to_be_visible()

    # The e-mail's unsubscribe link, no sign-in needed: opening it asks (a mail scanner that
    # opens every link changes nothing); the one button unsubscribes.
    unsubscribe = re.search(r"https?://\S+/user/unsubscribe/\S+/", update.body).group(0)
    stranger = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    stranger.goto(unsubscribe)
    expect(stranger.get_by_role("heading")).to_contain_text("Stop e-mails about replies")
    screenshot(stranger, "portal-unsubscribe-ask")
    stranger.get_by_role("button", name="Stop e-mails about replies and files").click()
    expect(stranger.get_by_role("heading")).to_contain_text("won't get e-mails about replies")
    screenshot(stranger, "portal-unsubscribed")
    assert_accessible(stranger, "portal-unsubscribed")
    stranger.goto(f"{live_server.url}/user/sign-in/")
    assert_accessible(stranger, "portal-sign-in")
    customer.goto(f"{live_server.url}/user/account/")
    assert_accessible(customer, "portal-account")
