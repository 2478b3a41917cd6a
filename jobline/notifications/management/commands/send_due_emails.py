"""Send every outbox e-mail that is due: a safety net for a lost delivery task, or for
running without a worker (e.g. from cron)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from jobline.notifications.delivery import deliver_due


class Command(BaseCommand):
    help = "Send every e-mail in the outbox that is due now."

    def handle(self, *args: Any, **options: Any) -> None:
        outcome = deliver_due()
        summary = ", ".join(f"{count} {what}" for what, count in sorted(outcome.items()))
        self.stdout.write(summary or "Nothing was due.")
