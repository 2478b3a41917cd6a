"""Quotes in a real browser: a Manager writes a quote (a line added with "Add a line", one
optional line, a 30 % deposit) and sends it; the customer opens it from the e-mail, ticks the
optional line (the total follows without a reload) and accepts it with their name; the
Manager converts it into a job with its first visit, which the week view shows, and a second
conversion only leads back to the same job. Then axe on every quote page, and no quote page
scrolls sideways on a phone (tables scroll inside their own .table-wrap box)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core import mail
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from jobline.bookings.models import Booking
from jobline.jobs.models import Job
from jobline.notifications.delivery import deliver
from jobline.notifications.models import EmailKind, OutgoingEmail
from jobline.pipelines.models import Pipeline
from jobline.pipelines.services import pipeline_create_from_blueprint
from jobline.portal.services import customer_invite
from jobline.quotes import services as quote_services
from jobline.quotes.models import Quote, QuoteStatus, TaxRate
from jobline.quotes.services import FirstVisit, LineInput
from jobline.quotes.tokens import token_for
from tests.browser.conftest import (
    DESKTOP_WIDTH,
    PHONE_WIDTH,
    VIEWPORT_HEIGHT,
    Screenshot,
    assert_accessible,
    scroll_width,
    set_width,
)
from tests.conftest import Cast

TITLE = "New combi boiler, kitchen"
LINES = [  # description, quantity, unit price, optional
    ("Supply and fit Worcester combi boiler", "1", "1500.00", False),
    ("Flue kit and magnetic filter", "2", "85.50", False),
    ("Smart thermostat", "1", "199.00", True),
]
# 1500 + 171 = 1671 + 20 % VAT 334.20; with the thermostat 1870 + 374.00.
TOTAL_WITHOUT_OPTION = "£2,005.20"
TOTAL_WITH_OPTION = "£2,244.00"
DEPOSIT_WITH_OPTION = "£673.20"  # 30 % of 2,244.00


# ----------------------------------------------------------------------------- helpers


def quotes_on(cast: Cast) -> tuple[TaxRate, Pipeline]:
    workspace = cast.workspace
    workspace.module_quotes = True
    workspace.module_bookings = True
    workspace.portal_enabled = True
    workspace.save()
    vat = quote_services.tax_rate_add(
        workspace=workspace, actor=cast.admin, name="VAT", percent="20"
    )
    pipeline = pipeline_create_from_blueprint(
        workspace=workspace, blueprint_key="repair", actor=cast.admin
    )
    return vat, pipeline


def portal_link(cast: Cast, live_server: Any) -> str:
    """As the bookings journey: staff invite the customer (their portal sign-in), and the
    e-mailed link signs them in."""
    customer_invite(
        customer=cast.customer,
        actor=cast.staff,
        build_url=lambda token: live_server.url + reverse("portal:sign_in_link", args=[token]),
    )
    cast.customer.refresh_from_db()
    message = [m for m in mail.outbox if "/user/sign-in/" in m.body][-1]
    return re.search(r"https?://\S+/user/sign-in/\S+/", message.body).group(0)


def portal_sign_in(page: Page, link: str) -> None:
    page.goto(link)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Your jobs")).to_be_visible()


def next_week(cast: Cast, weekday: int) -> dt.date:
    """A day of next week on the business's clock (0 = Monday)."""
    today = timezone.localdate(timezone=ZoneInfo(cast.workspace.time_zone))
    monday = today + dt.timedelta(days=7 - today.weekday())
    return monday + dt.timedelta(days=weekday)


def week_url(day: dt.date) -> str:
    return f"/bookings/?view=week&date={day.isoformat()}"


def fill_line(page: Page, index: int, line: tuple[str, str, str, bool]) -> None:
    description, quantity, price, optional = line
    page.locator(f"#id_line-{index}-description").fill(description)
    page.locator(f"#id_line-{index}-quantity").fill(quantity)
    page.locator(f"#id_line-{index}-unit_price").fill(price)
    page.locator(f"#id_line-{index}-tax_rate").select_option(label="VAT (20 %)")
    if optional:
        page.locator(f"#id_line-{index}-optional").check()


