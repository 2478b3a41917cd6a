"""``/health/`` for a monitor or a load balancer: 200 when the database answers, every
migration is applied and the worker and scheduler have been seen lately; 503 otherwise. No
sign-in, and nothing in the answer about anyone's data."""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from jobline.core.background import is_fresh
from jobline.core.models import ProcessKind

OK = "ok"
UNKNOWN = "unknown"


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return "unavailable"
    return OK


def _migrations() -> str:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return OK if not plan else "not applied"


def _background(kind: ProcessKind) -> str:
    return OK if is_fresh(kind) else "not seen lately"


@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database(), "migrations": UNKNOWN, "worker": UNKNOWN}
    checks["scheduler"] = UNKNOWN
    try:
        if checks["database"] == OK:
            checks["migrations"] = _migrations()
        if checks["migrations"] == OK:  # the heartbeat table exists
            checks["worker"] = _background(ProcessKind.WORKER)
            checks["scheduler"] = _background(ProcessKind.SCHEDULER)
    except DatabaseError:  # the database went away between the checks
        checks["database"] = "unavailable"
    healthy = all(value == OK for value in checks.values())
    return JsonResponse(
        {"status": OK if healthy else "failing", "checks": checks}, status=200 if healthy else 503
    )
