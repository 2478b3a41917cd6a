"""Portal fixtures: Harbour's portal is on; Priya (the customer) and Tom (the second
customer) each sign in as themselves and each have a job."""

from __future__ import annotations

import pytest
from django.test import Client

from jobline.accounts.models import User
from jobline.jobs.models import Job
from jobline.jobs.services import job_create
from jobline.pipelines.models import Pipeline
from jobline.pipelines.services import pipeline_create_from_blueprint
from tests.conftest import Cast, client_for, make_user


@pytest.fixture
def portal(cast: Cast) -> Cast:
    cast.workspace.portal_enabled = True
    cast.workspace.save(update_fields=["portal_enabled"])
    for customer in (cast.customer, cast.second_customer):
        customer.portal_user = make_user(customer.email, customer.name)
        customer.save(update_fields=["portal_user"])
    return cast


@pytest.fixture
def repair(portal: Cast) -> Pipeline:
    return pipeline_create_from_blueprint(
        workspace=portal.workspace, blueprint_key="repair", actor=portal.admin
    )


@pytest.fixture
def priya_job(portal: Cast, repair: Pipeline) -> Job:
    return job_create(
        workspace=portal.workspace, pipeline=repair, title="Priya's phone", actor=portal.admin,
        owner=portal.staff, customer=portal.customer,
    )  # fmt: skip


@pytest.fixture
def tom_job(portal: Cast, repair: Pipeline) -> Job:
    return job_create(
        workspace=portal.workspace, pipeline=repair, title="Tom's tablet", actor=portal.admin,
        customer=portal.second_customer,
    )  # fmt: skip


@pytest.fixture
def priya(portal: Cast) -> User:
    return portal.customer.portal_user


@pytest.fixture
def as_priya(priya: User) -> Client:
    return client_for(priya)


@pytest.fixture
def as_tom(portal: Cast) -> Client:
    return client_for(portal.second_customer.portal_user)
