"""Prepared queries (core/prepared.py): compiled once per shape, they return what the plain
queryset returns, for every viewer, and fail closed where the rule does.

The expected rows here come from the plain querysets (what Django compiles for the real
values), never from the prepared machinery; the check mode (on in the whole suite) is shown
to catch a builder that reads something other than its arguments."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobline.core import prepared
from jobline.core.prepared import NotPreparable, PreparedQuery, PreparedQueryMismatch
from jobline.jobs import services
from jobline.jobs.models import Activity, Job, Visibility
from jobline.pipelines.models import Pipeline
from jobline.workspaces.viewers import customer_viewer, member_viewer
from tests.conftest import Cast


def viewers(cast: Cast) -> dict[str, Any]:
    return {
        "admin": member_viewer(cast.membership(cast.admin)),
        "staff": member_viewer(cast.membership(cast.staff)),
        "customer": customer_viewer(cast.customer),
        "other customer": customer_viewer(cast.second_customer),
        "none": None,
    }


def feed_of(viewer: Any, job: Job) -> Any:
    return Activity.objects.select_related("actor").visible_to(viewer, job).order_by("-id")


@pytest.fixture
def two_jobs(cast: Cast, repair: Pipeline, job: Job) -> tuple[Job, Job]:
    services.message_add(
        job=job, body="Screen ordered", visibility=Visibility.CUSTOMER, actor=cast.admin
    )
    services.message_add(
        job=job, body="Supplier owes us", visibility=Visibility.INTERNAL, actor=cast.admin
    )
    other = services.job_create(
        workspace=cast.workspace,
        pipeline=repair,
        title="Tom's tablet",
        actor=cast.admin,
        owner=cast.staff,
        customer=cast.second_customer,
    )
    return job, other


def test_every_viewer_gets_the_plain_querysets_rows(
    cast: Cast, two_jobs: tuple[Job, Job], settings: Any
) -> None:
    settings.JOBLINE_CHECK_PREPARED_QUERIES = False  # the comparison below is the check
    query = PreparedQuery(feed_of, name="test feed")
    for job in two_jobs:
        for name, viewer in viewers(cast).items():
            expected = [(a.pk, a.kind, a.actor_id) for a in feed_of(viewer, job)]
            got = [(a.pk, a.kind, a.actor_id) for a in query.list(viewer=viewer, job=job)]
            assert got == expected, name
    # The customer's own job shows them less than staff see, and another's nothing.
    job, other = two_jobs
    staff_rows = query.list(viewer=viewers(cast)["staff"], job=job)
    customer_rows = query.list(viewer=viewers(cast)["customer"], job=job)
    assert 0 < len(customer_rows) < len(staff_rows)
    assert query.list(viewer=viewers(cast)["customer"], job=other) == []
    # Related objects come along as the plain queryset loads them.
    admin = viewers(cast)["admin"]
    with CaptureQueriesContext(connection) as queries:
        rows = query.list(viewer=admin, job=job)
        assert {row.actor.email for row in rows if row.actor_id} == {cast.admin.email}
    assert len(queries) == 1


def test_a_shape_is_compiled_once_and_serves_other_values(
    cast: Cast, two_jobs: tuple[Job, Job]
) -> None:
    query = PreparedQuery(feed_of, name="test feed")
    job, other = two_jobs
    admin = viewers(cast)["admin"]
    first = query.list(viewer=admin, job=job)
    second = query.list(viewer=admin, job=other)
    assert len(query._shapes) == 1
    assert {a.job_id for a in first} == {job.pk}
    assert {a.job_id for a in second} == {other.pk}


def test_a_job_of_another_workspace_or_customer_gets_nothing(
    cast: Cast, two_jobs: tuple[Job, Job]
) -> None:
    """The rule's own Python check (the job in hand against the viewer) takes the same branch
    on the templates as on the real values: equal ids share a placeholder."""
    query = PreparedQuery(feed_of, name="test feed")
    job, other = two_jobs
    customer = viewers(cast)["customer"]
    assert query.list(viewer=customer, job=job)  # the shape of "their own job" first
    assert query.list(viewer=customer, job=other) == []
    outsider = member_viewer(
        type(cast.membership(cast.admin)).objects.get(
            user=cast.outsider, workspace=cast.other_workspace
        )
    )
    assert query.list(viewer=member_viewer(cast.membership(cast.admin)), job=job)
    assert query.list(viewer=outsider, job=job) == []


def test_values_bound_as_datetimes_texts_and_constants(
    cast: Cast, two_jobs: tuple[Job, Job]
) -> None:
    job, _other = two_jobs
    entries = list(Activity.objects.filter(job=job).order_by("created_at", "id"))
    middle = entries[1].created_at
    query = PreparedQuery(
        lambda job_id, after, kind, size: Activity.objects.filter(
            job_id=job_id, created_at__gte=after, kind=kind
        ).order_by("id")[:size],
        name="test entries",
        constants=("size",),
        texts=("kind",),
    )
    kind = entries[1].kind
    expected = [
        a.pk for a in Activity.objects.filter(job=job, created_at__gte=middle, kind=kind)[:5]
    ]
    assert [a.pk for a in query.list(job_id=job.pk, after=middle, kind=kind, size=5)] == expected
    later = timezone.now() + dt.timedelta(days=1)
    assert query.list(job_id=job.pk, after=later, kind=kind, size=5) == []
    assert query.list(job_id=job.pk, after=middle, kind="no such kind", size=5) == []
    assert len(query._shapes) == 1
    # A page size is part of the SQL's text: another size is another shape.
    assert len(query.list(job_id=job.pk, after=entries[0].created_at, kind=kind, size=1)) <= 1
    assert len(query._shapes) == 2


def test_the_check_catches_a_builder_that_reads_the_clock(cast: Cast, job: Job) -> None:
    query = PreparedQuery(
        lambda job_id: Activity.objects.filter(job_id=job_id, created_at__lt=timezone.now()),
        name="reads the clock",
    )
    with pytest.raises(PreparedQueryMismatch):  # its clock is not the plain queryset's
        query.list(job_id=job.pk)


def test_the_check_catches_a_builder_that_reads_outside_state(cast: Cast, job: Job) -> None:
    state = {"visibility": Visibility.CUSTOMER}
    query = PreparedQuery(
        lambda job_id: Activity.objects.filter(job_id=job_id, visibility=state["visibility"]),
        name="reads a global",
    )
    query.list(job_id=job.pk)
    state["visibility"] = Visibility.INTERNAL
    with pytest.raises(PreparedQueryMismatch):
        query.list(job_id=job.pk)


def test_what_cannot_be_prepared_runs_plain_or_is_refused_under_the_check(
    cast: Cast, job: Job, settings: Any
) -> None:
    related = PreparedQuery(lambda job: job.activities.all(), name="related manager")
    with pytest.raises(NotPreparable):
        related.list(job=job)
    settings.JOBLINE_CHECK_PREPARED_QUERIES = False
    assert [a.pk for a in related.list(job=job)] == [a.pk for a in job.activities.all()]
    like = PreparedQuery(
        lambda title: Job.objects.filter(title__icontains=title), name="like", texts=("title",)
    )
    assert [j.pk for j in like.list(title="iPhone")] == [job.pk]


def test_an_empty_rule_is_remembered_as_empty_and_runs_no_query(cast: Cast, job: Job) -> None:
    query = PreparedQuery(lambda viewer: Job.objects.visible_to(viewer), name="jobs")
    assert query.list(viewer=None) == []
    with CaptureQueriesContext(connection) as queries:
        assert query.list(viewer=None) == []
    assert len(queries) == 0
    assert query._shapes[next(iter(query._shapes))] is prepared._EMPTY


def test_a_count_is_the_plain_querysets_count(cast: Cast, two_jobs: tuple[Job, Job]) -> None:
    query = PreparedQuery(feed_of, name="test feed")
    for job in two_jobs:
        for name, viewer in viewers(cast).items():
            assert query.count(viewer=viewer, job=job) == feed_of(viewer, job).count(), name
    job, _other = two_jobs
    assert query.count(viewer=viewers(cast)["customer"], job=job) > 0


def test_raw_rows_are_the_plain_values_lists_rows_for_every_viewer(
    cast: Cast, two_jobs: tuple[Job, Job], settings: Any
) -> None:
    settings.JOBLINE_CHECK_PREPARED_QUERIES = False  # the comparison below is the check

    def ids_of(viewer: Any, job: Job) -> Any:
        return feed_of(viewer, job).values_list("pk", "job_id")

    query = PreparedQuery(ids_of, name="test feed ids")
    for job in two_jobs:
        for name, viewer in viewers(cast).items():
            expected = [tuple(row) for row in ids_of(viewer, job)]
            got = [tuple(row) for row in query.raw_rows(viewer=viewer, job=job)]
            assert got == expected, name
    assert len(query._shapes) <= len(viewers(cast))
    assert query.raw_rows(viewer=viewers(cast)["customer"], job=two_jobs[1]) == []


def test_a_job_read_with_deferred_fields_costs_no_query_of_its_own(
    cast: Cast, two_jobs: tuple[Job, Job]
) -> None:
    """The job page reads the job without its search text; using that job as an argument
    must not load the text back (it once cost the page a query)."""
    query = PreparedQuery(feed_of, name="test feed")
    job, _other = two_jobs
    admin = viewers(cast)["admin"]
    query.list(viewer=admin, job=job)  # the shape is compiled
    deferred = Job.objects.defer("search_text").get(pk=job.pk)
    with CaptureQueriesContext(connection) as queries:
        rows = query.list(viewer=admin, job=deferred)
    assert len(queries) == 1, [q["sql"] for q in queries.captured_queries]
    assert {row.job_id for row in rows} == {job.pk}
    assert "search_text" in deferred.get_deferred_fields()
