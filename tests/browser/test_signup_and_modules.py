"""A new business signs up, confirms by the e-mailed link, lands on its dashboard, and
switches the Jobs module off and on."""

from __future__ import annotations

import re

from django.core import mail
from playwright.sync_api import Locator, Page, expect

from jobline.accounts.models import User
from jobline.workspaces.models import Workspace
from tests.browser.conftest import Screenshot
from tests.conftest import PASSWORD, make_user

BUSINESS = "Bright Kitchens"


def fill_sign_up(
    page: Page, *, name: str, email: str, business: str, password_again: str = PASSWORD
) -> None:
    page.goto("/accounts/sign-up/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Create your workspace")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(password_again)
    page.get_by_label("Business name").fill(business)
    page.get_by_role("button", name="Create workspace").click()


def confirmation_link(to: str) -> str:
    """The link from the last sign-up e-mail to ``to`` (the live server shares the outbox)."""
    message = [m for m in mail.outbox if m.to == [to]][-1]
    match = re.search(r"https?://\S+/accounts/sign-up/confirm/\S+/", message.body)
    assert match, message.body
    return match.group(0)


def jobs_nav_link(page: Page) -> Locator:
    return page.locator("nav.sidenav").get_by_role("link", name="Jobs", exact=True)


def save_modules(page: Page, *, jobs: bool) -> None:
    checkbox = page.get_by_role("checkbox", name="Jobs", exact=True)
    checkbox.set_checked(jobs)
    page.get_by_role("button", name="Save modules").click()
    expect(page.get_by_role("status")).to_contain_text("Modules saved.")
    expect(page.get_by_role("checkbox", name="Jobs", exact=True)).to_be_checked(checked=jobs)


def test_sign_up_lands_on_empty_dashboard_and_modules_toggle_jobs(
    page: Page, screenshot: Screenshot, mailoutbox: list[mail.EmailMessage]
) -> None:
    fill_sign_up(page, name="Bea Bright", email="bea@brightkitchens.test", business=BUSINESS)

    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail to finish")
    expect(page.get_by_text("We sent a link to bea@brightkitchens.test")).to_be_visible()
    screenshot(page, "sign-up-check-email")
    assert not Workspace.objects.filter(name=BUSINESS).exists()
    page.goto(confirmation_link("bea@brightkitchens.test"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Create {BUSINESS}")
    page.get_by_role("button", name="Create workspace").click()

    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(BUSINESS)
    expect(page.get_by_role("heading", name="Nothing here yet")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Welcome to Jobline, Bea.")
    expect(jobs_nav_link(page)).to_be_visible()
    workspace = Workspace.objects.get(name=BUSINESS)
    assert workspace.currency == "GBP"
    assert workspace.time_zone == "Europe/London"
    screenshot(page, "dashboard-empty")

    page.locator("nav.sidenav").get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings sections").get_by_role(
        "link", name="Modules"
    ).click()
    expect(page.get_by_role("heading", name="Modules")).to_be_visible()
    expect(page.get_by_role("checkbox", name="Jobs", exact=True)).to_be_checked()

    save_modules(page, jobs=False)
    expect(jobs_nav_link(page)).to_have_count(0)
    response = page.goto("/jobs/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(jobs_nav_link(page)).to_have_count(0)
    screenshot(page, "jobs-switched-off-404")

    page.goto("/settings/modules/")
    save_modules(page, jobs=True)
    expect(jobs_nav_link(page)).to_be_visible()
    screenshot(page, "settings-modules")

    jobs_nav_link(page).click()
    expect(page).to_have_url(re.compile(r"/jobs/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Jobs")
    expect(jobs_nav_link(page)).to_have_attribute("aria-current", "page")


def test_sign_up_with_a_mistake_shows_error_beside_field_and_keeps_input(
    page: Page, screenshot: Screenshot, mailoutbox: list[mail.EmailMessage]
) -> None:
    fill_sign_up(
        page,
        name="Second Person",
        email="Second@Example.com",
        business="Second Shop",
        password_again=PASSWORD + "-typo",
    )

    again_field = page.locator(".field").filter(has=page.get_by_label("Password again"))
    expect(again_field.get_by_role("alert")).to_have_text("The two passwords differ.")
    expect(page.get_by_label("E-mail address")).to_have_value("Second@Example.com")
    expect(page.get_by_label("Business name")).to_have_value("Second Shop")
    expect(page.get_by_label("Your name")).to_have_value("Second Person")
    # Only the second password is wrong: no other field carries an error.
    expect(page.locator(".field-invalid")).to_have_count(1)
    assert not Workspace.objects.filter(name="Second Shop").exists()
    assert mailoutbox == []
    screenshot(page, "sign-up-error")


def test_sign_up_with_a_taken_email_answers_like_any_other_and_the_link_adds_the_business(
    page: Page, mailoutbox: list[mail.EmailMessage]
) -> None:
    """The page never tells whether an address has an account; the e-mail to it does."""
    taken = make_user("taken@example.com", "Already Here")

    fill_sign_up(page, name="Second Person", email="Taken@Example.com", business="Second Shop")

    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail to finish")
    assert User.objects.count() == 1
    assert "already has a Jobline account" in mailoutbox[-1].body
    page.goto(confirmation_link("taken@example.com"))
    page.get_by_role("button", name="Create workspace").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Second Shop")
    assert Workspace.objects.get(name="Second Shop").memberships.get().user == taken
    assert User.objects.count() == 1
