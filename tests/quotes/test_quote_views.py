"""The staff quote pages over HTTP.

Admins and Managers use every quote page; Staff get 403 (the pages are money through and
through) and no "Quotes" item in the menu; the outsider (the Admin of another workspace,
Quotes on there too) gets 404 for Harbour's quotes and tax rates; Quotes switched off makes
every page a 404; GET-only pages refuse POST and POST-only actions refuse GET (405).

The form writes a draft with its lines (a formset) and a customer typed inline, and refuses
bad input field by field, keeping what was typed and saving nothing. Sending numbers the
quote and queues the customer's e-mail; editing a sent quote makes revision 2; an accepted
one cannot be edited. Converting makes the job (and its first visit) once. The list
searches, filters and pages; the CSV's totals are the page's. Internal notes never reach
the customer's page, PDF or e-mail; the job page shows the quote's value to Admins and
Managers only.

The helpers at the top (quotes_everywhere, add_vat, a_quote, sent, accepted…) are shared
with the public page, portal and e-mail tests.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from jobline.bookings.models import Booking
from jobline.core.one_time import new_token
from jobline.customers.models import Customer
from jobline.jobs.models import Job
from jobline.notifications.delivery import deliver
from jobline.notifications.models import EmailKind, OutgoingEmail
from jobline.pipelines.models import Pipeline
from jobline.pipelines.services import pipeline_create_from_blueprint
from jobline.quotes import services, tokens
from jobline.quotes.models import Quote, QuoteLine, QuoteRevision, QuoteStatus, TaxRate
from jobline.quotes.services import LineInput
from tests.bookings.conftest import Page, book, text_of
from tests.conftest import Cast

INTERNAL_NOTE = "MARGIN-NOTE-7731 tiles bought at cost"
CUSTOMER_NOTE = "We will protect your floors with dust sheets."
# The default quote: 2 × £400 labour and £300 tiles at 10 % off, both with VAT 20 %:
# 800 + 270 = 1,070, VAT 214, total 1,284. The optional extractor fan adds 150 + 30 VAT.
TOTAL = "£1,284.00"
TOTAL_WITH_FAN = "£1,464.00"


# ----------------------------------------------------------------------------- helpers


def switch_quotes(cast: Cast, on: bool) -> None:
    cast.workspace.module_quotes = on
    cast.workspace.save(update_fields=["module_quotes"])


def quotes_everywhere(cast: Cast) -> Cast:
    """Quotes on in Harbour and in the outsider's workspace (so the outsider's 404 on
    Harbour's quotes comes from tenancy, not from the module)."""
    for workspace in (cast.workspace, cast.other_workspace):
        workspace.module_quotes = True
        workspace.save(update_fields=["module_quotes"])
    return cast


def add_vat(cast: Cast) -> TaxRate:
    """Harbour's VAT 20 % rate, added by Ada."""
    return services.tax_rate_add(
        workspace=cast.workspace, actor=cast.admin, name="VAT", percent="20"
    )


@pytest.fixture
def quotes_on(cast: Cast) -> Cast:
    return quotes_everywhere(cast)


@pytest.fixture
def vat(quotes_on: Cast) -> TaxRate:
    return add_vat(quotes_on)


@pytest.fixture
def kitchen(pipeline: Pipeline, vat: TaxRate, quotes_on: Cast) -> Quote:
    """Priya's draft kitchen quote (written by Ada), meant for the repair pipeline."""
    return a_quote(quotes_on, vat=vat, pipeline=pipeline)


@pytest.fixture
def pipeline(quotes_on: Cast) -> Pipeline:
    return pipeline_create_from_blueprint(
        workspace=quotes_on.workspace, blueprint_key="repair", actor=quotes_on.admin
    )


def default_lines(vat: TaxRate | None) -> list[LineInput]:
    return [
        LineInput(description="Labour (fitting)", quantity=Decimal(2),
                  unit_price=Decimal("400.00"), tax_rate=vat),
        LineInput(description="Wall tiles", quantity=Decimal(1), unit_price=Decimal("300.00"),
                  discount_percent=Decimal(10), tax_rate=vat),
        LineInput(description="Extractor fan", quantity=Decimal(1),
                  unit_price=Decimal("150.00"), tax_rate=vat, optional=True),
    ]  # fmt: skip


def a_quote(
    cast: Cast,
    *,
    vat: TaxRate | None = None,
    title: str = "Kitchen refit",
    customer: Customer | None = None,
    lines: list[LineInput] | None = None,
    pipeline: Pipeline | None = None,
    expires_on: dt.date | None = None,
    internal_notes: str = INTERNAL_NOTE,
    customer_notes: str = CUSTOMER_NOTE,
) -> Quote:
    """A draft written by Ada through the service (Priya's unless ``customer``)."""
    return services.quote_create(
        workspace=cast.workspace, actor=cast.admin, title=title,
        customer=customer or cast.customer,
        lines=lines if lines is not None else default_lines(vat),
        pipeline=pipeline, expires_on=expires_on, customer_notes=customer_notes,
        internal_notes=internal_notes,
    )  # fmt: skip


def sent(cast: Cast, quote: Quote) -> Quote:
    return services.quote_send(quote=quote, actor=cast.admin)


def fresh(quote: Quote) -> Quote:
    return Quote.objects.get(pk=quote.pk)


