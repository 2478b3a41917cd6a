"""Tenancy: every URL that takes an id answers 404 to a member of another workspace.

The test walks the URL conf, so a new view with an id in its URL fails here until it is
registered below — and then it is checked like every other.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from PIL import Image

from jobline.accounts.tokens import hash_token
from jobline.approvals.models import Approval
from jobline.approvals.services import approval_ask
from jobline.billing.models import AmountKind, Instalment, PaymentMethod
from jobline.billing.services import (
    InstalmentInput,
    instalment_request,
    payment_record,
    schedule_save,
)
from jobline.bookings.models import Booking
from jobline.bookings.services import booking_create
from jobline.customers.models import Customer
from jobline.jobs.models import Attachment, DocumentRequest, Job, Message
from jobline.jobs.services import job_create, message_add
from jobline.jobs.uploads import attachment_add
from jobline.notifications.models import EmailKind, EmailStatus, OutgoingEmail
from jobline.pipelines.models import Pipeline, Stage, StageField
from jobline.pipelines.services import pipeline_create_from_blueprint
from jobline.quotes.models import Quote, TaxRate
from jobline.quotes.services import LineInput, quote_create, quote_send, tax_rate_add
from jobline.workspaces.models import Invitation
from tests.conftest import Cast, client_for, make_user


def _pipeline(cast: Cast) -> Pipeline:
    existing = Pipeline.objects.filter(workspace=cast.workspace).first()
    return existing or pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="beauty", actor=cast.admin
    )


def _job(cast: Cast) -> Job:
    existing = Job.objects.filter(workspace=cast.workspace).first()
    return existing or job_create(
        workspace=cast.workspace,
        pipeline=_pipeline(cast),
        title="Tenancy",
        actor=cast.admin,
        customer=portal_customer(cast),
    )


def portal_customer(cast: Cast) -> Customer:
    """The cast's customer, signed up to a workspace whose portal shows jobs."""
    cast.workspace.portal_enabled = True
    cast.workspace.save(update_fields=["portal_enabled"])
    if cast.customer.portal_user is None:
        cast.customer.portal_user = make_user(cast.customer.email, cast.customer.name)
        cast.customer.save(update_fields=["portal_user"])
    return cast.customer


def _attachment(cast: Cast) -> Attachment:
    # An image, so its thumbnail URL works for the workspace's own admin too.
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buffer, format="PNG")
    upload = SimpleUploadedFile("tenancy.png", buffer.getvalue())
    return attachment_add(job=_job(cast), upload=upload, visibility="internal", actor=cast.admin)


def _booking(cast: Cast) -> int:
    """A visit on the cast's job. Bookings are switched on in both workspaces, so the
    outsider's 404 comes from tenancy, not from their module being off."""
    for workspace in (cast.workspace, cast.other_workspace):
        workspace.module_bookings = True
        workspace.save(update_fields=["module_bookings"])
    existing = Booking.objects.filter(workspace=cast.workspace).first()
    if existing is not None:
        return existing.pk
    start = timezone.now() + dt.timedelta(days=2)
    return booking_create(
        workspace=cast.workspace, actor=cast.admin, title="Tenancy visit", starts_at=start,
        ends_at=start + dt.timedelta(hours=1), staff=[cast.membership(cast.admin)],
        job=_job(cast),
    ).pk  # fmt: skip


def _quote(cast: Cast) -> int:
    """A sent quote of the cast's customer. Quotes are switched on in both workspaces, so the
    outsider's 404 comes from tenancy, not from their module being off."""
    for workspace in (cast.workspace, cast.other_workspace):
        workspace.module_quotes = True
        workspace.save(update_fields=["module_quotes"])
    existing = Quote.objects.filter(workspace=cast.workspace).first()
    if existing is not None:
        return existing.pk
    quote = quote_create(
        workspace=cast.workspace, actor=cast.admin, title="Tenancy quote",
        customer=portal_customer(cast),
        lines=[LineInput("Work", Decimal(1), Decimal(100), tax_rate=_tax_rate(cast))],
    )  # fmt: skip
    return quote_send(quote=quote, actor=cast.admin).pk


