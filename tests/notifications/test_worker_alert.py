"""Admins hear (bell) when no background worker has been seen for a long while: once per
outage, and nobody else."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client
from django.utils import timezone

from jobline.core.background import beat
from jobline.core.models import ProcessHeartbeat, ProcessKind
from jobline.notifications.models import Notification
from jobline.notifications.periodic import watch_worker
from jobline.notifications.services import (
    WORKER_STOPPED,
    tell_admins_worker_stopped,
    unread_count,
)
from jobline.workspaces.models import Membership, Role
from tests.conftest import Cast, client_for


def alerts() -> list[tuple[int, int]]:
    return list(
        Notification.objects.filter(text__startswith=WORKER_STOPPED).values_list(
            "recipient_id", "workspace_id"
        )
    )


def test_a_silent_worker_is_told_to_every_admin_once_per_outage(
    cast: Cast, settings: Any, as_admin: Client, as_manager: Client
) -> None:
    settings.JOBLINE_BACKGROUND_ALERT_SECONDS = 900
    beat("w1", ProcessKind.WORKER)
    assert watch_worker() == "worker alive" and alerts() == []

    ProcessHeartbeat.objects.update(last_seen_at=timezone.now() - dt.timedelta(minutes=16))
    watch_worker()
    watch_worker()  # a minute later: the same outage
    assert sorted(alerts()) == sorted(
        [(cast.admin.pk, cast.workspace.pk), (cast.outsider.pk, cast.other_workspace.pk)]
    )
    page = as_admin.get("/notifications/")
    assert page.status_code == 200 and WORKER_STOPPED in page.text
    assert WORKER_STOPPED not in as_manager.get("/notifications/").text

    # Those alerts were 45 minutes ago; the worker came back, then stopped 20 minutes ago:
    # a new outage, a new alert.
    Notification.objects.update(created_at=timezone.now() - dt.timedelta(minutes=45))
    beat("w1", ProcessKind.WORKER)
    assert watch_worker() == "worker alive"
    ProcessHeartbeat.objects.update(last_seen_at=timezone.now() - dt.timedelta(minutes=20))
    watch_worker()
    assert len(alerts()) == 4


def test_the_delivery_page_says_when_the_worker_was_last_seen(
    cast: Cast, settings: Any, as_admin: Client
) -> None:
    settings.JOBLINE_BACKGROUND_STALE_SECONDS = 180
    never = as_admin.get("/notifications/email/")
    assert never.status_code == 200
    assert "Worker <strong>never seen</strong>" in never.text
    assert "No background worker is running." in never.text

    beat("w1", ProcessKind.WORKER)
    beat("s1", ProcessKind.SCHEDULER)
    ProcessHeartbeat.objects.filter(process_id="w1").update(
        last_seen_at=timezone.now() - dt.timedelta(seconds=7)
    )
    alive = as_admin.get("/notifications/email/").text
    assert "Worker last seen <strong>7 s ago</strong>" in alive
    assert "No background worker" not in alive and "No scheduler" not in alive

    ProcessHeartbeat.objects.filter(process_id="w1").update(
        last_seen_at=timezone.now() - dt.timedelta(minutes=5)
    )
    stale = as_admin.get("/notifications/email/").text
    assert "No background worker is running (last seen 5 min ago)." in stale


def test_each_workspace_shows_only_its_own_notifications(cast: Cast) -> None:
    # Notifications carry their workspace: a person in two workspaces sees each one's bell
    # and list only inside it (they used to be scoped through their job).
    Membership.objects.create(workspace=cast.other_workspace, user=cast.admin, role=Role.ADMIN)
    ProcessHeartbeat.objects.all().delete()
    tell_admins_worker_stopped(last_seen=None)  # one per workspace the person is Admin of
    Notification.objects.filter(recipient=cast.admin, workspace=cast.workspace).update(
        text="The Harbour alert"
    )
    client = client_for(cast.admin)
    here = client.get(f"/notifications/?workspace={cast.workspace.pk}")
    elsewhere = client.get(f"/notifications/?workspace={cast.other_workspace.pk}")
    assert here.status_code == elsewhere.status_code == 200
    assert "The Harbour alert" in here.text and WORKER_STOPPED not in here.text
    assert WORKER_STOPPED in elsewhere.text and "The Harbour alert" not in elsewhere.text
    assert unread_count(user=cast.admin, workspace_id=cast.workspace.pk) == 1
    assert unread_count(user=cast.admin, workspace_id=cast.other_workspace.pk) == 1
    assert client.post("/notifications/read/").status_code == 302  # in the last one opened
    assert unread_count(user=cast.admin, workspace_id=cast.workspace.pk) == 1
