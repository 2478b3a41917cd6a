"""In-app notifications for staff: what customers did on the jobs they own."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from jobline.jobs.models import Job


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+")
    text = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Serves the bell's unread count and the notification list, newest first.
            models.Index(fields=["recipient", "read_at", "-created_at"], name="notif_inbox_idx"),
        ]

    def __str__(self) -> str:
        return self.text