def optional_line(quote: Quote) -> QuoteLine:
    return QuoteLine.objects.get(quote=quote, optional=True)


def accepted(quote: Quote, *, with_fan: bool = True, name: str = "Priya Natarajan") -> Quote:
    """The sent quote accepted by Priya (with the optional fan unless told otherwise)."""
    ticked = [optional_line(quote).pk] if with_fan else []
    return services.quote_accept(quote=fresh(quote), name=name, ip="198.51.100.4", ticked=ticked)


def public_path(quote: Quote, action: str = "") -> str:
    return f"/q/{tokens.token_for(quote.uid)}/{action}"


def local_today(cast: Cast) -> dt.date:
    return services.local_today(cast.workspace)


def followed(client: Client, response: Any) -> str:
    """The page a redirect leads to (both statuses checked), as text."""
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    return page.text


def between(html: str, start: str, end: str) -> str:
    begin = html.index(start)
    return html[begin : html.index(end, begin)]


def quote_form(cast: Cast, **changes: Any) -> dict[str, Any]:
    """A complete new-quote form for Priya with two lines; ``lines`` replaces the rows (a
    list of dicts), a change of ``None`` leaves the field out."""
    rows: list[dict[str, Any]] = changes.pop("lines", None) or [
        {"description": "Labour (fitting)", "quantity": "2", "unit_price": "400.00",
         "discount_percent": "", "tax_rate": ""},
        {"description": "Wall tiles", "quantity": "1", "unit_price": "300.00",
         "discount_percent": "10", "tax_rate": ""},
    ]  # fmt: skip
    data: dict[str, Any] = {
        "one_time_token": new_token(),
        "title": "Bathroom refit",
        "customer": cast.customer.pk,
        "new_customer_name": "",
        "new_customer_email": "",
        "pipeline": "",
        "expires_on": "",
        "customer_notes": CUSTOMER_NOTE,
        "internal_notes": INTERNAL_NOTE,
        "deposit_kind": "none",
        "deposit_value": "",
        "line-TOTAL_FORMS": str(len(rows)),
        "line-INITIAL_FORMS": "0",
    }
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"line-{index}-{name}"] = value
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def lines_section(html: str) -> str:
    return between(html, "<h2>Lines</h2>", "</section>")


def nothing_saved(before_customers: int) -> None:
    assert Quote.objects.count() == 0
    assert QuoteLine.objects.count() == 0
    assert Customer.objects.count() == before_customers


# ----------------------------------------------------------------------------- who may


def staff_pages(quote: Quote, rate: TaxRate) -> list[tuple[str, str]]:
    """Every staff quote URL with the method it answers."""
    return [
        ("get", "/quotes/"), ("get", "/quotes/new/"), ("get", "/quotes/export.csv"),
        ("get", "/quotes/tax-rates/"), ("get", f"/quotes/{quote.pk}/"),
        ("get", f"/quotes/{quote.pk}/edit/"), ("get", f"/quotes/{quote.pk}/convert/"),
        ("get", f"/quotes/{quote.pk}/pdf/"), ("post", f"/quotes/{quote.pk}/send/"),
        ("post", f"/quotes/tax-rates/{rate.pk}/remove/"),
    ]  # fmt: skip


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_admins_and_managers_use_every_quote_page(
    cast: Cast, kitchen: Quote, vat: TaxRate, role: str, as_admin: Client, as_manager: Client
) -> None:
    client = as_admin if role == "admin" else as_manager
    sent(cast, kitchen)
    for method, url in staff_pages(kitchen, vat):
        response = getattr(client, method)(url)
        if method == "post":
            assert response.status_code == 302, url
        else:
            assert response.status_code == 200, url
    assert fresh(kitchen).number == 1001
    assert TaxRate.objects.get(pk=vat.pk).archived_at is not None


def test_the_menu_shows_quotes_to_admins_and_managers(
    quotes_on: Cast, as_admin: Client, as_manager: Client
) -> None:
    for client in (as_admin, as_manager):
        response = client.get("/dashboard/")
        assert response.status_code == 200
        assert 'href="/quotes/"' in response.text


def test_staff_get_403_on_every_quote_page_and_no_menu_item(
    cast: Cast, kitchen: Quote, vat: TaxRate, as_staff: Client
) -> None:
    sent(cast, kitchen)
    before = fresh(kitchen)
    for method, url in staff_pages(kitchen, vat):
        response = getattr(as_staff, method)(url)
        assert response.status_code == 403, url
        assert "Kitchen refit" not in response.text
        assert TOTAL not in response.text
    for url in ("/dashboard/", "/customers/"):
        response = as_staff.get(url)
        assert response.status_code == 200
        assert 'href="/quotes/"' not in response.text
        assert ">Quotes<" not in response.text
    assert fresh(kitchen).version == before.version
    assert OutgoingEmail.objects.filter(kind=EmailKind.QUOTE).count() == 1
    assert TaxRate.objects.get(pk=vat.pk).archived_at is None


