"""What the list, the board and a board move read and render: the same pages as before the
bench work (bench/README.md), from fewer queries and without per-row work that can be done
once per page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jobline.jobs import services
from jobline.jobs.models import Job
from jobline.pipelines.models import Pipeline
from jobline.pipelines.services import pipeline_create_from_blueprint
from tests.conftest import Cast
from tests.jobs.conftest import fill_required, stage
from tests.jobs.test_job_views import make_jobs


def selected_options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}" id="id_{name}">(.*?)</select>', html, re.S)
    assert select is not None, f"no <select> for {name}"
    return re.findall(r'<option value="([^"]*)" selected>', select.group(1))


def test_list_filters_keep_what_was_chosen(
    cast: Cast, job: Job, repair: Pipeline, standard: Pipeline, as_admin: Client
) -> None:
    quote = stage(repair, "Quote")
    page = as_admin.get(
        "/jobs/",
        {"pipeline": repair.pk, "stage": quote.pk, "owner": cast.staff.pk, "due": "overdue",
         "state": "closed", "sort": "due"},
    ).text  # fmt: skip
    assert selected_options(page, "pipeline") == [str(repair.pk)]
    assert selected_options(page, "stage") == [str(quote.pk)]
    assert selected_options(page, "owner") == [str(cast.staff.pk)]
    assert selected_options(page, "due") == ["overdue"]
    assert selected_options(page, "state") == ["closed"]
    assert selected_options(page, "sort") == ["due"]
    # Every active pipeline, every stage under its pipeline's name, every member.
    assert f'<option value="{standard.pk}">{standard.name}</option>' in page
    assert f'<option value="{quote.pk}" selected>{repair.name} → Quote</option>' in page
    assert f">{cast.manager.full_name}</option>" in page


def test_list_filters_default_to_everything_open_and_the_roles_owner(
    job: Job, as_admin: Client, as_staff: Client
) -> None:
    admin_page = as_admin.get("/jobs/").text
    assert selected_options(admin_page, "owner") == ["all"]
    assert selected_options(admin_page, "pipeline") == [""]
    assert selected_options(as_staff.get("/jobs/").text, "owner") == ["mine"]


def test_list_filter_options_escape_names(cast: Cast, repair: Pipeline, as_admin: Client) -> None:
    repair.name = "<b>Repairs</b>"
    repair.save()
    page = as_admin.get("/jobs/").text
    assert "<b>Repairs</b>" not in page
    assert "&lt;b&gt;Repairs&lt;/b&gt;" in page


def test_list_rows_and_board_cards_link_to_their_job(
    cast: Cast, repair: Pipeline, as_admin: Client
) -> None:
    jobs = make_jobs(cast, repair, 3)
    rows = as_admin.get("/jobs/", {"owner": "all"}).text
    column = as_admin.get(f"/jobs/board/stages/{jobs[0].stage_id}/more/").text
    full_board = as_admin.get(f"/jobs/board/{repair.pk}/", {"cards": "all"}).text
    for job in jobs:
        detail, move = (
            reverse("jobs:detail", args=[job.number]),
            reverse("jobs:move", args=[job.number]),
        )
        assert rows.count(f'href="{detail}"') == 2
        for html in (column, full_board):
            assert f'<a class="board-card-title" href="{detail}">' in html
            assert f'action="{move}"' in html and f'hx-post="{move}"' in html


def list_row(html: str, number: int) -> str:
    row = re.search(rf'<tr>\s*<td class="nowrap"><a href="/jobs/{number}/">.*?</tr>', html, re.S)
    assert row is not None, f"no row for job {number}"
    return row.group(0)


def test_list_rows_show_each_jobs_stage_pipeline_customer_owner_and_due_date(
    cast: Cast, repair: Pipeline, as_admin: Client
) -> None:
    cast.staff.full_name = "Sam <Tan>"
    cast.staff.save()
    cast.customer.name = "O'Neil & Sons"
    cast.customer.save()
    owned = services.job_create(
        workspace=cast.workspace, pipeline=repair, title="<script>x</script>", actor=cast.admin,
        owner=cast.staff, customer=cast.customer, due_date=dt.date(2020, 1, 2),
    )  # fmt: skip
    nobody = services.job_create(
        workspace=cast.workspace, pipeline=repair, title="Loose ends", actor=cast.admin
    )
    services.job_archive(job=nobody, actor=cast.admin)
    first = repair.stages.order_by("position").first()
    assert first is not None
    html = as_admin.get("/jobs/", {"owner": "all", "state": "all"}).text

    row = list_row(html, owned.number)
    assert f">{owned.reference}</a>" in row
    assert "&lt;script&gt;x&lt;/script&gt;" in row and "<script>" not in row
    assert f'data-bg="{first.colour}"' in row and f">{first.name}</span>" in row
    assert f">{repair.name}</span>" in row
    assert '<td class="hide-phone">O&#39;Neil &amp; Sons</td>' in row
    assert 'title="Sam &lt;Tan&gt;"' in row and ">S&lt;</span>" in row  # initials, escaped
    assert "2 Jan 2020 · overdue" in row and "chip-archived" not in row

    row = list_row(html, nobody.number)
    assert row.count('<td class="hide-phone">—</td>') == 2  # no customer, no owner
    assert '<span class="chip chip-archived">Archived</span>' in row
    assert "overdue" not in row


def test_the_lists_count_reads_the_jobs_alone(
    cast: Cast, repair: Pipeline, as_admin: Client
) -> None:
    # A count of the rows' values query kept their joins: 26 ms instead of 1 ms for 12,000
    # matches in bench/.
    make_jobs(cast, repair, 2)
    with CaptureQueriesContext(connection) as queries:
        assert as_admin.get("/jobs/", {"owner": "all", "pipeline": repair.pk}).status_code == 200
    counts = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT COUNT(*)") and 'FROM "jobs_job"' in q["sql"]
    ]
    assert len(counts) == 1 and "JOIN" not in counts[0], counts


@pytest.mark.parametrize(
    ("page", "most"),
    # The signed-in request itself costs 3 (session, user, membership) and a full page 2
    # more (the workspace switcher and the bell).
    # The job page: the job, its stages, their fields, the saved values, the feed, files,
    # document requests and whether the viewer follows it (a job's search text stays unread).
    [
        ("list", 10),
        ("list_pipeline", 10),
        ("list_results", 6),
        ("board", 10),
        ("column", 6),
        # The job page: its sections each read once (Payments and Follow-ups one query each).
        ("job", 13),
    ],
)
def test_pages_stay_within_their_query_budget(
    page: str, most: int, cast: Cast, repair: Pipeline, as_admin: Client
) -> None:
    jobs = make_jobs(cast, repair, 30)
    url, headers = {
        "list": ("/jobs/?owner=all", {}),
        # The chosen pipeline is checked against the page's list of pipelines, not read again.
        "list_pipeline": (f"/jobs/?owner=all&pipeline={repair.pk}", {}),
        "list_results": (
            "/jobs/?owner=all",
            {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "job-results"},
        ),
        "board": (f"/jobs/board/{repair.pk}/", {}),
        "column": (f"/jobs/board/stages/{jobs[0].stage_id}/more/", {}),
        "job": (f"/jobs/{jobs[0].number}/", {}),
    }[page]
    as_admin.get(url, **headers)
    with CaptureQueriesContext(connection) as queries:
        response = as_admin.get(url, **headers)
    assert response.status_code == 200
    assert len(queries) <= most, [q["sql"][:120] for q in queries.captured_queries]


def test_a_board_move_back_reads_only_what_the_card_needs(
    cast: Cast, job: Job, repair: Pipeline, as_staff: Client
) -> None:
    dropoff, diagnosis = stage(repair, "Drop-off"), stage(repair, "Diagnosis")
    fill_required(job, dropoff, cast.admin)
    job.refresh_from_db()
    job = services.job_move(
        job=job, stage=diagnosis, actor=cast.admin, expected_version=job.version
    )
    with CaptureQueriesContext(connection) as queries:
        response = as_staff.post(
            f"/jobs/{job.number}/move/",
            {"stage": dropoff.pk, "version": job.version, "from": "board"},
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "jobMoved"
    sql = [q["sql"] for q in queries.captured_queries]
    # Moving back needs no stage-form values (the view used to read them for every move).
    assert not any('FROM "jobs_fieldvalue"' in s for s in sql), sql
    # The card's owner and customer come from the job the view already read.
    assert not any('FROM "pipelines_pipeline"' in s for s in sql), sql
    # No query of its own for a user: the signed-in one comes joined to their memberships,
    # the card's owner joined to the job.
    assert not any('FROM "accounts_user"' in s for s in sql), sql
    assert f'data-stage="{dropoff.pk}"' in response.text
    assert f">{cast.staff.initials}</span>" in response.text
    assert cast.customer.name in response.text


def test_list_results_without_matches_say_why(cast: Cast, as_admin: Client) -> None:
    htmx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "job-results"}
    nothing_yet = as_admin.get("/jobs/", {"owner": "all"}, **htmx).text
    assert "No jobs yet" in nothing_yet
    pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="repair", actor=cast.admin
    )
    no_match = as_admin.get("/jobs/", {"owner": "all", "q": "nothing-like-this"}, **htmx).text
    assert "Change the filters, or create a job." in no_match


def test_copy_page_offers_the_other_active_pipelines_only(
    cast: Cast, job: Job, repair: Pipeline, standard: Pipeline, as_admin: Client
) -> None:
    assert f'href="/jobs/{job.number}/copy/"' in as_admin.get(f"/jobs/{job.number}/").text
    page = as_admin.get(f"/jobs/{job.number}/copy/")
    assert page.status_code == 200
    copy_select = re.search(r'<select name="pipeline"[^>]*>(.*?)</select>', page.text, re.S)
    assert copy_select is not None
    options = re.findall(r'<option value="([^"]*)"', copy_select.group(1))
    assert options == ["", str(standard.pk)]  # "Choose a pipeline", then the others
    response = as_admin.post(f"/jobs/{job.number}/copy/", {"pipeline": standard.pk})
    assert response.status_code == 302
    assert Job.objects.filter(pipeline=standard, copied_from=job).exists()


def test_copy_into_its_own_pipeline_is_refused_next_to_the_choice(
    cast: Cast, job: Job, repair: Pipeline, standard: Pipeline, as_admin: Client
) -> None:
    response = as_admin.post(f"/jobs/{job.number}/copy/", {"pipeline": repair.pk})
    assert response.status_code == 400
    assert "Choose another active pipeline of this workspace." in response.text
    assert not Job.objects.filter(copied_from=job).exists()
    job.refresh_from_db()
    assert job.archived_at is None


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the plan asked for is SQLite's")
def test_board_counts_read_the_open_jobs_stage_index(
    cast: Cast, repair: Pipeline, as_admin: Client
) -> None:
    # Through the plain stage_id index SQLite read every job row to check archived_at: 34 ms
    # for a 23,000-job board in bench/ instead of 2 ms.
    make_jobs(cast, repair, 3)
    with CaptureQueriesContext(connection) as queries:
        as_admin.get(f"/jobs/board/{repair.pk}/")
    count = next(
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "jobs_job"' in q["sql"]
        and "COUNT(*)" in q["sql"]
        and "stage_entered_at" not in q["sql"]
    )
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {count}")
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "job_stage_open_idx" in plan, plan


def test_the_job_page_reads_the_stage_fields_once(
    cast: Cast, job: Job, repair: Pipeline, as_admin: Client
) -> None:
    # The feed's form entries name fields; the stage forms have just read them all, so the
    # feed asks again only for fields of other stages (it used to ask every time).
    from jobline.pipelines.services import field_retire

    dropoff = stage(repair, "Drop-off")
    device = dropoff.fields.get(label="Device")
    services.form_save(
        job=job, stage=dropoff, values={device.pk: "Pixel 8"}, actor=cast.admin,
        expected_version=None,
    )  # fmt: skip
    field_retire(field=device, actor=cast.admin)
    as_admin.get(f"/jobs/{job.number}/")
    with CaptureQueriesContext(connection) as queries:
        page = as_admin.get(f"/jobs/{job.number}/").text
    assert "Device (retired field)" in page
    sql = [q["sql"] for q in queries.captured_queries]
    # Statements that read the fields (the values' query names them in a subquery only).
    reads = [s for s in sql if s.split(" FROM ", 1)[1].startswith('"pipelines_stagefield"')]
    assert len(reads) == 1, sql
    # 3 for the signed-in request, 2 for the layout, 1 for the follow button; the job, its
    # stages, feed, stage fields and values, the copy form's pipelines, files, requests.
    assert len(sql) <= 14, sql


def test_a_pipeline_filter_must_be_an_active_pipeline_of_the_workspace(
    cast: Cast, job: Job, repair: Pipeline, standard: Pipeline, as_admin: Client
) -> None:
    assert selected_options(as_admin.get("/jobs/", {"pipeline": repair.pk}).text, "pipeline") == [
        str(repair.pk)
    ]
    elsewhere = pipeline_create_from_blueprint(
        workspace=cast.other_workspace, blueprint_key="repair", actor=cast.outsider
    )
    standard.archived_at = standard.created_at
    standard.save()
    for wrong in (elsewhere.pk, standard.pk, "abc", "99999"):
        page = as_admin.get("/jobs/", {"pipeline": wrong, "owner": "all"})
        assert page.status_code == 200
        # Not a choice: the filter is not applied (the job of another pipeline still shows).
        assert job.title in page.text, wrong
    results = as_admin.get(
        "/jobs/", {"pipeline": standard.pk, "owner": "all"},
        HTTP_HX_REQUEST="true", HTTP_HX_TARGET="job-results",
    ).text  # fmt: skip
    assert job.title in results


def test_a_move_reuses_the_stage_and_customer_the_caller_read(cast: Cast, repair: Pipeline) -> None:
    """The service locks the job row again, but does not read its stages and customer again
    when the caller's job still points at the same ones."""
    job = services.job_create(
        workspace=cast.workspace, pipeline=repair, title="Tablet", actor=cast.admin,
        customer=cast.customer, owner=cast.staff,
    )  # fmt: skip
    fresh = Job.objects.select_related("stage", "customer_stage", "customer", "owner").get(
        pk=job.pk
    )
    diagnosis = stage(repair, "Diagnosis")
    with CaptureQueriesContext(connection) as queries:
        services.job_move(
            job=fresh, stage=diagnosis, actor=cast.admin,
            expected_version=fresh.version, enforce_required=False,
        )  # fmt: skip
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert not [sql for sql in reads if 'FROM "customers_customer"' in sql], reads
    assert not [sql for sql in reads if 'FROM "pipelines_stage"' in sql], reads
    fresh.refresh_from_db()
    assert fresh.stage.name == "Diagnosis" and fresh.customer_stage.name == "Diagnosis"


def test_a_move_reads_the_stage_again_when_the_caller_had_another(
    cast: Cast, repair: Pipeline
) -> None:
    """A caller holding a stale job (moved meanwhile) does not pass its old stage on."""
    job = services.job_create(
        workspace=cast.workspace, pipeline=repair, title="Tablet", actor=cast.admin
    )
    stale = Job.objects.select_related("stage").get(pk=job.pk)
    services.job_move(
        job=job, stage=stage(repair, "Diagnosis"), actor=cast.admin, expected_version=None,
        enforce_required=False,
    )  # fmt: skip
    moved = services.job_move(
        job=stale, stage=stage(repair, "Quote"), actor=cast.admin, expected_version=None,
        enforce_required=False,
    )  # fmt: skip
    entry = moved.activities.order_by("-id").first()
    assert entry.data["from"]["name"] == "Diagnosis"  # not the stale page's "Drop-off"


def test_amounts_are_hidden_from_anyone_not_known_to_see_money(cast: Cast) -> None:
    """The money rule fails closed: no membership in hand means no amounts."""
    from jobline.jobs.selectors import sees_money

    assert sees_money(None) is False
    assert sees_money(cast.membership(cast.staff)) is False
    assert sees_money(cast.membership(cast.manager)) is True
