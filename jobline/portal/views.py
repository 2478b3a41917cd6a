"""Everything a customer sees under /user/. Pages render only what jobs.customer_view allows
for the customer's viewer (their profile of the job's business)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from jobline.accounts.forms import client_ip
from jobline.approvals import selectors as approval_selectors
from jobline.approvals import services as approval_services
from jobline.approvals.models import Approval
from jobline.billing import selectors as billing_selectors
from jobline.billing import services as billing_services
from jobline.billing import views as billing_views
from jobline.bookings import feeds as booking_feeds
from jobline.bookings import selectors as booking_selectors
from jobline.core.one_time import AlreadySubmitted
from jobline.core.wall_time import shown_in
from jobline.customers.unsubscribe import customer_from_unsubscribe_token
from jobline.jobs import customer_view
from jobline.jobs import requests as document_requests
from jobline.jobs.choices import ActorKind
from jobline.jobs.forms import field_name
from jobline.jobs.models import Job
from jobline.jobs.uploads import refusal_status
from jobline.jobs.views.files import serve_stored_file
from jobline.portal import selectors, services
from jobline.portal.forms import CustomerFieldsForm, ReplyForm, SetPasswordForm, UploadForm
from jobline.quotes import selectors as quote_selectors
from jobline.quotes.tokens import token_for as quote_token
from jobline.workspaces.viewers import Viewer, customer_viewer

View = Callable[..., HttpResponse]


def customer_required(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("portal:sign_in"))
        return view(request, *args, **kwargs)

    return wrapped


@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    """A customer may choose a password instead of links."""
    form = SetPasswordForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_password_set(
                user=request.user, password=form.cleaned_data["password1"]
            )
        except ValidationError as error:
            form.add_error("password1", error)
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, "Password saved. You can sign in with it or with a link.")
            return redirect("portal:account")
    status = 400 if request.method == "POST" else 200
    profiles = selectors.customer_profiles(user=request.user)
    return render(
        request, "portal/account.html", {"form": form, "profiles": profiles}, status=status
    )


@customer_required
@require_POST
def account_emails(request: HttpRequest) -> HttpResponse:
    """Reply and file e-mails on or off, per business. Only the person's own profiles."""
    services.customer_email_choices_save(
        user=request.user, notify_ids=set(request.POST.getlist("notify"))
    )
    messages.success(request, "E-mail settings saved.")
    return redirect(f"{reverse('portal:account')}#emails")


@customer_required
@require_safe
def job_list(request: HttpRequest) -> HttpResponse:
    jobs = selectors.customer_jobs_with_news(user=request.user)
    groups: dict[Any, list[Any]] = {}
    for job in jobs:
        job.portal_status = customer_view.status_label(job)  # type: ignore[attr-defined]
        job.portal_colour = customer_view.status_colour(job)  # type: ignore[attr-defined]
        groups.setdefault(job.workspace, []).append(job)
    return render(request, "portal/job_list.html", {"groups": groups})


def render_job_page(
    request: HttpRequest,
    job: Job,
    viewer: Viewer,
    *,
    status: int = 200,
    preview: bool = False,
    **forms: Any,
) -> HttpResponse:
    """The portal job page, for ``viewer`` (the customer; or a member's "View as customer",
    read-only, never showing them more than their role allows)."""
    seen = customer_view.CustomerJob(job, viewer)
    fields = seen.details()
    editable = [f.field for f in fields if f.editable]
    values = {f.field.pk: f.value for f in fields}
    context = {
        "job": job,
        "business": job.workspace,
        # The rules' input for the money tag and anything else that asks: this customer's
        # view (or the preview's), not the signed-in member's own.
        "viewer": viewer,
        "status_label": customer_view.status_label(job),
        "status_colour": customer_view.status_colour(job),
        "steps": seen.stepper(),
        "feed": seen.feed(),
        "files": seen.files,
        "fields": fields,
        "fields_form": forms.get("fields_form")
        or (
            CustomerFieldsForm(stage_fields=editable, values=values, prefix="c")
            if editable
            else None
        ),
        "reply_form": forms.get("reply_form") or ReplyForm(),
        "upload_form": forms.get("upload_form") or UploadForm(),
        "requests": seen.requests(),
        "visits": booking_selectors.customer_visits(job=job, viewer=viewer),
        "payment_requests": billing_selectors.open_invoices_of_job(job, viewer),
        "approval_request": approval_selectors.waiting_for_customer(job, viewer),
        "approval_errors": forms.get("approval_errors") or {},
        "approval_input": forms.get("approval_input") or {},
        "today": billing_services.local_today(job.workspace),
        "request_errors": forms.get("request_errors") or {},
        "preview": preview,
    }
    with shown_in(job.workspace.time_zone):
        return render(request, "portal/job_detail.html", context, status=status)


