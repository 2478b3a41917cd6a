"""Every workspace page answers 405 to the methods it does not handle, and changes nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from jobline.workspaces.models import AuditLogEntry
from tests.conftest import Cast

SETTINGS_PAGES = [
    "/settings/",
    "/settings/modules/",
    "/settings/portal/",
    "/settings/members/",
    "/settings/audit-log/",
]


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
@pytest.mark.parametrize("url", SETTINGS_PAGES)
def test_settings_pages_answer_405_to_other_methods(
    cast: Cast, as_admin: Client, method: str, url: str
) -> None:
    before = AuditLogEntry.objects.count()

    response = getattr(as_admin, method)(
        url, "name=Renamed&time_zone=UTC", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 405
    assert AuditLogEntry.objects.count() == before
    cast.workspace.refresh_from_db()
    assert cast.workspace.name == "Harbour Renovations"


@pytest.mark.parametrize("url", SETTINGS_PAGES)
def test_settings_pages_still_open_for_get_and_head(as_admin: Client, url: str) -> None:
    assert as_admin.get(url).status_code == 200
    assert as_admin.head(url).status_code == 200
