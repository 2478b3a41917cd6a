"""Customer list, profile, create, edit, archive/restore, notifications and CSV export."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from jobline.core.exports import csv_download
from jobline.customers import selectors, services
from jobline.customers.forms import CustomerFilterForm, CustomerForm, CustomerNotificationsForm
from jobline.workspaces.permissions import member_required

PAGE_SIZE = 25


def _filters(request: HttpRequest) -> tuple[str, str]:
    form = CustomerFilterForm(request.GET)
    form.is_valid()
    return form.cleaned_data.get("q", ""), form.cleaned_data.get("status") or "active"


@member_required
def customer_list(request: HttpRequest) -> HttpResponse:
    search, status = _filters(request)
    queryset = selectors.customers(workspace=request.workspace, search=search, status=status)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "search": search, "status": status}
    template = (
        "customers/_results.html"
        if request.htmx and request.htmx.target == "customer-results"
        else "customers/list.html"
    )
    return render(request, template, context)


def _apply_service_errors(form: CustomerForm, error: ValidationError) -> None:
    for field, field_errors in error.message_dict.items():
        form.add_error(field if field in form.fields else None, field_errors)


@member_required
def customer_create(request: HttpRequest) -> HttpResponse:
    form = CustomerForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_create(
                workspace=request.workspace, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            _apply_service_errors(form, error)
        else:
            messages.success(request, f"Customer {customer.name} added.")
            return redirect("customers:detail", customer_id=customer.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "customers/form.html", {"form": form, "customer": None}, status=status)


@member_required
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = selectors.get_customer(workspace=request.workspace, customer_id=customer_id)
    notifications_form = CustomerNotificationsForm(
        initial={"notify_on_replies": customer.notify_on_replies}
    )
    return render(
        request,
        "customers/detail.html",
        {"customer": customer, "notifications_form": notifications_form},
    )


@member_required
def customer_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = selectors.get_customer(workspace=request.workspace, customer_id=customer_id)
    form = CustomerForm(request.POST if request.method == "POST" else None, instance=customer)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_update(customer=customer, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _apply_service_errors(form, error)
        else:
            messages.success(request, "Customer saved.")
            return redirect("customers:detail", customer_id=customer.pk)
    status = 400 if request.method == "POST" else 200
    # Reload the name for the heading: the form may hold an unsaved edit.
    saved = selectors.get_customer(workspace=request.workspace, customer_id=customer_id)
    return render(request, "customers/form.html", {"form": form, "customer": saved}, status=status)


@member_required
@require_POST
def customer_notifications(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = selectors.get_customer(workspace=request.workspace, customer_id=customer_id)
    form = CustomerNotificationsForm(request.POST)
    form.is_valid()
    services.customer_set_notifications(
        customer=customer,
        actor=request.user,
        notify_on_replies=form.cleaned_data.get("notify_on_replies", False),
    )
    messages.success(request, "Notification preferences saved.")
    return redirect("customers:detail", customer_id=customer.pk)


@member_required
@require_POST
def customer_archive(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = selectors.get_customer(workspace=request.workspace, customer_id=customer_id)
    services.customer_archive(customer=customer, actor=request.user)
    messages.success(request, f"{customer.name} archived. Restore them any time.")
    return redirect("customers:detail", customer_id=customer.pk)


@member_required
@require_POST
def customer_restore(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = selectors.get_customer(workspace=request.workspace, customer_id=customer_id)
    services.customer_restore(customer=customer, actor=request.user)
    messages.success(request, f"{customer.name} restored.")
    return redirect("customers:detail", customer_id=customer.pk)


@member_required
def customer_export(request: HttpRequest) -> StreamingHttpResponse:
    search, status = _filters(request)
    queryset = selectors.customers(workspace=request.workspace, search=search, status=status)
    return csv_download(selectors.export_rows(queryset), name="customers")