@customer_required
@require_safe
def visit_list(request: HttpRequest) -> HttpResponse:
    """Every visit on the person's jobs: to come, then the past ones."""
    now = timezone.now()
    visits = list(booking_selectors.portal_visits(user=request.user))
    upcoming = [b for b in visits if b.is_scheduled and b.ends_at > now]
    past = [b for b in reversed(visits) if b not in upcoming][:50]
    return render(request, "portal/visits.html", {"upcoming": upcoming, "past": past})


@customer_required
@require_safe
def quote_list(request: HttpRequest) -> HttpResponse:
    """The person's quotes from every business they are a customer of, each opening on its
    public page."""
    quotes = list(quote_selectors.portal_quotes(user=request.user))
    for quote in quotes:
        quote.public_token = quote_token(quote.uid)  # type: ignore[attr-defined]
    return render(request, "portal/quotes.html", {"quotes": quotes})


@customer_required
@require_safe
def visit_calendar_file(request: HttpRequest, booking_id: int) -> HttpResponse:
    """One visit as an .ics file for the customer's own calendar (their words only)."""
    booking = booking_selectors.portal_visit(user=request.user, pk=booking_id)
    body = booking_feeds.single_visit(
        booking, business=booking.workspace.name, time_zone=booking.workspace.time_zone
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="visit-{booking.pk}.ics"'
    return response


@customer_required
@require_POST
def approval_answer(request: HttpRequest, job_id: int, approval_id: int) -> HttpResponse:
    """The customer approves what they are asked to (their typed name), or asks for changes."""
    job, viewer = selectors.customer_job(user=request.user, job_id=job_id)
    approve = request.POST.get("answer") == "approve"
    try:
        approval_services.approval_decide(
            approval_id=approval_id, viewer=viewer, user=request.user, approve=approve,
            name=request.POST.get("name", ""), message=request.POST.get("message", ""),
            ip=client_ip(request),
        )  # fmt: skip
    except Approval.DoesNotExist:
        raise Http404("No such approval.") from None
    except ValidationError as error:
        if not hasattr(error, "error_dict"):  # about the request itself: said above the page
            messages.error(request, " ".join(error.messages))
            return render_job_page(request, job, viewer, status=400)
        return render_job_page(
            request, job, viewer, status=400, approval_errors=error.message_dict,
            approval_input=request.POST,
        )  # fmt: skip
    messages.success(
        request,
        "Thank you: your approval is recorded." if approve else "Your request for changes is sent.",
    )
    return _back_to(job, "top")


@customer_required
@require_safe
def invoice_detail(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """One of the person's invoices (Invoice.objects.in_portal_of), as its PDF says it."""
    invoice = billing_selectors.portal_invoice(user=request.user, pk=invoice_id)
    viewer = customer_viewer(invoice.job.customer)
    return render(request, "portal/invoice.html", billing_views.invoice_context(invoice, viewer))


@customer_required
@require_safe
def invoice_pdf(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = billing_selectors.portal_invoice(user=request.user, pk=invoice_id)
    return billing_views.invoice_pdf_response(invoice, customer_viewer(invoice.job.customer))


@customer_required
@require_safe
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job, viewer = selectors.customer_job(user=request.user, job_id=job_id)
    services.job_mark_seen(job=job, user=request.user)
    return render_job_page(request, job, viewer)


def _back_to(job: Any, anchor: str) -> HttpResponse:
    return redirect(f"{reverse('portal:job', args=[job.pk])}#{anchor}")


@customer_required
@require_POST
def job_reply(request: HttpRequest, job_id: int) -> HttpResponse:
    job, viewer = selectors.customer_job(user=request.user, job_id=job_id)
    form = ReplyForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        try:
            services.customer_reply(
                job=job,
                user=request.user,
                body=form.cleaned_data["body"],
                files=request.FILES.getlist("files"),
                one_time_token=form.cleaned_data.get("one_time_token"),
            )
        except AlreadySubmitted:
            return _back_to(job, "conversation")
        except ValidationError as error:
            form.add_error(None, error.messages)
            status = refusal_status(error)
        else:
            messages.success(request, "Sent. We'll let the team know.")
            return _back_to(job, "conversation")
    return render_job_page(request, job, viewer, status=status, reply_form=form)


@customer_required
@require_POST
def job_upload(request: HttpRequest, job_id: int) -> HttpResponse:
    job, viewer = selectors.customer_job(user=request.user, job_id=job_id)
    form = UploadForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        try:
            services.customer_upload(
                job=job, user=request.user, files=request.FILES.getlist("files")
            )
        except ValidationError as error:
            form.add_error("files", error.messages)
            status = refusal_status(error)
        else:
            messages.success(request, "Uploaded. Thank you.")
            return _back_to(job, "files")
    return render_job_page(request, job, viewer, status=status, upload_form=form)


@customer_required
@require_POST
def request_upload(request: HttpRequest, job_id: int, request_id: int) -> HttpResponse:
    """Upload into a document request the business sent."""
    job, viewer = selectors.customer_job(user=request.user, job_id=job_id)
    document_request = customer_view.request_for(viewer, job, request_id)
    try:
        document_requests.request_fulfil(
            request=document_request,
            user=request.user,
            files=request.FILES.getlist("files"),
            actor_kind=ActorKind.CUSTOMER,
        )
    except ValidationError as error:
        return render_job_page(
            request,
            job,
            viewer,
            status=refusal_status(error),
            request_errors={document_request.pk: error.messages},
        )
    messages.success(request, f"Thank you — “{document_request.title}” sent.")
    return _back_to(job, "asked")


@customer_required
@require_POST
def job_fields(request: HttpRequest, job_id: int) -> HttpResponse:
    job, viewer = selectors.customer_job(user=request.user, job_id=job_id)
    fields = customer_view.CustomerJob(job, viewer).details()
    editable = [f.field for f in fields if f.editable]
    posted = {key for key in request.POST if key.startswith("c-f_")}
    allowed = {f"c-{field_name(f)}" for f in editable}
    if posted - allowed:
        # A field that is read-only (or not theirs) was sent: refused by the server.
        return render(request, "portal/refused.html", status=403)
    form = CustomerFieldsForm(
        request.POST,
        stage_fields=editable,
        values={f.field.pk: f.value for f in fields},
        prefix="c",
    )
    if form.is_valid():
        try:
            services.customer_fields_save(
                job=job, user=request.user, fields=editable, values=form.json_values()
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(request, "Saved. Thank you.")
            return _back_to(job, "details")
    return render_job_page(request, job, viewer, status=400, fields_form=form)


@customer_required
@require_safe
def file_download(request: HttpRequest, attachment_id: int) -> FileResponse:
    attachment = selectors.customer_file(user=request.user, attachment_id=attachment_id)
    return serve_stored_file(
        attachment.file,
        content_type=attachment.content_type,
        filename=attachment.original_name,
        inline=attachment.is_image,
    )


@csrf_exempt  # the signed token is the authority; mail programs POST without a CSRF token
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The unsubscribe link of customer e-mails, with no sign-in. Opening it (GET) only shows
    the page with one button — mail scanners open every link, and must not switch a
    customer's e-mails off. The button's POST, and a mail program's RFC 8058 one-click POST
    ("List-Unsubscribe=One-Click"), unsubscribe; the page then offers to turn them back on."""
    customer = customer_from_unsubscribe_token(token)
    if customer is None:
        return render(request, "portal/unsubscribe.html", {"invalid": True}, status=404)
    if request.method == "POST":
        wants_them = request.POST.get("action") == "resubscribe"
        services.customer_unsubscribe(customer=customer, notify_on_replies=wants_them)
        customer.refresh_from_db(fields=["notify_on_replies"])
    return render(
        request,
        "portal/unsubscribe.html",
        {
            "customer": customer,
            "business": customer.workspace.name,
            "token": token,
            "done": request.method == "POST",
        },
    )
