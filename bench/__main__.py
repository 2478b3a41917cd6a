"""`python -m bench` (what `make bench` runs): for each backend, make sure its benchmark
database exists and is migrated, generate the workspace once, time the pages in-process, print
tables; then time the same scenarios over HTTP through gunicorn (bench/http_mode.py).

Environment:
  BENCH_MODE          both (default): in-process, then HTTP; inprocess; http
  BENCH_BACKENDS      postgres,sqlite (default) — which databases to measure, in order
  BENCH_RUNS          timed requests per scenario (default 30), after BENCH_WARMUP (default 5;
                      over HTTP BENCH_HTTP_WARMUP, default 10)
  BENCH_RESET=1       throw the benchmark databases away and generate them again
  BENCH_ONLY          board,column,list,search,job,move,week,visits,feed,feed_304,feed_cold,
                      quotes,quotes_search,quotes_status,money_job,money_column,money_page,
                      dashboard,trigger_move — a subset of the scenarios (the last five,
                      issue 12's, are measured in-process only)
  BENCH_EXPLAIN=1     also print the plans of each scenario's slowest queries (in-process)
  BENCH_POSTGRES_URL  default postgres://postgres@127.0.0.1:5432/jobline_bench
  BENCH_SQLITE_PATH   default var/bench.sqlite3
HTTP mode only:
  BENCH_SIZES         demo,100k (default) — the demo workspace and/or the 100k one
  BENCH_COMPARE       another checkout (e.g. /work/baseline) measured in the same sitting
  BENCH_COMPARE_SUFFIX  its databases' suffix (default _base); BENCH_COMPARE_CHUNK (default 5)
  BENCH_HTTP_WORKERS  gunicorn workers (default 2); BENCH_GUNICORN_ARGS: more of its options
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "var" / "bench"
BACKEND_NAMES = {"postgres": "PostgreSQL", "sqlite": "SQLite"}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def database_url(backend: str) -> str:
    if backend == "postgres":
        return os.environ.get(
            "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/jobline_bench"
        )
    path = Path(os.environ.get("BENCH_SQLITE_PATH", ROOT / "var" / "bench.sqlite3"))
    return f"sqlite:///{path.resolve()}"


def backend_env(backend: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(backend),
        DJANGO_SETTINGS_MODULE="jobline.settings",
        # Development settings with DEBUG off: no per-query logging skews the timings, and
        # production's HTTPS redirect does not apply to in-process requests.
        JOBLINE_ENV="development",
        DJANGO_DEBUG="0",
        # Persistent connections, as production runs (settings: 60 s there); otherwise every
        # request would also pay for opening a PostgreSQL connection.
        DATABASE_CONN_MAX_AGE="60",
        PYTHONUNBUFFERED="1",
    )
    return env


# ----------------------------------------------------------------------------- databases


def _guard(name: str) -> None:
    # BENCH_RESET drops databases: never one that is not obviously a benchmark database.
    if "bench" not in Path(name).name:
        raise SystemExit(f"bench: refusing to use {name!r}: its name must contain 'bench'")


def prepare_postgres(url: str, *, reset: bool) -> None:
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    name = config["NAME"]
    _guard(name)
    params = {
        "dbname": "postgres",
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as conn:
        if reset:
            print(f"  dropping database {name}")
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            print(f"  creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def prepare_sqlite(url: str, *, reset: bool) -> None:
    path = Path(url.removeprefix("sqlite:///"))
    _guard(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    if reset:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def run_backend(backend: str, *, reset: bool) -> dict[str, Any] | None:
    title = BACKEND_NAMES[backend]
    print(f"\n## {title}\n", flush=True)
    url = database_url(backend)
    try:
        if backend == "postgres":
            prepare_postgres(url, reset=reset)
        else:
            prepare_sqlite(url, reset=reset)
    except Exception as error:  # an unreachable server skips this backend, loudly
        print(f"  {title} is not available ({error}); skipped.")
        return None
    env = backend_env(backend)
    output = RESULTS_DIR / f"{backend}.json"
    output.unlink(missing_ok=True)
    steps = [
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        [sys.executable, "-m", "bench", "backend", "--output", str(output)],
    ]
    for step in steps:
        if subprocess.run(step, cwd=ROOT, env=env).returncode != 0:
            print(f"\n  {title}: `{' '.join(step[1:])}` failed (see above); skipped.")
            return None
    return json.loads(output.read_text())


# ----------------------------------------------------------------------------- one backend


def backend_main(output: Path) -> None:
    """Runs under one backend's DATABASE_URL: generate if needed, then measure."""
    import django

    django.setup()
    from bench import generate, measure
    from jobline.core.process import freeze_loaded_objects

    # As jobline/wsgi.py does in every app server: what is loaded is out of the garbage
    # collector's view, so a full collection does not walk it in some timed request.
    freeze_loaded_objects()

    # Everything the first time; only the bookings and / or the quotes on a database generated
    # before them.
    generated = generate.ensure()
    if generated is not None:
        generated = round(generated, 1)
    only = {s.strip() for s in os.environ.get("BENCH_ONLY", "").split(",") if s.strip()}
    runs = int(os.environ.get("BENCH_RUNS") or 30)
    warmup = int(os.environ.get("BENCH_WARMUP") or 5)
    print(f"  timing {runs} requests per scenario after {warmup} warm-up requests", flush=True)
    started = time.perf_counter()
    report = measure.measure(
        runs=runs, warmup=warmup, only=only or None, with_explain=_flag("BENCH_EXPLAIN")
    )
    report["generated_seconds"] = generated
    report["measure_seconds"] = round(time.perf_counter() - started, 1)
    print()
    print(measure.table(report))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2))


