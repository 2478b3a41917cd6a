"""Customer approvals of a stage: a job entering a stage that requires approval asks its
customer to approve what the stage shows them (its customer label, a message from staff, the
files attached and the job's value), and the job cannot move on past the stage until they do.

Who may see an approval is decided here (``Approval.objects.visible_to``): members of its
workspace; its job's customer, while the job is not archived and the stage is visible to them
(an internal stage makes everything on it internal). A superseded request is history: the
customer sees only the live one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobline.core.models import ChoiceLabels
from jobline.jobs.models import Attachment, Job
from jobline.pipelines.models import Stage
from jobline.workspaces.models import Workspace
from jobline.workspaces.viewers import Viewer

MESSAGE_MAX = 2000


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the customer"
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes", "Changes requested"
    OVERRIDDEN = "overridden", "Overridden"
    SUPERSEDED = "superseded", "Replaced"


# What lets the job move on past its stage.
PASSING = (ApprovalStatus.APPROVED, ApprovalStatus.OVERRIDDEN)


class ApprovalQuerySet(models.QuerySet["Approval"]):
    def visible_to(self, viewer: Viewer | None) -> ApprovalQuerySet:
        if viewer is None:
            return self.none()
        mine = self.filter(workspace_id=viewer.workspace_id)
        if not viewer.sees_as_customer:
            return mine
        return mine.filter(
            job__customer_id=viewer.customer_id,
            job__archived_at__isnull=True,
            stage__visible_to_customer=True,
        ).exclude(status=ApprovalStatus.SUPERSEDED)


class Approval(ChoiceLabels, models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="approvals")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    # What the customer approves: staff's message, the files attached (customer-visible
    # ones), the job's value then; its hash is recorded with the answer.
    message = models.TextField(blank=True, max_length=MESSAGE_MAX)
    files = models.ManyToManyField(Attachment, blank=True, related_name="+")
    value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # A quote revision (or another app's document) attached, as it was described when attached
    # (hooks.Document.as_data()); {} when none.
    document = models.JSONField(default=dict, blank=True)
    # What changed since the approval it replaces (a new file, the value): shown to them.
    changed = models.CharField(max_length=300, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    # The answer: the typed name, when, from where, and the hash of what it answered.
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_name = models.CharField(max_length=150, blank=True)
    decided_ip = models.GenericIPAddressField(null=True, blank=True)
    decided_hash = models.CharField(max_length=64, blank=True)
    changes_message = models.TextField(blank=True, max_length=MESSAGE_MAX)
    override_reason = models.CharField(max_length=300, blank=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = ApprovalQuerySet.as_manager()

    class Meta:
        constraints = [
            # One live request per job: asking again replaces the one before.
            models.UniqueConstraint(
                fields=["job"], condition=Q(status="pending"), name="one_pending_approval"
            ),
        ]
        indexes = [
            # Serves the gate and the job page: a job's approvals, newest first.
            models.Index(fields=["job", "-requested_at"], name="approval_job_idx"),
        ]

    def __str__(self) -> str:
        return f"Approval {self.pk} of job {self.job_id}"

    @property
    def label(self) -> str:
        """The stage as the customer reads it."""
        return self.stage.customer_label or self.stage.name

    @property
    def is_pending(self) -> bool:
        return self.status == ApprovalStatus.PENDING
