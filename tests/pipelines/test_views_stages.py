"""Adding, editing, ordering (buttons and drag) and deleting stages through the pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jobline.jobs.models import Activity, ActivityKind, Job
from jobline.pipelines.models import Pipeline, Stage
from tests.conftest import Cast
from tests.pipelines.conftest import live_names, make_jobs, stage_named

FETCH = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}


def stage_data(**overrides: Any) -> dict[str, Any]:
    data = {"stage-name": "Invoice", "stage-colour": "#0d9488", "stage-customer_label": ""}
    data.update({f"stage-{k}": v for k, v in overrides.items()})
    return {k: v for k, v in data.items() if v is not None}


def edit_url(stage: Stage) -> str:
    return reverse("pipelines:stage_edit", kwargs={"stage_id": stage.pk})


def delete_url(stage: Stage) -> str:
    return reverse("pipelines:stage_delete", kwargs={"stage_id": stage.pk})


def reorder(client: Client, stage: Stage, before: Stage | int | str, **extra: Any):
    value = before.pk if isinstance(before, Stage) else before
    url = reverse("pipelines:stage_reorder", kwargs={"stage_id": stage.pk})
    return client.post(url, {"before": value}, **extra)


# Adding -------------------------------------------------------------------------------------


def test_add_stage_places_it_before_the_finishing_stages(
    repair: Pipeline, as_admin: Client
) -> None:
    url = reverse("pipelines:stage_create", kwargs={"pipeline_id": repair.pk})
    response = as_admin.post(url, stage_data(internal="on", customer_label="Paying"))
    invoice = stage_named(repair, "Invoice")
    assert response.status_code == 302
    assert response["Location"].endswith(f"#stage-{invoice.pk}")
    assert live_names(repair)[-3:] == ["Invoice", "Collected", "Returned unrepaired"]
    assert (invoice.colour, invoice.visible_to_customer, invoice.customer_label) == (
        "#0d9488",
        False,
        "Paying",
    )


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": "  "}, "name", "Give the stage a name."),
        ({"colour": "red"}, "colour", "Choose a colour (#rrggbb)."),
        ({"colour": "#12345g"}, "colour", "Choose a colour (#rrggbb)."),
        ({"is_cancelled": "on"}, "is_cancelled", "Only a stage that finishes the job can be lost."),
    ],
)
def test_bad_stage_input_is_refused_with_a_message_and_kept(
    overrides: dict[str, str], field: str, message: str, repair: Pipeline, as_admin: Client
) -> None:
    url = reverse("pipelines:stage_create", kwargs={"pipeline_id": repair.pk})
    before = live_names(repair)
    response = as_admin.post(url, stage_data(customer_label="Kept label", **overrides))
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'value="Kept label"' in html
    assert live_names(repair) == before


# Editing -----------------------------------------------------------------------------------


def test_stage_page_shows_its_settings_and_job_form(repair: Pipeline, as_admin: Client) -> None:
    diagnosis = stage_named(repair, "Diagnosis")
    html = as_admin.get(edit_url(diagnosis)).content.decode()
    assert "<h1>Diagnosis</h1>" in html
    assert 'type="color"' in html and 'value="#2563eb"' in html
    assert 'value="Being checked"' in html
    assert "Stage 2 of 9" in html
    labels = re.findall(r'<tr id="field-\d+">\s*<td>\s*<strong>([^<]+)<', html)
    assert labels == ["Device model", "Fault found", "IMEI / serial"]
    assert 'data-colour="#2563eb"' in html and 'data-text-colour="#ffffff"' in html


def test_stage_edit_saves(repair: Pipeline, as_admin: Client) -> None:
    fix = stage_named(repair, "Fix")
    response = as_admin.post(edit_url(fix), stage_data(name="Repair", colour="#FFEEDD"))
    assert response.status_code == 302
    fix.refresh_from_db()
    assert (fix.name, fix.colour, fix.customer_label, fix.visible_to_customer) == (
        "Repair",
        "#ffeedd",
        "",
        True,
    )


def test_stage_edit_refuses_to_leave_no_won_stage(blank: Pipeline, as_admin: Client) -> None:
    done = stage_named(blank, "Done")
    response = as_admin.post(
        edit_url(done), stage_data(name="Given up", is_terminal="on", is_cancelled="on")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "needs at least one finishing stage that is not" in html
    assert 'value="Given up"' in html
    assert "<h1>Done</h1>" in html
    done.refresh_from_db()
    assert (done.name, done.is_cancelled) == ("Done", False)


# Ordering ----------------------------------------------------------------------------------


def test_move_up_and_down_buttons(repair: Pipeline, as_admin: Client) -> None:
    quote = stage_named(repair, "Quote")
    url = reverse("pipelines:stage_move", kwargs={"stage_id": quote.pk})
    response = as_admin.post(url, {"direction": "up"})
    assert response.status_code == 302
    assert response["Location"].endswith(f"#stage-{quote.pk}")
    assert live_names(repair)[:3] == ["Drop-off", "Quote", "Diagnosis"]
    as_admin.post(url, {"direction": "down"})
    as_admin.post(url, {"direction": "down"})
    assert live_names(repair)[:4] == ["Drop-off", "Diagnosis", "Approval", "Quote"]
    assert as_admin.post(url, {"direction": "sideways"}).status_code == 400


def test_drag_reorder_answers_with_the_new_list(repair: Pipeline, as_admin: Client) -> None:
    fix = stage_named(repair, "Fix")
    response = reorder(as_admin, fix, stage_named(repair, "Drop-off"), **FETCH)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="stages"')
    assert re.findall(r'class="pl-stage-name"[^>]*>([^<]+)<', html) == live_names(repair)
    assert live_names(repair)[0] == "Fix"


def test_drag_reorder_to_the_end_and_onto_itself(repair: Pipeline, as_admin: Client) -> None:
    drop_off = stage_named(repair, "Drop-off")
    assert reorder(as_admin, drop_off, drop_off, **FETCH).status_code == 200
    assert live_names(repair)[0] == "Drop-off"
    assert reorder(as_admin, drop_off, "", **FETCH).status_code == 200
    assert live_names(repair)[-1] == "Drop-off"


def test_drag_reorder_refuses_a_stage_of_another_pipeline_or_workspace(
    repair: Pipeline, blank: Pipeline, elsewhere: Pipeline, as_admin: Client
) -> None:
    fix = stage_named(repair, "Fix")
    before = live_names(repair)
    for foreign in (stage_named(blank, "New"), elsewhere.stages.first(), "abc"):
        response = reorder(as_admin, fix, foreign, **FETCH)
        assert response.status_code == 400
        assert b"Choose a stage of this pipeline" in response.content
    # Without JavaScript's header: back to the editor with the message.
    response = reorder(as_admin, fix, stage_named(blank, "New"))
    assert response.status_code == 302
    assert live_names(repair) == before


def test_drag_reorder_without_fetch_redirects_back(repair: Pipeline, as_admin: Client) -> None:
    fix = stage_named(repair, "Fix")
    response = reorder(as_admin, fix, stage_named(repair, "Quote"))
    assert response.status_code == 302
    assert live_names(repair)[2] == "Fix"


# Deleting ----------------------------------------------------------------------------------


def test_delete_page_says_how_many_jobs_and_offers_the_other_stages(
    cast: Cast, repair: Pipeline, elsewhere: Pipeline, as_admin: Client
) -> None:
    diagnosis = stage_named(repair, "Diagnosis")
    make_jobs(cast, repair, diagnosis, 2)
    html = as_admin.get(delete_url(diagnosis)).content.decode()
    assert "2 jobs are in Diagnosis." in html
    options = re.findall(r'<option value="(\d+)"', html)
    expected = [s.pk for s in Stage.objects.filter(pipeline=repair, deleted_at__isnull=True)]
    expected.remove(diagnosis.pk)
    assert sorted(map(int, options)) == sorted(expected)


def test_delete_counts_and_moves_archived_jobs_too(
    cast: Cast, repair: Pipeline, as_admin: Client
) -> None:
    diagnosis, fix = stage_named(repair, "Diagnosis"), stage_named(repair, "Fix")
    jobs = make_jobs(cast, repair, diagnosis, 2)
    Job.objects.filter(pk=jobs[0].pk).update(archived_at=timezone.now())
    page = as_admin.get(delete_url(diagnosis)).content.decode()
    assert "2 jobs are in Diagnosis (1 archived)." in page
    assert as_admin.post(delete_url(diagnosis), {"move_jobs_to": fix.pk}).status_code == 302
    assert set(Job.objects.filter(pk__in=[j.pk for j in jobs]).values_list("stage", flat=True)) == {
        fix.pk
    }


def test_delete_with_jobs_needs_a_target(cast: Cast, repair: Pipeline, as_admin: Client) -> None:
    diagnosis = stage_named(repair, "Diagnosis")
    make_jobs(cast, repair, diagnosis, 2)
    response = as_admin.post(delete_url(diagnosis), {"move_jobs_to": ""})
    assert response.status_code == 400
    assert "2 jobs are in this stage. Choose where they go." in response.content.decode()
    assert "Diagnosis" in live_names(repair)


@pytest.mark.parametrize("where", ["other pipeline", "other workspace", "itself", "nonsense"])
def test_delete_refuses_a_foreign_move_target(
    where: str,
    cast: Cast,
    repair: Pipeline,
    blank: Pipeline,
    elsewhere: Pipeline,
    as_admin: Client,
) -> None:
    diagnosis = stage_named(repair, "Diagnosis")
    (job,) = make_jobs(cast, repair, diagnosis, 1)
    target = {
        "other pipeline": stage_named(blank, "New").pk,
        "other workspace": elsewhere.stages.first().pk,
        "itself": diagnosis.pk,
        "nonsense": "x",
    }[where]
    response = as_admin.post(delete_url(diagnosis), {"move_jobs_to": target})
    assert response.status_code == 400
    assert "Choose another stage of this pipeline." in response.content.decode()
    job.refresh_from_db()
    assert job.stage == diagnosis
    assert "Diagnosis" in live_names(repair)


def test_delete_moves_the_jobs_logs_each_move_and_removes_the_stage(
    cast: Cast, repair: Pipeline, as_admin: Client
) -> None:
    diagnosis, quote = stage_named(repair, "Diagnosis"), stage_named(repair, "Quote")
    jobs = make_jobs(cast, repair, diagnosis, 3)
    response = as_admin.post(delete_url(diagnosis), {"move_jobs_to": quote.pk})
    assert response.status_code == 302
    assert response["Location"] == reverse("pipelines:detail", kwargs={"pipeline_id": repair.pk})
    assert "Diagnosis" not in live_names(repair)
    assert set(Job.objects.filter(pk__in=[j.pk for j in jobs]).values_list("stage", flat=True)) == {
        quote.pk
    }
    assert (
        Activity.objects.filter(job__in=jobs, kind=ActivityKind.STATUS_CHANGED, actor=cast.admin)
        .values("job")
        .distinct()
        .count()
        == 3
    )
    follow = as_admin.get(response["Location"]).content.decode()
    assert "Stage Diagnosis deleted; 3 jobs moved to Quote." in follow


def test_an_empty_stage_is_deleted_in_one_step(repair: Pipeline, as_admin: Client) -> None:
    approval = stage_named(repair, "Approval")
    html = as_admin.get(delete_url(approval)).content.decode()
    assert "No jobs are in Approval." in html and "<select" not in html
    assert as_admin.post(delete_url(approval)).status_code == 302
    assert "Approval" not in live_names(repair)


def test_deleting_the_only_won_stage_is_refused_with_a_clear_message(
    repair: Pipeline, as_admin: Client
) -> None:
    collected = stage_named(repair, "Collected")
    page = as_admin.get(delete_url(collected)).content.decode()
    assert "needs at least one finishing stage that is not" in page
    assert "Delete stage</button>" not in page
    response = as_admin.post(delete_url(collected))
    assert response.status_code == 400
    assert "needs at least one finishing stage that is not" in response.content.decode()
    assert "Collected" in live_names(repair)
