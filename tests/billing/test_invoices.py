"""Invoices reach the customer, from the written rules:
- an invoice says "Tax invoice" when the business has a tax number (Settings → Payments), with
  that number, its date, its line, the tax in it and its total; the buyer's address from the
  workspace's threshold on; the tax is the instalment's share of its quote's tax;
- staff (Admins and Managers) open it and its PDF from the Payments page; Staff get 403;
- requesting an instalment e-mails its customer the amount, the due date and how to pay; an
  invoice paid, voided or no longer theirs before the e-mail goes is not sent;
- the customer sees what is asked of them at the top of the portal job page, opens the
  invoice and its PDF; another customer gets a 404;
- overdue invoices remind the customer after the workspace's reminder days (3 and 10), once
  each, however often the periodic job runs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client

from jobline.billing import services
from jobline.billing.models import AmountKind, Instalment, Invoice
from jobline.billing.services import InstalmentInput
from jobline.customers.models import Customer
from jobline.jobs.models import Job
from jobline.jobs.services import job_create
from jobline.notifications.delivery import deliver
from jobline.notifications.emails import invoice_reminders_queue
from jobline.notifications.models import EmailKind, EmailStatus, OutgoingEmail
from jobline.pipelines.models import Pipeline
from jobline.pipelines.services import pipeline_create_from_blueprint
from jobline.quotes import services as quote_services
from jobline.quotes.models import Quote
from tests.bookings.conftest import section, text_of
from tests.conftest import Cast, client_for, make_user
from tests.quotes.test_quote_views import a_quote, accepted, add_vat, quotes_everywhere, sent

D = Decimal
HOW_TO_PAY = "Bank: Harbour Bank, sort code 11-22-33, account 12345678"


@pytest.fixture
def payments_set_up(cast: Cast) -> Cast:
    workspace = cast.workspace
    workspace.tax_number = "GB 123 4567 89"
    workspace.payment_instructions = HOW_TO_PAY
    workspace.portal_enabled = True
    workspace.save()
    cast.customer.address = "14 Quay Street\nFalmouth"
    cast.customer.portal_user = make_user(cast.customer.email, cast.customer.name)
    cast.customer.save()
    return cast


@pytest.fixture
def standard(cast: Cast) -> Pipeline:
    return pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="standard", actor=cast.admin
    )


def one_instalment(cast: Cast, job: Job, value: str) -> Instalment:
    [instalment] = services.schedule_save(
        job=job, value=D(value), actor=cast.admin, expected_version=None,
        rows=[InstalmentInput(label="Balance", amount_kind=AmountKind.BALANCE)],
    )  # fmt: skip
    return instalment


@pytest.fixture
def job(payments_set_up: Cast, standard: Pipeline) -> Job:
    return job_create(workspace=payments_set_up.workspace, pipeline=standard, title="Shed",
                      actor=payments_set_up.admin, customer=payments_set_up.customer)  # fmt: skip


@pytest.fixture
def invoice(cast: Cast, job: Job) -> Invoice:
    """The shed's whole 2,400.00 asked for: INV-1001, its e-mail waiting in the outbox."""
    return services.instalment_request(
        instalment=one_instalment(cast, job, "2400"), actor=cast.admin
    )


def request_emails() -> list[OutgoingEmail]:
    return list(OutgoingEmail.objects.filter(kind=EmailKind.INVOICE).order_by("pk"))


def test_the_staff_page_and_pdf_say_tax_invoice_with_the_tax_number(
    cast: Cast, invoice: Invoice
) -> None:
    page = client_for(cast.manager).get(f"/billing/invoices/{invoice.pk}/")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "Tax invoice" in words and "Tax number GB 123 4567 89" in words
    assert "INV-1001" in words and "Balance: Shed (J-1001)" in words
    assert "Total £2,400.00" in words
    assert "14 Quay Street" in page.text  # 2,400.00 is over the 1,000.00 threshold
    assert HOW_TO_PAY in words and "Please quote INV-1001 as the reference." in words
    pdf = client_for(cast.admin).get(f"/billing/invoices/{invoice.pk}/pdf/")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_below_the_threshold_the_buyer_is_not_addressed(cast: Cast, job: Job) -> None:
    small = services.instalment_request(
        instalment=one_instalment(cast, job, "999.99"), actor=cast.admin
    )
    assert small.buyer_address == ""
    page = client_for(cast.admin).get(f"/billing/invoices/{small.pk}/")
    assert "14 Quay Street" not in page.text


