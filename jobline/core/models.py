"""The core app's tables: one-time tokens of create forms, the background processes' signs of
life, and the periodic jobs' schedule."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable


class ChoiceLabels:
    """``get_FOO_display()`` as Django's, with each field's labels gathered once: Django
    builds the dict of a field's choices on every call (~25 µs; a list shows fifty quotes'
    statuses, a week thousands of visits'). Mixed into the models whose labels lists show."""

    def _get_FIELD_display(self, field: models.Field) -> Any:
        labels = _CHOICE_LABELS.get(field)
        if labels is None:
            labels = _CHOICE_LABELS[field] = dict(make_hashable(field.flatchoices))
        value = getattr(self, field.attname)
        return force_str(labels.get(make_hashable(value), value), strings_only=True)


_CHOICE_LABELS: dict[models.Field, dict[Any, Any]] = {}


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


class ProcessKind(models.TextChoices):
    WORKER = "worker", "Worker"
    SCHEDULER = "scheduler", "Scheduler"


class ProcessHeartbeat(models.Model):
    """A background process's last sign of life: a worker (``manage.py run_worker``) or a
    scheduler (``manage.py run_scheduler``). A worker's claimed tasks are handed back when it
    has been silent longer than the lease (core/background.py); /health/ and the e-mail
    delivery page read these rows."""

    process_id = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=10, choices=ProcessKind.choices)
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["kind", "-last_seen_at"], name="heartbeat_kind_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.process_id} (seen {self.last_seen_at:%Y-%m-%d %H:%M:%S})"


class PeriodicRun(models.Model):
    """When a periodic job (core/schedule.py) is due next. A scheduler runs a job only after
    moving ``next_run_at`` on in one conditional UPDATE, so any number of schedulers run it
    at most once per interval."""

    name = models.CharField(max_length=100, unique=True)
    next_run_at = models.DateTimeField()
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.TextField(blank=True)
    last_run_by = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"{self.name} (next {self.next_run_at:%Y-%m-%d %H:%M:%S})"


class ChangeRecord(ChoiceLabels, models.Model):
    """The shape of a thing's own append-only history (a visit's, a quote's): who, when, what
    changed in words. Each app adds the thing it belongs to and its kinds."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # What changed, in words the thing's page shows ("Tue 8 Dec 10:00 → Wed 9 Dec 10:00").
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.detail}"  # type: ignore[attr-defined]