def test_the_outsider_gets_404_for_harbours_quotes_and_tax_rates(
    cast: Cast, kitchen: Quote, vat: TaxRate, as_outsider: Client
) -> None:
    sent(cast, kitchen)
    assert cast.other_workspace.module_quotes
    before = fresh(kitchen)
    for method, url in staff_pages(kitchen, vat):
        if f"/{kitchen.pk}/" not in url and "/remove/" not in url:
            continue  # the outsider's own list, form and export: their workspace's
        response = getattr(as_outsider, method)(url)
        assert response.status_code == 404, url
        assert "Kitchen refit" not in response.text
    own_list = as_outsider.get("/quotes/")
    assert own_list.status_code == 200
    assert "Kitchen refit" not in own_list.text
    export = as_outsider.get("/quotes/export.csv")
    assert export.status_code == 200
    assert "Kitchen refit" not in b"".join(export.streaming_content).decode()
    assert fresh(kitchen).version == before.version
    assert TaxRate.objects.get(pk=vat.pk).archived_at is None


def test_with_quotes_switched_off_every_quote_page_is_404(
    cast: Cast, kitchen: Quote, vat: TaxRate, as_admin: Client
) -> None:
    switch_quotes(cast, False)
    for method, url in staff_pages(kitchen, vat):
        response = getattr(as_admin, method)(url)
        assert response.status_code == 404, url
    menu = as_admin.get("/dashboard/")
    assert menu.status_code == 200
    assert 'href="/quotes/"' not in menu.text
    assert fresh(kitchen).number is None


def test_get_only_pages_refuse_post_and_actions_refuse_get(
    cast: Cast, kitchen: Quote, vat: TaxRate, as_admin: Client
) -> None:
    for url in ("/quotes/", "/quotes/export.csv", f"/quotes/{kitchen.pk}/",
                f"/quotes/{kitchen.pk}/pdf/"):  # fmt: skip
        response = as_admin.post(url)
        assert response.status_code == 405, url
    for url in (f"/quotes/{kitchen.pk}/send/", f"/quotes/tax-rates/{vat.pk}/remove/"):
        response = as_admin.get(url)
        assert response.status_code == 405, url
    for url in ("/quotes/new/", f"/quotes/{kitchen.pk}/edit/", f"/quotes/{kitchen.pk}/convert/",
                "/quotes/tax-rates/"):  # fmt: skip
        response = as_admin.delete(url)
        assert response.status_code == 405, url
    assert fresh(kitchen).number is None
    assert TaxRate.objects.get(pk=vat.pk).archived_at is None


# ----------------------------------------------------------------------------- the form


def test_a_new_quote_with_its_lines_is_saved_as_a_draft(
    quotes_on: Cast, vat: TaxRate, as_manager: Client
) -> None:
    rows = [
        {"description": "Labour (fitting)", "quantity": "2", "unit_price": "400.00",
         "tax_rate": str(vat.pk)},
        {"description": "Wall tiles", "quantity": "1", "unit_price": "300.00",
         "discount_percent": "10", "tax_rate": str(vat.pk)},
        {"description": "Extractor fan", "quantity": "1", "unit_price": "150.00",
         "tax_rate": str(vat.pk), "optional": "on"},
        {"description": "", "quantity": "1", "unit_price": ""},  # a blank row is left out
    ]  # fmt: skip
    response = as_manager.post("/quotes/new/", quote_form(quotes_on, lines=rows))
    quote = Quote.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/quotes/{quote.pk}/"
    assert quote.status == QuoteStatus.DRAFT
    assert quote.number is None
    assert quote.created_by == quotes_on.manager
    assert quote.customer == quotes_on.customer
    assert quote.total == Decimal("1284.00")
    lines = list(QuoteLine.objects.filter(quote=quote))
    assert [(line.description, line.optional) for line in lines] == [
        ("Labour (fitting)", False), ("Wall tiles", False), ("Extractor fan", True)
    ]  # fmt: skip
    assert {line.tax_name for line in lines} == {"VAT"}
    page = followed(as_manager, response)
    assert "Quote saved as a draft" in page
    assert TOTAL in page


def test_a_new_customer_typed_inline_is_created_with_the_quote(
    quotes_on: Cast, as_admin: Client
) -> None:
    data = quote_form(quotes_on, customer="", new_customer_name="Lena Fischer",
                      new_customer_email="lena@example.com")  # fmt: skip
    response = as_admin.post("/quotes/new/", data)
    assert response.status_code == 302
    quote = Quote.objects.get()
    lena = Customer.objects.get(name="Lena Fischer")
    assert lena.workspace == quotes_on.workspace
    assert lena.email == "lena@example.com"
    assert quote.customer == lena
    assert quote.status == QuoteStatus.DRAFT


def test_a_double_submitted_new_quote_is_saved_once(quotes_on: Cast, as_admin: Client) -> None:
    data = quote_form(quotes_on)
    first = as_admin.post("/quotes/new/", data)
    second = as_admin.post("/quotes/new/", data)
    quote = Quote.objects.get()
    assert first.status_code == 302
    assert second.status_code == 302
    assert second["Location"] == f"/quotes/{quote.pk}/"


LINE_ROW = {"description": "Labour (fitting)", "quantity": "2", "unit_price": "400.00"}


