"""Changes to customer profiles — who they are, how to reach them, whether they hear about
replies — are in the audit log with old → new, whoever made them."""

from __future__ import annotations

from django.test import Client

from jobline.customers.services import customer_set_notifications
from jobline.workspaces.models import AuditLogEntry
from tests.conftest import Cast


def entries(cast: Cast, action: str) -> list[tuple[str, str, str, str, object]]:
    return list(
        AuditLogEntry.objects.filter(workspace=cast.workspace, action=action)
        .order_by("id")
        .values_list("target", "field", "old_value", "new_value", "actor_id")
    )


def test_creating_and_editing_a_customer_is_audited(cast: Cast, as_staff: Client) -> None:
    response = as_staff.post("/customers/new/", {"name": "Nia Penrose", "email": "nia@example.com"})
    assert response.status_code == 302
    assert entries(cast, "customer.created") == [("Nia Penrose", "", "", "", cast.staff.pk)]
    customer = cast.workspace.customers.get(name="Nia Penrose")
    response = as_staff.post(
        f"/customers/{customer.pk}/edit/",
        {"name": "Nia Penrose", "email": "nia.penrose@example.com", "notes": "Gate code 4411"},
    )
    assert response.status_code == 302
    assert entries(cast, "customer.changed") == [
        ("Nia Penrose", "email", "nia@example.com", "nia.penrose@example.com", cast.staff.pk),
        ("Nia Penrose", "notes", "", "Gate code 4411", cast.staff.pk),
    ]


def test_archiving_and_notification_changes_are_audited(cast: Cast, as_admin: Client) -> None:
    customer = cast.customer
    as_admin.post(f"/customers/{customer.pk}/archive/")
    as_admin.post(f"/customers/{customer.pk}/restore/")
    assert [e[2:4] for e in entries(cast, "customer.archived")] == [("", "")]
    assert len(entries(cast, "customer.restored")) == 1
    customer_set_notifications(customer=customer, actor=None, notify_on_replies=False)
    assert entries(cast, "customer.notifications") == [
        ("Priya Natarajan", "notify_on_replies", "on", "off", None)
    ]
