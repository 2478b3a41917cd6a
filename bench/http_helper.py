"""Runs inside one checkout for the HTTP benchmark (bench/http_mode.py): generates the 100k
workspace with that checkout's own bench/generate.py, and writes the "plan" of the requests
to time (URLs reversed by that checkout's URLconf, ids read from its database).

bench/http_mode.py runs it as ``python -c <this file's text> <action> <json>`` with the
checkout as the working directory, so the checkout's own ``jobline`` and ``bench`` packages
come first on ``sys.path`` (not the editable install of /work/main), exactly as its
``manage.py`` would see them. Hence: no import of this checkout's ``bench`` at module level,
and nothing here may assume the code of /work/main.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import sys
import time
from pathlib import Path
from typing import Any


def _setup() -> None:
    import django

    django.setup()


# ----------------------------------------------------------------------------- generate


def generate() -> dict[str, Any]:
    """The 100k workspace, made once by this checkout's generator (its models, its data)."""
    from bench import generate as generator

    if hasattr(generator, "ensure"):
        # Everything, only the bookings (a database generated before them), or nothing.
        seconds = generator.ensure()
        status = "; ".join(generator.describe(generator.workspace_status()))
        return {"generated_seconds": round(seconds, 1) if seconds else None, "status": status}
    status = generator.workspace_status()
    if generator.is_complete(status):
        return {"generated_seconds": None, "status": next(generator.describe(status))}
    if status is not None:
        raise SystemExit(
            f"bench: the workspace {status['workspace']} is incomplete "
            f"({next(generator.describe(status))}); run with BENCH_RESET=1"
        )
    print("    generating the 100k workspace (once; later runs keep it)", flush=True)
    return {"generated_seconds": round(generator.generate(), 1), "status": "generated"}


# ----------------------------------------------------------------------------- plan helpers


def _live_stages(pipeline: Any) -> list[Any]:
    from jobline.jobs import selectors

    if hasattr(selectors, "live_stages"):
        return list(selectors.live_stages(pipeline))
    return list(pipeline.stages.order_by("position"))


def _match_count(workspace: Any, user: Any, **filters: Any) -> int | None:
    """How many jobs the list shows for these filters, through the app's own selector (scoped
    by workspace in older checkouts, by viewer in newer ones); None when this checkout's
    selector takes neither (the count is only for the row's label)."""
    import inspect

    from jobline.jobs import selectors

    try:
        parameters = inspect.signature(selectors.jobs).parameters
        job_filters = selectors.JobFilters(**filters)
        if "viewer" in parameters:
            from jobline.workspaces import viewers
            from jobline.workspaces.models import Membership

            membership = Membership.objects.get(workspace=workspace, user=user)
            scope = {"viewer": viewers.member_viewer(membership)}
        elif "workspace" in parameters:
            scope = {"workspace": workspace}
        else:
            return None
        return selectors.jobs(**scope, filters=job_filters).count()
    except (AttributeError, ImportError, TypeError):
        return None


def _count_label(count: int | None, noun: str) -> str:
    return f"{count:,} {noun}" if count is not None else f"? {noun}"


def _move_pairs(pipeline: Any) -> list[tuple[Any, Any]]:
    """Neighbouring open stages (a, b) where a has no required fields and asks for no
    customer approval: a → b is never held up by the required-fields dialog or the approval
    gate, and b → a (backwards) never is (as billing_data.open_pair)."""
    from itertools import pairwise

    from jobline.pipelines.models import StageField

    stages = _live_stages(pipeline)
    required = set(
        StageField.objects.filter(
            stage__in=stages, required=True, retired_at__isnull=True
        ).values_list("stage_id", flat=True)
    )
    open_stages = [s for s in stages if not s.is_terminal]
    # getattr: the helper also plans for an older checkout (BENCH_COMPARE), from before
    # stages could ask for approval.
    return [
        (a, b)
        for a, b in pairwise(open_stages)
        if a.pk not in required and not getattr(a, "requires_approval", False)
    ]


def _move_plan(job: Any, pair: tuple[Any, Any]) -> dict[str, Any]:
    from django.urls import reverse

    from jobline.jobs.models import Job

    meta = Job._meta
    return {
        "number": job.number,
        "reference": _reference(job),
        "url": reverse("jobs:move", args=[job.number]),
        "board_url": reverse("jobs:board", args=[job.pipeline_id]),
        "stages": [pair[0].pk, pair[1].pk],
        "stage_names": [pair[0].name, pair[1].name],
        # The bench reads the job's stage and version straight from the database before and
        # after each move (untimed): the version to send, and proof that the move happened.
        "db": {
            "table": meta.db_table,
            "pk": meta.pk.column,
            "stage": meta.get_field("stage").column,
            "version": meta.get_field("version").column,
            "job_pk": job.pk,
        },
    }