@pytest.mark.parametrize(
    ("row", "message"),
    [({**LINE_ROW, "quantity": "-2"}, "The quantity cannot be negative."),
     ({**LINE_ROW, "unit_price": "-400.00"}, "The price cannot be negative."),
     ({**LINE_ROW, "discount_percent": "150"}, "A discount is at most 100 %.")],
    ids=["negative-quantity", "negative-price", "discount-over-100"],
)  # fmt: skip
def test_a_bad_line_is_refused_in_the_lines_section_keeping_what_was_typed(
    quotes_on: Cast, as_admin: Client, row: dict[str, str], message: str
) -> None:
    customers = Customer.objects.count()
    response = as_admin.post("/quotes/new/", quote_form(quotes_on, title="Typed title",
                                                         lines=[row]))  # fmt: skip
    assert response.status_code == 400
    assert message in text_of(lines_section(response.text))
    page = Page(response.text)
    assert page.value("title") == "Typed title"
    for name, value in row.items():
        assert page.value(f"line-0-{name}") == value
    assert page.textareas["internal_notes"].strip() == INTERNAL_NOTE
    nothing_saved(customers)


def test_a_quote_without_lines_is_refused_in_the_lines_section(
    quotes_on: Cast, as_admin: Client
) -> None:
    customers = Customer.objects.count()
    blank = {"description": "", "quantity": "1", "unit_price": ""}
    response = as_admin.post("/quotes/new/", quote_form(quotes_on, lines=[blank]))
    assert response.status_code == 400
    assert "Add at least one line." in text_of(response.text)  # on the page at all…
    assert "Add at least one line." in text_of(
        lines_section(response.text)
    )  # …and where the lines are
    assert Page(response.text).value("title") == "Bathroom refit"
    nothing_saved(customers)


def test_a_quote_of_only_optional_lines_is_refused_in_the_lines_section(
    quotes_on: Cast, as_admin: Client
) -> None:
    customers = Customer.objects.count()
    row = {**LINE_ROW, "optional": "on"}
    response = as_admin.post("/quotes/new/", quote_form(quotes_on, lines=[row]))
    assert response.status_code == 400
    assert "At least one line must not be optional." in text_of(
        response.text
    )  # on the page at all…
    assert "At least one line must not be optional." in text_of(
        lines_section(response.text)
    )  # …and where the lines are
    page = Page(response.text)
    assert page.value("line-0-description") == "Labour (fitting)"
    assert page.checked("line-0-optional")  # still ticked
    nothing_saved(customers)


def test_an_archived_customer_is_refused_next_to_the_customer_field(
    quotes_on: Cast, as_admin: Client
) -> None:
    quotes_on.second_customer.archived_at = timezone.now()
    quotes_on.second_customer.save(update_fields=["archived_at"])
    customers = Customer.objects.count()
    data = quote_form(quotes_on, customer=quotes_on.second_customer.pk)
    response = as_admin.post("/quotes/new/", data)
    assert response.status_code == 400
    page = Page(response.text)
    assert page.errors("customer")
    assert page.value("title") == "Bathroom refit"
    assert page.value("line-1-description") == "Wall tiles"
    nothing_saved(customers)


def test_a_customer_of_another_workspace_is_refused_next_to_the_customer_field(
    quotes_on: Cast, as_admin: Client
) -> None:
    theirs = Customer.objects.create(
        workspace=quotes_on.other_workspace, name="Elsa Else", created_by=quotes_on.outsider
    )
    customers = Customer.objects.count()
    response = as_admin.post("/quotes/new/", quote_form(quotes_on, customer=theirs.pk))
    assert response.status_code == 400
    assert Page(response.text).errors("customer")
    assert "Elsa Else" not in response.text
    nothing_saved(customers)


def test_an_expiry_date_in_the_past_is_refused_next_to_the_field(
    quotes_on: Cast, as_admin: Client
) -> None:
    customers = Customer.objects.count()
    yesterday = (local_today(quotes_on) - dt.timedelta(days=1)).isoformat()
    response = as_admin.post("/quotes/new/", quote_form(quotes_on, expires_on=yesterday))
    assert response.status_code == 400
    page = Page(response.text)
    assert page.errors("expires_on") == ["The expiry date is in the past."]
    assert page.value("expires_on") == yesterday
    nothing_saved(customers)


@pytest.mark.parametrize(
    ("percent", "message"),
    [("100.5", "A tax rate is at most 100 %."), ("-1", "A tax rate cannot be negative.")],
    ids=["over-100", "under-0"],
)  # fmt: skip
def test_the_tax_rate_page_refuses_a_rate_outside_0_to_100_next_to_the_field(
    quotes_on: Cast, as_admin: Client, percent: str, message: str
) -> None:
    response = as_admin.post("/quotes/tax-rates/", {"name": "Odd tax", "percent": percent})
    assert response.status_code == 400
    page = Page(response.text)
    assert page.errors("percent") == [message]
    assert page.value("name") == "Odd tax"
    assert page.value("percent") == percent
    assert not TaxRate.objects.exists()
    added = as_admin.post("/quotes/tax-rates/", {"name": "GST", "percent": "10"})
    assert added.status_code == 302
    assert "GST" in followed(as_admin, added)


# ----------------------------------------------------------------------------- sending, editing


