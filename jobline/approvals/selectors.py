"""What the approval pages read, through Approval.objects.visible_to."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import Http404

from jobline.approvals.hooks import Document, documents_of
from jobline.approvals.models import Approval, ApprovalStatus
from jobline.jobs.choices import Visibility
from jobline.jobs.hooks import CustomerWait, JobPageSection
from jobline.jobs.models import Attachment, Job
from jobline.workspaces.viewers import MONEY_ROLES, Viewer


def current_approval(job: Job, viewer: Viewer | None) -> Approval | None:
    """The job's live approval the viewer may see: the newest not replaced (for a customer,
    only while it concerns the stage the job is in or is still open)."""
    return (
        Approval.objects.visible_to(viewer)
        .filter(job_id=job.pk)
        .exclude(status=ApprovalStatus.SUPERSEDED)
        .select_related("stage")
        # Its files as the viewer may see them: one made internal since it was attached is
        # gone from the customer's request (the rule of Attachment.objects.visible_to).
        .prefetch_related(Prefetch("files", queryset=Attachment.objects.visible_to(viewer, job)))
        .order_by("-requested_at", "-pk")
        .first()
    )


def job_page_approval(job: Job, viewer: Viewer | None) -> JobPageSection | None:
    """The job page's Approval section, while the job's stage requires approval."""
    if viewer is None or viewer.sees_as_customer:
        return None
    stage = job.stage  # read with the job: a page whose stage needs no approval reads nothing
    if not stage.requires_approval:
        return None
    approval = current_approval(job, viewer)
    if approval is not None and approval.stage_id != stage.pk:
        approval = None  # a request of a stage the job has left: nothing to do here
    attachable = []
    documents: list[Document] = []
    if approval is not None:
        attached_document = (approval.document or {}).get("key")
        documents = [d for d in documents_of(job, viewer) if d.key != attached_document]
        attached = {f.pk for f in approval.files.all()}
        attachable = [
            f for f in Attachment.objects.filter(job_id=job.pk, visibility=Visibility.CUSTOMER)
            .only("pk", "original_name").order_by("-pk")[:50]
            if f.pk not in attached
        ]  # fmt: skip
    return JobPageSection(
        template="approvals/_job_approval.html",
        context={
            "approval": approval,
            "stage": stage,
            "can_override": viewer.role in MONEY_ROLES,
            "attachable": attachable,
            "documents": documents,
        },
    )


def get_approval(*, viewer: Viewer | None, pk: int) -> Approval:
    approval = (
        Approval.objects.visible_to(viewer).select_related("job", "stage").filter(pk=pk).first()
    )
    if approval is None:
        raise Http404("No such approval.")
    return approval


def waiting_for_customer(job: Job, viewer: Viewer | None) -> Approval | None:
    """The open request the portal shows at the top of the customer's job page."""
    approval = current_approval(job, viewer)
    return approval if approval is not None and approval.is_pending else None


def _asked_and_unanswered() -> Q:
    """A job whose customer has been asked for an approval and has not answered."""
    return Q(Exists(Approval.objects.filter(job_id=OuterRef("pk"), status=ApprovalStatus.PENDING)))


def _approvals_asked(job_ids: list[int]) -> list[tuple[int, str]]:
    """For the dashboard's jobs (already the viewer's): each open approval, by its stage."""
    return [
        (job_id, f"approval asked ({stage})")
        for job_id, stage in Approval.objects.filter(
            job_id__in=job_ids, status=ApprovalStatus.PENDING
        ).values_list("job_id", "stage__name")
    ]


# The dashboard's "waiting on the customer" (jobs.hooks) counts an approval asked.
WAITING_FOR_APPROVAL = CustomerWait(condition=_asked_and_unanswered, waiting_for=_approvals_asked)
