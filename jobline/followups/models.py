"""Follow-up check-ins scheduled by stages: "6 weeks after a job enters Initial appointment,
within 4 to 8 weeks, a review". Computed in the workspace's wall time (a DST change moves no
review by an hour). A follow-up with a visit on its job inside its window counts as booked;
a job that is lost cancels its open ones.

Who sees them: the members of the workspace (``FollowUp.objects.visible_to``); customers
only hear of them by e-mail when the stage says so.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobline.jobs.models import Job
from jobline.pipelines.models import Stage
from jobline.workspaces.models import Workspace
from jobline.workspaces.viewers import Viewer

LABEL_MAX = 80
# An offset is at least a day and at most two years.
MAX_OFFSET_DAYS = 730


class FollowUpRule(models.Model):
    """One follow-up a stage schedules for each job entering it."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="follow_up_rules")
    position = models.PositiveIntegerField(default=1)
    label = models.CharField(max_length=LABEL_MAX)
    offset_days = models.PositiveIntegerField()
    # The window in which a visit counts as the follow-up booked, around the due day.
    window_before_days = models.PositiveIntegerField(default=0)
    window_after_days = models.PositiveIntegerField(default=0)
    # With the portal on: the customer is e-mailed "time to book your review" when it is due.
    email_customer = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "pk"]
        indexes = [
            # Serves a stage entry: the stage's rules.
            models.Index(fields=["stage", "position"], name="followup_rule_stage_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.offset_days} days after {self.stage_id})"


class FollowUpStatus(models.TextChoices):
    PENDING = "pending", "Scheduled"
    DUE = "due", "Due"
    CANCELLED = "cancelled", "Cancelled"


OPEN_STATUSES = (FollowUpStatus.PENDING, FollowUpStatus.DUE)


class FollowUpQuerySet(models.QuerySet["FollowUp"]):
    def visible_to(self, viewer: Viewer | None) -> FollowUpQuerySet:
        if viewer is None or viewer.sees_as_customer:
            return self.none()
        return self.filter(workspace_id=viewer.workspace_id)


class FollowUp(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="follow_ups")
    rule = models.ForeignKey(
        FollowUpRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    label = models.CharField(max_length=LABEL_MAX)
    due_at = models.DateTimeField()
    window_starts_at = models.DateTimeField()
    window_ends_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=FollowUpStatus.choices, default=FollowUpStatus.PENDING
    )
    email_customer = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    # When the periodic job told the owner it fell due (claimed once).
    noticed_at = models.DateTimeField(null=True, blank=True)

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "rule"],
                condition=Q(status__in=["pending", "due"]),
                name="one_open_follow_up_per_rule",
            ),
        ]
        indexes = [
            # Serves the periodic job: open follow-ups by due time.
            models.Index(fields=["due_at"], name="followup_due_idx", condition=Q(status="pending")),
            # Serves the job page.
            models.Index(fields=["job", "due_at"], name="followup_job_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.label} of job {self.job_id}"
