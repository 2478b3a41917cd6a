"""The follow-ups app's periodic job (core/schedule.py)."""

from __future__ import annotations

import datetime as dt

from jobline.core.schedule import periodic
from jobline.followups import services


@periodic(
    "notice_due_follow_ups",
    every=dt.timedelta(minutes=30),
    description="Marks follow-up check-ins due and tells each job's owner (bell and e-mail); "
    "once each.",
)
def notice_due_follow_ups() -> str:
    return f"{services.follow_ups_notice()} owner(s) told"
