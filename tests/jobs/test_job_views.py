"""The jobs pages from each side: list, board, job page, moves with the dialog, the composer."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from jobline.jobs import services
from jobline.jobs.models import Activity, ActivityKind, Job, Visibility
from jobline.pipelines.models import Pipeline
from tests.conftest import Cast, client_for
from tests.jobs.conftest import fill_required, stage


def make_jobs(cast: Cast, pipeline: Pipeline, count: int) -> list[Job]:
    return [
        services.job_create(
            workspace=cast.workspace,
            pipeline=pipeline,
            title=f"Job {i}",
            actor=cast.admin,
            owner=cast.staff,
            customer=cast.customer,
        )
        for i in range(count)
    ]


def test_every_member_sees_the_job_page_list_and_board(
    any_member: tuple[str, Client], job: Job, repair: Pipeline
) -> None:
    _role, client = any_member
    page = client.get(f"/jobs/{job.number}/")
    assert page.status_code == 200
    assert "iPhone 13 cracked screen" in page.text
    assert client.get("/jobs/", {"owner": "all"}).status_code == 200
    board = client.get(f"/jobs/board/{repair.pk}/")
    assert board.status_code == 200
    column_url = f"/jobs/board/stages/{job.stage_id}/more/"
    assert f'hx-get="{column_url}"' in board.text  # each column loads its own cards
    assert f'id="job-card-{job.number}"' in client.get(column_url).text
    # Without JavaScript, every card at once.
    full = client.get(f"/jobs/board/{repair.pk}/", {"cards": "all"})
    assert f'id="job-card-{job.number}"' in full.text


def test_outsider_cannot_open_another_workspaces_job(job: Job, as_outsider: Client) -> None:
    assert as_outsider.get(f"/jobs/{job.number}/").status_code == 404
    assert "iPhone" not in as_outsider.get("/jobs/", {"owner": "all", "state": "all"}).text


def test_jobs_pages_are_404_with_the_module_off(cast: Cast, job: Job, as_staff: Client) -> None:
    cast.workspace.module_jobs = False
    cast.workspace.save()
    for url in ("/jobs/", f"/jobs/{job.number}/", "/jobs/board/", "/jobs/new/"):
        assert as_staff.get(url).status_code == 404, url


def test_staff_list_defaults_to_mine_admins_to_everyone(
    cast: Cast, repair: Pipeline, as_staff: Client, as_admin: Client
) -> None:
    services.job_create(
        workspace=cast.workspace, pipeline=repair, title="Mine", actor=cast.admin, owner=cast.staff
    )
    services.job_create(
        workspace=cast.workspace, pipeline=repair, title="Theirs", actor=cast.admin,
        owner=cast.manager,
    )  # fmt: skip
    staff_titles = {j.title for j in as_staff.get("/jobs/").context["page"]}
    admin_titles = {j.title for j in as_admin.get("/jobs/").context["page"]}
    assert staff_titles == {"Mine"}
    assert admin_titles == {"Mine", "Theirs"}


def test_list_search_finds_number_title_customer_and_notes(
    cast: Cast, job: Job, as_admin: Client
) -> None:
    services.message_add(
        job=job, body="Replacement screen from supplier", visibility="internal", actor=cast.admin
    )
    for query in ("J-1001", "1001", "cracked", "Priya", "suppl"):
        titles = {j.title for j in as_admin.get("/jobs/", {"q": query}).context["page"]}
        assert titles == {"iPhone 13 cracked screen"}, query
    assert not list(as_admin.get("/jobs/", {"q": "zzznothing"}).context["page"])


def test_list_csv_export(cast: Cast, job: Job, as_manager: Client) -> None:
    response = as_manager.get("/jobs/export.csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0].startswith("Job,Title,Pipeline,Stage")
    assert "J-1001,iPhone 13 cracked screen,Device repair,Drop-off" in body


def test_create_job_with_a_new_customer_inline(
    cast: Cast, repair: Pipeline, as_staff: Client
) -> None:
    response = as_staff.post(
        "/jobs/new/",
        {
            "title": "Pixel battery",
            "pipeline": repair.pk,
            "owner": cast.staff.pk,
            "new_customer_name": "Dan Kowalski",
            "new_customer_email": "dan@example.com",
            "due_date": "2026-12-01",
        },
    )
    assert response.status_code == 302
    job = Job.objects.get(title="Pixel battery")
    assert job.customer.name == "Dan Kowalski"
    assert job.customer.workspace == cast.workspace
    assert job.owner == cast.staff
    assert str(job.due_date) == "2026-12-01"


def test_create_job_bad_input_keeps_input_and_saves_nothing(
    cast: Cast, repair: Pipeline, standard: Pipeline, as_admin: Client
) -> None:
    response = as_admin.post(
        "/jobs/new/",
        {
            "title": "Keep me",
            "pipeline": repair.pk,
            "stage": stage(standard, "New").pk,  # a stage of another pipeline
            "owner": cast.outsider.pk,  # not a member
            "due_date": "31/31/2026",
            "new_customer_name": "Dupe",
            "new_customer_email": "priya@example.com",  # already a customer
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"stage", "owner", "due_date"} <= set(errors)
    assert 'value="Keep me"' in response.text
    assert not Job.objects.exists()


def test_create_job_refuses_a_duplicate_new_customer_email(
    cast: Cast, repair: Pipeline, as_admin: Client
) -> None:
    response = as_admin.post(
        "/jobs/new/",
        {"title": "T", "pipeline": repair.pk, "owner": cast.admin.pk,
         "new_customer_name": "Another Priya", "new_customer_email": "PRIYA@example.com"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "new_customer_email" in response.context["form"].errors
    assert not Job.objects.exists()


def test_move_from_the_job_page_with_the_required_fields_dialog(
    cast: Cast, job: Job, repair: Pipeline, as_staff: Client
) -> None:
    diagnosis = stage(repair, "Diagnosis")
    response = as_staff.post(
        f"/jobs/{job.number}/move/", {"stage": diagnosis.pk, "version": job.version}
    )
    assert response.status_code == 422
    assert "Before J-1001 moves to Diagnosis" in response.text
    device = stage(repair, "Drop-off").fields.get(label="Device")
    # Submitting the dialog empty keeps it open with the error next to the field.
    response = as_staff.post(
        f"/jobs/{job.number}/move/",
        {"stage": diagnosis.pk, "version": job.version, "dialog": "1"},
    )
    assert response.status_code == 422
    assert response.context["move_dialog"]["dialog_form"].errors[f"f_{device.pk}"]
    response = as_staff.post(
        f"/jobs/{job.number}/move/",
        {"stage": diagnosis.pk, "version": job.version, "dialog": "1",
         f"dialog-f_{device.pk}": "iPhone 13"},
    )  # fmt: skip
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.stage == diagnosis
    assert list(Activity.objects.filter(job=job).order_by("id").values_list("kind", flat=True))[
        -2:
    ] == [ActivityKind.FORM_SAVED, ActivityKind.STATUS_CHANGED]


def test_board_move_answers_with_the_card_or_the_dialog(
    cast: Cast, job: Job, repair: Pipeline, as_staff: Client
) -> None:
    htmx = {"HTTP_HX_REQUEST": "true"}
    response = as_staff.post(
        f"/jobs/{job.number}/move/",
        {"stage": stage(repair, "Diagnosis").pk, "version": job.version, "from": "board"},
        **htmx,
    )
    assert response.status_code == 422
    assert 'name="dialog" value="1"' in response.text
    fill_required(job, stage(repair, "Drop-off"), cast.admin)
    job.refresh_from_db()
    response = as_staff.post(
        f"/jobs/{job.number}/move/",
        {"stage": stage(repair, "Diagnosis").pk, "version": job.version, "from": "board"},
        **htmx,
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "jobMoved"
    assert f'data-stage="{stage(repair, "Diagnosis").pk}"' in response.text


def test_stale_board_move_is_refused_with_the_fresh_card(
    cast: Cast, job: Job, repair: Pipeline, as_staff: Client
) -> None:
    services.job_update(job=job, actor=cast.admin, expected_version=1, title="Changed meanwhile")
    before = Activity.objects.count()
    response = as_staff.post(
        f"/jobs/{job.number}/move/",
        {"stage": stage(repair, "Collected").pk, "version": 1, "from": "board"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 409
    assert "changed since you opened it" in response["HX-Trigger"]
    assert "Changed meanwhile" in response.text
    assert Activity.objects.count() == before


def test_stale_edit_is_refused_and_keeps_what_was_typed(
    cast: Cast, job: Job, as_manager: Client
) -> None:
    services.job_update(job=job, actor=cast.admin, expected_version=1, title="Admin's title")
    response = as_manager.post(
        f"/jobs/{job.number}/edit/", {"version": 1, "title": "Manager's title", "owner": ""}
    )
    assert response.status_code == 409
    assert "changed since you opened it" in response.text
    assert 'value="Manager&#39;s title"' in response.text
    job.refresh_from_db()
    assert job.title == "Admin's title"


def test_composer_posts_internal_notes_and_replies_that_look_different(
    job: Job, as_staff: Client
) -> None:
    as_staff.post(
        f"/jobs/{job.number}/messages/",
        {"body": "Supplier says Tuesday", "visibility": "internal", "version": job.version},
    )
    job.refresh_from_db()
    as_staff.post(
        f"/jobs/{job.number}/messages/",
        {"body": "See https://example.com/status\nThanks!", "visibility": "customer",
         "version": job.version},
    )  # fmt: skip
    page = as_staff.get(f"/jobs/{job.number}/").text
    assert 'class="feed-message is-internal">Supplier says Tuesday' in page
    assert 'href="https://example.com/status"' in page  # links rendered
    assert "status</a><br>Thanks!" in page  # line breaks rendered


def test_composer_escapes_html(job: Job, as_staff: Client) -> None:
    as_staff.post(
        f"/jobs/{job.number}/messages/",
        {"body": "<script>alert(1)</script><b>x</b>", "visibility": "internal",
         "version": job.version},
    )  # fmt: skip
    page = as_staff.get(f"/jobs/{job.number}/").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_empty_message_is_refused_next_to_the_field(job: Job, as_staff: Client) -> None:
    response = as_staff.post(
        f"/jobs/{job.number}/messages/",
        {"body": "", "visibility": "customer", "version": job.version},
    )
    assert response.status_code == 400
    assert "body" in response.context["composer"].errors


def test_feed_filters_by_visibility_and_type_and_pages_older_entries(
    cast: Cast, job: Job, as_admin: Client
) -> None:
    for i in range(35):
        services.message_add(
            job=job, body=f"note {i}", visibility=Visibility.INTERNAL, actor=cast.admin
        )
    services.message_add(job=job, body="hello customer", visibility="customer", actor=cast.admin)
    customer_only = as_admin.get(f"/jobs/{job.number}/feed/", {"show": "customer"}).text
    assert "hello customer" in customer_only and "note 3" not in customer_only
    first = as_admin.get(f"/jobs/{job.number}/feed/", {"type": "notes"})
    assert first.context["feed"].next_cursor is not None
    assert len(first.context["feed"].entries) == 30
    older = as_admin.get(
        f"/jobs/{job.number}/feed/",
        {"type": "notes", "before": first.context["feed"].next_cursor},
    )
    bodies = [e.message.body for e in older.context["feed"].entries]
    assert bodies == [f"note {i}" for i in range(4, -1, -1)]


def test_staff_do_not_see_money_fields(cast: Cast, repair: Pipeline, as_staff: Client) -> None:
    job = services.job_create(
        workspace=cast.workspace, pipeline=repair, stage=stage(repair, "Quote"),
        title="Money", actor=cast.admin,
    )  # fmt: skip
    assert "Repair price" not in as_staff.get(f"/jobs/{job.number}/").text
    assert "Repair price" in client_for(cast.manager).get(f"/jobs/{job.number}/").text


@pytest.mark.parametrize(
    ("page_url", "bigger"),
    [("/jobs/?owner=all", 200), ("board", 200), ("column", 200), ("job", 200)],
)
def test_query_counts_do_not_grow_with_data(
    page_url: str, bigger: int, cast: Cast, repair: Pipeline, as_admin: Client
) -> None:
    jobs = make_jobs(cast, repair, 5)

    def url() -> str:
        if page_url == "board":
            return f"/jobs/board/{repair.pk}/?cards=all"
        if page_url == "column":
            return f"/jobs/board/stages/{jobs[0].stage_id}/more/"
        if page_url == "job":
            return f"/jobs/{jobs[0].number}/"
        return page_url

    as_admin.get(url())
    with CaptureQueriesContext(connection) as small:
        as_admin.get(url())
    jobs += make_jobs(cast, repair, bigger)
    for i in range(bigger):
        services.message_add(job=jobs[0], body=f"n{i}", visibility="internal", actor=cast.admin)
    with CaptureQueriesContext(connection) as large:
        response = as_admin.get(url())
    assert response.status_code == 200
    assert len(large) <= len(small), [q["sql"][:120] for q in large.captured_queries]


def test_staff_do_not_see_amounts_in_the_feed(cast: Cast, repair: Pipeline) -> None:
    quote = stage(repair, "Quote")
    job = services.job_create(
        workspace=cast.workspace, pipeline=repair, stage=quote, title="Priced", actor=cast.admin
    )
    price = quote.fields.get(label="Repair price")
    services.form_save(
        job=job, stage=quote, values={price.pk: "149.00"}, actor=cast.manager,
        expected_version=None,
    )  # fmt: skip
    staff_feed = client_for(cast.staff).get(f"/jobs/{job.number}/").text
    manager_feed = client_for(cast.manager).get(f"/jobs/{job.number}/").text
    assert "149.00" not in staff_feed
    assert "1 amount not shown" in staff_feed
    assert "149.00" in manager_feed


def test_a_retired_fields_feed_lines_say_so(cast: Cast, job: Job, repair: Pipeline) -> None:
    from jobline.pipelines.services import field_retire

    dropoff = stage(repair, "Drop-off")
    device = dropoff.fields.get(label="Device")
    services.form_save(
        job=job, stage=dropoff, values={device.pk: "Pixel 8"}, actor=cast.admin,
        expected_version=None,
    )  # fmt: skip
    field_retire(field=device, actor=cast.admin)
    page = client_for(cast.admin).get(f"/jobs/{job.number}/").text
    assert "Device (retired field)" in page
    assert "Pixel 8" in page


def test_a_message_renders_the_same_long_or_short_and_again(job: Job, as_staff: Client) -> None:
    """Message text is worked out once per text (templating.message_html); a long one, not
    remembered, gets the same links, escaping and line breaks."""
    short = "<b>x</b> https://example.com/a\nbye"
    long = short + " " + "word " * 500
    for body in (short, long):
        as_staff.post(
            f"/jobs/{job.number}/messages/",
            {"body": body, "visibility": "internal", "version": job.version},
        )
        job.refresh_from_db()
    first = as_staff.get(f"/jobs/{job.number}/").text
    again = as_staff.get(f"/jobs/{job.number}/").text
    assert first.count('&lt;b&gt;x&lt;/b&gt; <a href="https://example.com/a"') == 2
    assert first.count("example.com/a</a><br>bye") == 2
    assert "<b>x</b>" not in first
    assert first.count("feed-message") == again.count("feed-message") == 2
