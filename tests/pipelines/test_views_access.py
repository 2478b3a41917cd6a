"""Who reaches Jobs → Pipelines: Admins only; other members get 403, another workspace's ids
404, and with the Jobs module off every page is a 404 for everyone."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from jobline.pipelines.models import Pipeline
from tests.conftest import Cast, client_for
from tests.pipelines.conftest import field_named, stage_named

PAGES = ["detail", "stage_edit", "stage_delete", "field_edit"]
POST_ONLY = [
    "archive",
    "restore",
    "stage_create",
    "stage_move",
    "stage_reorder",
    "field_create",
    "field_retire",
    "field_move",
]
KWARG = {
    "detail": "pipeline_id",
    "archive": "pipeline_id",
    "restore": "pipeline_id",
    "stage_create": "pipeline_id",
    "stage_edit": "stage_id",
    "stage_delete": "stage_id",
    "stage_move": "stage_id",
    "stage_reorder": "stage_id",
    "field_create": "stage_id",
    "field_edit": "field_id",
    "field_retire": "field_id",
    "field_move": "field_id",
}


def ids_of(pipeline: Pipeline) -> dict[str, int]:
    stage = stage_named(pipeline, "Initial appointment")
    return {
        "pipeline_id": pipeline.pk,
        "stage_id": stage.pk,
        "field_id": field_named(stage, "Treatment").pk,
    }


def url(name: str, pipeline: Pipeline) -> str:
    if name not in KWARG:
        return reverse(f"pipelines:{name}")
    kwarg = KWARG[name]
    return reverse(f"pipelines:{name}", kwargs={kwarg: ids_of(pipeline)[kwarg]})


ALL_ROUTES = ["list", "create", "create_from_template", *PAGES, *POST_ONLY]


def test_the_url_kwargs_are_the_three_known_ids() -> None:
    assert set(KWARG.values()) == {"pipeline_id", "stage_id", "field_id"}


@pytest.mark.parametrize("name", ["list", "create", *PAGES])
def test_admin_opens_every_page(name: str, beauty: Pipeline, as_admin: Client) -> None:
    response = as_admin.get(url(name, beauty))
    assert response.status_code == 200
    assert response.content.count(b"<h1") == 1


@pytest.mark.parametrize("name", ["create_from_template", *POST_ONLY])
def test_post_only_urls_refuse_get(name: str, beauty: Pipeline, as_admin: Client) -> None:
    assert as_admin.get(url(name, beauty)).status_code == 405


@pytest.mark.parametrize("role", ["manager", "staff"])
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name", ALL_ROUTES)
def test_managers_and_staff_get_403(
    role: str, method: str, name: str, cast: Cast, beauty: Pipeline
) -> None:
    client = client_for(getattr(cast, role))
    before = Pipeline.objects.count()
    response = getattr(client, method)(url(name, beauty), {"direction": "up"})
    assert response.status_code == 403
    assert Pipeline.objects.count() == before


@pytest.mark.parametrize("name", [*PAGES, *POST_ONLY])
def test_another_workspaces_ids_are_404(
    name: str, beauty: Pipeline, elsewhere: Pipeline, as_admin: Client, as_outsider: Client
) -> None:
    # Harbour's admin reaching for Elsewhere's objects, and Elsewhere's admin for Harbour's.
    assert as_admin.post(url(name, elsewhere), {"direction": "up"}).status_code == 404
    assert as_outsider.post(url(name, beauty), {"direction": "up"}).status_code == 404
    if name in PAGES:
        assert as_admin.get(url(name, elsewhere)).status_code == 404
        assert as_outsider.get(url(name, beauty)).status_code == 404


@pytest.mark.parametrize("role", ["admin", "manager", "staff"])
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name", ALL_ROUTES)
def test_with_jobs_switched_off_every_url_is_404(
    role: str, method: str, name: str, cast: Cast, beauty: Pipeline
) -> None:
    cast.workspace.module_jobs = False
    cast.workspace.save(update_fields=["module_jobs"])
    client = client_for(getattr(cast, role))
    assert getattr(client, method)(url(name, beauty)).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client: Client, beauty: Pipeline) -> None:
    response = client.get(url("detail", beauty))
    assert response.status_code == 302
    assert "/accounts/" in response["Location"]
