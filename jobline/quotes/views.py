"""The quote pages of the staff side (for roles that see money), and the public page the
customer opens from the e-mail (no sign-in: the link's token is the key)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from jobline.bookings import services as booking_services
from jobline.core import one_time
from jobline.core.exports import csv_download
from jobline.core.wall_time import shown_in
from jobline.jobs.views.common import apply_errors
from jobline.quotes import pdf, selectors, services, tokens
from jobline.quotes.forms import (
    AcceptForm,
    ConvertForm,
    DeclineForm,
    QuoteForm,
    TaxRateForm,
    default_expiry,
    line_formset,
)
from jobline.quotes.models import Quote, QuoteStatus, TaxRate
from jobline.workspaces.models import Membership, Module
from jobline.workspaces.permissions import module_required, money_required
from jobline.workspaces.viewers import customer_viewer, request_viewer

View = Callable[..., HttpResponse]
_quotes_module = module_required(Module.QUOTES)
EXPIRY_WARNING_DAYS = 3


def quotes_page(view: View) -> View:
    return _quotes_module(money_required(require_safe(view)))


def quotes_form(view: View) -> View:
    return _quotes_module(money_required(require_http_methods(["GET", "HEAD", "POST"])(view)))


def quotes_action(view: View) -> View:
    return _quotes_module(money_required(require_POST(view)))


def _quote(request: HttpRequest, quote_id: int) -> Quote:
    return selectors.get_quote(viewer=request_viewer(request), pk=quote_id)


def public_url(request: HttpRequest, quote: Quote) -> str:
    return request.build_absolute_uri(
        reverse("quote_public:page", args=[tokens.token_for(quote.uid)])
    )


# ----------------------------------------------------------------------------- list


@quotes_page
def quote_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in QuoteStatus.values:
        status = ""
    page = selectors.quote_list(
        viewer=request_viewer(request), status=status, q=request.GET.get("q", "")[:100],
        page=request.GET.get("page", 1),
    )  # fmt: skip
    return render(
        request,
        "quotes/list.html",
        {"page": page, "status": status, "statuses": QuoteStatus.choices,
         "q": request.GET.get("q", "")[:100]},
    )  # fmt: skip


@quotes_page
def quote_export(request: HttpRequest) -> StreamingHttpResponse:
    """Every quote, with the same totals the pages show (stored by the services from
    totals.py)."""
    header = ["Number", "Title", "Customer", "Status", "Total", "Accepted total", "Deposit",
              "Created", "Sent", "Valid until", "Job"]  # fmt: skip

    def deposit(quote: Quote) -> str:
        if quote.deposit_kind == "none":
            return ""
        return (
            f"{quote.deposit_value} %"
            if quote.deposit_kind == "percent"
            else str(quote.deposit_value)
        )

    def rows() -> Iterator[list[str]]:
        yield header
        for quote in selectors.export_rows(viewer=request_viewer(request)).iterator(2000):
            yield [
                quote.reference, quote.title, quote.customer.name, quote.get_status_display(),
                str(quote.total),
                "" if quote.accepted_total is None else str(quote.accepted_total),
                deposit(quote), quote.created_at.date().isoformat(),
                quote.sent_at.date().isoformat() if quote.sent_at else "",
                quote.expires_on.isoformat() if quote.expires_on else "",
                quote.job.reference if quote.job else "",
            ]  # fmt: skip

    return csv_download(rows(), name="quotes")


# ----------------------------------------------------------------------------- writing


def _errors_into(form: QuoteForm, lines: Any, error: ValidationError) -> None:
    """A service's refusal on the quote form: what is about the lines goes to the Lines
    section (the formset's own errors), the rest next to its field."""
    if hasattr(error, "error_dict") and "lines" in error.error_dict:
        lines.non_form_errors().extend(error.message_dict["lines"])
        rest = {k: v for k, v in error.message_dict.items() if k != "lines"}
        if not rest:
            return
        error = ValidationError(rest)
    apply_errors(form, error)


def _form_page(request: HttpRequest, form: QuoteForm, lines: Any, *, quote: Quote | None = None,
               status: int = 200) -> HttpResponse:  # fmt: skip
    return render(
        request, "quotes/form.html", {"form": form, "lines": lines, "quote": quote},
        status=status,
    )  # fmt: skip


def _line_initial(quote: Quote) -> list[dict[str, Any]]:
    return [
        {"description": line.description, "quantity": line.quantity,
         "unit_price": line.unit_price, "discount_percent": line.discount_percent or None,
         "tax_rate": line.tax_rate_id, "optional": line.optional}
        for line in selectors.lines(quote)
    ]  # fmt: skip


@quotes_form
def quote_create(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    rates = selectors.tax_rates(workspace)
    if request.method != "POST":
        initial = {"expires_on": default_expiry(workspace), "deposit_kind": "none"}
        if request.GET.get("customer", "").isdigit():
            initial["customer"] = int(request.GET["customer"])
        form = QuoteForm(workspace=workspace, initial=initial)
        return _form_page(request, form, line_formset(tax_rates=rates))
    form = QuoteForm(request.POST, workspace=workspace)
    lines = line_formset(request.POST, tax_rates=rates)
    if form.is_valid() and lines.is_valid():
        data = form.cleaned_data
        try:
            quote = services.quote_create(
                workspace=workspace, actor=request.user, title=data["title"],
                lines=lines.lines(), customer=data["customer"],
                new_customer_name=data["new_customer_name"],
                new_customer_email=data["new_customer_email"], pipeline=data["pipeline"],
                expires_on=data["expires_on"], customer_notes=data["customer_notes"],
                internal_notes=data["internal_notes"], deposit_kind=data["deposit_kind"],
                deposit_value=data["deposit_value"], one_time_token=data["one_time_token"],
            )  # fmt: skip
        except one_time.AlreadySubmitted as done:
            made = done.result.get("quote")
            return redirect("quotes:detail", made) if made else redirect("quotes:list")
        except ValidationError as error:
            _errors_into(form, lines, error)
        else:
            messages.success(request, "Quote saved as a draft. Send it when it is ready.")
            return redirect("quotes:detail", quote.pk)
    return _form_page(request, form, lines, status=400)


@quotes_form
def quote_edit(request: HttpRequest, quote_id: int) -> HttpResponse:
    quote = _quote(request, quote_id)
    workspace = request.workspace
    rates = selectors.tax_rates(workspace)
    if not quote.is_editable and quote.status != QuoteStatus.EXPIRED:
        messages.error(request, f"{services.a_status(quote)} quote cannot be edited.")
        return redirect("quotes:detail", quote.pk)
    if request.method != "POST":
        initial = {name: getattr(quote, name) for name in (
            "title", "expires_on", "customer_notes", "internal_notes", "deposit_kind",
            "deposit_value", "version")}  # fmt: skip
        initial.update({"customer": quote.customer_id, "pipeline": quote.pipeline_id})
        form = QuoteForm(workspace=workspace, initial=initial)
        lines = line_formset(tax_rates=rates, initial=_line_initial(quote), blank_rows=1)
        return _form_page(request, form, lines, quote=quote)
    form = QuoteForm(request.POST, workspace=workspace)
    lines = line_formset(request.POST, tax_rates=rates)
    if form.is_valid() and lines.is_valid():
        data = form.cleaned_data
        try:
            services.quote_update(
                quote=quote, actor=request.user, title=data["title"], lines=lines.lines(),
                customer=data["customer"], pipeline=data["pipeline"],
                expires_on=data["expires_on"], customer_notes=data["customer_notes"],
                internal_notes=data["internal_notes"], deposit_kind=data["deposit_kind"],
                deposit_value=data["deposit_value"], expected_version=data["version"],
            )  # fmt: skip
        except services.StaleQuote as stale:
            messages.error(request, stale.message)
            return redirect("quotes:edit", quote.pk)
        except ValidationError as error:
            _errors_into(form, lines, error)
        else:
            messages.success(
                request,
                "Quote saved." if quote.status == QuoteStatus.DRAFT
                else "Quote saved as a new revision and sent to the customer again.",
            )  # fmt: skip
            return redirect("quotes:detail", quote.pk)
    return _form_page(request, form, lines, quote=quote, status=400)


@quotes_page
def quote_detail(request: HttpRequest, quote_id: int) -> HttpResponse:
    quote = _quote(request, quote_id)
    lines = selectors.lines(quote)
    return render(
        request,
        "quotes/detail.html",
        {
            "quote": quote,
            "business": quote.workspace,
            "lines": lines,
            "totals": services.quote_totals(quote, lines, ticked=quote.accepted_lines),
            "ticked": set(quote.accepted_lines),
            "history": selectors.history(quote),
            "revisions": selectors.revisions(quote),
            "public_url": public_url(request, quote) if quote.number else "",
            "following": selectors.is_following(quote, request.user),
        },
    )


@quotes_action
def quote_follow(request: HttpRequest, quote_id: int) -> HttpResponse:
    """Follow or stop following a quote (its owner hears of the decision anyway)."""
    quote = _quote(request, quote_id)
    if request.POST.get("follow") == "1":
        services.quote_follow(quote=quote, user=request.user)
        messages.success(
            request, f"You'll hear when the customer accepts or declines {quote.reference}."
        )
    else:
        services.quote_unfollow(quote=quote, user=request.user)
        messages.success(request, f"You no longer follow {quote.reference}.")
    return redirect("quotes:detail", quote.pk)


@quotes_action
def quote_send(request: HttpRequest, quote_id: int) -> HttpResponse:
    quote = _quote(request, quote_id)
    try:
        sent = services.quote_send(quote=quote, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{sent.reference} sent to {sent.customer.email}.")
    return redirect("quotes:detail", quote.pk)


def _owner_choices(request: HttpRequest) -> list[tuple[str, str]]:
    people = (
        Membership.objects.active()
        .filter(workspace=request.workspace)
        .select_related("user")
        .order_by("user__full_name")
    )
    return [("", "— Nobody —")] + [
        (str(m.user_id), m.user.full_name or m.user.email) for m in people
    ]


@quotes_form
def quote_convert(request: HttpRequest, quote_id: int) -> HttpResponse:
    """The one pre-filled dialog: pipeline, starting stage, owner, and optionally the first
    visit; one submit makes it all (services.quote_convert)."""
    quote = _quote(request, quote_id)
    if quote.job_id:
        messages.info(request, f"This quote is already {quote.job.reference}.")
        return redirect("jobs:detail", quote.job.number)
    owners = _owner_choices(request)
    if request.method != "POST":
        form = ConvertForm(
            workspace=request.workspace, owners=owners,
            initial={"pipeline": quote.pipeline_id, "owner": quote.owner_id,
                     "visit_minutes": 60, "visit_staff": [request.membership.pk]},
        )  # fmt: skip
        return render(request, "quotes/convert.html", {"quote": quote, "form": form})
    form = ConvertForm(request.POST, workspace=request.workspace, owners=owners)
    overlap = None
    if form.is_valid():
        data = form.cleaned_data
        owner = next((m.user for m in Membership.objects.active().filter(
            workspace=request.workspace, user_id=data["owner"]).select_related("user")),
            None) if data["owner"] else None  # fmt: skip
        try:
            job = services.quote_convert(
                quote=quote, actor=request.user, pipeline=data["pipeline"],
                stage=data["stage"], owner=owner, visit=form.visit(),
                without_acceptance=data["without_acceptance"],
                one_time_token=data["one_time_token"],
            )  # fmt: skip
        except (services.AlreadyConverted, one_time.AlreadySubmitted):
            converted = _quote(request, quote_id)
            messages.info(request, "This quote was converted already; here is its job.")
            if converted.job is not None:
                return redirect("jobs:detail", converted.job.number)
            return redirect("quotes:detail", quote_id)
        except booking_services.Overlap as error:
            overlap = error
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{quote.reference} is now {job.reference}.")
            return redirect("jobs:detail", job.number)
    return render(
        request, "quotes/convert.html", {"quote": quote, "form": form, "overlap": overlap},
        status=409 if overlap else 400,
    )  # fmt: skip


@quotes_page
def quote_pdf(request: HttpRequest, quote_id: int) -> HttpResponse:
    quote = _quote(request, quote_id)
    return _pdf_response(quote, request)


def _pdf_response(quote: Quote, request: HttpRequest) -> HttpResponse:
    lines = selectors.lines(quote)
    ticked = quote.accepted_lines
    html = render_to_string(
        "quotes/pdf.html",
        {"quote": quote, "business": quote.workspace, "lines": lines, "ticked": set(ticked),
         "totals": services.quote_totals(quote, lines, ticked=ticked),
         "viewer": customer_viewer(quote.customer)},
        request=request,
    )  # fmt: skip
    response = HttpResponse(pdf.render(html), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{quote.reference}.pdf"'
    return response


@quotes_form
def tax_rates(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    form = TaxRateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.tax_rate_add(workspace=workspace, actor=request.user,
                                  name=form.cleaned_data["name"],
                                  percent=form.cleaned_data["percent"])  # fmt: skip
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Tax rate added.")
            return redirect("quotes:tax_rates")
    return render(
        request, "quotes/tax_rates.html",
        {"form": form, "rates": selectors.tax_rates(workspace)},
        status=400 if request.method == "POST" else 200,
    )  # fmt: skip


@quotes_action
def tax_rate_archive(request: HttpRequest, rate_id: int) -> HttpResponse:
    rate = TaxRate.objects.filter(workspace=request.workspace, pk=rate_id).first()
    if rate is None:
        raise Http404("No such tax rate.")
    services.tax_rate_archive(tax_rate=rate, actor=request.user)
    messages.success(request, f"{rate.name} removed; quotes that use it keep it.")
    return redirect("quotes:tax_rates")


# ----------------------------------------------------------------------------- public


def _public_context(request: HttpRequest, quote: Quote, ticked: set[int], **extra: Any) -> dict:
    lines = selectors.lines(quote)
    optional_ids = {line.pk for line in lines if line.optional}
    chosen = ticked & optional_ids if quote.is_open else set(quote.accepted_lines)
    today = services.local_today(quote.workspace)
    days_left = (quote.expires_on - today).days if quote.expires_on else None
    return {
        "quote": quote,
        "business": quote.workspace,
        "lines": lines,
        "ticked": chosen,
        "totals": services.quote_totals(quote, lines, ticked=chosen),
        # The amounts rule's input: this quote's customer.
        "viewer": customer_viewer(quote.customer),
        "token": tokens.token_for(quote.uid),
        "expires_soon": quote.is_open
        and days_left is not None
        and 0 <= days_left <= EXPIRY_WARNING_DAYS,
        "days_left": days_left,
        "accept_form": extra.pop("accept_form", None)
        or AcceptForm(initial={"revision": quote.revision, "name": quote.customer.name}),
        "decline_form": extra.pop("decline_form", None)
        or DeclineForm(initial={"revision": quote.revision}),
        "refusal": extra.pop("refusal", ""),
        **extra,
    }


def _ticked(request: HttpRequest) -> set[int]:
    source = request.POST if request.method == "POST" else request.GET
    return {int(v) for v in source.getlist("line") if v.isdigit() and len(v) < 19}


@require_safe
def public_page(request: HttpRequest, token: str) -> HttpResponse:
    quote = selectors.public_quote(token)
    if quote.is_open and not selectors.is_member(request.user, quote.workspace_id):
        quote = services.quote_mark_viewed(quote=quote)
        quote = selectors.public_quote(token)
    with shown_in(quote.workspace.time_zone):
        return render(
            request, "quotes/public.html", _public_context(request, quote, _ticked(request))
        )


@require_safe
def public_totals(request: HttpRequest, token: str) -> HttpResponse:
    """The totals with the ticked optional lines (htmx, as the customer ticks them)."""
    quote = selectors.public_quote(token)
    return render(
        request, "quotes/_public_totals.html", _public_context(request, quote, _ticked(request))
    )


@require_POST
def public_accept(request: HttpRequest, token: str) -> HttpResponse:
    quote = selectors.public_quote(token)
    form = AcceptForm(request.POST)
    ticked = _ticked(request)
    if form.is_valid():
        try:
            services.quote_accept(
                quote=quote, name=form.cleaned_data["name"],
                ip=request.META.get("REMOTE_ADDR"), ticked=ticked,
                revision_seen=form.cleaned_data["revision"],
            )  # fmt: skip
        except services.NotAcceptable as refusal:
            return render(request, "quotes/public.html", _public_context(
                request, selectors.public_quote(token), ticked, accept_form=form,
                refusal=str(refusal)), status=409)  # fmt: skip
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Thank you: your acceptance is recorded.")
            return redirect("quote_public:page", token)
    return render(
        request, "quotes/public.html",
        _public_context(request, quote, ticked, accept_form=form), status=400,
    )  # fmt: skip


@require_POST
def public_decline(request: HttpRequest, token: str) -> HttpResponse:
    quote = selectors.public_quote(token)
    form = DeclineForm(request.POST)
    if form.is_valid():
        try:
            services.quote_decline(quote=quote, reason=form.cleaned_data["reason"],
                                   revision_seen=form.cleaned_data["revision"])  # fmt: skip
        except services.NotAcceptable as refusal:
            return render(request, "quotes/public.html", _public_context(
                request, selectors.public_quote(token), set(), decline_form=form,
                refusal=str(refusal)), status=409)  # fmt: skip
        messages.success(request, "Thank you for letting us know.")
        return redirect("quote_public:page", token)
    return render(
        request, "quotes/public.html",
        _public_context(request, quote, set(), decline_form=form), status=400,
    )  # fmt: skip


@require_safe
def public_pdf(request: HttpRequest, token: str) -> HttpResponse:
    return _pdf_response(selectors.public_quote(token), request)
