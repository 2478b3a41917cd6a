"""Profile one scenario against a benchmark database: where does a request's time go?

    DATABASE_URL=… (as `python -m bench` sets it) python -m bench.profile board [runs] [sort]

or, simpler, ``python -m bench.profile --backend sqlite board 50``: runs the scenario's
requests (the same test Client and settings as bench/measure.py) under cProfile and prints
the functions with the most cumulative and own time. Nothing is written to the database
except by the move scenario.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument(
        "scenario",
        help=(
            "board, column, list, search, job, move, week, visits, feed, feed_304, feed_cold,"
            " quotes, quotes_search or quotes_status"
        ),
    )
    parser.add_argument("runs", nargs="?", type=int, default=30)
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default=None)
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--sort", default="cumulative", help="cumulative, tottime, …")
    parser.add_argument("--dump", help="also write the raw profile to this file")
    parser.add_argument(
        "--queries", action="store_true", help="list one request's queries and their times"
    )
    args = parser.parse_args()
    if args.backend:
        from bench.__main__ import backend_env

        os.environ.update(backend_env(args.backend))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobline.settings")

    import django

    django.setup()
    import logging

    from django.test import Client

    import bench
    from bench import measure
    from jobline.accounts.models import User
    from jobline.workspaces.models import Workspace

    workspace = Workspace.objects.get(name=bench.WORKSPACE_NAME)
    admin = User.objects.get(email=bench.ADMIN_EMAIL)
    scenarios, _facts = measure.build_scenarios(workspace)
    scenario = next(s for s in scenarios if s.key == args.scenario)
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    client = Client()
    client.force_login(admin)
    for _ in range(5):
        measure._request(client, scenario)
    if args.queries:
        log = measure.QueryLog()
        measure._request(client, scenario, log)
        for sql, ms in log.entries:
            print(f"{ms:7.2f} ms  {sql[:300]}")
        print(f"{len(log.entries)} queries, {sum(ms for _sql, ms in log.entries):.2f} ms")
        return 0
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.runs):
        measure._request(client, scenario)
    profiler.disable()
    if args.dump:
        profiler.dump_stats(args.dump)
    stats = pstats.Stats(profiler, stream=sys.stdout)
    print(f"{args.runs} requests of {scenario.key}; times are totals over all of them")
    stats.sort_stats(args.sort).print_stats(args.limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