def test_sending_numbers_the_quote_and_queues_the_customers_email(
    cast: Cast, kitchen: Quote, as_admin: Client
) -> None:
    response = as_admin.post(f"/quotes/{kitchen.pk}/send/")
    quote = fresh(kitchen)
    assert response.status_code == 302
    assert response["Location"] == f"/quotes/{kitchen.pk}/"
    assert quote.number == 1001
    assert quote.status == QuoteStatus.SENT
    assert quote.revision == 1
    [email] = OutgoingEmail.objects.filter(kind=EmailKind.QUOTE)
    assert email.quote_id == quote.pk
    assert email.customer == cast.customer
    assert email.to_address == "priya@example.com"
    page = followed(as_admin, response)
    assert "Q-1001 sent to priya@example.com." in text_of(page)
    assert "Send again" in page
    assert tokens.token_for(quote.uid) in page  # the customer's link, to copy


def test_send_again_keeps_the_number_and_queues_another_email(
    cast: Cast, kitchen: Quote, as_admin: Client
) -> None:
    sent(cast, kitchen)
    second_draft = a_quote(cast, title="Garden wall")
    response = as_admin.post(f"/quotes/{kitchen.pk}/send/")
    assert response.status_code == 302
    quote = fresh(kitchen)
    assert quote.number == 1001
    assert quote.revision == 1
    assert QuoteRevision.objects.filter(quote=quote).count() == 1
    assert OutgoingEmail.objects.filter(kind=EmailKind.QUOTE, quote=quote).count() == 2
    assert fresh(second_draft).number is None  # a draft burns no number


def edit_form(quote: Quote, **changes: Any) -> dict[str, Any]:
    lines = [
        {"description": line.description, "quantity": str(line.quantity),
         "unit_price": str(line.unit_price), "discount_percent": str(line.discount_percent),
         "tax_rate": str(line.tax_rate_id or ""), **({"optional": "on"} if line.optional else {})}
        for line in QuoteLine.objects.filter(quote=quote)
    ]  # fmt: skip
    form: dict[str, Any] = {
        "title": quote.title, "customer": quote.customer_id,
        "pipeline": quote.pipeline_id or "", "expires_on": quote.expires_on.isoformat(),
        "customer_notes": quote.customer_notes, "internal_notes": quote.internal_notes,
        "deposit_kind": quote.deposit_kind, "deposit_value": "", "version": quote.version,
        "line-TOTAL_FORMS": str(len(lines)), "line-INITIAL_FORMS": "0",
    }  # fmt: skip
    for index, row in enumerate(lines):
        for name, value in row.items():
            form[f"line-{index}-{name}"] = value
    form.update(changes)
    return form


def test_editing_a_sent_quote_warns_and_makes_revision_2(
    cast: Cast, kitchen: Quote, as_admin: Client
) -> None:
    quote = sent(cast, kitchen)
    page = as_admin.get(f"/quotes/{quote.pk}/edit/")
    assert page.status_code == 200
    assert "This quote was sent. Saving makes revision 2" in text_of(page.text)
    form = Page(page.text)
    assert form.value("title") == "Kitchen refit"
    assert form.value("line-1-description") == "Wall tiles"
    data = edit_form(fresh(quote), **{"line-0-quantity": "3"})
    response = as_admin.post(f"/quotes/{quote.pk}/edit/", data)
    assert response.status_code == 302
    revised = fresh(quote)
    assert revised.revision == 2
    assert revised.status == QuoteStatus.SENT
    assert revised.number == 1001
    assert QuoteRevision.objects.filter(quote=quote).count() == 2
    assert revised.total == Decimal("1764.00")  # 1,200 + 270 + 20 % VAT
    emails = OutgoingEmail.objects.filter(kind=EmailKind.QUOTE, quote=quote).order_by("id")
    assert [email.lines for email in emails] == [["sent"], ["revised"]]
    assert "new revision" in followed(as_admin, response)


def test_a_draft_edit_shows_no_revision_warning(kitchen: Quote, as_admin: Client) -> None:
    page = as_admin.get(f"/quotes/{kitchen.pk}/edit/")
    assert page.status_code == 200
    assert "Saving makes revision" not in page.text


def test_an_accepted_quote_cannot_be_edited(cast: Cast, kitchen: Quote, as_admin: Client) -> None:
    accepted(sent(cast, kitchen))
    before = fresh(kitchen)
    response = as_admin.get(f"/quotes/{kitchen.pk}/edit/")
    assert response.status_code == 302
    assert response["Location"] == f"/quotes/{kitchen.pk}/"
    assert "accepted quote cannot be edited" in followed(as_admin, response)
    posted = as_admin.post(f"/quotes/{kitchen.pk}/edit/", edit_form(before, title="Changed"))
    assert posted.status_code == 302
    after = fresh(kitchen)
    assert after.title == "Kitchen refit"
    assert after.version == before.version
    assert after.revision == 1


# ----------------------------------------------------------------------------- converting


def convert_form(cast: Cast, pipeline: Pipeline, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "one_time_token": new_token(), "pipeline": pipeline.pk, "stage": "",
        "owner": str(cast.manager.pk), "visit_minutes": "60",
    }  # fmt: skip
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def with_visit(cast: Cast, **changes: Any) -> dict[str, Any]:
    return {
        "book_visit": "on", "visit_date": "2030-06-04", "visit_time": "10:00",
        "visit_minutes": "90", "visit_staff": [cast.membership(cast.staff).pk], **changes,
    }  # fmt: skip


