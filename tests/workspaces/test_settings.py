"""Settings → General, Modules and Customer Portal: Admins only, every change audited."""

from __future__ import annotations

import pytest
from django.test import Client

from jobline.workspaces.models import AuditLogEntry, Workspace
from tests.conftest import Cast, client_for

SETTINGS_URLS = [
    "/settings/",
    "/settings/modules/",
    "/settings/portal/",
    "/settings/members/",
    "/settings/audit-log/",
]


@pytest.mark.parametrize("url", SETTINGS_URLS)
def test_admin_opens_every_settings_page(url: str, as_admin: Client) -> None:
    response = as_admin.get(url)
    assert response.status_code == 200
    assert b"<h1>Settings</h1>" in response.content


@pytest.mark.parametrize("url", SETTINGS_URLS)
@pytest.mark.parametrize("role", ["manager", "staff"])
def test_managers_and_staff_are_refused_settings(url: str, role: str, cast: Cast) -> None:
    response = client_for(getattr(cast, role)).get(url)
    assert response.status_code == 403
    assert b"Not allowed" in response.content


@pytest.mark.parametrize("role", ["manager", "staff"])
def test_settings_post_by_non_admin_changes_nothing(role: str, cast: Cast) -> None:
    response = client_for(getattr(cast, role)).post("/settings/modules/", {"module_bookings": "on"})
    assert response.status_code == 403
    cast.workspace.refresh_from_db()
    assert cast.workspace.module_jobs is True
    assert cast.workspace.module_bookings is False


def test_settings_link_shows_in_nav_only_for_admins(cast: Cast) -> None:
    assert b'href="/settings/"' in client_for(cast.admin).get("/dashboard/").content
    assert b'href="/settings/"' not in client_for(cast.manager).get("/dashboard/").content
    assert b'href="/settings/"' not in client_for(cast.staff).get("/dashboard/").content


def test_general_settings_save_and_audit_old_and_new_values(cast: Cast, as_admin: Client) -> None:
    response = as_admin.post(
        "/settings/",
        {
            "name": "Harbour Renovations Ltd",
            "time_zone": "Europe/Dublin",
            "currency": "EUR",
            "locale": "en-IE",
        },
    )
    assert response.status_code == 302
    cast.workspace.refresh_from_db()
    assert (cast.workspace.name, cast.workspace.time_zone, cast.workspace.currency) == (
        "Harbour Renovations Ltd",
        "Europe/Dublin",
        "EUR",
    )
    entries = {
        e.field: e
        for e in AuditLogEntry.objects.filter(workspace=cast.workspace, action="settings.general")
    }
    assert set(entries) == {"name", "time_zone", "currency", "locale"}
    assert (entries["currency"].old_value, entries["currency"].new_value) == ("GBP", "EUR")
    assert entries["name"].old_value == "Harbour Renovations"
    assert entries["name"].actor == cast.admin


def test_saving_unchanged_settings_writes_no_audit_entry(cast: Cast, as_admin: Client) -> None:
    before = AuditLogEntry.objects.count()
    as_admin.post(
        "/settings/",
        {"name": "Harbour Renovations", "time_zone": "Europe/London", "currency": "GBP",
         "locale": "en-GB"},
    )  # fmt: skip
    assert AuditLogEntry.objects.count() == before


def test_bad_general_settings_show_errors_and_keep_input(cast: Cast, as_admin: Client) -> None:
    response = as_admin.post(
        "/settings/",
        {"name": "Typed New Name", "time_zone": "Mars/Olympus", "currency": "XXQ", "locale": ""},
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "time_zone" in form.errors
    assert "currency" in form.errors
    assert "locale" in form.errors
    assert b'value="Typed New Name"' in response.content
    cast.workspace.refresh_from_db()
    assert cast.workspace.name == "Harbour Renovations"
    assert not AuditLogEntry.objects.filter(action="settings.general").exists()


def test_blank_business_name_is_refused(cast: Cast, as_admin: Client) -> None:
    response = as_admin.post(
        "/settings/",
        {"name": "   ", "time_zone": "Europe/London", "currency": "GBP", "locale": "en-GB"},
    )
    assert response.status_code == 400
    assert "name" in response.context["form"].errors


def test_portal_settings_are_saved_and_audited(cast: Cast, as_admin: Client) -> None:
    response = as_admin.post("/settings/portal/", {"portal_enabled": "on"})
    assert response.status_code == 302
    cast.workspace.refresh_from_db()
    assert cast.workspace.portal_enabled is True
    assert cast.workspace.portal_jobs is False  # unticked box = off
    changes = {
        (e.field, e.old_value, e.new_value)
        for e in AuditLogEntry.objects.filter(action="settings.portal")
    }
    assert changes == {("portal_enabled", "off", "on"), ("portal_jobs", "on", "off")}


def test_audit_log_page_lists_changes_with_who_and_old_new(cast: Cast, as_admin: Client) -> None:
    as_admin.post("/settings/modules/", {"module_quotes": "on"})  # Jobs off, Quotes on
    page = as_admin.get("/settings/audit-log/").content.decode()
    assert "<strong>Modules</strong> · Jobs" in page
    assert "on → off" in page
    assert "<strong>Modules</strong> · Quotes" in page
    assert "off → on" in page
    assert "Ada Admin" in page


def test_audit_log_belongs_to_its_workspace(cast: Cast, as_admin: Client) -> None:
    as_admin.post("/settings/modules/", {"module_quotes": "on", "module_jobs": "on"})
    outsider_page = client_for(cast.outsider).get("/settings/audit-log/").content.decode()
    assert "· Quotes" not in outsider_page
    assert Workspace.objects.get(pk=cast.other_workspace.pk).module_quotes is False