def _tax_rate(cast: Cast) -> TaxRate:
    existing = TaxRate.objects.filter(workspace=cast.workspace).first()
    return existing or tax_rate_add(
        workspace=cast.workspace, actor=cast.admin, name="VAT", percent=20
    )


def _instalment(cast: Cast) -> Instalment:
    """The cast's job worth 1,000 in one requested instalment, 100 of it paid."""
    existing = Instalment.objects.filter(workspace=cast.workspace).first()
    if existing is not None:
        return existing
    [instalment] = schedule_save(
        job=_job(cast), value=Decimal(1000), actor=cast.admin, expected_version=None,
        rows=[InstalmentInput(label="Balance", amount_kind=AmountKind.BALANCE)],
    )  # fmt: skip
    instalment_request(instalment=instalment, actor=cast.admin)
    payment_record(instalment=instalment, amount="100", paid_on=dt.date.today(),
                   method=PaymentMethod.CASH, actor=cast.admin)  # fmt: skip
    return instalment


def _approval(cast: Cast) -> int:
    """An open approval of the cast's job (its stage made to require one, as the pipeline
    editor would)."""
    existing = Approval.objects.filter(workspace=cast.workspace).first()
    if existing is not None:
        return existing.pk
    job = _job(cast)
    Stage.objects.filter(pk=job.stage_id).update(requires_approval=True)
    return approval_ask(job=job, actor=cast.admin).pk


def _message(cast: Cast) -> Message:
    return message_add(job=_job(cast), body="Hello", visibility="customer", actor=cast.admin)


# How to find, in the cast's workspace, an object for each kind of id a URL can take.
ID_SOURCES: dict[str, Callable[[Cast], int]] = {
    "pipeline_id": lambda cast: _pipeline(cast).pk,
    "stage_id": lambda cast: _pipeline(cast).stages.order_by("position").first().pk,
    "field_id": lambda cast: StageField.objects.filter(stage__pipeline=_pipeline(cast)).first().pk,
    # Job numbers restart in every workspace: the outsider's workspace has no jobs here, so
    # Harbour's J-1001 must be a 404 for them, not someone else's job. The job has a visit
    # and Bookings on in both workspaces, for the job's Visits page (bookings:job_visits).
    "number": lambda cast: Booking.objects.get(pk=_booking(cast)).job.number,
    "message_id": lambda cast: _message(cast).pk,
    "job_id": lambda cast: _job(cast).pk,
    "request_id": lambda cast: DocumentRequest.objects.create(job=_job(cast), title="ID").pk,
    "attachment_id": lambda cast: _attachment(cast).pk,
    "customer_id": lambda cast: cast.customer.pk,
    "email_id": lambda cast: (
        OutgoingEmail.objects.create(
            workspace=cast.workspace,
            job=_job(cast),
            kind=EmailKind.STAFF_ALERT,
            recipient=cast.staff,
            to_address=cast.staff.email,
            status=EmailStatus.FAILED,
            send_after=timezone.now(),
        ).pk
    ),
    "membership_id": lambda cast: cast.membership(cast.staff).pk,
    # Bookings' own pages take the booking's id as "pk"; the portal's .ics as "booking_id".
    "pk": _booking,
    "booking_id": _booking,
    "quote_id": _quote,
    "instalment_id": lambda cast: _instalment(cast).pk,
    "payment_id": lambda cast: _instalment(cast).payments.get().pk,
    "invoice_id": lambda cast: _instalment(cast).invoices.get().pk,
    "approval_id": _approval,
    # (Through the quote: it switches Quotes on.)
    "rate_id": lambda cast: Quote.objects.get(pk=_quote(cast)).lines.get().tax_rate_id,
    "invitation_id": lambda cast: (
        Invitation.objects.create(
            workspace=cast.workspace,
            email="invitee@example.com",
            token_hash=hash_token("tenancy-test-token"),
            invited_by=cast.admin,
        ).pk
    ),
}

# URL parameters that are secrets, not ids: their own tests cover them.
TOKEN_PARAMETERS = {"token", "uidb64"}