# ----------------------------------------------------------------------------- summary


def combined_table(reports: dict[str, dict[str, Any]]) -> str:
    backends = list(reports)
    header = "| Scenario | " + " | ".join(
        f"{BACKEND_NAMES[b]} median | {BACKEND_NAMES[b]} p95" for b in backends
    )
    lines = [
        header + " | Target |",
        "|---|" + "---:|---:|" * len(backends) + "---:|",
    ]
    first = reports[backends[0]]["results"]
    for row in first:
        cells = []
        for backend in backends:
            result = next((r for r in reports[backend]["results"] if r["key"] == row["key"]), None)
            if result is None:
                cells += ["—", "—"]
                continue
            mark = "" if result["ok"] else " ✗"
            cells += [f"{result['median_ms']:.1f} ms{mark}", f"{result['p95_ms']:.1f} ms"]
        target = "—" if row["target_ms"] is None else f"< {row['target_ms']:.0f} ms"
        lines.append(f"| {row['label']} | " + " | ".join(cells) + f" | {target} |")
    return "\n".join(lines)


def main_inprocess() -> int:
    wanted = [
        b.strip()
        for b in os.environ.get("BENCH_BACKENDS", "postgres,sqlite").split(",")
        if b.strip()
    ]
    unknown = [b for b in wanted if b not in BACKEND_NAMES]
    if unknown:
        raise SystemExit(f"bench: unknown backend(s) {unknown}; use postgres and/or sqlite")
    reset = _flag("BENCH_RESET")
    reports: dict[str, dict[str, Any]] = {}
    for backend in wanted:
        report = run_backend(backend, reset=reset)
        if report is not None:
            reports[backend] = report
    if not reports:
        print("bench: no backend could be measured")
        return 1
    print("\n## Summary\n")
    for backend, report in reports.items():
        generated = report["generated_seconds"]
        how = f"generated in {generated:.0f}s" if generated else "kept from an earlier run"
        print(
            f"- {BACKEND_NAMES[backend]}: {report['facts']['jobs']:,} jobs, "
            f"{report['facts']['activities']:,} feed entries ({how}); "
            f"measured in {report['measure_seconds']:.0f}s"
        )
    print()
    print(combined_table(reports))
    missed = [
        f"{BACKEND_NAMES[b]} {r['key']}"
        for b, report in reports.items()
        for r in report["results"]
        if not r["ok"]
    ]
    print("\nEvery target met." if not missed else f"\nTargets missed: {', '.join(missed)}")
    return 0 if len(reports) == len(wanted) else 1


MODES = ("both", "inprocess", "http")


def main_all() -> int:
    mode = os.environ.get("BENCH_MODE", "both").strip().lower() or "both"
    if mode not in MODES:
        raise SystemExit(f"bench: unknown BENCH_MODE {mode!r}; use {', '.join(MODES)}")
    status = 0
    if mode in {"both", "inprocess"}:
        status = main_inprocess()
    if mode in {"both", "http"}:
        from bench import http_mode

        # After the in-process run, BENCH_RESET has already regenerated this checkout's data.
        status = max(status, http_mode.main(reset_this=mode == "http"))
    return status


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "command",
        nargs="?",
        default="all",
        choices=["all", "backend"],
        help="all (default); backend = one database, under its DATABASE_URL (internal)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "result.json")
    args = parser.parse_args()
    if args.command == "backend":
        backend_main(args.output)
        return 0
    return main_all()


if __name__ == "__main__":
    sys.exit(main())
