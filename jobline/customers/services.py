"""Every change to a customer profile."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from jobline.accounts.models import User
from jobline.customers import selectors
from jobline.customers.models import Customer
from jobline.workspaces.models import Workspace

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


def customer_create(*, workspace: Workspace, actor: User, **fields: Any) -> Customer:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not customer fields: {', '.join(sorted(unknown))}")
    customer = Customer(workspace=workspace, created_by=actor, **fields)
    _save_checked(customer)
    return customer


def customer_update(*, customer: Customer, actor: User, **fields: Any) -> Customer:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not customer fields: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(customer, name, value)
    _save_checked(customer, update_fields=[*fields, "updated_at"])
    return customer


def customer_set_notifications(
    *, customer: Customer, actor: User | None, notify_on_replies: bool
) -> None:
    """Turn reply and file e-mails on or off: by staff on the profile, or by the customer
    through the unsubscribe link in an e-mail (no actor)."""
    customer.notify_on_replies = notify_on_replies
    customer.save(update_fields=["notify_on_replies", "updated_at"])


def customer_archive(*, customer: Customer, actor: User) -> None:
    if customer.archived_at is None:
        customer.archived_at = timezone.now()
        customer.save(update_fields=["archived_at", "updated_at"])


def customer_restore(*, customer: Customer, actor: User) -> None:
    if customer.archived_at is not None:
        customer.archived_at = None
        customer.save(update_fields=["archived_at", "updated_at"])
