"""A customer approval in a real browser: the job enters the legal template's Client review,
the board refuses to move it on and says why, the customer approves on the portal with their
name, and the job moves on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Browser, Page, expect

from jobline.approvals.models import Approval, ApprovalStatus
from jobline.jobs.models import Job
from jobline.jobs.services import job_create, job_move
from jobline.pipelines.services import pipeline_create_from_blueprint
from tests.browser.conftest import PHONE_WIDTH, Screenshot, assert_accessible, set_width
from tests.conftest import PASSWORD, Cast, make_user


def test_the_customer_approves_a_stage_and_the_job_moves_on(
    page: Page,
    browser: Browser,
    live_server: Any,
    cast: Cast,
    sign_in: Callable[..., None],
    screenshot: Screenshot,
) -> None:
    cast.workspace.portal_enabled = True
    cast.workspace.save()
    cast.customer.portal_user = make_user(cast.customer.email, cast.customer.name)
    cast.customer.save()
    legal = pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="legal", actor=cast.admin
    )
    job = job_create(workspace=cast.workspace, pipeline=legal, title="Lease renewal",
                     actor=cast.admin, owner=cast.admin, customer=cast.customer)  # fmt: skip
    for name in ("Research", "Draft", "Client review"):
        job = job_move(job=job, stage=legal.stages.get(name=name), actor=cast.admin,
                       expected_version=None, enforce_required=False)  # fmt: skip

    # On the job page, moving on is refused with the reason.
    sign_in(cast.admin.email)
    page.goto(f"/jobs/{job.number}/")
    expect(page.locator("#approval")).to_contain_text("Waiting for the customer")
    page.locator("#approval-message").fill("Please read clause 4 before you approve.")
    page.locator("#approval").get_by_role("button", name="Save").click()
    expect(page.locator(".toast-success")).to_contain_text("What the customer approves is saved")
    page.get_by_label("Move to").select_option(label="Filing")
    page.locator(".move-card").get_by_role("button", name="Move").click()
    expect(page.locator(".toast-error")).to_contain_text("waits for the customer's approval")
    assert Job.objects.get(pk=job.pk).stage.name == "Client review"

    # The customer approves on the portal.
    customer = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    customer.goto(f"{live_server.url}/accounts/sign-in/")
    customer.get_by_label("E-mail address").fill(cast.customer.email)
    customer.get_by_label("Password").fill(PASSWORD)
    customer.get_by_role("button", name="Sign in").click()
    customer.goto(f"{live_server.url}/user/jobs/{job.pk}/")
    request = customer.locator("#approval-request")
    expect(request).to_contain_text("Your approval is needed: Your review")
    expect(request).to_contain_text("Please read clause 4 before you approve.")
    # On a phone the stage strip scrolls, and it opens at the stage the customer approves
    # (the fourth of seven; it began cut off at the right edge).
    set_width(customer, PHONE_WIDTH)
    customer.reload()
    strip, current = (
        customer.locator(selector).bounding_box()
        for selector in (".stepper", ".stepper [aria-current=step]")
    )
    assert strip is not None and current is not None
    assert (
        strip["x"] <= current["x"]
        and current["x"] + current["width"] <= strip["x"] + strip["width"]
    )
    set_width(customer, 1280)
    screenshot(customer, "portal-approval")
    assert_accessible(customer, "portal-approval")
    request.get_by_role("button", name="Approve").click()
    expect(customer.locator("#approve-name")).to_be_visible()
    expect(customer.locator(".error")).to_contain_text("Type your name to approve.")
    customer.locator("#approve-name").fill("Priya Natarajan")
    customer.locator("#approval-request").get_by_role("button", name="Approve").click()
    expect(customer.locator(".toast-success")).to_contain_text("your approval is recorded")
    expect(customer.locator("#approval-request")).to_have_count(0)
    customer.context.close()
    approval = Approval.objects.get(job=job)
    assert (approval.status, approval.decided_name) == (ApprovalStatus.APPROVED, "Priya Natarajan")

    # Now the job moves on.
    page.goto(f"/jobs/{job.number}/")
    expect(page.locator("#approval")).to_contain_text("Approved by Priya Natarajan")
    page.get_by_label("Move to").select_option(label="Filing")
    page.locator(".move-card").get_by_role("button", name="Move").click()
    expect(page.locator(".toast-success")).to_contain_text("moved to Filing")
    screenshot(page, "job-approved")
