"""A job's Payments page (for the roles that see money): its value and schedule, each
instalment's invoice and payments, and the forms that request, void, pay and refund."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from jobline.billing import selectors, services
from jobline.billing.forms import (
    ValueForm,
    default_formset,
    instalment_formset,
    payment_form,
    refund_form,
    void_form,
)
from jobline.billing.models import Instalment, InstalmentStatus, PaymentMethod
from jobline.jobs.changes import StaleJob
from jobline.jobs.models import Job
from jobline.jobs.views.common import apply_errors, job_of
from jobline.pipelines.models import Pipeline, Stage
from jobline.pipelines.selectors import get_pipeline
from jobline.quotes import pdf
from jobline.workspaces.models import Module
from jobline.workspaces.permissions import admin_required, module_required, money_required
from jobline.workspaces.viewers import request_viewer

View = Callable[..., HttpResponse]


def money_page(view: View) -> View:
    return money_required(require_http_methods(["GET", "HEAD", "POST"])(view))


def money_action(view: View) -> View:
    return money_required(require_POST(view))


def _stages(job: Job | Pipeline) -> Any:
    return Stage.objects.filter(
        pipeline_id=job.pipeline_id if isinstance(job, Job) else job.pk
    ).live()


def _page(
    request: HttpRequest,
    job: Job,
    *,
    value_form: ValueForm | None = None,
    rows: Any = None,
    failed: tuple[str, int, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The Payments page; ``failed`` is (action, id, bound form) of an action refused, shown
    open next to its instalment or payment with its message."""
    schedule = selectors.schedule_of(job, request_viewer(request))
    assert schedule is not None  # money_required let only money roles in
    today = services.local_today(job.workspace)
    forms: dict[str, dict[int, Any]] = {
        "pay": {
            i.pk: payment_form(i.pk, initial={
                "amount": i.owed, "paid_on": today, "method": PaymentMethod.BANK_TRANSFER})
            for i in schedule.instalments if i.is_frozen and i.owed > 0
        },
        "void": {
            i.pk: void_form(i.pk)
            for i in schedule.instalments if i.status != InstalmentStatus.VOID and not i.paid
        },
        "refund": {
            pk: refund_form(pk, initial={"amount": left})
            for pk, left in schedule.refundable.items() if left > 0
        },
    }  # fmt: skip
    if failed is not None:
        action, pk, form = failed
        forms[action][pk] = form
    context = {
        "job": job,
        "schedule": schedule,
        "value_form": value_form or ValueForm(initial={"value": job.value, "version": job.version}),
        "rows": rows if rows is not None else instalment_formset(
            stages=_stages(job), instalments=schedule.instalments
        ),
        "held_by_id": {
            i.pk: i for i in schedule.instalments if i.status != InstalmentStatus.SCHEDULED
        },
        "open_action": failed[:2] if failed else None,
        "today": today,
        "forms": forms,
    }  # fmt: skip
    return render(request, "billing/payments.html", context, status=status)


@money_page
def job_payments(request: HttpRequest, number: int) -> HttpResponse:
    job = job_of(request, number)
    if request.method != "POST":
        return _page(request, job)
    value_form = ValueForm(request.POST)
    rows = instalment_formset(request.POST, stages=_stages(job))
    if value_form.is_valid() and rows.is_valid():
        try:
            services.schedule_save(
                job=job, value=value_form.cleaned_data["value"], rows=rows.rows(),
                actor=request.user, expected_version=value_form.cleaned_data["version"],
            )  # fmt: skip
        except StaleJob as stale:
            messages.error(request, stale.message)
            return redirect("billing:job", job.number)
        except services.ScheduleRowError as error:
            forms_with_rows = rows.rows_with_forms()
            if error.row is not None and error.row < len(forms_with_rows):
                apply_errors(forms_with_rows[error.row], error)
            else:
                apply_errors(value_form, error)
        else:
            messages.success(request, "Payment schedule saved.")
            return redirect("billing:job", job.number)
    return _page(request, job, value_form=value_form, rows=rows, status=400)


def _instalment(request: HttpRequest, instalment_id: int) -> Instalment:
    return selectors.get_instalment(viewer=request_viewer(request), pk=instalment_id)


def _refused(request: HttpRequest, job: Job, action: str, pk: int, form: Any) -> HttpResponse:
    return _page(request, job, failed=(action, pk, form), status=400)


