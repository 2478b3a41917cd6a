"""The portal's own reads: which jobs a signed-in person follows, with news first, and the
customer profiles they sign in as. What a customer may see OF a job is jobs.customer_view."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404

from jobline.accounts.models import User
from jobline.customers.models import Customer
from jobline.jobs import customer_view
from jobline.jobs.models import Activity, Attachment, Job
from jobline.portal.models import JobSeen
from jobline.workspaces.viewers import Viewer, customer_viewer


def customer_profiles(*, user: User) -> QuerySet[Customer]:
    """The customer profiles a person signs in as (one per business)."""
    return (
        Customer.objects.filter(portal_user=user, archived_at__isnull=True)
        .select_related("workspace")
        .order_by("workspace__name", "id")
    )


def customer_jobs(*, user: User) -> QuerySet[Job]:
    """Every job the person follows in the portal (Job.objects.in_portal_of)."""
    return (
        Job.objects.in_portal_of(user)
        .select_related("workspace", "pipeline", "customer_stage", "customer")
        .order_by("workspace__name", "-last_activity_at", "-id")
    )


def customer_jobs_with_news(*, user: User) -> list[Job]:
    """The person's jobs, those with something new for them first (an entry they may see,
    not their own, since they last opened the job). One query per business they are a
    customer of."""
    jobs: list[Job] = []
    for profile in customer_profiles(user=user):
        viewer = customer_viewer(profile)
        latest_news = (
            Activity.objects.visible_to(viewer)
            .filter(job=OuterRef("pk"))
            .exclude(actor=user)
            .order_by("-created_at")
            .values("created_at")[:1]
        )
        seen = JobSeen.objects.filter(user=user, job=OuterRef("pk")).values("seen_at")[:1]
        jobs.extend(
            customer_jobs(user=user)
            .filter(customer=profile)
            .select_related("owner")  # each card names who looks after the job
            .annotate(news_at=Subquery(latest_news), seen_at=Subquery(seen))
        )
    for job in jobs:
        job.has_news = job.news_at is not None and (  # type: ignore[attr-defined]
            job.seen_at is None or job.news_at > job.seen_at  # type: ignore[attr-defined]
        )
    jobs.sort(key=lambda j: (not j.has_news, j.workspace.name))  # type: ignore[attr-defined]
    return jobs


def customer_job(*, user: User, job_id: int) -> tuple[Job, Viewer]:
    """One of the person's jobs, with the viewer that reads it (their customer profile of
    that business). Another customer's job, a job of a workspace with the portal off, an
    archived one: a 404 either way."""
    job = customer_jobs(user=user).filter(pk=job_id).first()
    if job is None or job.customer is None:
        raise Http404("No such job.")
    return job, customer_viewer(job.customer)


def customer_file(*, user: User, attachment_id: int) -> Attachment:
    """A file of one of the person's jobs that their customer profile may open (404 for an
    internal file, another customer's, or one of a workspace whose portal is off)."""
    attachment = (
        Attachment.objects.filter(pk=attachment_id, job__in=Job.objects.in_portal_of(user))
        .select_related("job__customer")
        .first()
    )
    if attachment is None or attachment.job.customer is None:
        raise Http404("No such file.")
    job = attachment.job
    return customer_view.file_for(customer_viewer(job.customer), job, attachment_id)