def test_without_a_tax_number_it_is_an_invoice_not_a_tax_invoice(cast: Cast, job: Job) -> None:
    cast.workspace.tax_number = ""
    cast.workspace.save()
    plain = services.instalment_request(
        instalment=one_instalment(cast, job, "100"), actor=cast.admin
    )
    page = client_for(cast.admin).get(f"/billing/invoices/{plain.pk}/")
    assert "Tax invoice" not in page.text
    assert "Invoice" in text_of(page.text)


def test_the_tax_is_the_instalments_share_of_the_quotes_tax(
    payments_set_up: Cast, standard: Pipeline
) -> None:
    cast = payments_set_up
    vat = add_vat(quotes_everywhere(cast))
    quote = accepted(sent(cast, a_quote(cast, vat=vat)))
    job = quote_services.quote_convert(
        quote=Quote.objects.get(pk=quote.pk), actor=cast.admin, pipeline=standard
    )
    accepted_quote = Quote.objects.get(pk=quote.pk)
    totals = quote_services.quote_totals(accepted_quote, ticked=accepted_quote.accepted_lines)
    [invoice] = Invoice.objects.filter(job=job)  # the 25 % deposit, asked for on acceptance
    share = (invoice.amount * totals.tax / totals.total).quantize(D("0.01"))
    assert invoice.tax == share
    assert invoice.tax_rows == [("VAT", "20", share)]
    page = client_for(cast.admin).get(f"/billing/invoices/{invoice.pk}/")
    assert f"VAT 20 % (included) £{share:,}" in text_of(page.text)


def test_staff_and_other_workspaces_cannot_open_an_invoice(cast: Cast, invoice: Invoice) -> None:
    assert client_for(cast.staff).get(f"/billing/invoices/{invoice.pk}/").status_code == 403
    assert client_for(cast.outsider).get(f"/billing/invoices/{invoice.pk}/").status_code == 404


def test_the_request_emails_the_customer_what_to_pay_and_how(cast: Cast, invoice: Invoice) -> None:
    [email] = request_emails()
    assert email.to_address == "priya@example.com"
    assert deliver(email.pk).status == EmailStatus.SENT
    message = mail.outbox[-1]
    assert message.subject == "Harbour Renovations: payment request INV-1001, Shed"
    assert "Amount: £2,400.00" in message.body
    assert f"Due: {invoice.due_on.day} " in message.body
    assert HOW_TO_PAY in message.body
    assert f"/user/invoices/{invoice.pk}/" in message.body


def test_an_invoice_paid_or_voided_before_its_email_goes_is_not_sent(
    cast: Cast, invoice: Invoice
) -> None:
    [email] = request_emails()
    services.payment_record(instalment=invoice.instalment, amount="2400",
                            paid_on=dt.date.today(), method="cash", actor=cast.admin)  # fmt: skip
    assert deliver(email.pk).status == EmailStatus.WITHHELD
    assert mail.outbox == []


