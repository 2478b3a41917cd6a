"""The one table of the core app: one-time tokens of create forms."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class SubmittedForm(models.Model):
    """A create form that was submitted: its one-time token, who sent it, what it made.

    Every create form carries a fresh token; the service that does the work records it in
    the same transaction. A second submission of the same token (a double click, a re-sent
    request) finds the row and is shown the first result instead of making a copy.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=64)
    # What the first submission made, for the repeat to show (e.g. {"job": 1005}).
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Per person: another person's (guessed or copied) token cannot swallow a post.
            models.UniqueConstraint(fields=["user", "token"], name="submittedform_unique"),
        ]

    def __str__(self) -> str:
        return f"Form {self.token} by user {self.user_id}"
