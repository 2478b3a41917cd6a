"""An Admin signs in, adds a customer, finds them with the live search, and trips the
duplicate e-mail rule; every staff page fits a 375 px phone without sideways scrolling."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from jobline.customers.models import Customer
from tests.browser.conftest import PHONE_WIDTH, Screenshot, scroll_width, set_width
from tests.conftest import Cast

SignIn = Callable[[str], None]


@pytest.fixture
def harbour_customers(cast: Cast) -> list[Customer]:
    """A list that looks like a real business's: a few more customers beside the cast's two."""
    cast.customer.phone = "+44 20 7946 0018"
    cast.customer.address = "14 Quay Street\nBristol BS1 4DJ"
    cast.customer.notes = "Prefers calls after 4pm. Dog on site."
    cast.customer.save()
    extra = [
        ("Hollis & Daughters Joinery", "accounts.payable@hollis-and-daughters-joinery.example.com"),
        ("Mei Lin Chen", "mei.chen@example.org"),
        ("Rashid Karimi", "rashid.k@example.net"),
    ]
    created = [
        Customer.objects.create(
            workspace=cast.workspace,
            name=name,
            email=email,
            phone=f"+44 117 496 07{index:02d}",
            created_by=cast.admin,
        )
        for index, (name, email) in enumerate(extra)
    ]
    return [cast.customer, cast.second_customer, *created]


def labelled(page: Page, label: str) -> Locator:
    """The input whose label starts with ``label`` (optional fields add "(optional)")."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}\b"))


def field_containing(page: Page, label: str) -> Locator:
    """The whole form field (label, input, help, errors) around the input labelled ``label``."""
    return page.locator(".field").filter(has=labelled(page, label))


def test_admin_adds_customer_finds_them_by_live_search_and_duplicate_email_is_refused(
    page: Page,
    cast: Cast,
    harbour_customers: list[Customer],
    sign_in: SignIn,
    screenshot: Screenshot,
) -> None:
    sign_in(cast.admin.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Harbour Renovations")

    page.get_by_role("link", name="New customer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New customer")
    labelled(page, "Name").fill("Grace Okafor")
    labelled(page, "E-mail address").fill("Grace.Okafor@example.com")
    labelled(page, "Phone").fill("+44 7700 900123")
    labelled(page, "Address").fill("2 Mill Lane\nBath BA1 1AA")
    page.get_by_role("button", name="Add customer").click()

    # The profile, with what was typed (the e-mail stored in lower case).
    expect(page.get_by_role("heading", level=1)).to_have_text("Grace Okafor")
    expect(page.get_by_role("status")).to_contain_text("Customer Grace Okafor added.")
    expect(page.get_by_role("link", name="grace.okafor@example.com")).to_have_attribute(
        "href", "mailto:grace.okafor@example.com"
    )
    expect(page.get_by_role("link", name="+44 7700 900123")).to_be_visible()
    grace = Customer.objects.get(workspace=cast.workspace, email="grace.okafor@example.com")
    expect(page).to_have_url(re.compile(rf"/customers/{grace.pk}/$"))

    page.locator("nav.sidenav").get_by_role("link", name="Customers").click()
    results = page.locator("#customer-results")
    expect(results.get_by_role("row")).to_have_count(1 + len(harbour_customers) + 1)
    expect(page.get_by_text("6 active")).to_be_visible()
    screenshot(page, "customers-list")

    # Typing filters the list in place: no page load, the URL follows the search.
    page.evaluate("() => { window.__sameDocument = true; }")
    page.get_by_label("Search customers").fill("okafor")
    expect(results.get_by_role("link", name="Grace Okafor")).to_be_visible()
    expect(results.get_by_role("link", name="Priya Natarajan")).to_have_count(0)
    expect(results.locator("tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/customers/\?.*q=okafor"))
    assert page.evaluate("() => window.__sameDocument") is True

    page.get_by_label("Search customers").fill("nobody-by-this-name")
    expect(results.get_by_role("heading")).to_have_text("No customers match “nobody-by-this-name”")
    page.get_by_label("Search customers").fill("Grace")
    results.get_by_role("link", name="Grace Okafor").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Grace Okafor")

    # Same address in another case: refused beside the e-mail field, the rest kept.
    page.goto("/customers/new/")
    labelled(page, "Name").fill("Grace Okafor (Bath office)")
    labelled(page, "E-mail address").fill("GRACE.OKAFOR@EXAMPLE.COM")
    labelled(page, "Phone").fill("+44 7700 900999")
    page.get_by_role("button", name="Add customer").click()

    expect(field_containing(page, "E-mail address").get_by_role("alert")).to_have_text(
        "Another customer in this workspace already uses this e-mail address."
    )
    expect(page.locator(".field-invalid")).to_have_count(1)
    expect(labelled(page, "Name")).to_have_value("Grace Okafor (Bath office)")
    expect(labelled(page, "E-mail address")).to_have_value("GRACE.OKAFOR@EXAMPLE.COM")
    expect(labelled(page, "Phone")).to_have_value("+44 7700 900999")
    assert Customer.objects.filter(email__iexact="grace.okafor@example.com").count() == 1
    screenshot(page, "customer-form-error")


def test_staff_pages_fit_a_phone_without_sideways_scrolling(
    page: Page,
    cast: Cast,
    harbour_customers: list[Customer],
    sign_in: SignIn,
    screenshot: Screenshot,
) -> None:
    sign_in(cast.admin.email)
    long_email_customer = harbour_customers[2]
    pages = {
        "dashboard": ("/dashboard/", cast.workspace.name),
        "customers": ("/customers/", "Customers"),
        "customer-detail": (f"/customers/{cast.customer.pk}/", cast.customer.name),
        "customer-detail-long-email": (
            f"/customers/{long_email_customer.pk}/",
            long_email_customer.name,
        ),
        "settings-general": ("/settings/", "Settings"),
        "settings-modules": ("/settings/modules/", "Settings"),
        "settings-portal": ("/settings/portal/", "Settings"),
        "settings-members": ("/settings/members/", "Settings"),
        "settings-audit-log": ("/settings/audit-log/", "Settings"),
    }
    set_width(page, PHONE_WIDTH)
    too_wide = {}
    for name, (path, heading) in pages.items():
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        width = scroll_width(page)
        if width > PHONE_WIDTH:
            too_wide[name] = width
        screenshot(page, f"phone-check-{name}")
    assert too_wide == {}, f"pages wider than {PHONE_WIDTH}px (scrollWidth): {too_wide}"
