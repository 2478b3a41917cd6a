"""Customer reads, scoped to one workspace."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from jobline.customers.models import Customer
from jobline.workspaces.models import Workspace

STATUS_ACTIVE = "active"
STATUS_ARCHIVED = "archived"
STATUS_ALL = "all"


def customers(
    *, workspace: Workspace, search: str = "", status: str = STATUS_ACTIVE
) -> QuerySet[Customer]:
    queryset = Customer.objects.filter(workspace=workspace)
    if status == STATUS_ACTIVE:
        queryset = queryset.filter(archived_at__isnull=True)
    elif status == STATUS_ARCHIVED:
        queryset = queryset.filter(archived_at__isnull=False)
    for term in search.split():
        queryset = queryset.filter(
            Q(name__icontains=term) | Q(email__icontains=term) | Q(phone__icontains=term)
        )
    return queryset.order_by("name", "id")


def get_customer(*, workspace: Workspace, customer_id: int) -> Customer:
    """Another workspace's customer is a 404, never a 403."""
    return get_object_or_404(Customer.objects.filter(workspace=workspace), pk=customer_id)


def email_taken(*, workspace: Workspace, email: str, exclude_id: int | None = None) -> bool:
    if not email:
        return False
    queryset = Customer.objects.filter(workspace=workspace, email__iexact=email)
    if exclude_id is not None:
        queryset = queryset.exclude(pk=exclude_id)
    return queryset.exists()


def export_rows(queryset: QuerySet[Customer]) -> Iterator[list[str]]:
    """CSV rows for a filtered list, streamed in chunks so memory stays flat at any size."""
    yield [
        "Name",
        "E-mail",
        "Phone",
        "Address",
        "Notes",
        "Notify on replies",
        "Archived",
        "Created",
    ]
    for customer in queryset.iterator(chunk_size=2000):
        yield [
            customer.name,
            customer.email,
            customer.phone,
            customer.address,
            customer.notes,
            "yes" if customer.notify_on_replies else "no",
            customer.archived_at.date().isoformat() if customer.archived_at else "",
            customer.created_at.date().isoformat(),
        ]