def sent_quote(cast: Cast, vat: TaxRate) -> Quote:
    """The journey's quote, made and sent through the services (for the checks)."""
    quote = quote_services.quote_create(
        workspace=cast.workspace, actor=cast.manager, title=TITLE, customer=cast.customer,
        lines=[LineInput(description=d, quantity=Decimal(q), unit_price=Decimal(p),
                         tax_rate=vat, optional=o) for d, q, p, o in LINES],
        deposit_kind="percent", deposit_value=Decimal(30),
        customer_notes="We will need the water off for about half a day.",
    )  # fmt: skip
    return quote_services.quote_send(quote=quote, actor=cast.manager)


def public_path(quote: Quote) -> str:
    return reverse("quote_public:page", args=[token_for(quote.uid)])


def accept(quote: Quote) -> Quote:
    optional = [line.pk for line in quote_services.lines_of(quote) if line.optional]
    return quote_services.quote_accept(
        quote=quote, name=quote.customer.name, ip="127.0.0.1", ticked=optional,
        revision_seen=quote.revision,
    )  # fmt: skip


def new_context_page(browser: Browser, base_url: str, width: int = DESKTOP_WIDTH) -> Page:
    context = browser.new_context(
        base_url=base_url, viewport={"width": width, "height": VIEWPORT_HEIGHT},
        device_scale_factor=1, locale="en-GB",
    )  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(8_000)
    return page


# ----------------------------------------------------------------------------- the journey


