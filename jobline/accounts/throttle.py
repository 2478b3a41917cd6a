"""Counting attempts in the database, so every app server sees the same numbers.

A limit is "at most N attempts per key in the last W seconds" (a sliding window). Checking a
limit and counting the attempt are one atomic step: the bucket rows of every key involved are
locked (SELECT ... FOR UPDATE, in key order so two requests never wait on each other in a
circle), counted, and the attempt is recorded before the lock is let go. A request that is let
through has therefore already been counted, and parallel requests queue at the lock instead
of all reading the same old count. On SQLite the whole write transaction is serialised
(settings use BEGIN IMMEDIATE), which gives the same guarantee.

The lock is held only for that short step, never while a password hash is computed or an
e-mail is sent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from jobline.accounts.models import ThrottleBucket, ThrottleHit


@dataclass(frozen=True)
class Limit:
    """At most ``limit`` attempts for ``key`` in the last ``window_seconds``."""

    scope: str
    key: str
    limit: int
    window_seconds: int
    email: str = ""


class ThrottleExceeded(Exception):
    def __init__(self, *, scope: str, retry_after_seconds: int) -> None:
        super().__init__(f"{scope} throttled for {retry_after_seconds}s")
        self.scope = scope
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class Reservation:
    """The attempts one request recorded, so a success can give them back."""

    hit_ids: tuple[int, ...]


@transaction.atomic
def throttle_reserve(*, limits: Sequence[Limit]) -> Reservation:
    """Count one attempt against every limit, or raise ThrottleExceeded and count nothing.

    When several limits are reached, the first one in ``limits`` is the one reported.
    """
    now = timezone.now()
    by_key = {limit.key: limit for limit in limits}
    keys = sorted(by_key)
    ThrottleBucket.objects.bulk_create(
        [ThrottleBucket(key=k, scope=by_key[k].scope, email=by_key[k].email) for k in keys],
        ignore_conflicts=True,
    )
    locked = ThrottleBucket.objects.select_for_update().filter(key__in=keys).order_by("key")
    buckets = {bucket.key: bucket for bucket in locked}
    for limit in limits:
        if limit.limit <= 0:  # configured shut: nothing is let through
            raise ThrottleExceeded(scope=limit.scope, retry_after_seconds=limit.window_seconds)
        window = timedelta(seconds=limit.window_seconds)
        recent = list(
            ThrottleHit.objects.filter(bucket=buckets[limit.key], created_at__gt=now - window)
            .order_by("-created_at")
            .values_list("created_at", flat=True)[: limit.limit]
        )
        if len(recent) >= limit.limit:
            # Open again when the oldest attempt still counted leaves the window.
            retry = math.ceil((recent[limit.limit - 1] + window - now).total_seconds())
            raise ThrottleExceeded(scope=limit.scope, retry_after_seconds=max(1, retry))
    longest = timedelta(seconds=max(limit.window_seconds for limit in limits))
    ThrottleHit.objects.filter(bucket__in=buckets.values(), created_at__lte=now - longest).delete()
    hits = [ThrottleHit.objects.create(bucket=buckets[key], created_at=now) for key in keys]
    return Reservation(hit_ids=tuple(hit.pk for hit in hits))


def throttle_release(*, reservation: Reservation) -> None:
    """Give back the attempts a request reserved (it turned out not to be a failure)."""
    ThrottleHit.objects.filter(pk__in=reservation.hit_ids).delete()


def throttle_clear(
    *, keys: Sequence[str] = (), email: str = "", scopes: Sequence[str] = ()
) -> None:
    """Forget the counted attempts of some keys, or of every bucket of ``scopes`` about an
    account."""
    if keys:
        ThrottleHit.objects.filter(bucket__key__in=keys).delete()
    if email and scopes:
        ThrottleHit.objects.filter(bucket__email=email, bucket__scope__in=scopes).delete()
