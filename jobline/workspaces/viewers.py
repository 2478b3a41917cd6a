"""Who is looking at a page, an e-mail or an export: the one input of every visibility and
money rule.

A viewer is a member of a workspace (with their role), a customer (one customer profile of
one workspace), or a member previewing a job as its customer ("View as customer"). The rules
themselves live with the data: each model's ``visible_to(viewer)`` query method, and
``sees_money`` below. Pages, template tags, e-mails and exports ask them; none decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobline.workspaces.models import Membership, Role

# The roles that see amounts, payments and reports.
MONEY_ROLES = frozenset({Role.ADMIN, Role.MANAGER})


@dataclass(frozen=True, slots=True)
class Viewer:
    workspace_id: int
    user_id: int | None
    # The member's role: members, and the member behind a preview. None for customers.
    role: str | None = None
    # The customer profile whose view this is: customers, and previews. None for members.
    customer_id: int | None = None

    @property
    def sees_as_customer(self) -> bool:
        """Customer-visible things only (a customer, or a member's preview of one)."""
        return self.customer_id is not None


def member_viewer(membership: Membership) -> Viewer:
    return Viewer(
        workspace_id=membership.workspace_id, user_id=membership.user_id, role=membership.role
    )


def customer_viewer(customer: Any) -> Viewer:
    """A customer profile (customers.Customer) reading their own jobs."""
    return Viewer(
        workspace_id=customer.workspace_id, user_id=customer.portal_user_id, customer_id=customer.pk
    )


def preview_viewer(membership: Membership, customer: Any) -> Viewer:
    """A member's "View as customer": what the customer sees, and never more than the
    member's own role allows."""
    return Viewer(
        workspace_id=membership.workspace_id,
        user_id=membership.user_id,
        role=membership.role,
        customer_id=customer.pk,
    )


def sees_money(viewer: Viewer | None) -> bool:
    """Whether amounts are shown to this viewer. Fails closed: no viewer, no amounts.

    Members by role (Staff never); also a member's preview of the customer's view, so a
    preview never shows a member more than their role allows. A customer sees the amounts
    of their own jobs that are otherwise visible to them."""
    if viewer is None:
        return False
    if viewer.role is not None:
        return viewer.role in MONEY_ROLES
    return viewer.customer_id is not None


def request_viewer(request: Any) -> Viewer | None:
    """The member behind a staff request (None outside a workspace: no rule lets them see
    anything)."""
    membership = getattr(request, "membership", None)
    return member_viewer(membership) if membership is not None else None
