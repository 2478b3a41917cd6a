"""The demo workspace's approvals: the history's (a job that moved on past a stage its
customer approves was approved, by them, when it left), the demo customer's contract waiting
for their approval with a message, and one approval reopened by a change of value."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from jobline.approvals import services
from jobline.approvals.models import Approval, ApprovalStatus
from jobline.jobs.models import Job
from jobline.workspaces.models import Workspace

WAITING_MESSAGE = (
    "Here is the draft contract review. Please read it and approve it, or tell us what you "
    "would like changed."
)


def add_demo_approvals(*, workspace: Workspace, customer_email: str) -> int:
    """Returns how many approvals the demo has."""
    approvals = Approval.objects.filter(workspace=workspace).select_related(
        "job__customer", "stage"
    )
    if approvals.exclude(status=ApprovalStatus.PENDING).exists():
        return approvals.count()
    now = timezone.now()
    for approval in approvals.filter(status=ApprovalStatus.PENDING):
        job = approval.job
        if job.stage_id == approval.stage_id:
            continue
        # Moved on: its customer approved it the day after they were asked.
        decided = min(approval.requested_at + dt.timedelta(days=1), now)
        approval.status = ApprovalStatus.APPROVED
        approval.decided_at = decided
        approval.decided_name = job.customer.name if job.customer else "The customer"
        approval.decided_hash = services.content_hash(approval)
        approval.save(update_fields=["status", "decided_at", "decided_name", "decided_hash"])
    waiting = approvals.filter(status=ApprovalStatus.PENDING)
    for approval in waiting.filter(job__customer__email=customer_email):
        approval.message = WAITING_MESSAGE
        approval.save(update_fields=["message"])
    other = waiting.exclude(job__customer__email=customer_email).order_by("pk").first()
    if other is not None:
        # Approved, and then the job's value changed: asked again, saying what changed.
        other.status = ApprovalStatus.APPROVED
        other.decided_at = now - dt.timedelta(days=2)
        other.decided_name = other.job.customer.name if other.job.customer else "The customer"
        other.decided_hash = services.content_hash(other)
        other.save(update_fields=["status", "decided_at", "decided_name", "decided_hash"])
        job = Job.objects.get(pk=other.job_id)
        services.value_changed(job=job, actor=None, at=now - dt.timedelta(days=1))
    return Approval.objects.filter(workspace=workspace).count()