def test_the_convert_page_is_pre_filled(
    cast: Cast, kitchen: Quote, pipeline: Pipeline, as_admin: Client
) -> None:
    accepted(sent(cast, kitchen))
    response = as_admin.get(f"/quotes/{kitchen.pk}/convert/")
    assert response.status_code == 200
    page = Page(response.text)
    assert page.selected["pipeline"] == [str(pipeline.pk)]
    assert page.selected["owner"] == [str(cast.admin.pk)]
    assert page.value("visit_minutes") == "60"
    assert page.checked("visit_staff") == {str(cast.membership(cast.admin).pk)}
    assert page.value("one_time_token")
    assert not page.has_input("without_acceptance")  # accepted: nothing to tick


def test_converting_an_accepted_quote_makes_the_job_and_its_first_visit(
    cast: Cast, kitchen: Quote, pipeline: Pipeline, as_admin: Client
) -> None:
    accepted(sent(cast, kitchen))
    data = convert_form(cast, pipeline, **with_visit(cast))
    response = as_admin.post(f"/quotes/{kitchen.pk}/convert/", data)
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{job.number}/"
    quote = fresh(kitchen)
    assert quote.status == QuoteStatus.CONVERTED
    assert quote.job == job
    assert job.value == Decimal("1464.00")
    assert job.customer == cast.customer
    assert job.owner == cast.manager
    assert job.title == "Kitchen refit"
    [visit] = Booking.objects.filter(job=job)
    assert visit.ends_at - visit.starts_at == dt.timedelta(minutes=90)
    assert [a.membership.user for a in visit.assignments.all()] == [cast.staff]
    assert "Q-1001" in followed(as_admin, response)


def test_converting_without_a_visit_makes_only_the_job(
    cast: Cast, kitchen: Quote, pipeline: Pipeline, as_manager: Client
) -> None:
    accepted(sent(cast, kitchen))
    response = as_manager.post(f"/quotes/{kitchen.pk}/convert/", convert_form(cast, pipeline))
    assert response.status_code == 302
    assert Job.objects.count() == 1
    assert not Booking.objects.exists()


@pytest.mark.parametrize("token", ["same", "new"])
def test_a_second_convert_makes_nothing_and_leads_to_the_same_job(
    cast: Cast, kitchen: Quote, pipeline: Pipeline, as_admin: Client, token: str
) -> None:
    accepted(sent(cast, kitchen))
    data = convert_form(cast, pipeline, **with_visit(cast))
    first = as_admin.post(f"/quotes/{kitchen.pk}/convert/", data)
    assert first.status_code == 302
    again = data if token == "same" else {**data, "one_time_token": new_token()}
    second = as_admin.post(f"/quotes/{kitchen.pk}/convert/", again)
    job = Job.objects.get()
    assert second.status_code == 302
    assert second["Location"] == first["Location"] == f"/jobs/{job.number}/"
    assert Booking.objects.count() == 1
    opened = as_admin.get(f"/quotes/{kitchen.pk}/convert/")
    assert opened.status_code == 302
    assert opened["Location"] == f"/jobs/{job.number}/"


def test_a_sent_quote_converts_only_with_the_without_acceptance_tick(
    cast: Cast, kitchen: Quote, pipeline: Pipeline, as_admin: Client
) -> None:
    sent(cast, kitchen)
    response = as_admin.post(f"/quotes/{kitchen.pk}/convert/", convert_form(cast, pipeline))
    assert response.status_code == 400
    assert Page(response.text).errors("without_acceptance") == [
        "The customer has not accepted yet: tick to convert anyway."
    ]
    assert not Job.objects.exists()
    assert fresh(kitchen).status == QuoteStatus.SENT
    ticked = convert_form(cast, pipeline, without_acceptance="on")
    converted = as_admin.post(f"/quotes/{kitchen.pk}/convert/", ticked)
    assert converted.status_code == 302
    job = Job.objects.get()
    assert job.value == Decimal("1284.00")  # no optional line was chosen
    assert fresh(kitchen).job == job


def test_an_overlapping_first_visit_is_409_naming_the_conflict_until_booked_anyway(
    cast: Cast, kitchen: Quote, pipeline: Pipeline, as_admin: Client
) -> None:
    accepted(sent(cast, kitchen))
    # Sam is booked Tue 4 Jun 2030 10:00–11:00 BST already.
    book(cast, title="Annual boiler service", start=dt.datetime(2030, 6, 4, 9, 0, tzinfo=dt.UTC))
    data = convert_form(cast, pipeline, **with_visit(cast, visit_time="10:30"))
    response = as_admin.post(f"/quotes/{kitchen.pk}/convert/", data)
    assert response.status_code == 409
    words = text_of(response.text)
    assert "This time is taken." in words
    assert "Annual boiler service" in words
    assert "Sam Staff" in words
    assert "Book anyway" in words
    assert Page(response.text).has_input("book_anyway")
    assert not Job.objects.exists()
    assert Booking.objects.count() == 1
    assert fresh(kitchen).status == QuoteStatus.ACCEPTED
    anyway = as_admin.post(f"/quotes/{kitchen.pk}/convert/", {**data, "book_anyway": "on"})
    assert anyway.status_code == 302
    job = Job.objects.get()
    assert Booking.objects.filter(job=job).count() == 1


# ----------------------------------------------------------------------------- the list, CSV


def table_rows(html: str) -> list[str]:
    if "<tbody>" not in html:
        return []
    body = between(html, "<tbody>", "</tbody>")
    return re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)


