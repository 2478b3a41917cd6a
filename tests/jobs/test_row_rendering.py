"""The feed entries, list rows and board cards written in Python (jobs_extras: feed_entry_items,
job_list_rows, board_cards) render exactly what the templates they replaced rendered — and
escape everything people type: names, titles, messages, stage and pipeline names. The job
page's forms' widgets (jobs.forms.QuickWidgetRenderer) are Django's, bound or not."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from django.forms.renderers import get_default_renderer
from django.template import Context, Template
from django.utils import formats, timezone

from jobline.jobs import selectors, services
from jobline.jobs.forms import QUICK_WIDGETS, ComposerForm, DocumentRequestForm, FileUploadForm
from jobline.jobs.models import Job, Visibility
from jobline.jobs.templatetags.jobs_extras import _Clock
from jobline.jobs.views import _stage_options, _with_urls
from jobline.pipelines.models import Pipeline
from tests.conftest import Cast
from tests.jobs.conftest import stage

EVIL = "<script>alert('x')</script> & \"quoted\""

# The templates' markup before it moved into jobs_extras, kept as it was to compare with.
MARKUP = Path(__file__).parent / "replaced_markup"
OLD_FEED = (MARKUP / "feed_entries.html").read_text()
OLD_ROWS = (MARKUP / "list_rows.html").read_text()
OLD_CARD = (MARKUP / "board_card.html").read_text()


def _squash(html: str) -> str:
    return re.sub(r"\s+", " ", html).replace("> <", "><").strip()


def _render(source: str, **context: Any) -> str:
    return _squash(Template(source).render(Context(context)))


@pytest.fixture
def evil_job(cast: Cast, repair: Pipeline) -> Job:
    cast.staff.full_name = EVIL
    cast.staff.save()
    cast.customer.name = f"Customer {EVIL}"
    cast.customer.save()
    repair.name = f"Pipeline {EVIL}"
    repair.save()
    first = stage(repair, "Drop-off")
    first.name = f"Stage {EVIL}"
    first.save()
    job = services.job_create(
        workspace=cast.workspace, pipeline=repair, title=f"Title {EVIL}", actor=cast.staff,
        owner=cast.staff, customer=cast.customer, due_date=dt.date(2020, 3, 9),
    )  # fmt: skip
    services.message_add(
        job=job, body=f"Note {EVIL}\nsee https://example.com/a?b=<c> or x@example.com.",
        visibility=Visibility.INTERNAL, actor=cast.staff,
    )  # fmt: skip
    services.message_add(
        job=job, body=f"Reply {EVIL}", visibility=Visibility.CUSTOMER, actor=cast.staff
    )
    job.refresh_from_db()
    services.job_update(
        job=job, actor=cast.staff, expected_version=job.version, title=f"New {EVIL}"
    )
    return selectors.get_job(workspace=cast.workspace, number=job.number)


def _no_raw_evil(html: str) -> None:
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot;" in html


def test_feed_entries_are_the_templates_and_escaped(evil_job: Job, cast: Cast) -> None:
    feed = selectors.feed(job=evil_job)
    assert len(feed.entries) >= 4
    context = {"feed": feed, "job": evil_job, "csrf_token": "tok", "membership": None}
    new = _render("{% load jobs_extras %}{% feed_entry_items feed.entries job %}", **context)
    assert new == _render(OLD_FEED, **context)
    _no_raw_evil(new)
    assert '<a href="https://example.com/a?b=" rel="nofollow">' in new  # urlized
    assert 'href="mailto:x@example.com"' in new
    assert "Make internal" in new and 'value="tok"' in new  # the reply's form


def test_list_rows_are_the_templates_and_escaped(evil_job: Job, cast: Cast) -> None:
    jobs = list(selectors.jobs(workspace=cast.workspace, filters=selectors.JobFilters()))
    _with_urls(jobs)
    new = _render("{% load jobs_extras %}{% job_list_rows jobs %}", jobs=jobs)
    assert new == _render(OLD_ROWS, jobs=jobs)
    _no_raw_evil(new)
    assert "9 Mar 2020 · overdue" in new


def test_board_cards_are_the_templates_and_escaped(evil_job: Job, repair: Pipeline) -> None:
    cards = selectors.board_column_page(stage=evil_job.stage, cursor=None)
    _with_urls(cards, move=True)
    options = _stage_options(selectors.live_stages(repair))
    context = {"csrf_token": "tok", "stage_options": options}
    new = _render("{% load jobs_extras %}{% board_cards cards %}", cards=cards, **context)
    old = "".join(_render(OLD_CARD, job=job, **context) for job in cards)
    assert new == old.replace("</li> <li", "</li><li")
    _no_raw_evil(new)
    assert "Due 9 Mar" in new


def test_feed_times_read_as_the_date_filter_shows_them() -> None:
    clock = _Clock()
    for hour in range(24):
        for minute in range(60):
            moment = timezone.make_aware(dt.datetime(2026, 1, 2, hour, minute))
            assert clock.p(moment) == formats.date_format(moment, "P"), moment
    assert formats.get_format("DATETIME_FORMAT") == "j M Y, P"


@pytest.mark.parametrize("form_class", [ComposerForm, FileUploadForm, DocumentRequestForm])
@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        {"body": f"Hi {EVIL}\n", "visibility": "customer", "version": "7", "title": EVIL,
         "description": EVIL, "due_date": "2026-02-30"},
        {"visibility": EVIL, "version": EVIL, "due_date": "2026-03-04", "title": "x" * 200},
    ],
)  # fmt: skip
def test_the_job_pages_form_widgets_are_djangos(form_class: type, data: Any) -> None:
    initial = {"version": 3, "visibility": "internal"}
    quick = form_class(data, initial=initial)
    django_ = form_class(data, initial=initial, renderer=get_default_renderer())
    assert quick.renderer is QUICK_WIDGETS and django_.renderer is not QUICK_WIDGETS
    for name in quick.fields:
        assert str(quick[name]) == str(django_[name]), name
        for choice, django_choice in zip(quick[name], django_[name], strict=True):
            assert str(choice.tag()) == str(django_choice.tag()), name
    assert "<script>" not in "".join(str(quick[name]) for name in quick.fields)
