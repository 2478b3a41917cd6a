"""Every change to a customer profile, each written to the workspace's audit log (old → new)
in the same transaction — who the customer is, how to reach them, whether they hear about
replies."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from jobline.accounts.models import User
from jobline.core.transactions import service
from jobline.customers import selectors
from jobline.customers.models import Customer
from jobline.workspaces.models import Workspace
from jobline.workspaces.services import audit_changes, audit_record

EDITABLE_FIELDS = ("name", "email", "phone", "address", "notes")
DUPLICATE_EMAIL_MESSAGE = "Another customer in this workspace already uses this e-mail address."


def _save_checked(customer: Customer, *, update_fields: list[str] | None = None) -> None:
    """Validate and save; a duplicate e-mail (even one racing in) becomes a field error."""
    customer.email = customer.email.strip().lower()
    customer.full_clean(exclude=["workspace", "portal_user", "created_by"])
    if selectors.email_taken(
        workspace=customer.workspace, email=customer.email, exclude_id=customer.pk
    ):
        raise ValidationError({"email": DUPLICATE_EMAIL_MESSAGE})
    try:
        with transaction.atomic():
            customer.save(update_fields=update_fields)
    except IntegrityError as error:
        raise ValidationError({"email": DUPLICATE_EMAIL_MESSAGE}) from error


def _audit(customer: Customer, actor: User | None, action: str, **values: Any) -> None:
    audit_record(
        workspace=Workspace(pk=customer.workspace_id), actor=actor, action=action,
        target=customer.name, **values,
    )  # fmt: skip


@service
def customer_create(*, workspace: Workspace, actor: User, **fields: Any) -> Customer:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not customer fields: {', '.join(sorted(unknown))}")
    customer = Customer(workspace=workspace, created_by=actor, **fields)
    _save_checked(customer)
    _audit(customer, actor, "customer.created")
    return customer


@service
def customer_update(*, customer: Customer, actor: User, **fields: Any) -> Customer:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not customer fields: {', '.join(sorted(unknown))}")
    saved = Customer.objects.select_for_update().get(pk=customer.pk)
    before = {name: getattr(saved, name) for name in fields}
    for name, value in fields.items():
        setattr(customer, name, value)
    _save_checked(customer, update_fields=[*fields, "updated_at"])
    audit_changes(
        workspace=Workspace(pk=customer.workspace_id), actor=actor, action="customer.changed",
        target=saved.name, before=before,
        after={name: getattr(customer, name) for name in fields},
    )  # fmt: skip
    return customer


@service
def customer_set_notifications(
    *, customer: Customer, actor: User | None, notify_on_replies: bool
) -> None:
    """Turn reply and file e-mails on or off: by staff on the profile, or by the customer
    (their portal account, or the unsubscribe link in an e-mail: no actor)."""
    saved = Customer.objects.select_for_update().get(pk=customer.pk)
    customer.notify_on_replies = notify_on_replies
    if saved.notify_on_replies == notify_on_replies:
        return
    customer.save(update_fields=["notify_on_replies", "updated_at"])
    _audit(
        customer, actor, "customer.notifications", field="notify_on_replies",
        old=saved.notify_on_replies, new=notify_on_replies,
    )  # fmt: skip


@service
def customer_archive(*, customer: Customer, actor: User) -> None:
    if customer.archived_at is None:
        customer.archived_at = timezone.now()
        customer.save(update_fields=["archived_at", "updated_at"])
        _audit(customer, actor, "customer.archived")


@service
def customer_restore(*, customer: Customer, actor: User) -> None:
    if customer.archived_at is not None:
        customer.archived_at = None
        customer.save(update_fields=["archived_at", "updated_at"])
        _audit(customer, actor, "customer.restored")


def customer_or_new(
    *,
    workspace: Workspace,
    actor: User,
    customer: Customer | None,
    new_customer_name: str,
    new_customer_email: str,
) -> Customer | None:
    """The customer a form chose, or the new one typed inline (created in the caller's
    transaction): both at once is refused, and the new one's e-mail errors land on
    ``new_customer_email``."""
    if not new_customer_name.strip():
        return customer
    if customer is not None:
        raise ValidationError(
            {"new_customer_name": "Choose a customer or name a new one, not both."}
        )
    try:
        return customer_create.step(
            workspace=workspace, actor=actor, name=new_customer_name.strip(),
            email=new_customer_email,
        )  # fmt: skip
    except ValidationError as error:
        raise ValidationError(
            {"new_customer_email": error.message_dict.get("email", error.messages)}
        ) from error