def titles_listed(response: Any) -> set[str]:
    assert response.status_code == 200
    return {
        text_of(match)
        for row in table_rows(response.text)
        for match in re.findall(r'data-label="Title"><a [^>]*>(.*?)</a>', row, flags=re.S)
    }


@pytest.fixture
def three_quotes(cast: Cast, vat: TaxRate, kitchen: Quote) -> list[Quote]:
    """Q-1001 Kitchen refit (Priya, sent), Q-1002 Bathroom tiles (Tom, accepted with the
    fan) and the draft Garden wall (Priya)."""
    sent(cast, kitchen)
    bathroom = sent(cast, a_quote(cast, vat=vat, title="Bathroom tiles",
                                  customer=cast.second_customer))  # fmt: skip
    accepted(bathroom, name="Tom Whitfield")
    garden = a_quote(cast, vat=vat, title="Garden wall")
    return [fresh(kitchen), fresh(bathroom), fresh(garden)]


@pytest.mark.parametrize(
    ("q", "titles"),
    [("Q-1002", {"Bathroom tiles"}), ("q-1001", {"Kitchen refit"}), ("1001", {"Kitchen refit"}),
     ("garden", {"Garden wall"}), ("Whitfield", {"Bathroom tiles"}),
     ("Priya", {"Kitchen refit", "Garden wall"}), ("nothing like it", set()),
     # Title words from their start, in any order, all of them (core/search.py).
     ("bath", {"Bathroom tiles"}), ("TILES bath", {"Bathroom tiles"}), ("athroom", set()),
     ("bath wall", set()), ("garden* \"wa", {"Garden wall"})],
)  # fmt: skip
def test_the_list_searches_number_title_and_customer(
    three_quotes: list[Quote], as_admin: Client, q: str, titles: set[str]
) -> None:
    response = as_admin.get("/quotes/", {"q": q})
    assert titles_listed(response) == titles
    # The count is taken by a query of its own (quotes.selectors): it agrees with the rows.
    assert f"{len(titles)} quote{'' if len(titles) == 1 else 's'}</p>" in response.text
    if not titles:
        assert "No quotes match" in response.text


def test_a_renamed_quote_is_found_by_its_new_title_only(
    three_quotes: list[Quote], as_admin: Client
) -> None:
    Quote.objects.filter(pk=three_quotes[2].pk).update(title="Patio slabs")
    assert titles_listed(as_admin.get("/quotes/", {"q": "patio"})) == {"Patio slabs"}
    assert titles_listed(as_admin.get("/quotes/", {"q": "garden"})) == set()


def test_the_list_filters_by_status(three_quotes: list[Quote], as_admin: Client) -> None:
    assert titles_listed(as_admin.get("/quotes/", {"status": "draft"})) == {"Garden wall"}
    assert titles_listed(as_admin.get("/quotes/", {"status": "accepted"})) == {"Bathroom tiles"}
    assert titles_listed(as_admin.get("/quotes/", {"status": "sent"})) == {"Kitchen refit"}
    everything = {"Kitchen refit", "Bathroom tiles", "Garden wall"}
    assert titles_listed(as_admin.get("/quotes/", {"status": "bogus"})) == everything


def test_the_total_column_shows_the_total_or_the_accepted_total(
    three_quotes: list[Quote], as_admin: Client
) -> None:
    response = as_admin.get("/quotes/")
    assert response.status_code == 200
    totals = {
        text_of(re.search(r'data-label="Title"><a [^>]*>(.*?)</a>', row, re.S).group(1)):
        text_of(re.search(r'data-label="Total" class="num">(.*?)</td>', row, re.S).group(1))
        for row in table_rows(response.text)
    }  # fmt: skip
    assert totals == {"Kitchen refit": TOTAL, "Bathroom tiles": TOTAL_WITH_FAN,
                      "Garden wall": TOTAL}  # fmt: skip


def test_the_list_pages_by_50(cast: Cast, quotes_on: Cast, as_admin: Client) -> None:
    now = timezone.now()
    Quote.objects.bulk_create(
        Quote(workspace=cast.workspace, customer=cast.customer, title=f"Bulk {index:02}",
              created_by=cast.admin, created_at=now - dt.timedelta(minutes=index),
              token_hash=tokens.token_hash(uuid.uuid4().hex))
        for index in range(51)
    )  # fmt: skip
    first = as_admin.get("/quotes/")
    assert len(titles_listed(first)) == 50
    assert "51 quotes" in text_of(first.text)
    assert "Page 1 of 2" in first.text
    assert "Bulk 00" in titles_listed(first)
    second = as_admin.get("/quotes/", {"page": "2"})
    assert titles_listed(second) == {"Bulk 50"}
    assert "Page 2 of 2" in second.text


