"""Times the real views in-process: Django's test Client signed in as the workspace's Admin,
so every request runs the whole middleware stack (sessions, auth, workspace, htmx), the view,
its queries and its templates. Import only after ``django.setup()``.
"""

from __future__ import annotations

import gc
import logging
import math
import os
import statistics
import time
import timeit
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

import bench
from bench.billing_data import open_pair
from jobline.accounts.models import User
from jobline.jobs import selectors
from jobline.jobs.models import Activity, Job
from jobline.pipelines.models import Pipeline
from jobline.workspaces.models import Membership, Workspace
from jobline.workspaces.viewers import member_viewer

READ_TARGET_MS = 50.0
MOVE_TARGET_MS = 20.0
# Issue 11: the calendar week, the job page with its visits and the staff feed.
BOOKINGS_TARGET_MS = 20.0
# Issue 11: the quote list with 50,000 quotes (page 1, a search, a status).
QUOTES_TARGET_MS = 20.0
# Issue 12: the job page, the board column (with amounts due) and the dashboard, with a
# schedule on every job; a move into a trigger stage (which requests and invoices) 25 ms.
BILLING_TARGET_MS = 20.0
TRIGGER_TARGET_MS = 25.0
# The uncached feed is timed this many times (each one builds the whole feed) at most.
COLD_RUNS, COLD_WARMUP = 5, 1


