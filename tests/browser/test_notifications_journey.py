"""Notifications in a real browser: a Manager follows a job and hears of the customer's reply;
an Admin sees a failed e-mail on Settings → E-mail delivery and sends it again."""

from __future__ import annotations

from collections.abc import Callable

from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from jobline.core.backups import Manifest
from jobline.jobs.services import job_create
from jobline.notifications.delivery import deliver_due
from jobline.notifications.models import EmailKind, EmailStatus, OutgoingEmail
from jobline.notifications.services import hold_outbox_after_restore
from jobline.pipelines.services import pipeline_create_from_blueprint
from jobline.portal.services import customer_reply
from tests.browser.conftest import Screenshot, scroll_width
from tests.conftest import Cast, make_user


def test_follow_a_job_then_fix_a_failed_email(
    page: Page, cast: Cast, sign_in: Callable[..., None], screenshot: Screenshot
) -> None:
    cast.workspace.portal_enabled = True
    cast.workspace.save()
    cast.customer.portal_user = make_user(cast.customer.email, cast.customer.name)
    cast.customer.save()
    pipeline = pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="repair", actor=cast.admin
    )
    job = job_create(
        workspace=cast.workspace, pipeline=pipeline, title="Cracked tablet", actor=cast.admin,
        owner=cast.staff, customer=cast.customer,
    )  # fmt: skip

    sign_in(cast.manager.email)
    page.goto(f"/jobs/{job.number}/")
    page.get_by_role("button", name="Follow").click()
    expect(page.get_by_role("button", name="Following")).to_be_visible()
    screenshot(page, "job-following")

    customer_reply(job=job, user=cast.customer.portal_user, body="Any news on the tablet?")
    deliver_due()
    assert any(m.to == [cast.manager.email] and "Any news" in m.body for m in mail.outbox)
    page.goto("/notifications/")
    expect(page.locator(".notification-list")).to_contain_text("Any news on the tablet?")

    OutgoingEmail.objects.create(
        workspace=cast.workspace, job=job, kind=EmailKind.STAFF_ALERT, recipient=cast.staff,
        to_address=cast.staff.email, lines=["Priya Natarajan replied"],
        subject="J-1001: Priya Natarajan replied", status=EmailStatus.FAILED, attempts=5,
        last_error="SMTPServerDisconnected: Connection unexpectedly closed",
        send_after=timezone.now(),
    )  # fmt: skip
    page.context.clear_cookies()  # sign out: the Admin takes the same browser
    sign_in(cast.admin.email)
    page.goto("/settings/")
    page.get_by_role("link", name="E-mail delivery").click()
    page.get_by_role("link", name="Held, retrying or failed (1)").click()
    failed_row = page.locator("tr", has_text=cast.staff.email)
    expect(failed_row).to_contain_text("Failed")
    expect(failed_row).to_contain_text("SMTPServerDisconnected")
    screenshot(page, "settings-email-delivery")
    assert scroll_width(page) <= page.viewport_size["width"]
    failed_row.get_by_role("button", name="Send again").click()
    expect(page.locator(".toast-success")).to_contain_text("will be sent again")
    deliver_due()
    page.goto("/notifications/email/")
    expect(page.locator("tr", has_text="Priya Natarajan replied").first).to_contain_text("Sent")

    # A restored copy: what was waiting is held, and the Admin decides; no worker is running.
    OutgoingEmail.objects.create(
        workspace=cast.workspace, job=job, kind=EmailKind.STAFF_ALERT, recipient=cast.staff,
        to_address=cast.staff.email, lines=["Priya Natarajan uploaded a file"],
        subject="J-1001: Priya Natarajan uploaded a file", send_after=timezone.now(),
    )  # fmt: skip
    hold_outbox_after_restore(
        Manifest(
            created_at=timezone.now(), database="sqlite", jobline_version="0", counts={},
            media_files=0, media_bytes=0,
        )
    )  # fmt: skip
    page.goto("/notifications/email/")
    expect(page.get_by_role("alert").first).to_contain_text("No background worker is running")
    held = page.get_by_role("alert").filter(has_text="held after a restore")
    expect(held).to_contain_text("the original may have sent it")
    screenshot(page, "settings-email-delivery-held")
    assert scroll_width(page) <= page.viewport_size["width"]
    held.get_by_role("button", name="Send the held e-mail now").click()
    expect(page.locator(".toast-success")).to_contain_text("1 held e-mail sent now")
    expect(page.get_by_role("alert").filter(has_text="held after a restore")).to_have_count(0)
