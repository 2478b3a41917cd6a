"""The customer portal's own records: one-time sign-in links."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class SignInLink(models.Model):
    """A one-time sign-in link sent by e-mail (valid 30 minutes, single use).

    Every request is recorded, also for addresses without an account, so the rate limit
    counts them all and the answer never reveals whether an account exists.
    """

    email = models.CharField(max_length=254)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Serves the per-address rate limit: links asked for this e-mail lately.
            models.Index(fields=["email", "created_at"], name="signinlink_email_idx"),
            # Serves the per-network-address rate limit.
            models.Index(fields=["ip_address", "created_at"], name="signinlink_ip_idx"),
        ]

    def __str__(self) -> str:
        return f"Sign-in link for {self.email}"


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
