"""The billing app's periodic job (core/schedule.py)."""

from __future__ import annotations

import datetime as dt

from jobline.billing import services
from jobline.core.schedule import periodic


@periodic(
    "request_dated_instalments",
    every=dt.timedelta(minutes=30),
    description="Requests the instalments set to be asked for on a date, once that date comes "
    "in the workspace's time zone.",
)
def request_dated_instalments() -> str:
    return f"{services.dated_instalments_request()} instalment(s) requested"