def test_the_portal_job_page_shows_the_payment_requested(cast: Cast, invoice: Invoice) -> None:
    customer = client_for(cast.customer.portal_user)
    page = customer.get(f"/user/jobs/{invoice.job_id}/")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "Payment requested Balance · £2,400.00 due" in words
    assert HOW_TO_PAY in words
    opened = customer.get(f"/user/invoices/{invoice.pk}/")
    assert opened.status_code == 200
    assert "Tax invoice INV-1001" in text_of(opened.text)
    pdf = customer.get(f"/user/invoices/{invoice.pk}/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_a_paid_invoice_is_no_longer_asked_for_in_the_portal(cast: Cast, invoice: Invoice) -> None:
    services.payment_record(instalment=invoice.instalment, amount="2400",
                            paid_on=dt.date.today(), method="card", actor=cast.admin)  # fmt: skip
    page = client_for(cast.customer.portal_user).get(f"/user/jobs/{invoice.job_id}/")
    assert 'id="payment-requests"' not in page.text
    opened = client_for(cast.customer.portal_user).get(f"/user/invoices/{invoice.pk}/")
    assert "Paid £2,400.00" in text_of(opened.text)


def test_another_customer_gets_404_for_the_invoice(cast: Cast, invoice: Invoice) -> None:
    tom: Customer = cast.second_customer
    tom.portal_user = make_user(tom.email, tom.name)
    tom.save()
    other = client_for(tom.portal_user)
    assert other.get(f"/user/invoices/{invoice.pk}/").status_code == 404
    assert other.get(f"/user/invoices/{invoice.pk}/pdf/").status_code == 404
    assert Client().get(f"/user/invoices/{invoice.pk}/").status_code == 302  # sign in first


def test_staff_previewing_the_portal_see_no_payment_request(cast: Cast, invoice: Invoice) -> None:
    job = Job.objects.get(pk=invoice.job_id)
    staff_view = client_for(cast.staff).get(f"/jobs/{job.number}/as-customer/")
    admin_view = client_for(cast.admin).get(f"/jobs/{job.number}/as-customer/")
    assert admin_view.status_code == 200
    assert 'id="payment-requests"' in admin_view.text
    assert 'id="payment-requests"' not in staff_view.text
    assert "2,400" not in staff_view.text


def test_overdue_invoices_are_reminded_after_3_and_10_days_once_each(
    cast: Cast, invoice: Invoice
) -> None:
    due = dt.datetime.combine(invoice.due_on, dt.time(12), tzinfo=dt.UTC)
    assert invoice_reminders_queue(now=due + dt.timedelta(days=2)) == 0
    assert invoice_reminders_queue(now=due + dt.timedelta(days=3)) == 1
    assert invoice_reminders_queue(now=due + dt.timedelta(days=3, hours=1)) == 0
    assert invoice_reminders_queue(now=due + dt.timedelta(days=9)) == 0
    assert invoice_reminders_queue(now=due + dt.timedelta(days=10)) == 1
    assert invoice_reminders_queue(now=due + dt.timedelta(days=30)) == 0
    reminders = OutgoingEmail.objects.filter(kind=EmailKind.INVOICE_REMINDER)
    assert reminders.count() == 2
    assert deliver(reminders.first().pk).status == EmailStatus.SENT
    assert mail.outbox[-1].subject == (
        f"Harbour Renovations: reminder, INV-1001 was due on "
        f"{invoice.due_on.day} {invoice.due_on:%b %Y}"
    )


def test_a_paid_invoice_is_not_reminded(cast: Cast, invoice: Invoice) -> None:
    services.payment_record(instalment=invoice.instalment, amount="2400",
                            paid_on=dt.date.today(), method="card", actor=cast.admin)  # fmt: skip
    due = dt.datetime.combine(invoice.due_on, dt.time(12), tzinfo=dt.UTC)
    assert invoice_reminders_queue(now=due + dt.timedelta(days=4)) == 0


def test_no_reminder_days_no_reminders(cast: Cast, invoice: Invoice) -> None:
    cast.workspace.invoice_reminder_days = ""
    cast.workspace.save()
    due = dt.datetime.combine(invoice.due_on, dt.time(12), tzinfo=dt.UTC)
    assert invoice_reminders_queue(now=due + dt.timedelta(days=40)) == 0


def test_the_payments_settings_are_saved_and_checked(cast: Cast) -> None:
    admin = client_for(cast.admin)
    page = admin.get("/settings/payments/")
    assert page.status_code == 200
    data = {"tax_number": "AU 51 824 753 556", "payment_instructions": "BSB 062-000",
            "invoice_terms_days": "7", "invoice_reminder_days": "2, 9",
            "buyer_identity_threshold": "1000"}  # fmt: skip
    assert admin.post("/settings/payments/", data).status_code == 302
    cast.workspace.refresh_from_db()
    assert (cast.workspace.invoice_terms_days, cast.workspace.reminder_days) == (7, [2, 9])
    bad = admin.post("/settings/payments/", {**data, "invoice_reminder_days": "soon, 400"})
    assert bad.status_code == 400
    assert "Give days overdue between 1 and 365" in text_of(bad.text)
    assert 'value="soon, 400"' in bad.text
    cast.workspace.refresh_from_db()
    assert cast.workspace.reminder_days == [2, 9]
    assert client_for(cast.manager).get("/settings/payments/").status_code == 403


def test_the_customers_feed_says_what_was_asked_and_received_without_amounts(
    cast: Cast, invoice: Invoice
) -> None:
    services.payment_record(instalment=invoice.instalment, amount="400",
                            paid_on=dt.date.today(), method="card", actor=cast.admin)  # fmt: skip
    page = client_for(cast.customer.portal_user).get(f"/user/jobs/{invoice.job_id}/")
    feed = text_of(section(page.text, "conversation"))
    assert "asked for the Balance (INV-1001)" in feed
    assert "received your payment towards the Balance (INV-1001)" in feed
    assert "£" not in feed  # the entries name what and which invoice, never how much
