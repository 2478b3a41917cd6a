"""What the jobs app tells the layers above it, without importing them.

Every feed entry, once written, is handed to the handlers registered here, inside the same
transaction (so what they write — an e-mail in the outbox, a bell notification — commits or
rolls back with the change). The notifications app registers its handler in its AppConfig.
"""

from __future__ import annotations

from collections.abc import Callable

from jobline.jobs.models import Activity

ActivityHandler = Callable[[Activity], None]

_activity_handlers: list[ActivityHandler] = []


def on_activity_logged(handler: ActivityHandler) -> None:
    """Register ``handler`` for every new feed entry (registering twice changes nothing)."""
    if handler not in _activity_handlers:
        _activity_handlers.append(handler)


def activity_logged(activity: Activity) -> None:
    for handler in _activity_handlers:
        handler(activity)