# Django's admin is for server operators (superusers), not workspace members.
SKIPPED_NAMESPACES = {"admin"}


@dataclass(frozen=True)
class Route:
    name: str
    parameters: tuple[str, ...]


def walk(patterns: list, namespace: str = "") -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = entry.namespace or ""
            if inner in SKIPPED_NAMESPACES:
                continue
            prefix = f"{namespace}:{inner}" if namespace and inner else (inner or namespace)
            yield from (
                Route(route.name, tuple(entry.pattern.converters) + route.parameters)
                for route in walk(entry.url_patterns, prefix)
            )
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield Route(name, tuple(entry.pattern.converters))


ROUTES_WITH_IDS = sorted(
    {r for r in walk(get_resolver().url_patterns) if set(r.parameters) - TOKEN_PARAMETERS},
    key=lambda r: r.name,
)


def test_the_walk_finds_the_id_routes_we_know_of() -> None:
    names = {route.name for route in ROUTES_WITH_IDS}
    assert {
        "customers:detail",
        "customers:edit",
        "workspaces:member_remove",
        "jobs:detail",
        "jobs:move",
        "pipelines:stage_edit",
        "bookings:detail",
        "bookings:move",
        "portal:visit_ics",
        "quotes:detail",
        "quotes:convert",
        "billing:job",
        "billing:pay",
        "billing:refund",
    } <= names


@pytest.mark.parametrize("route", ROUTES_WITH_IDS, ids=lambda r: r.name)
def test_every_id_parameter_has_a_known_source(route: Route) -> None:
    unknown = set(route.parameters) - set(ID_SOURCES) - TOKEN_PARAMETERS
    assert not unknown, (
        f"{route.name} takes {sorted(unknown)}: add it to ID_SOURCES so tenancy is tested"
    )


def control_client(route: Route, cast: Cast, kwargs: dict[str, int]) -> Client:
    """Who may use the URL in Harbour: its Admin; for portal pages, the job's customer."""
    if route.name.startswith("portal:"):
        if "attachment_id" in kwargs:
            Attachment.objects.filter(pk=kwargs["attachment_id"]).update(visibility="customer")
        return client_for(portal_customer(cast).portal_user)
    return client_for(cast.admin)


@pytest.mark.parametrize("route", ROUTES_WITH_IDS, ids=lambda r: r.name)
@pytest.mark.parametrize("method", ["get", "post"])
def test_outsider_gets_404_for_another_workspaces_ids(
    route: Route, method: str, cast: Cast, as_outsider: Client
) -> None:
    kwargs = {name: ID_SOURCES[name](cast) for name in route.parameters}
    url = reverse(route.name, kwargs=kwargs)
    outsider = getattr(as_outsider, method)(url)
    # The control tells tenancy from the method: a URL that takes no such method answers
    # 405 to everyone before looking anything up (nothing is revealed); any URL that does
    # take it must be a 404 for the outsider — and must not be one for its own people, or
    # the 404 would come from a broken URL rather than from tenancy.
    control = getattr(control_client(route, cast, kwargs), method)(url)
    if control.status_code == 405:
        assert outsider.status_code in {404, 405}, (
            f"{method.upper()} {url} → {outsider.status_code}"
        )
    else:
        assert control.status_code != 404, f"control {method.upper()} {url} → 404"
        assert outsider.status_code == 404, f"{method.upper()} {url} → {outsider.status_code}"


@pytest.mark.parametrize("route", ROUTES_WITH_IDS, ids=lambda r: r.name)
def test_the_same_urls_work_for_an_admin_of_the_workspace(
    route: Route, cast: Cast, as_admin: Client
) -> None:
    """The control: the 404s above come from tenancy, not from a broken URL. Portal pages
    belong to the job's customer, so they are the control there."""
    kwargs = {name: ID_SOURCES[name](cast) for name in route.parameters}
    url = reverse(route.name, kwargs=kwargs)
    response = control_client(route, cast, kwargs).get(url)
    assert response.status_code in {200, 302, 405}, f"GET {url} → {response.status_code}"
