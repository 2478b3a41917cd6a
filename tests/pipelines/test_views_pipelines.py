"""Pipelines list, "New pipeline" (blank or from a template), settings, archive and restore."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from jobline.pipelines.blueprints import BLUEPRINTS
from jobline.pipelines.models import Pipeline
from tests.conftest import Cast
from tests.pipelines.conftest import live_names, make_jobs, stage_named

NEW = reverse("pipelines:create")
FROM_TEMPLATE = reverse("pipelines:create_from_template")


def editor(pipeline: Pipeline) -> str:
    return reverse("pipelines:detail", kwargs={"pipeline_id": pipeline.pk})


def assert_csp_safe(html: str) -> None:
    """The CSP forbids inline styles and scripts: none may be in our pages."""
    assert " style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)


def test_new_pipeline_page_previews_every_template(as_admin: Client) -> None:
    response = as_admin.get(NEW)
    html = response.content.decode()
    assert response.status_code == 200
    for blueprint in BLUEPRINTS:
        assert blueprint.name in html
        for stage in blueprint.stages:
            assert stage.name in html
    assert_csp_safe(html)


def test_admin_creates_a_blank_pipeline(cast: Cast, as_admin: Client) -> None:
    response = as_admin.post(NEW, {"blank-name": "  Odd jobs ", "blank-description": "Small"})
    pipeline = Pipeline.objects.get(workspace=cast.workspace)
    assert response.status_code == 302
    assert response["Location"] == editor(pipeline)
    assert (pipeline.name, pipeline.description) == ("Odd jobs", "Small")
    assert live_names(pipeline) == ["New", "Done"]


def test_a_blank_name_is_refused_and_the_description_kept(cast: Cast, as_admin: Client) -> None:
    response = as_admin.post(NEW, {"blank-name": "   ", "blank-description": "Keep me"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Give the pipeline a name." in html
    assert "Keep me" in html
    assert not Pipeline.objects.filter(workspace=cast.workspace).exists()


def test_admin_creates_from_a_template_with_its_name_by_default(
    cast: Cast, as_admin: Client
) -> None:
    response = as_admin.post(FROM_TEMPLATE, {"tpl-template": "repair", "tpl-name": ""})
    pipeline = Pipeline.objects.get(workspace=cast.workspace)
    assert response.status_code == 302
    assert pipeline.name == "Device repair"
    assert live_names(pipeline)[:2] == ["Drop-off", "Diagnosis"]


def test_a_template_pipeline_can_be_named(cast: Cast, as_admin: Client) -> None:
    as_admin.post(FROM_TEMPLATE, {"tpl-template": "legal", "tpl-name": "Conveyancing"})
    assert Pipeline.objects.get(workspace=cast.workspace).name == "Conveyancing"


@pytest.mark.parametrize("choice", [None, "spaceship"])
def test_no_or_an_unknown_template_is_refused(
    choice: str | None, cast: Cast, as_admin: Client
) -> None:
    data = {"tpl-name": "My repairs"}
    if choice:
        data["tpl-template"] = choice
    response = as_admin.post(FROM_TEMPLATE, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose one of the templates." in html
    assert 'value="My repairs"' in html
    assert not Pipeline.objects.filter(workspace=cast.workspace).exists()


def test_editor_shows_stages_in_order_with_flags_labels_and_job_counts(
    cast: Cast, repair: Pipeline, as_admin: Client
) -> None:
    make_jobs(cast, repair, stage_named(repair, "Quote"), 2)
    response = as_admin.get(editor(repair))
    html = response.content.decode()
    assert response.status_code == 200
    names = re.findall(r'class="pl-stage-name"[^>]*>([^<]+)<', html)
    assert names == live_names(repair)
    assert "Customer sees “Being checked”" in html
    assert html.count('chip-won">Finishes the job</span>') == 1
    assert html.count('chip-lost">Lost</span>') == 1
    internal_row = html.split(f'id="stage-{stage_named(repair, "Awaiting parts").pk}"')[1]
    assert "chip-internal" in internal_row.split("</li>")[0]
    assert '<svg class="icon"' in internal_row.split("</li>")[0]  # the lock
    quote_row = html.split(f'id="stage-{stage_named(repair, "Quote").pk}"')[1].split("</li>")[0]
    assert "2 jobs" in quote_row
    assert 'fill="#d97706"' in quote_row  # the swatch, as an SVG attribute the CSP allows
    assert "2 active jobs" in html
    assert_csp_safe(html)


def test_settings_are_saved(repair: Pipeline, as_admin: Client) -> None:
    response = as_admin.post(
        editor(repair),
        {
            "settings-name": "Phone repairs",
            "settings-description": "",
            "settings-customers_can_upload": "on",
        },
    )
    assert response.status_code == 302
    repair.refresh_from_db()
    assert repair.name == "Phone repairs"
    assert (repair.customers_can_reply, repair.customers_can_upload) == (False, True)


def test_settings_with_a_blank_name_are_refused_and_input_kept(
    repair: Pipeline, as_admin: Client
) -> None:
    response = as_admin.post(
        editor(repair), {"settings-name": "", "settings-description": "Typed text"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Give the pipeline a name." in html
    assert "Typed text" in html
    assert "<h1>Device repair" in html  # the heading keeps the saved name
    repair.refresh_from_db()
    assert repair.name == "Device repair"
    assert repair.customers_can_reply is True


def test_archive_hides_from_the_list_and_restore_brings_back(
    repair: Pipeline, as_admin: Client
) -> None:
    listing = reverse("pipelines:list")
    assert as_admin.post(reverse("pipelines:archive", args=[repair.pk])).status_code == 302
    repair.refresh_from_db()
    assert repair.is_archived
    link = f'href="{editor(repair)}">Device repair</a>'
    assert link not in as_admin.get(listing).content.decode()
    everything = as_admin.get(listing, {"show": "all"}).content.decode()
    assert link in everything and "chip-archived" in everything
    as_admin.post(reverse("pipelines:restore", args=[repair.pk]))
    repair.refresh_from_db()
    assert not repair.is_archived
    assert link in as_admin.get(listing).content.decode()


def test_list_shows_stage_and_job_counts(cast: Cast, repair: Pipeline, as_admin: Client) -> None:
    make_jobs(cast, repair, stage_named(repair, "Fix"), 3)
    html = as_admin.get(reverse("pipelines:list")).content.decode()
    row = html.split("Device repair")[1].split("</tr>")[0]
    assert re.findall(r"<td[^>]*>(\d+)</td>", row) == ["9", "3"]


def test_empty_list_offers_the_next_step(as_admin: Client) -> None:
    html = as_admin.get(reverse("pipelines:list")).content.decode()
    assert "No active pipelines" in html and NEW in html