@dataclass
class Scenario:
    key: str
    label: str
    url: str
    target_ms: float | None  # None: measured and shown, never marked
    # A POST scenario builds its form data before each request (not timed).
    post_data: Callable[[], dict[str, Any]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    check: Callable[[HttpResponse], str | None] | None = None
    # What the response must contain (also checked over HTTP, bench/http_mode.py).
    expect: list[str] = field(default_factory=list)
    status: int = 200
    # Sent without the session cookie (a phone's calendar app fetching a feed).
    anonymous: bool = False
    # Sent with If-None-Match: the ETag of the same URL, read once before the timed requests.
    if_none_match: bool = False
    # Before each request (not timed), this booking's updated_at is set to now: the feed's
    # ETag changes, so the body kept under the old one is not used (a first generation).
    # {"table", "pk", "column", "booking_pk"}: what the HTTP mode writes the same way.
    invalidate: dict[str, Any] | None = None
    # At most this many timed / warm-up requests (the uncached feed is slow by design).
    max_runs: int | None = None
    max_warmup: int | None = None


@dataclass
class Result:
    key: str
    label: str
    target_ms: float | None
    runs: int
    median_ms: float
    p95_ms: float
    min_ms: float
    cpu_median_ms: float
    queries: int
    db_ms: float
    ok: bool
    samples_ms: list[float]


def percentile(samples: list[float], share: float) -> float:
    """Nearest-rank percentile: the value below which ``share`` of the samples fall."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


# ----------------------------------------------------------------------------- scenarios


def _move_scenario(workspace: Workspace) -> Scenario:
    """A card moved between two stages of the stress pipeline: forward out of a stage without
    required fields, then back (always allowed). Uses the job's current version each time."""
    job = Job.objects.get(workspace=workspace, number=bench.MOVE_JOB_NUMBER)
    pair = open_pair(job)

    def post_data() -> dict[str, Any]:
        stage_id, version = Job.objects.filter(pk=job.pk).values_list("stage_id", "version").get()
        target = pair[1] if stage_id == pair[0].pk else pair[0]
        return {"stage": target.pk, "version": version, "from": "board"}

    def check(response: HttpResponse) -> str | None:
        if response.headers.get("HX-Trigger") != "jobMoved":
            return f"the move was refused: {response.headers.get('HX-Trigger')}"
        return None

    return Scenario(
        key="move",
        label=f"Stage move from the board ({pair[0].name} ⇄ {pair[1].name}, htmx)",
        url=reverse("jobs:move", args=[job.number]),
        target_ms=MOVE_TARGET_MS,
        post_data=post_data,
        headers={"HX-Request": "true", "HX-Target": f"job-card-{job.number}"},
        check=check,
    )


def build_scenarios(workspace: Workspace) -> tuple[list[Scenario], dict[str, Any]]:
    stress = Pipeline.objects.filter(workspace=workspace).order_by("pk")
    stress = next(p for p in stress if p.name == "Standard service")
    open_on_board = Job.objects.filter(
        pipeline=stress, archived_at__isnull=True, stage__is_terminal=False
    ).count()
    # The board page draws columns and counts; each column loads its cards in its own
    # request. The busiest column's first page is measured as its own scenario.
    busiest, busiest_count = max(
        (
            (stage, Job.objects.filter(stage=stage, archived_at__isnull=True).count())
            for stage in selectors.live_stages(stress)
            if not stage.is_terminal
        ),
        key=lambda pair: pair[1],
    )
    # The counts as the workspace's Admin sees them (the pages are requested as that Admin).
    everyone = member_viewer(
        Membership.objects.get(workspace=workspace, user__email=bench.ADMIN_EMAIL)
    )
    list_filters = selectors.JobFilters(pipeline=stress, due="overdue", state="open")
    search_filters = selectors.JobFilters(search=bench.SEARCH_WORD, state="open")
    facts = {
        "jobs": Job.objects.filter(workspace=workspace).count(),
        "activities": Activity.objects.filter(workspace=workspace).count(),
        "board_open_jobs": open_on_board,
        "board_columns": len(selectors.live_stages(stress)),
        "list_matches": selectors.jobs(viewer=everyone, filters=list_filters).count(),
        "search_matches": selectors.jobs(viewer=everyone, filters=search_filters).count(),
        "feed_entries": Activity.objects.filter(
            job__workspace=workspace, job__number=bench.FEED_JOB_NUMBER
        ).count(),
    }
    jobs_url = reverse("jobs:index")
    search = bench.SEARCH_WORD.lower()
    scenarios = [
        Scenario(
            key="board",
            label=f"Board of {stress.name} ({open_on_board:,} open jobs)",
            url=reverse("jobs:board", args=[stress.pk]),
            target_ms=READ_TARGET_MS,
        ),
        Scenario(
            key="column",
            label=f"Board column {busiest.name}: first 50 of {busiest_count:,} cards",
            url=reverse("jobs:board_more", args=[busiest.pk]),
            target_ms=READ_TARGET_MS,
        ),
        Scenario(
            key="list",
            label=(
                f"Filtered list: {stress.name}, overdue, open "
                f"({facts['list_matches']:,} matches, page 1)"
            ),
            url=f"{jobs_url}?owner=all&pipeline={stress.pk}&due=overdue&state=open",
            target_ms=READ_TARGET_MS,
        ),
        Scenario(
            key="search",
            label=f"Text search “{search}” ({facts['search_matches']:,} matches)",
            url=f"{jobs_url}?owner=all&q={search}",
            target_ms=READ_TARGET_MS,
        ),
        Scenario(
            key="job",
            label=f"Job page J-{bench.FEED_JOB_NUMBER} ({facts['feed_entries']:,} feed entries)",
            url=reverse("jobs:detail", args=[bench.FEED_JOB_NUMBER]),
            target_ms=READ_TARGET_MS,
        ),
        _move_scenario(workspace),
    ]
    bookings, booking_facts = bookings_scenarios(workspace)
    facts.update(booking_facts)
    quotes, quote_facts = quotes_scenarios(workspace)
    facts.update(quote_facts)
    billing, billing_facts = billing_scenarios(workspace, busiest=busiest)
    facts.update(billing_facts)
    return [*scenarios, *bookings, *quotes, *billing], facts


def billing_scenarios(
    workspace: Workspace, *, busiest: Any
) -> tuple[list[Scenario], dict[str, Any]]:
    """Issue 12's pages with a payment schedule on every job, and the move into a trigger
    stage that asks for an instalment and issues its invoice (in-process only)."""
    from bench import billing_data
    from jobline.billing.models import Instalment, InstalmentStatus, Invoice

    pair = billing_data.trigger_pair(workspace)
    if pair is None:
        return [], {}
    job, before, into, milestone = pair
    facts = {
        "instalments": Instalment.objects.filter(workspace=workspace).count(),
        "invoices": Invoice.objects.filter(workspace=workspace).count(),
        "owing_cards": Job.objects.filter(
            stage=busiest, archived_at__isnull=True, money_outstanding__isnull=False
        ).count(),
    }

    def requested(response: HttpResponse) -> str | None:
        if response.headers.get("HX-Trigger") != "jobMoved":
            return f"the move was refused: {response.headers.get('HX-Trigger')}"
        asked = Instalment.objects.filter(pk=milestone.pk, status=InstalmentStatus.REQUESTED)
        if not asked.exists():
            return "the move did not request the milestone"
        return None

    scenarios = [
        Scenario(
            key="money_job",
            label=f"Job page J-{job.number} with its payment schedule",
            url=reverse("jobs:detail", args=[job.number]),
            target_ms=BILLING_TARGET_MS,
            expect=['id="payments"'],
        ),
        Scenario(
            key="money_column",
            label=(
                f"Board column {busiest.name} with amounts due "
                f"({facts['owing_cards']:,} cards owing)"
            ),
            url=reverse("jobs:board_more", args=[busiest.pk]),
            target_ms=BILLING_TARGET_MS,
            expect=[" due</span>"],
        ),
        Scenario(
            key="money_page",
            label=f"Payments page of J-{job.number}",
            url=reverse("billing:job", args=[job.number]),
            target_ms=BILLING_TARGET_MS,
        ),
        Scenario(
            key="dashboard",
            label="Dashboard",
            url=reverse("dashboard"),
            target_ms=BILLING_TARGET_MS,
        ),
        Scenario(
            key="trigger_move",
            label=f"Move into a trigger stage ({before.name} → {into.name}: requests and invoices)",
            url=reverse("jobs:move", args=[job.number]),
            target_ms=TRIGGER_TARGET_MS,
            post_data=lambda: billing_data.reset_trigger(workspace),
            headers={"HX-Request": "true", "HX-Target": f"job-card-{job.number}"},
            check=requested,
        ),
    ]
    return scenarios, facts


def feed_token(membership: Membership) -> str | None:
    """The feed URL's token of the member's calendar feed, derived again from its nonce (the
    database keeps only its hash); None when this server's secret key did not make it."""
    from jobline.bookings import feeds
    from jobline.bookings.models import CalendarFeed

    feed = CalendarFeed.objects.filter(membership=membership).first()
    if feed is None:
        return None
    token = feeds.token_for(membership.pk, feed.nonce)
    return token if feeds.token_hash(token) == feed.token_hash else None


def bookings_scenarios(workspace: Workspace) -> tuple[list[Scenario], dict[str, Any]]:
    """Issue 11: the bench week on the calendar (as the Admin, a member who sees every
    booking), the job with its visits, and the feed member's calendar feed — served from the
    body kept under its ETag, answered 304 for that ETag, and generated from scratch."""
    from bench import bookings_data
    from jobline.bookings import services as booking_services
    from jobline.bookings.models import Assignment, Booking

    monday, week_bookings = bookings_data.bench_week(workspace)
    member = bookings_data.feed_membership(workspace)
    assert monday is not None and member is not None, "no bookings: bench.generate.ensure()"
    token = feed_token(member)
    if token is None:
        # The secret key is not the one the feed was made with: a new link (audited).
        token = booking_services.calendar_feed_renew(membership=member, actor=member.user)
    visits = Booking.objects.filter(workspace=workspace, job__number=bench.VISITS_JOB_NUMBER)
    member_bookings = Assignment.objects.filter(membership=member)
    facts = {
        "bookings": Booking.objects.filter(workspace=workspace).count(),
        "week": monday.isoformat(),
        "week_bookings": week_bookings,
        "visits_job_visits": visits.count(),
        "feed_member_bookings": member_bookings.count(),
    }
    latest = member_bookings.order_by("-booking_id").values_list("booking_id", flat=True)[0]
    meta = Booking._meta
    invalidate = {
        "table": meta.db_table,
        "pk": meta.pk.column,
        "column": meta.get_field("updated_at").column,
        "booking_pk": latest,
    }
    feed_url = reverse("bookings:feed", args=[token])
    who = member.user.full_name
    feed_what = f"{who}, {facts['feed_member_bookings']:,} bookings"
    scenarios = [
        Scenario(
            key="week",
            label=f"Calendar week of {monday:%-d %b %Y} ({week_bookings:,} bookings)",
            url=f"{reverse('bookings:calendar')}?view=week&date={monday.isoformat()}",
            target_ms=BOOKINGS_TARGET_MS,
            expect=['id="calendar"', 'class="cal-event '],
        ),
        Scenario(
            key="visits",
            label=f"Job page J-{bench.VISITS_JOB_NUMBER} ({facts['visits_job_visits']} visits)",
            url=reverse("jobs:detail", args=[bench.VISITS_JOB_NUMBER]),
            target_ms=BOOKINGS_TARGET_MS,
            expect=[f"J-{bench.VISITS_JOB_NUMBER}", 'id="visits"'],
        ),
        Scenario(
            key="feed",
            label=f"Staff feed 5k ({feed_what}; body kept under its ETag)",
            url=feed_url,
            target_ms=BOOKINGS_TARGET_MS,
            expect=["BEGIN:VCALENDAR", "END:VCALENDAR"],
            anonymous=True,
        ),
        Scenario(
            key="feed_304",
            label=f"Staff feed 304 ({feed_what}; If-None-Match)",
            url=feed_url,
            target_ms=BOOKINGS_TARGET_MS,
            status=304,
            anonymous=True,
            if_none_match=True,
        ),
        Scenario(
            key="feed_cold",
            label=f"Staff feed 5k (cold: {feed_what}, generated anew)",
            url=feed_url,
            target_ms=None,
            expect=["BEGIN:VCALENDAR", "END:VCALENDAR"],
            anonymous=True,
            invalidate=invalidate,
            max_runs=COLD_RUNS,
            max_warmup=COLD_WARMUP,
        ),
    ]
    return scenarios, facts


def _counted(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def quotes_scenarios(workspace: Workspace) -> tuple[list[Scenario], dict[str, Any]]:
    """Issue 11: the quote list as the Admin (a role that sees money: every quote of the
    workspace), page 1 newest first; searched for the surname of a few customers; filtered by
    one status. The counts are the selector's own, for the same viewer."""
    from jobline.quotes import selectors as quote_selectors
    from jobline.quotes.models import Quote

    admin = member_viewer(
        Membership.objects.get(workspace=workspace, user__email=bench.ADMIN_EMAIL)
    )

    def matches(**filters: str) -> int:
        return quote_selectors.quote_list(viewer=admin, **filters).paginator.count

    search = bench.SEARCH_WORD.lower()
    status = bench.QUOTE_LIST_STATUS
    facts = {
        "quotes": Quote.objects.filter(workspace=workspace).count(),
        "quotes_search_matches": matches(q=search),
        "quotes_status_matches": matches(status=status),
    }
    url = reverse("quotes:list")
    found = _counted(facts["quotes_search_matches"], "match", "matches")
    listed = _counted(facts["quotes_status_matches"], "quote", "quotes")
    # The list's rows have a status chip each; the search's show the customers found.
    row = 'class="chip quote-status-'
    scenarios = [
        Scenario(
            key="quotes",
            label=f"Quote list, page 1 of {facts['quotes']:,} quotes (newest first)",
            url=url,
            target_ms=QUOTES_TARGET_MS,
            expect=["<h1>Quotes</h1>", row],
        ),
        Scenario(
            key="quotes_search",
            label=f"Quote search “{search}” ({found})",
            url=f"{url}?q={search}",
            target_ms=QUOTES_TARGET_MS,
            expect=[row, bench.SEARCH_WORD],
        ),
        Scenario(
            key="quotes_status",
            label=f"Quote list, {status} ({listed}, page 1)",
            url=f"{url}?status={status}",
            target_ms=QUOTES_TARGET_MS,
            expect=[f"{row}{status}"],
        ),
    ]
    return scenarios, facts


# ----------------------------------------------------------------------------- timing


class QueryLog:
    """Counts a request's queries and their time in the database driver (sub-millisecond,
    unlike the debug cursor's rounded times). With ``runnable``, keeps each query with its
    parameters filled in, ready for EXPLAIN."""

    def __init__(self, *, runnable: bool = False) -> None:
        self.runnable = runnable
        self.entries: list[tuple[str, float]] = []

    def __call__(self, execute: Callable, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter_ns()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = (time.perf_counter_ns() - started) / 1e6
            if self.runnable and not many:
                sql = connection.ops.last_executed_query(context["cursor"], sql, params)
            self.entries.append((sql, elapsed))


_anonymous = Client()
_etags: dict[str, str] = {}


def _invalidate(target: dict[str, Any]) -> None:
    """What the HTTP mode does with SQL: the booking's updated_at is now (the feed's ETag)."""
    from django.utils import timezone

    from jobline.bookings.models import Booking

    Booking.objects.filter(pk=target["booking_pk"]).update(updated_at=timezone.now())


def _headers(client: Client, scenario: Scenario) -> dict[str, str]:
    headers = dict(scenario.headers)
    if scenario.if_none_match:
        if scenario.url not in _etags:
            etag = client.get(scenario.url).headers.get("ETag")
            if not etag:
                raise SystemExit(f"bench: {scenario.key}: no ETag from {scenario.url}")
            _etags[scenario.url] = etag
        headers["If-None-Match"] = _etags[scenario.url]
    return headers


def _request(
    client: Client, scenario: Scenario, queries: QueryLog | None = None
) -> tuple[float, float, HttpResponse]:
    """One request: its wall-clock time and the CPU time this (the app's) process spent on it,
    both in ms. The CPU time leaves out waiting for the database and for a busy machine."""
    if scenario.anonymous:
        client = _anonymous
    data = scenario.post_data() if scenario.post_data else None
    headers = _headers(client, scenario)
    if scenario.invalidate is not None:
        _invalidate(scenario.invalidate)
    watch = connection.execute_wrapper(queries) if queries is not None else nullcontext()
    with watch:
        started, started_cpu = time.perf_counter_ns(), time.process_time_ns()
        if data is None:
            response = client.get(scenario.url, headers=headers)
        else:
            response = client.post(scenario.url, data, headers=headers)
        elapsed_ms = (time.perf_counter_ns() - started) / 1e6
        cpu_ms = (time.process_time_ns() - started_cpu) / 1e6
    problem = None
    if response.status_code != scenario.status:
        problem = f"HTTP {response.status_code} from {scenario.url} (not {scenario.status})"
    elif scenario.check is not None:
        problem = scenario.check(response)
    elif scenario.expect:
        text = response.content.decode("utf-8", errors="replace")
        missing = [e for e in scenario.expect if e not in text]
        if missing:
            problem = f"{scenario.url} does not contain {missing}"
    if problem:
        raise SystemExit(f"bench: {scenario.key}: {problem}")
    return elapsed_ms, cpu_ms, response


def run_scenario(client: Client, scenario: Scenario, *, runs: int, warmup: int) -> Result:
    if scenario.max_runs is not None:
        runs = min(runs, scenario.max_runs)
    if scenario.max_warmup is not None:
        warmup = min(warmup, scenario.max_warmup)
    for _ in range(warmup):
        _request(client, scenario)
    gc.collect()
    timings = [_request(client, scenario) for _ in range(runs)]
    samples = [wall for wall, _cpu, _response in timings]
    queries = QueryLog()
    _request(client, scenario, queries)
    median = statistics.median(samples)
    return Result(
        key=scenario.key,
        label=scenario.label,
        target_ms=scenario.target_ms,
        runs=runs,
        median_ms=round(median, 2),
        p95_ms=round(percentile(samples, 0.95), 2),
        min_ms=round(min(samples), 2),
        cpu_median_ms=round(statistics.median(cpu for _wall, cpu, _response in timings), 2),
        queries=len(queries.entries),
        db_ms=round(sum(ms for _sql, ms in queries.entries), 2),
        ok=scenario.target_ms is None or median <= scenario.target_ms,
        samples_ms=[round(s, 3) for s in samples],
    )


def explain(client: Client, scenario: Scenario, *, top: int = 3) -> Iterator[str]:
    """The plans of a scenario's slowest SELECTs (EXPLAIN ANALYZE on PostgreSQL)."""
    queries = QueryLog(runnable=True)
    _request(client, scenario, queries)
    selects = [
        (sql, ms) for sql, ms in queries.entries if sql.lstrip().upper().startswith("SELECT")
    ]
    selects.sort(key=lambda entry: entry[1], reverse=True)
    prefix = (
        "EXPLAIN (ANALYZE, BUFFERS) "
        if connection.vendor == "postgresql"
        else "EXPLAIN QUERY PLAN "
    )
    with connection.cursor() as cursor:
        for sql, ms in selects[:top]:
            yield f"-- {ms:.2f} ms: {sql[:400]}"
            cursor.execute(prefix + sql)
            for row in cursor.fetchall():
                yield "   " + " | ".join(str(c) for c in row)


def machine() -> dict[str, Any]:
    """How busy and how fast this machine is, to read the timings against: the load average
    (2 = two cores' worth of runnable work) and a fixed pure-Python loop (best of 5)."""
    loop = min(timeit.repeat("sum(range(1_000_000))", number=1, repeat=5))
    return {
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python_loop_ms": round(loop * 1000, 2),
    }


def measure(
    *, runs: int, warmup: int, only: set[str] | None = None, with_explain: bool = False
) -> dict[str, Any]:
    before = machine()
    print(
        f"  machine: {before['cpus']} CPUs, load average {before['load_average'][0]:.2f}, "
        f"sum(range(10**6)) in {before['python_loop_ms']:.1f} ms",
        flush=True,
    )
    if before["load_average"][0] > 0.5 * (before["cpus"] or 1):
        print("  (load above half the CPUs: other work may inflate these timings)", flush=True)
    workspace = Workspace.objects.get(name=bench.WORKSPACE_NAME)
    admin = User.objects.get(email=bench.ADMIN_EMAIL)
    scenarios, facts = build_scenarios(workspace)
    # A failing view raises out of the client with its traceback: no second copy in the log.
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    client = Client()
    client.force_login(admin)
    results = []
    for scenario in scenarios:
        if only and scenario.key not in only:
            continue
        result = run_scenario(client, scenario, runs=runs, warmup=warmup)
        print(
            f"  {scenario.key:<13} median {result.median_ms:7.2f} ms  p95 {result.p95_ms:7.2f} ms"
            f"  app CPU {result.cpu_median_ms:7.2f} ms  {result.queries:3d} queries"
            f" ({result.db_ms:.2f} ms in the database)",
            flush=True,
        )
        results.append(result)
        if with_explain:
            for line in explain(client, scenario):
                print(line)
    return {
        "machine_before": before,
        "machine_after": machine(),
        "backend": connection.vendor,
        "database": connection.settings_dict["NAME"],
        "facts": facts,
        "results": [asdict(r) for r in results],
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        "| Scenario | Median ms | p95 ms | Queries | DB ms (1 run) | Target | OK? |",
        "|---|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in report["results"]:
        target, ok = "—", "—"
        if r["target_ms"] is not None:
            target, ok = f"< {r['target_ms']:.0f} ms", "yes" if r["ok"] else "**no**"
        lines.append(
            f"| {r['label']} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} | {r['queries']} "
            f"| {r['db_ms']:.1f} | {target} | {ok} |"
        )
    return "\n".join(lines)