def _reference(job: Any) -> str:
    return str(getattr(job, "reference", "") or f"J-{job.number}")


def _move_scenario(label: str, move: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": "move",
        "label": label,
        "method": "POST",
        "url": move["url"],
        # What htmx sends from the card's "Move to…" form on the board.
        "headers": {
            "HX-Request": "true",
            "HX-Target": f"job-card-{move['number']}",
        },
        "expect": [],
        "cards": None,
    }


# ----------------------------------------------------------------------------- plans


def _own_plan(
    *,
    workspace: Any,
    user: Any,
    board: Any,
    feed_job: Any,
    move: dict[str, Any],
    search: str,
    overdue_or_open: bool,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """bench/measure.py's six requests, for a given pipeline, job and move: the board of the
    pipeline and its busiest open column, its overdue open jobs, the search, the job page and
    the move. With ``overdue_or_open``, the list falls back to the open jobs when none is
    overdue (the demo may have none)."""
    from django.urls import reverse

    from jobline.jobs.models import Activity, Job

    open_count = Job.objects.filter(
        pipeline=board, archived_at__isnull=True, stage__is_terminal=False
    ).count()
    column, column_count = max(
        (
            (stage, Job.objects.filter(stage=stage, archived_at__isnull=True).count())
            for stage in _live_stages(board)
            if not stage.is_terminal
        ),
        key=lambda pair: pair[1],
    )
    jobs_url = reverse("jobs:index")
    list_query = f"owner=all&pipeline={board.pk}&due=overdue&state=open"
    list_matches = _match_count(workspace, user, pipeline=board, due="overdue", state="open")
    list_what = "overdue, open"
    if overdue_or_open and list_matches == 0:
        list_query = f"owner=all&pipeline={board.pk}&state=open"
        list_matches = _match_count(workspace, user, pipeline=board, state="open")
        list_what = "open"
    search = search.lower()
    search_matches = _match_count(workspace, user, search=search, state="open")
    entries = Activity.objects.filter(job=feed_job).count()
    reference = _reference(feed_job)
    scenarios = [
        {
            "key": "board",
            "label": f"Board of {board.name} ({open_count:,} open jobs)",
            "url": reverse("jobs:board", args=[board.pk]),
            "expect": [html.escape(board.name)],
        },
        {
            "key": "column",
            "label": f"Board column {column.name}: first 50 of {column_count:,} cards",
            "url": reverse("jobs:board_more", args=[column.pk]),
            "cards": 1 if column_count else None,
        },
        {
            "key": "list",
            "label": (
                f"Filtered list: {board.name}, {list_what} "
                f"({_count_label(list_matches, 'matches')}, page 1)"
            ),
            "url": f"{jobs_url}?{list_query}",
        },
        {
            "key": "search",
            "label": f"Text search “{search}” ({_count_label(search_matches, 'matches')})",
            "url": f"{jobs_url}?owner=all&q={search}",
        },
        {
            "key": "job",
            "label": f"Job page {reference} ({entries:,} feed entries)",
            "url": reverse("jobs:detail", args=[feed_job.number]),
            "expect": [reference],
        },
    ]
    planned = [
        {"method": "GET", "headers": {}, "expect": [], "cards": None, **scenario}
        for scenario in scenarios
    ]
    label = (
        f"Stage move from the board ({move['stage_names'][0]} ⇄ {move['stage_names'][1]},"
        f" {move['reference']}, htmx)"
    )
    planned.append(_move_scenario(label, move))
    facts = {
        "jobs": Job.objects.filter(workspace=workspace).count(),
        "activities": Activity.objects.filter(workspace=workspace).count(),
        "board_open_jobs": open_count,
        "list_matches": list_matches,
        "search_matches": search_matches,
        "feed_entries": entries,
    }
    return planned, facts


def _from_measure(workspace: Any, move: dict[str, Any]) -> tuple[list[dict[str, Any]], Any]:
    """This checkout's bench/measure.py scenarios (the in-process bench's), made HTTP."""
    import bench
    from bench import measure

    scenarios, facts = measure.build_scenarios(workspace)
    planned = []
    for scenario in scenarios:
        if scenario.key == "move":
            entry = _move_scenario(scenario.label, move)
            entry.update(url=scenario.url, headers=dict(scenario.headers))
            planned.append(entry)
            continue
        expect = list(getattr(scenario, "expect", None) or [])
        planned.append(
            {
                "key": scenario.key,
                "label": scenario.label,
                "method": "GET",
                "url": scenario.url,
                "headers": dict(scenario.headers),
                "expect": [f"J-{bench.FEED_JOB_NUMBER}"] if scenario.key == "job" else expect,
                # The busiest column always has more than a page of cards.
                "cards": 1 if scenario.key == "column" else None,
                **_extras(scenario),
            }
        )
    return planned, facts


EXTRAS = ("status", "anonymous", "if_none_match", "invalidate", "max_runs", "max_warmup")


def _extras(scenario: Any) -> dict[str, Any]:
    """What a scenario of issue 11 asks of the request beyond a signed-in GET (bench/measure.py
    ``Scenario``; an older checkout's has none of it)."""
    return {name: getattr(scenario, name) for name in EXTRAS if hasattr(scenario, name)}


# ----------------------------------------------------------------------------- demo bookings


def _installed(app: str) -> bool:
    """Whether the checkout being planned has this app. Asked before importing it: an older
    checkout (BENCH_COMPARE) run with this one's virtualenv would otherwise import the app
    from here, through the editable install, and fail on its models."""
    from django.apps import apps

    return apps.is_installed(app)


def _demo_bookings(workspace: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The bookings scenarios that apply to the demo: none when its Bookings module is off
    (every bookings page is a 404 then); otherwise its busiest week (this week when it has
    no bookings), the job with the most visits and the member with the most bookings and
    their feed, where there are any. As bench/measure.py's ``bookings_scenarios``."""
    if not _installed("jobline.bookings"):
        return [], {"bookings_skipped": "no bookings app"}
    try:
        from django.db.models import Count
        from django.db.models.functions import TruncWeek
        from django.urls import reverse
        from django.utils import timezone

        from jobline.bookings import services as booking_services
        from jobline.bookings.models import Assignment, Booking
        from jobline.core import wall_time
        from jobline.workspaces.models import Membership
    except ImportError as error:
        return [], {"bookings_skipped": f"no bookings app ({error})"}
    if not getattr(workspace, "module_bookings", False):
        return [], {"bookings_skipped": "the demo's Bookings module is off"}
    bookings = Booking.objects.filter(workspace=workspace)
    busiest = (
        bookings.annotate(week=TruncWeek("starts_at", tzinfo=wall_time.zone(workspace.time_zone)))
        .values("week")
        .annotate(n=Count("pk"))
        .order_by("-n", "week")
        .first()
    )
    if busiest is None:
        today = wall_time.local(timezone.now(), workspace.time_zone).date()
        monday, week_bookings = today - dt.timedelta(days=today.weekday()), 0
    else:
        monday, week_bookings = busiest["week"].date(), busiest["n"]
    planned = [
        {
            "key": "week",
            "label": f"Calendar week of {monday:%-d %b %Y} ({week_bookings:,} bookings)",
            "url": f"{reverse('bookings:calendar')}?view=week&date={monday.isoformat()}",
            "expect": ['id="calendar"'],
        }
    ]
    facts: dict[str, Any] = {"bookings": bookings.count(), "week_bookings": week_bookings}
    job = (
        bookings.filter(job__isnull=False)
        .values("job__number")
        .annotate(n=Count("pk"))
        .order_by("-n", "job__number")
        .first()
    )
    if job is not None:
        planned.append(
            {
                "key": "visits",
                "label": f"Job page J-{job['job__number']} ({job['n']} visits)",
                "url": reverse("jobs:detail", args=[job["job__number"]]),
                "expect": [f"J-{job['job__number']}", 'id="visits"'],
            }
        )
    busy = (
        Assignment.objects.filter(booking__workspace=workspace)
        .values("membership")
        .annotate(n=Count("pk"))
        .order_by("-n", "membership")
        .first()
    )
    if busy is not None:
        member = Membership.objects.select_related("user").get(pk=busy["membership"])
        # The demo database is made afresh each sitting: a feed of its own for the bench.
        token = booking_services.calendar_feed_renew(membership=member, actor=member.user)
        url = reverse("bookings:feed", args=[token])
        latest = (
            Assignment.objects.filter(membership=member)
            .order_by("-booking_id")
            .values_list("booking_id", flat=True)[0]
        )
        meta = Booking._meta
        what = f"{member.user.full_name}, {busy['n']:,} bookings"
        body = {"url": url, "anonymous": True}
        planned += [
            {"key": "feed", "label": f"Staff feed ({what}; body kept under its ETag)",
             "expect": ["BEGIN:VCALENDAR"], **body},
            {"key": "feed_304", "label": f"Staff feed 304 ({what}; If-None-Match)",
             "status": 304, "if_none_match": True, **body},
            {"key": "feed_cold", "label": f"Staff feed (cold: {what}, generated anew)",
             "expect": ["BEGIN:VCALENDAR"], "max_runs": 5, "max_warmup": 1,
             "invalidate": {"table": meta.db_table, "pk": meta.pk.column,
                            "column": meta.get_field("updated_at").column,
                            "booking_pk": latest}, **body},
        ]  # fmt: skip
    return planned, facts


# ----------------------------------------------------------------------------- demo quotes


def _counted(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def _demo_quotes(
    workspace: Any, user: Any, *, search: str, status: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The quote list at the demo's size (issue 11): page 1, the search word (a demo
    customer's surname) and one status, as bench/measure.py's ``quotes_scenarios``. None when
    the demo's Quotes module is off (the pages are 404s then), when the signed-in person's role
    does not see money, or in an older checkout without the quotes app."""
    if not _installed("jobline.quotes"):
        return [], {"quotes_skipped": "no quotes app"}
    try:
        from django.urls import reverse

        from jobline.quotes import selectors as quote_selectors
        from jobline.quotes.models import Quote
        from jobline.workspaces import viewers
        from jobline.workspaces.models import Membership
    except ImportError as error:
        return [], {"quotes_skipped": f"no quotes app ({error})"}
    if not getattr(workspace, "module_quotes", False):
        return [], {"quotes_skipped": "the demo's Quotes module is off"}
    viewer = viewers.member_viewer(Membership.objects.get(workspace=workspace, user=user))
    if not viewers.sees_money(viewer):
        return [], {"quotes_skipped": f"{user.email} does not see quotes"}

    def matches(**filters: str) -> int:
        return quote_selectors.quote_list(viewer=viewer, **filters).paginator.count

    search = search.lower()
    facts = {
        "quotes": Quote.objects.filter(workspace=workspace).count(),
        "quotes_search_matches": matches(q=search),
        "quotes_status_matches": matches(status=status),
    }
    url = reverse("quotes:list")
    found = _counted(facts["quotes_search_matches"], "match", "matches")
    listed = _counted(facts["quotes_status_matches"], "quote", "quotes")
    row = 'class="chip quote-status-'

    def rows(count: int, *expected: str) -> list[str]:
        # An empty result is the list's empty state: the page still answers, with no row.
        return [row, *expected] if count else ["<h1>Quotes</h1>"]

    planned = [
        {
            "key": "quotes",
            "label": f"Quote list, page 1 of {facts['quotes']:,} quotes (newest first)",
            "url": url,
            "expect": rows(facts["quotes"], "<h1>Quotes</h1>"),
        },
        {
            "key": "quotes_search",
            "label": f"Quote search “{search}” ({found})",
            "url": f"{url}?q={search}",
            "expect": rows(facts["quotes_search_matches"]),
        },
        {
            "key": "quotes_status",
            "label": f"Quote list, {status} ({listed}, page 1)",
            "url": f"{url}?status={status}",
            "expect": rows(facts["quotes_status_matches"], f"{row}{status}"),
        },
    ]
    return planned, facts


def plan_large(spec: dict[str, Any]) -> dict[str, Any]:
    """At 100k: bench/measure.py's own scenarios (this checkout's copy). When that file does
    not run against this checkout's app (mid-refactor: a selector's signature changed), the
    same requests built here, and the plan says so."""
    import bench
    from jobline.accounts.models import User
    from jobline.jobs.models import Job
    from jobline.pipelines.models import Pipeline
    from jobline.workspaces.models import Workspace

    workspace = Workspace.objects.get(name=bench.WORKSPACE_NAME)
    admin = User.objects.get(email=bench.ADMIN_EMAIL)
    # The generator leaves the Admin without a password (the in-process bench uses
    # force_login); over HTTP the bench signs in with the form, so give it this sitting's.
    admin.set_password(spec["password"])
    admin.save(update_fields=["password"])
    job = Job.objects.get(workspace=workspace, number=bench.MOVE_JOB_NUMBER)
    move = _move_plan(job, _move_pairs(job.pipeline)[0])
    source = "bench/measure.py"
    try:
        planned, facts = _from_measure(workspace, move)
    except Exception as error:
        source = f"bench/http_helper.py (bench/measure.py failed: {type(error).__name__}: {error})"
        print(f"    warning: {source}", flush=True)
        stress = next(
            p
            for p in Pipeline.objects.filter(workspace=workspace).order_by("pk")
            if p.name == "Standard service"
        )
        planned, facts = _own_plan(
            workspace=workspace,
            user=admin,
            board=stress,
            feed_job=Job.objects.get(workspace=workspace, number=bench.FEED_JOB_NUMBER),
            move=move,
            search=bench.SEARCH_WORD,
            overdue_or_open=False,
        )
    return {
        "email": bench.ADMIN_EMAIL,
        "workspace": workspace.name,
        "facts": facts,
        "scenarios": planned,
        "scenarios_from": source,
        "move": move,
    }


def plan_demo(spec: dict[str, Any]) -> dict[str, Any]:
    """The demo's equivalents of bench/measure.py's scenarios: its busiest pipeline (most open
    jobs; ties: the first), the search word (a demo customer's surname), the job with the most
    feed entries, and a job moved between the first two neighbouring open stages that allow
    it and hold a job; then its bookings and quotes scenarios (issue 11)."""
    from django.db.models import Count

    from jobline.accounts.models import User
    from jobline.jobs.models import Activity, Job
    from jobline.pipelines.models import Pipeline
    from jobline.workspaces.models import Workspace

    workspace = Workspace.objects.get(name=spec["workspace"])
    user = User.objects.get(email=spec["email"])
    open_jobs = Job.objects.filter(
        workspace=workspace, archived_at__isnull=True, stage__is_terminal=False
    )
    pipelines = sorted(
        Pipeline.objects.filter(workspace=workspace),
        key=lambda p: (-open_jobs.filter(pipeline=p).count(), p.pk),
    )
    busiest = (
        Activity.objects.filter(job__workspace=workspace)
        .values("job")
        .annotate(entries=Count("id"))
        .order_by("-entries", "job")
        .first()
    )
    if busiest is None:
        raise SystemExit("bench: the demo workspace has no feed entries")
    feed_job = Job.objects.get(pk=busiest["job"])
    move = None
    for pipeline in pipelines:
        for pair in _move_pairs(pipeline):
            job = (
                Job.objects.filter(stage__in=pair, archived_at__isnull=True)
                .exclude(pk=feed_job.pk)
                .order_by("number")
                .first()
            )
            if job is not None:
                move = _move_plan(job, pair)
                break
        if move is not None:
            break
    if move is None:
        raise SystemExit("bench: no demo job can be moved between two open stages")
    planned, facts = _own_plan(
        workspace=workspace,
        user=user,
        board=pipelines[0],
        feed_job=feed_job,
        move=move,
        search=spec["search"],
        overdue_or_open=True,
    )
    bookings, booking_facts = _demo_bookings(workspace)
    quotes, quote_facts = _demo_quotes(
        workspace, user, search=spec["search"], status=spec.get("quote_status", "accepted")
    )
    planned += [
        {"method": "GET", "headers": {}, "expect": [], "cards": None, **scenario}
        for scenario in [*bookings, *quotes]
    ]
    facts.update(booking_facts)
    facts.update(quote_facts)
    return {
        "email": spec["email"],
        "workspace": workspace.name,
        "facts": facts,
        "scenarios": planned,
        "scenarios_from": "bench/http_helper.py",
        "move": move,
    }


def plan(spec: dict[str, Any]) -> dict[str, Any]:
    import django
    from django.conf import settings
    from django.shortcuts import resolve_url

    import jobline

    result = plan_large(spec) if spec["size"] == "100k" else plan_demo(spec)
    result.update(
        # Which code answered: bench/http_mode.py checks it is the checkout it meant.
        jobline_file=str(Path(jobline.__file__).resolve()),
        django_version=django.get_version(),
        login_url=resolve_url(settings.LOGIN_URL),
        database=str(settings.DATABASES["default"]["NAME"]),
    )
    return result


def main() -> int:
    action, raw = sys.argv[1], sys.argv[2]
    spec = json.loads(raw)
    _setup()
    started = time.perf_counter()
    result = generate() if action == "generate" else plan(spec)
    result["seconds"] = round(time.perf_counter() - started, 1)
    Path(spec["output"]).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