def csv_of(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8").removeprefix("\ufeff")
    return list(csv.reader(io.StringIO(text)))


def test_the_csv_has_its_columns_and_the_pages_totals(
    cast: Cast, three_quotes: list[Quote], as_admin: Client
) -> None:
    header, *rows = csv_of(as_admin.get("/quotes/export.csv"))
    assert header == ["Number", "Title", "Customer", "Status", "Total", "Accepted total",
                      "Deposit", "Created", "Sent", "Valid until", "Job"]  # fmt: skip
    by_title = {row[1]: dict(zip(header, row, strict=True)) for row in rows}
    assert set(by_title) == {"Kitchen refit", "Bathroom tiles", "Garden wall"}
    kitchen, bathroom, garden = (by_title[t] for t in ("Kitchen refit", "Bathroom tiles",
                                                       "Garden wall"))  # fmt: skip
    assert (kitchen["Number"], kitchen["Customer"], kitchen["Status"]) == (
        "Q-1001", "Priya Natarajan", "Sent")  # fmt: skip
    assert (bathroom["Number"], bathroom["Status"]) == ("Q-1002", "Accepted")
    assert garden["Number"] == "Draft"
    assert kitchen["Total"] == "1284.00"
    assert kitchen["Accepted total"] == ""
    assert bathroom["Total"] == "1284.00"
    assert bathroom["Accepted total"] == "1464.00"
    assert garden["Sent"] == ""
    assert kitchen["Valid until"] == three_quotes[0].expires_on.isoformat()
    page = as_admin.get("/quotes/")
    assert page.status_code == 200
    for row in table_rows(page.text):
        title = text_of(re.search(r'data-label="Title"><a [^>]*>(.*?)</a>', row, re.S).group(1))
        shown = text_of(re.search(r'data-label="Total" class="num">(.*?)</td>', row, re.S)[1])
        exported = by_title[title]["Accepted total"] or by_title[title]["Total"]
        assert shown == f"£{Decimal(exported):,.2f}", title


def test_a_converted_quotes_csv_row_names_its_job(
    cast: Cast, kitchen: Quote, pipeline: Pipeline, as_admin: Client
) -> None:
    accepted(sent(cast, kitchen))
    converted = as_admin.post(f"/quotes/{kitchen.pk}/convert/", convert_form(cast, pipeline))
    assert converted.status_code == 302
    job = Job.objects.get()
    _header, row = csv_of(as_admin.get("/quotes/export.csv"))
    assert row[3] == "Converted"
    assert row[10] == job.reference


# ----------------------------------------------------------------------------- PDF, job page


def test_the_staff_pdf_is_a_pdf(cast: Cast, kitchen: Quote, as_admin: Client) -> None:
    sent(cast, kitchen)
    response = as_admin.get(f"/quotes/{kitchen.pk}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert 'filename="Q-1001.pdf"' in response["Content-Disposition"]


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_the_job_page_shows_the_quote_and_its_value_to_admins_and_managers(
    cast: Cast, kitchen: Quote, pipeline: Pipeline, as_admin: Client, as_manager: Client,
    role: str,
) -> None:  # fmt: skip
    accepted(sent(cast, kitchen))
    response = as_admin.post(f"/quotes/{kitchen.pk}/convert/", convert_form(cast, pipeline))
    assert response.status_code == 302
    client = as_admin if role == "admin" else as_manager
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert 'id="from-quote"' in page.text
    words = text_of(page.text)
    assert "From quote Q-1001" in words
    assert TOTAL_WITH_FAN in words
    assert "by Priya Natarajan" in words


def test_the_job_page_shows_staff_no_quote_section_and_no_amounts(
    cast: Cast, kitchen: Quote, pipeline: Pipeline, as_admin: Client, as_staff: Client
) -> None:
    accepted(sent(cast, kitchen))
    data = convert_form(cast, pipeline, owner=str(cast.staff.pk))
    response = as_admin.post(f"/quotes/{kitchen.pk}/convert/", data)
    assert response.status_code == 302
    page = as_staff.get(response["Location"])
    assert page.status_code == 200
    assert "Kitchen refit" in page.text  # the job itself is Sam's to see
    assert 'id="from-quote"' not in page.text
    assert "From quote" not in page.text
    # The whole page but its machine-readable times ("…08:56:52.661464+00:00" holds "1464").
    markup = re.sub(r'datetime="[^"]*"', "", page.text)
    for amount in (TOTAL_WITH_FAN, "1,464", "1464", TOTAL, "1,284", "£"):
        assert amount not in markup, amount


# ----------------------------------------------------------------------------- internal notes


def test_internal_notes_show_on_the_staff_page_only(
    cast: Cast, kitchen: Quote, as_admin: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    quote = sent(cast, kitchen)
    staff_page = as_admin.get(f"/quotes/{quote.pk}/")
    assert staff_page.status_code == 200
    assert INTERNAL_NOTE in staff_page.text
    public = Client().get(public_path(quote))
    assert public.status_code == 200
    assert CUSTOMER_NOTE in public.text
    assert INTERNAL_NOTE not in public.text
    printed: list[str] = []

    def capture(html: str) -> bytes:
        printed.append(html)
        return b"%PDF-1.7 captured"

    monkeypatch.setattr("jobline.quotes.pdf.render", capture)
    for client, url in ((Client(), public_path(quote, "pdf/")),
                        (as_admin, f"/quotes/{quote.pk}/pdf/")):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
    assert len(printed) == 2
    for html in printed:
        assert CUSTOMER_NOTE in html
        assert "Kitchen refit" in html
        assert INTERNAL_NOTE not in html
    [email] = OutgoingEmail.objects.filter(kind=EmailKind.QUOTE)
    assert deliver(email.pk).status == "sent"
    [message] = mail.outbox
    for part in (message.subject, message.body, *(c for c, _kind in message.alternatives)):
        assert INTERNAL_NOTE not in part
