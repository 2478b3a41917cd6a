"""The customer portal's own records. (Its sign-in links live in accounts.SignInLink, with
the staff ones, scoped "portal".)"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class JobSeen(models.Model):
    """When a customer last opened a job: newer visible activity shows an unread dot."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "job"], name="jobseen_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} saw job {self.job_id} at {self.seen_at:%Y-%m-%d %H:%M}"
