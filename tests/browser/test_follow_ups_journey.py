"""A follow-up in a real browser: a microblading package entered its Initial appointment six
weeks ago; its owner finds the 6-week review on the dashboard, books it from there with the
form filled in, and the review counts as booked on the job page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils import timezone
from playwright.sync_api import Page, expect

from jobline.bookings.models import Booking
from jobline.jobs.services import job_create
from jobline.pipelines.services import pipeline_create_from_blueprint
from tests.browser.conftest import Screenshot, assert_accessible
from tests.conftest import Cast


def test_the_owner_books_a_due_follow_up_from_the_dashboard(
    page: Page, cast: Cast, sign_in: Callable[..., None], screenshot: Screenshot
) -> None:
    cast.workspace.module_bookings = True
    cast.workspace.save()
    beauty = pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="beauty", actor=cast.admin
    )
    job = job_create(
        workspace=cast.workspace, pipeline=beauty, title="Microblading package",
        actor=cast.admin, owner=cast.admin, customer=cast.customer,
        at=timezone.now() - dt.timedelta(weeks=6, days=-1),
    )  # fmt: skip

    sign_in(cast.admin.email)
    page.goto("/dashboard/")
    due = page.locator("#follow-ups-due")
    expect(due).to_contain_text("6-week review: Microblading package")
    screenshot(page, "dashboard")
    assert_accessible(page, "dashboard")
    due.get_by_role("link", name="Book the follow-up").click()
    expect(page.get_by_label("Title")).to_have_value("6-week review")
    page.get_by_role("button", name="Book").first.click()
    expect(page.locator(".toast-success")).to_be_visible()
    booking = Booking.objects.get(job=job)
    assert booking.title == "6-week review"

    page.goto(f"/jobs/{job.number}/")
    expect(page.locator("#follow-ups")).to_contain_text("Booked")
    page.goto("/dashboard/")
    expect(page.locator("#follow-ups-due")).not_to_contain_text("6-week review")
