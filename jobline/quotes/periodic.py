"""The quotes app's periodic job (core/schedule.py)."""

from __future__ import annotations

import datetime as dt

from jobline.core.schedule import periodic
from jobline.quotes import services


@periodic(
    "expire_quotes",
    every=dt.timedelta(minutes=30),
    description="Marks open quotes past their expiry date (in the business's own today) expired.",
)
def expire_quotes() -> str:
    return f"{services.quotes_expire()} quote(s) expired"