def test_write_send_accept_and_convert_a_quote(
    page: Page, browser: Browser, cast: Cast, live_server: Any, mailoutbox: list,
    settings: Any, sign_in: Callable[..., None], screenshot: Screenshot,
) -> None:  # fmt: skip
    settings.JOBLINE_BASE_URL = live_server.url  # the e-mail's link leads to this server
    _vat, pipeline = quotes_on(cast)
    portal_link(cast, live_server)  # the customer has a portal sign-in, like a real one
    assert cast.customer.portal_user is not None

    # 1. The Manager writes the quote and sends it.
    sign_in(cast.manager.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Quotes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quotes")
    page.get_by_role("link", name="New quote").click()
    expect(page).to_have_url(re.compile(r"/quotes/new/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("New quote")
    page.get_by_label("Title").fill(TITLE)
    page.locator("#id_customer").select_option(label=cast.customer.name)
    rows = page.locator("#quote-lines tbody tr")
    blank_rows = rows.count()
    fill_line(page, 0, LINES[0])
    add_line = page.get_by_role("button", name="Add a line")
    add_line.click()
    expect(rows).to_have_count(blank_rows + 1)
    expect(page.locator("#id_line-TOTAL_FORMS")).to_have_value(str(blank_rows + 1))
    expect(page.locator(f"#id_line-{blank_rows}-description")).to_be_focused()
    fill_line(page, blank_rows, LINES[1])
    add_line.click()
    expect(rows).to_have_count(blank_rows + 2)
    fill_line(page, blank_rows + 1, LINES[2])
    page.get_by_label("Deposit on acceptance").select_option(label="Percent of the total")
    page.get_by_label("Deposit (% or amount)").fill("30")
    page.get_by_label("Notes for the customer").fill(
        "We will need the water off for about half a day."
    )
    screenshot(page, "quote-form")
    page.get_by_role("button", name="Save draft").click()

    quote = Quote.objects.get(title=TITLE)
    expect(page).to_have_url(re.compile(rf"/quotes/{quote.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator(".toast-success")).to_contain_text("Quote saved as a draft.")
    saved = quote_services.lines_of(quote)
    assert [(line.description, line.optional) for line in saved] == [
        (d, o) for d, _, _, o in LINES
    ]  # the blank rows left out, "Add a line"'s rows in their order
    assert all(line.tax_name == "VAT" and line.tax_percent == 20 for line in saved)
    assert quote.deposit_kind == "percent" and quote.deposit_value == 30
    assert quote.status == QuoteStatus.DRAFT and quote.number is None
    document = page.locator("#quote-document")
    expect(document.locator("#quote-totals .quote-total").last).to_have_text(TOTAL_WITHOUT_OPTION)

    page.get_by_role("button", name="Send to customer").click()
    expect(page.locator(".toast-success")).to_contain_text(f"Q-1001 sent to {cast.customer.email}.")
    expect(page.locator(".page-header")).to_contain_text("Q-1001")
    expect(document.locator(".quote-doc-meta")).to_contain_text("Q-1001")
    expect(page.locator(".job-meta .chip")).to_have_text("Sent")
    screenshot(page, "quote-detail")
    quote.refresh_from_db()
    assert quote.number == 1001 and quote.status == QuoteStatus.SENT

    # 2. The customer opens it from the e-mail (locmem backend: mailoutbox).
    email = OutgoingEmail.objects.get(quote=quote, kind=EmailKind.QUOTE)
    assert deliver(email.pk).status == "sent"
    message = next(m for m in mailoutbox if m.to == [cast.customer.email] and "Q-1001" in m.subject)
    assert TOTAL_WITHOUT_OPTION in message.body
    link = re.search(r"https?://\S+/q/[^/\s]+/", message.body).group(0)
    assert link.startswith(live_server.url)

    customer = new_context_page(browser, live_server.url)  # a fresh browser: not signed in
    customer.goto(link)
    expect(customer.locator(".quote-badge")).to_have_text("Quote")
    expect(customer.get_by_role("heading", name=TITLE)).to_be_visible()
    lines = customer.locator(".quote-lines tbody tr")
    expect(lines).to_have_count(3)
    for (description, *_), row in zip(LINES, lines.all(), strict=True):
        expect(row).to_contain_text(description)
    expect(lines.nth(0)).to_contain_text("£1,500.00")
    expect(lines.nth(1)).to_contain_text("£171.00")
    expect(lines.nth(2)).to_contain_text("£199.00")
    total = customer.locator("#quote-totals dd.quote-total")
    expect(total).to_have_text(TOTAL_WITHOUT_OPTION)
    expect(customer.locator("#quote-totals")).to_contain_text("£601.56")  # 30 % deposit
    option = customer.get_by_role("checkbox", name=re.compile("Smart thermostat"))
    expect(option).not_to_be_checked()
    screenshot(customer, "quote-public")

    customer.evaluate("() => { window.__notReloaded = true; }")
    with customer.expect_response(re.compile(r"/q/[^/]+/totals/\?")) as totals_response:
        option.check()
    assert totals_response.value.status == 200
    expect(total).to_have_text(TOTAL_WITH_OPTION)
    expect(customer.locator("#quote-totals")).to_contain_text("VAT 20 %")
    expect(customer.locator("#quote-totals")).to_contain_text("£374.00")
    expect(customer.locator("#quote-totals")).to_contain_text(DEPOSIT_WITH_OPTION)
    assert customer.evaluate("() => window.__notReloaded === true")  # no reload
    page_total = Decimal(total.get_attribute("data-total"))

    customer.get_by_label("Your full name").fill("Priya Natarajan")
    customer.get_by_role("button", name="Accept quote").click()
    state = customer.locator(".quote-state-accepted")
    expect(state).to_contain_text("Accepted")
    expect(state).to_contain_text("by Priya Natarajan")
    expect(customer.get_by_role("button", name="Accept quote")).to_have_count(0)
    expect(customer.locator(".quote-lines tbody tr").nth(2)).to_contain_text("Optional, chosen")
    expect(customer.locator("#quote-totals dd.quote-total")).to_have_text(TOTAL_WITH_OPTION)
    screenshot(customer, "quote-public-accepted")

    quote.refresh_from_db()
    optional_line = saved[2]
    assert quote.status == QuoteStatus.ACCEPTED
    assert quote.accepted_name == "Priya Natarajan"
    assert quote.accepted_lines == [optional_line.pk]
    assert quote.accepted_total == page_total == Decimal("2244.00")
    customer.context.close()

    # 3. The Manager converts it into a job with its first visit.
    day = next_week(cast, 2)  # Wednesday
    page.goto(f"/quotes/{quote.pk}/")
    expect(page.locator(".job-meta .chip")).to_have_text("Accepted")
    expect(page.locator(".quote-state-accepted")).to_contain_text("Accepted by Priya Natarajan")
    page.get_by_role("link", name="Convert to job").click()
    expect(page).to_have_url(re.compile(rf"/quotes/{quote.pk}/convert/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Convert Q-1001 to a job")
    page.get_by_label("Pipeline").select_option(label=pipeline.name)
    page.get_by_label("Book the first visit").check()
    page.get_by_label("Visit date").fill(day.isoformat())
    page.get_by_label(re.compile(r"^Start\b(?!ing)")).fill("09:00")
    page.get_by_label("Length (minutes)").fill("120")
    page.get_by_role("checkbox", name="Sam Staff").check()
    page.get_by_role("checkbox", name="Max Manager").uncheck()
    screenshot(page, "quote-convert")
    page.get_by_role("button", name="Convert to job").click()

    expect(page).to_have_url(re.compile(r"/jobs/\d+/$"))
    job = Quote.objects.get(pk=quote.pk).job
    assert job is not None
    expect(page).to_have_url(re.compile(rf"/jobs/{job.number}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator(".toast-success")).to_contain_text(f"Q-1001 is now {job.reference}.")
    from_quote = page.locator("#from-quote")
    expect(from_quote.get_by_role("heading")).to_have_text("From quote Q-1001")
    expect(from_quote).to_contain_text(TOTAL_WITH_OPTION)
    expect(from_quote).to_contain_text(DEPOSIT_WITH_OPTION)
    visits = page.locator("#visits")
    expect(visits).to_contain_text(TITLE)
    expect(visits).to_contain_text("09:00–11:00")
    expect(visits).to_contain_text("Sam Staff")
    screenshot(page, "quote-job")
    job.refresh_from_db()
    assert job.value == Decimal("2244.00") and job.deposit_due == Decimal("673.20")
    assert job.pipeline == pipeline and job.customer == cast.customer
    booking = Booking.objects.get(job=job)
    local = booking.starts_at.astimezone(ZoneInfo(cast.workspace.time_zone))
    assert (local.date(), local.time()) == (day, dt.time(9))
    assert booking.ends_at - booking.starts_at == dt.timedelta(minutes=120)
    assert [a.membership.user for a in booking.assignments.all()] == [cast.staff]

    page.goto(week_url(day))
    event = page.locator(f'.cal-day[data-day="{day.isoformat()}"] .cal-event')
    expect(event).to_have_count(1)
    expect(event.locator(".cal-event-title")).to_have_text(TITLE)
    expect(event.locator(".cal-event-time")).to_have_text("09:00–11:00")

    page.goto(f"/quotes/{quote.pk}/convert/")  # again: nothing is converted twice
    expect(page).to_have_url(re.compile(rf"/jobs/{job.number}/$"))
    expect(page.locator(".toast-info, .toast")).to_contain_text(
        f"This quote is already {job.reference}."
    )
    assert Job.objects.filter(title=TITLE).count() == 1
    assert Booking.objects.count() == 1
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.CONVERTED and quote.job == job


# ----------------------------------------------------------------------------- checks


def test_quote_pages_pass_axe(
    page: Page, browser: Browser, cast: Cast, live_server: Any, mailoutbox: list,
    sign_in: Callable[..., None], screenshot: Screenshot,
) -> None:  # fmt: skip
    """Every page is checked, then every failure is reported together."""
    vat, _pipeline = quotes_on(cast)
    link = portal_link(cast, live_server)
    quote = sent_quote(cast, vat)
    sign_in(cast.manager.email)
    problems: list[str] = []

    def check(target: Page, name: str) -> None:
        try:
            assert_accessible(target, name)
        except AssertionError as error:
            problems.append(str(error).split("\nassert ")[0])

    page.goto("/quotes/new/")
    page.get_by_label("Title").fill("Boiler service")
    page.locator("#id_customer").select_option(label=cast.customer.name)
    page.locator("#id_line-0-description").fill("Annual service")
    page.locator("#id_line-0-unit_price").fill("-80")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".quote-line-row:has(.field-invalid)")).to_have_count(1)
    expect(page.locator(".quote-line-row:has(.field-invalid)")).to_contain_text(
        "The price cannot be negative."
    )
    screenshot(page, "quote-form-errors")
    check(page, "quote-form-errors")

    page.goto(f"/quotes/{quote.pk}/")
    expect(page.locator("#quote-document")).to_be_visible()
    check(page, "quote-detail")
    page.goto("/quotes/")
    expect(page.locator("tbody tr")).to_have_count(1)
    screenshot(page, "quote-list")
    check(page, "quote-list")
    page.goto("/quotes/tax-rates/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tax rates")
    screenshot(page, "quote-tax-rates")
    check(page, "quote-tax-rates")

    public = new_context_page(browser, live_server.url)
    public.goto(public_path(quote))
    expect(public.get_by_role("button", name="Accept quote")).to_be_visible()
    public.locator(".quote-decline summary").click()  # the quieter Decline, opened
    expect(public.get_by_role("button", name="Decline", exact=True)).to_be_visible()
    check(public, "quote-public")
    public.context.close()

    customer = new_context_page(browser, live_server.url)
    portal_sign_in(customer, link)
    customer.goto("/user/quotes/")
    expect(customer.locator(".portal-card")).to_have_count(1)
    screenshot(customer, "portal-quotes")
    check(customer, "portal-quotes")
    customer.context.close()

    accept(quote)
    page.goto(f"/quotes/{quote.pk}/convert/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Convert {quote.reference} to a job")
    check(page, "quote-convert")
    page.get_by_label("Book the first visit").check()
    page.get_by_role("button", name="Convert to job").click()  # no date nor time
    expect(page.locator(".field-invalid").first).to_be_visible()
    screenshot(page, "quote-convert-errors")
    check(page, "quote-convert-errors")
    assert not problems, "\n".join(problems)


def test_no_quote_page_scrolls_sideways_on_a_phone(
    page: Page, browser: Browser, cast: Cast, live_server: Any, mailoutbox: list,
    sign_in: Callable[..., None],
) -> None:  # fmt: skip
    """At 375 px nothing is wider than the screen; a table may be, inside its .table-wrap
    (which scrolls in its own box)."""
    vat, pipeline = quotes_on(cast)
    link = portal_link(cast, live_server)
    quote = sent_quote(cast, vat)
    sign_in(cast.manager.email)
    set_width(page, PHONE_WIDTH)
    wide: list[str] = []

    def measure(target: Page, path: str) -> None:
        target.goto(path)
        width = scroll_width(target)
        if width > PHONE_WIDTH:
            wide.append(f"{path}: {width}px")
        for box in target.locator(".table-wrap").all():  # scrolls inside, never the page
            right = box.evaluate("el => el.getBoundingClientRect().right")
            if right > PHONE_WIDTH + 0.5:
                wide.append(f"{path}: a .table-wrap reaches {right:.0f}px")

    for path in (
        "/quotes/",
        "/quotes/new/",
        "/quotes/tax-rates/",
        f"/quotes/{quote.pk}/",
        f"/quotes/{quote.pk}/edit/",
        f"/quotes/{quote.pk}/convert/",
    ):
        measure(page, path)
    page.goto("/quotes/new/")
    page.get_by_role("button", name="Save draft").click()  # every error shown
    expect(page.locator(".error").first).to_be_visible()
    if (width := scroll_width(page)) > PHONE_WIDTH:
        wide.append(f"/quotes/new/ (errors): {width}px")

    public = new_context_page(browser, live_server.url, PHONE_WIDTH)
    measure(public, public_path(quote))
    public.locator(".quote-decline summary").click()
    if (width := scroll_width(public)) > PHONE_WIDTH:
        wide.append(f"{public_path(quote)} (decline open): {width}px")
    customer = new_context_page(browser, live_server.url, PHONE_WIDTH)
    portal_sign_in(customer, link)
    measure(customer, "/user/quotes/")

    accept(quote)
    measure(public, public_path(quote))
    measure(page, f"/quotes/{quote.pk}/")
    measure(page, f"/quotes/{quote.pk}/convert/")
    job = quote_services.quote_convert(
        quote=quote, actor=cast.manager, pipeline=pipeline,
        visit=FirstVisit(starts_at=dt.datetime.combine(next_week(cast, 1), dt.time(9),
                         tzinfo=ZoneInfo(cast.workspace.time_zone)), minutes=120,
                         staff=[cast.membership(cast.staff)]),
    )  # fmt: skip
    measure(page, f"/jobs/{job.number}/")
    measure(page, f"/quotes/{quote.pk}/")
    assert not wide, "Pages wider than the phone: " + ", ".join(wide)
