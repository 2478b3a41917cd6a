"""Customer profiles: every member works on them; e-mails are unique inside a workspace."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from jobline.customers.models import Customer
from tests.conftest import Cast

VALID = {
    "name": "Eilidh MacLeod",
    "email": "eilidh@example.com",
    "phone": "07700 900789",
    "address": "The Old Sail Loft\nFalmouth",
    "notes": "Dog on site",
}


def listed(client: Client, **params: str) -> set[str]:
    """Names of the customers on the list page for these filters."""
    return {c.name for c in client.get("/customers/", params).context["page"]}


def test_every_member_can_add_a_customer(cast: Cast, any_member: tuple[str, Client]) -> None:
    role, client = any_member
    response = client.post("/customers/new/", {**VALID, "email": f"{role}-added@example.com"})
    assert response.status_code == 302
    customer = Customer.objects.get(email=f"{role}-added@example.com")
    assert customer.workspace == cast.workspace
    assert customer.notify_on_replies is True  # on by default
    assert response["Location"] == f"/customers/{customer.pk}/"


def test_customer_profile_shows_contact_and_internal_notes(cast: Cast, as_staff: Client) -> None:
    cast.customer.notes = "Prefers texts"
    cast.customer.save()
    page = as_staff.get(f"/customers/{cast.customer.pk}/").content.decode()
    assert "Priya Natarajan" in page
    assert "priya@example.com" in page
    assert "Prefers texts" in page
    assert "Internal" in page


def test_duplicate_email_in_the_same_workspace_is_refused_and_input_kept(
    cast: Cast, as_admin: Client
) -> None:
    response = as_admin.post(
        "/customers/new/", {**VALID, "name": "Another Priya", "email": "PRIYA@Example.com"}
    )
    assert response.status_code == 400
    errors = response.context["form"].errors["email"]
    assert "already uses this e-mail address" in errors[0]
    assert b'value="Another Priya"' in response.content
    assert b"Dog on site" in response.content
    assert Customer.objects.filter(workspace=cast.workspace).count() == 2


def test_the_same_email_may_be_a_customer_of_another_workspace(
    cast: Cast, as_outsider: Client
) -> None:
    response = as_outsider.post("/customers/new/", {**VALID, "email": "priya@example.com"})
    assert response.status_code == 302
    assert Customer.objects.filter(email="priya@example.com").count() == 2


def test_several_customers_without_email_are_fine(cast: Cast, as_admin: Client) -> None:
    for name in ("Walk-in One", "Walk-in Two"):
        assert as_admin.post("/customers/new/", {"name": name}).status_code == 302


def test_bad_input_shows_errors_next_to_fields(cast: Cast, as_admin: Client) -> None:
    response = as_admin.post(
        "/customers/new/", {"name": "  ", "email": "not-an-address", "phone": "0123"}
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "name" in form.errors and "email" in form.errors
    assert b'value="0123"' in response.content
    assert b'class="error"' in response.content


def test_edit_saves_changes(cast: Cast, as_manager: Client) -> None:
    response = as_manager.post(
        f"/customers/{cast.customer.pk}/edit/",
        {"name": "Priya N.", "email": "priya.n@example.com", "phone": "07700 900000"},
    )
    assert response.status_code == 302
    cast.customer.refresh_from_db()
    assert (cast.customer.name, cast.customer.email) == ("Priya N.", "priya.n@example.com")


def test_edit_to_anothers_email_is_refused(cast: Cast, as_admin: Client) -> None:
    response = as_admin.post(
        f"/customers/{cast.customer.pk}/edit/", {"name": "Priya", "email": "tom@example.com"}
    )
    assert response.status_code == 400
    assert "email" in response.context["form"].errors
    cast.customer.refresh_from_db()
    assert cast.customer.email == "priya@example.com"
    # The heading still names the saved customer, not the unsaved edit.
    assert b"Edit Priya Natarajan" in response.content


def test_archive_hides_from_list_and_restore_brings_back(cast: Cast, as_staff: Client) -> None:
    assert as_staff.post(f"/customers/{cast.customer.pk}/archive/").status_code == 302
    cast.customer.refresh_from_db()
    assert cast.customer.is_archived
    assert listed(as_staff) == {"Tom Whitfield"}
    assert listed(as_staff, status="archived") == {"Priya Natarajan"}
    assert listed(as_staff, status="all") == {"Priya Natarajan", "Tom Whitfield"}
    assert as_staff.post(f"/customers/{cast.customer.pk}/restore/").status_code == 302
    assert listed(as_staff) == {"Priya Natarajan", "Tom Whitfield"}


def test_archive_is_post_only(cast: Cast, as_staff: Client) -> None:
    assert as_staff.get(f"/customers/{cast.customer.pk}/archive/").status_code == 405
    cast.customer.refresh_from_db()
    assert not cast.customer.is_archived


def test_notify_on_replies_can_be_switched_off_and_on(cast: Cast, as_staff: Client) -> None:
    url = f"/customers/{cast.customer.pk}/notifications/"
    as_staff.post(url, {})
    cast.customer.refresh_from_db()
    assert cast.customer.notify_on_replies is False
    as_staff.post(url, {"notify_on_replies": "on"})
    cast.customer.refresh_from_db()
    assert cast.customer.notify_on_replies is True


@pytest.mark.parametrize(
    ("query", "expected"),
    [("priya", {"Priya Natarajan"}), ("TOM@", {"Tom Whitfield"}), ("07700 9001", set())],
)
def test_search_matches_name_email_and_phone(
    query: str, expected: set[str], cast: Cast, as_staff: Client
) -> None:
    assert listed(as_staff, q=query) == expected


def test_search_by_phone(cast: Cast, as_staff: Client) -> None:
    cast.second_customer.phone = "01326 555 010"
    cast.second_customer.save()
    assert listed(as_staff, q="555 010") == {"Tom Whitfield"}


def test_htmx_search_returns_only_the_results_fragment(cast: Cast, as_staff: Client) -> None:
    response = as_staff.get(
        "/customers/", {"q": "tom"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="customer-results"
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="customer-results">')
    assert "Tom Whitfield" in body and "Priya" not in body
    assert "<html" not in body


def test_list_is_paginated_and_query_count_does_not_grow(cast: Cast, as_staff: Client) -> None:
    Customer.objects.bulk_create(
        Customer(workspace=cast.workspace, name=f"Customer {i:03}") for i in range(60)
    )
    as_staff.get("/customers/")  # warm up: the first request also stores the session
    with CaptureQueriesContext(connection) as small:
        as_staff.get("/customers/")
    Customer.objects.bulk_create(
        Customer(workspace=cast.workspace, name=f"Later {i:03}") for i in range(200)
    )
    with CaptureQueriesContext(connection) as large:
        response = as_staff.get("/customers/", {"page": 3})
    assert response.context["page"].paginator.num_pages == 11  # 262 / 25
    assert len(response.context["page"].object_list) == 25
    assert len(large) == len(small)


def test_outsider_never_sees_the_workspaces_customers(cast: Cast, as_outsider: Client) -> None:
    page = as_outsider.get("/customers/", {"status": "all"}).content.decode()
    assert "Priya Natarajan" not in page
    export = b"".join(as_outsider.get("/customers/export.csv").streaming_content).decode()
    assert "Priya" not in export


def read_csv(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_csv_export_follows_the_filter(cast: Cast, as_manager: Client) -> None:
    response = as_manager.get("/customers/export.csv", {"q": "tom"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0][:3] == ["Name", "E-mail", "Phone"]
    assert [row[0] for row in rows[1:]] == ["Tom Whitfield"]


def test_csv_export_neutralises_spreadsheet_formulas(cast: Cast, as_admin: Client) -> None:
    cast.customer.name = '=HYPERLINK("http://evil")'
    cast.customer.save()
    rows = read_csv(as_admin.get("/customers/export.csv"))
    names = [row[0] for row in rows[1:]]
    assert '\'=HYPERLINK("http://evil")' in names