@money_action
def instalment_request(request: HttpRequest, instalment_id: int) -> HttpResponse:
    instalment = _instalment(request, instalment_id)
    try:
        invoice = services.instalment_request(instalment=instalment, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{instalment.label} requested: invoice {invoice.reference}.")
    return redirect("billing:job", instalment.job.number)


@money_action
def instalment_void(request: HttpRequest, instalment_id: int) -> HttpResponse:
    instalment = _instalment(request, instalment_id)
    form = void_form(instalment.pk, request.POST)
    if form.is_valid():
        try:
            services.instalment_void(
                instalment=instalment, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{instalment.label} is void.")
            return redirect("billing:job", instalment.job.number)
    return _refused(request, instalment.job, "void", instalment.pk, form)


@money_action
def payment_record(request: HttpRequest, instalment_id: int) -> HttpResponse:
    instalment = _instalment(request, instalment_id)
    form = payment_form(instalment.pk, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.payment_record(
                instalment=instalment, amount=data["amount"], paid_on=data["paid_on"],
                method=data["method"], reference=data["reference"], actor=request.user,
            )  # fmt: skip
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Payment towards the {instalment.label} recorded.")
            return redirect("billing:job", instalment.job.number)
    return _refused(request, instalment.job, "pay", instalment.pk, form)


@money_action
def payment_refund(request: HttpRequest, payment_id: int) -> HttpResponse:
    payment = selectors.get_payment(viewer=request_viewer(request), pk=payment_id)
    job = payment.instalment.job
    form = refund_form(payment.pk, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.payment_refund(
                payment=payment, amount=data["amount"], reason=data["reason"], actor=request.user
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Refund recorded.")
            return redirect("billing:job", job.number)
    return _refused(request, job, "refund", payment.pk, form)


# ----------------------------------------------------------------------------- pipelines


@module_required(Module.JOBS)
@admin_required
@require_http_methods(["GET", "HEAD", "POST"])
def pipeline_schedule(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    """A pipeline's default payment schedule, copied to each new job (Admins, as the rest of
    the pipeline editor)."""
    pipeline = get_pipeline(request.workspace, pipeline_id)
    stages = _stages(pipeline)
    if request.method != "POST":
        rows = default_formset(stages=stages, defaults=selectors.pipeline_schedule(
            pipeline=pipeline, viewer=request_viewer(request)))  # fmt: skip
        return render(request, "billing/pipeline_schedule.html",
                      {"pipeline": pipeline, "rows": rows})  # fmt: skip
    rows = default_formset(request.POST, stages=stages)
    if rows.is_valid():
        try:
            services.pipeline_schedule_save(pipeline=pipeline, rows=rows.rows(),
                                            actor=request.user)  # fmt: skip
        except services.ScheduleRowError as error:
            forms_with_rows = rows.rows_with_forms()
            if error.row is not None and error.row < len(forms_with_rows):
                apply_errors(forms_with_rows[error.row], error)
            else:
                rows.non_form_errors().extend(error.messages)
        else:
            messages.success(request, f"Default payment schedule of {pipeline.name} saved.")
            return redirect("billing:pipeline", pipeline.pk)
    return render(request, "billing/pipeline_schedule.html",
                  {"pipeline": pipeline, "rows": rows}, status=400)  # fmt: skip


# ----------------------------------------------------------------------------- invoices


def invoice_context(invoice: Any, viewer: Any) -> dict[str, Any]:
    """What the invoice template (billing/_invoice.html) reads."""
    return {"invoice": invoice, "business": invoice.workspace, "viewer": viewer,
            "paid": invoice.paid}  # fmt: skip


def invoice_pdf_response(invoice: Any, viewer: Any) -> HttpResponse:
    html = render_to_string("billing/invoice_pdf.html", invoice_context(invoice, viewer))
    response = HttpResponse(pdf.render(html), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice.reference}.pdf"'
    return response


@money_required
@require_safe
def invoice_detail(request: HttpRequest, invoice_id: int) -> HttpResponse:
    viewer = request_viewer(request)
    invoice = selectors.get_invoice(viewer=viewer, pk=invoice_id)
    return render(request, "billing/invoice.html", invoice_context(invoice, viewer))


@money_required
@require_safe
def invoice_pdf(request: HttpRequest, invoice_id: int) -> HttpResponse:
    viewer = request_viewer(request)
    return invoice_pdf_response(selectors.get_invoice(viewer=viewer, pk=invoice_id), viewer)
