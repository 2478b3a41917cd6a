"""Staged money in a real browser: the owner gives a renovation its value over the trades
schedule, moves the job into Deposit and the deposit is asked for; the customer sees the
request at the top of their portal job page and opens the invoice; staff record the payment
and the balance updates on the job page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Browser, Page, expect

from jobline.billing.models import Instalment, InstalmentStatus
from jobline.jobs.services import job_create
from jobline.pipelines.services import pipeline_create_from_blueprint
from tests.browser.conftest import Screenshot, assert_accessible, scroll_width
from tests.conftest import PASSWORD, Cast, make_user
from tests.jobs.conftest import fill_required

HOW_TO_PAY = "Bank transfer, sort code 40-11-62, account 31926819"


def tables_cut_off(page: Page) -> list[str]:
    """The tables wider than the frame they scroll in (their first header cell each)."""
    return page.evaluate(
        """() => [...document.querySelectorAll(".table-wrap")]
            .filter((wrap) => wrap.scrollWidth > wrap.clientWidth)
            .map((wrap) => wrap.querySelector("th")?.textContent || "?")"""
    )


def test_the_deposit_is_asked_for_on_entering_its_stage_seen_and_paid(
    page: Page,
    browser: Browser,
    live_server: Any,
    settings: Any,
    cast: Cast,
    sign_in: Callable[..., None],
    screenshot: Screenshot,
) -> None:
    settings.JOBLINE_BASE_URL = live_server.url
    workspace = cast.workspace
    workspace.portal_enabled = True
    workspace.tax_number = "GB 284 1937 55"
    workspace.payment_instructions = HOW_TO_PAY
    workspace.save()
    cast.customer.portal_user = make_user(cast.customer.email, cast.customer.name)
    cast.customer.save()
    renovation = pipeline_create_from_blueprint(
        workspace=workspace, blueprint_key="renovation", actor=cast.admin
    )
    job = job_create(workspace=workspace, pipeline=renovation, title="Bathroom renovation",
                     actor=cast.admin, owner=cast.staff, customer=cast.customer)  # fmt: skip
    fill_required(job, renovation.stages.get(name="Quote"), cast.admin)

    # The pipeline's default schedule, which each new job copies: its editor fits the page.
    sign_in(cast.admin.email)
    page.goto(f"/billing/pipelines/{renovation.pk}/")
    expect(page.get_by_role("heading", name="Default payment schedule")).to_be_visible()
    expect(page.get_by_label("Instalment").first).to_have_value("Deposit")
    assert tables_cut_off(page) == []
    screenshot(page, "pipeline-schedule")
    assert_accessible(page, "pipeline-schedule")

    # The owner opens the job's Payments and gives it its value: the trades schedule is there.
    page.goto(f"/jobs/{job.number}/")
    payments = page.locator("#payments")
    expect(payments).to_contain_text("Give the job a value")
    payments.get_by_role("link", name="Payments").click()
    expect(page.get_by_role("heading", name="Payments", exact=True)).to_be_visible()
    page.get_by_label("The job's value").fill("12000")
    page.get_by_role("button", name="Save the schedule").click()
    expect(page.locator(".toast-success")).to_contain_text("Payment schedule saved")
    schedule = page.locator("#schedule")
    expect(schedule).to_contain_text("£3,600.00")
    expect(schedule).to_contain_text("On entering Deposit")
    expect(schedule).to_contain_text("£4,800.00")

    # Moving the job into Deposit asks for the deposit.
    page.goto(f"/jobs/{job.number}/")
    page.get_by_label("Move to").select_option(label="Deposit")
    page.locator(".move-card").get_by_role("button", name="Move").click()
    expect(page.locator("#payments")).to_contain_text(re.compile(r"Outstanding\s*£3,600\.00"))
    expect(page.locator("#payments")).to_contain_text("INV-1001")
    expect(page.locator(".feed")).to_contain_text("requested the Deposit (INV-1001)")
    deposit = Instalment.objects.get(job=job, label="Deposit")
    assert deposit.status == InstalmentStatus.REQUESTED

    # The customer sees the request at the top of the job and opens the invoice.
    customer = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    customer.goto(f"{live_server.url}/accounts/sign-in/")
    customer.get_by_label("E-mail address").fill(cast.customer.email)
    customer.get_by_label("Password").fill(PASSWORD)
    customer.get_by_role("button", name="Sign in").click()
    customer.goto(f"{live_server.url}/user/jobs/{job.pk}/")
    request = customer.locator("#payment-requests")
    expect(request).to_contain_text("Deposit · £3,600.00 due")
    expect(request).to_contain_text(HOW_TO_PAY)
    screenshot(customer, "portal-payment-request")
    assert_accessible(customer, "portal-payment-request")
    request.get_by_role("link", name="INV-1001").click()
    expect(customer.locator("#invoice-document")).to_contain_text("Tax invoice")
    expect(customer.locator("#invoice-document")).to_contain_text("GB 284 1937 55")
    expect(customer.locator("#invoice-document")).to_contain_text("£3,600.00")
    screenshot(customer, "portal-invoice")
    assert_accessible(customer, "portal-invoice")
    customer.context.close()

    # Staff record the payment on the Payments page; the job's balance updates.
    page.goto(f"/billing/jobs/{job.number}/")
    row = page.locator(f"#instalment-{deposit.pk}")
    row.get_by_text("Record payment").first.click()
    expect(row.get_by_label("Amount")).to_have_value("3600.00")
    row.get_by_label("Reference").fill("BT 0412")
    row.get_by_role("button", name="Record payment").click()
    expect(page.locator(".toast-success")).to_contain_text("Payment towards the Deposit recorded")
    expect(page.locator(f"#instalment-{deposit.pk}")).to_contain_text("Paid")
    screenshot(page, "payments")
    assert_accessible(page, "payments")
    assert scroll_width(page) <= 1280
    # Nor does a table scroll inside its frame: the schedule's Request now buttons and the
    # editor's choices ("Percent of the val…") were cut off at its edge.
    assert tables_cut_off(page) == []
    page.goto(f"/jobs/{job.number}/")
    expect(page.locator("#payments")).to_contain_text(re.compile(r"Paid\s*£3,600\.00"))
    expect(page.locator("#payments")).to_contain_text(re.compile(r"Outstanding\s*£0\.00"))
    expect(page.locator("#payments")).to_contain_text(re.compile(r"Next\s*Install £4,800\.00"))
    assert Instalment.objects.get(pk=deposit.pk).status == InstalmentStatus.PAID
