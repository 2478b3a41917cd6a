"""The bookings app's periodic job (core/schedule.py)."""

from __future__ import annotations

import datetime as dt

from jobline.bookings import services
from jobline.core.schedule import periodic


@periodic(
    "advance_next_visits",
    every=dt.timedelta(minutes=10),
    description="Moves each job's next visit (board card, job header) on once it has begun.",
)
def advance_next_visits() -> str:
    return f"{services.next_visits_refresh()} job(s) moved on"
