"""What the portal's pages read: the same number of queries however many jobs, entries,
files and requests there are, and each of the job's reads made once per page (the page's
details, history, files and requests share them: jobs.customer_view.CustomerJob)."""

from __future__ import annotations

import io
from collections import Counter

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image

from jobline.jobs import requests as document_requests
from jobline.jobs.models import Job
from jobline.jobs.services import job_create, message_add
from jobline.jobs.uploads import attachment_add
from jobline.pipelines.models import FieldType, Pipeline
from jobline.pipelines.services import field_create
from tests.conftest import Cast
from tests.jobs.conftest import stage


def queries_of(client: Client, url: str) -> list[str]:
    """The reads of one request (the job page also writes when the customer last saw it)."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]


def png(name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue())


def tables(sql: list[str]) -> Counter[str]:
    return Counter(s.split('FROM "', 1)[1].split('"', 1)[0] for s in sql if 'FROM "' in s)


def test_the_job_list_reads_the_same_for_one_job_or_several(
    portal: Cast, repair: Pipeline, priya_job: Job, as_priya: Client
) -> None:
    one = queries_of(as_priya, "/user/jobs/")
    for owner in (portal.admin, portal.manager, None):
        job_create(
            workspace=portal.workspace, pipeline=repair, title="Another", actor=portal.admin,
            owner=owner, customer=portal.customer,
        )  # fmt: skip
    several = queries_of(as_priya, "/user/jobs/")
    assert len(several) == len(one), several
    # The person is read once (after their memberships: none); each card's owner comes with
    # its job.
    assert tables(several)["accounts_user"] == 1, several


def test_the_job_page_reads_each_thing_once_however_much_the_job_has(
    portal: Cast, repair: Pipeline, priya_job: Job, as_priya: Client
) -> None:
    url = f"/user/jobs/{priya_job.pk}/"
    field_create(
        stage=stage(repair, "Drop-off"), actor=portal.admin, label="Serial number",
        field_type=FieldType.TEXT, visible_to_customer=True,
    )  # fmt: skip
    before = queries_of(as_priya, url)
    for index in range(3):
        message_add(job=priya_job, body=f"Update {index}", visibility="customer",
                    actor=portal.staff)  # fmt: skip
        attachment_add(job=priya_job, upload=png(f"photo-{index}.png"), visibility="customer",
                       actor=portal.admin)  # fmt: skip
        document_requests.request_create(job=priya_job, title=f"Document {index}",
                                         actor=portal.admin)  # fmt: skip
    after = queries_of(as_priya, url)
    assert len(after) == len(before), after
    read = tables(after)
    # The details and the history share the fields; the files list, the history and the
    # requests share the files; the stepper and the history share the stages.
    assert read["pipelines_stagefield"] == 1, after
    assert read["jobs_attachment"] == 1, after
    assert read["pipelines_stage"] == 1, after
