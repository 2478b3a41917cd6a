"""Portal invitations, and what customers may do on their jobs.
Every customer action is a feed entry with the customer as the actor."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from jobline.accounts.models import User
from jobline.customers.models import Customer
from jobline.jobs import services as job_services
from jobline.jobs.models import ActorKind, Job, Message, Visibility
from jobline.jobs.uploads import attachments_add
from jobline.notifications.services import notify_job_staff
from jobline.pipelines.models import StageField
from jobline.portal import sign_in
from jobline.portal.models import JobSeen


@transaction.atomic
def customer_invite(*, customer: Customer, actor: User, build_url: Callable[[str], str]) -> User:
    """ "Invite to portal": the customer's e-mail becomes a portal sign-in (a person may be the
    customer of several businesses with one sign-in) and gets a first link."""
    if not customer.email:
        raise ValidationError({"email": "Add the customer's e-mail address first."})
    if not customer.workspace.portal_enabled:
        raise ValidationError("Switch on the customer portal in Settings → Customer Portal first.")
    user = User.objects.filter(email=customer.email).first()
    if user is None:
        user = User.objects.create_user(customer.email, None, full_name=customer.name)
    if customer.portal_user_id != user.pk:
        customer.portal_user = user
        customer.save(update_fields=["portal_user", "updated_at"])
    sign_in.signin_link_send(user=user, build_url=build_url, business=customer.workspace.name)
    return user


def job_mark_seen(*, job: Job, user: User) -> None:
    """Opening a job clears its unread dot."""
    JobSeen.objects.update_or_create(user=user, job=job, defaults={"seen_at": timezone.now()})


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise ValidationError(message)


@transaction.atomic
def customer_reply(
    *, job: Job, user: User, body: str, files: Sequence[File] = ()
) -> Message | None:
    """A reply from the customer, with or without files; both are visible to them."""
    _require(job.pipeline.customers_can_reply, "Replies are not open on this job.")
    if not body.strip() and not files:
        raise ValidationError({"body": "Write a message or attach a file."})
    notify_job_staff(
        job=job,
        actor=user,
        text=f"{job.customer.name if job.customer else 'The customer'} replied"
        + (f": “{body.strip()[:80]}”" if body.strip() else " with files"),
    )
    message = None
    if body.strip():
        message = job_services.message_add(
            job=job,
            body=body,
            visibility=Visibility.CUSTOMER,
            actor=user,
            actor_kind=ActorKind.CUSTOMER,
        )
    if files:
        _require(job.pipeline.customers_can_upload, "Files cannot be added to this job.")
        attachments_add(
            job=job,
            uploads=files,
            visibility=Visibility.CUSTOMER,
            actor=user,
            actor_kind=ActorKind.CUSTOMER,
            message=message,
        )
    return message


@transaction.atomic
def customer_upload(*, job: Job, user: User, files: Sequence[File]) -> None:
    _require(job.pipeline.customers_can_upload, "Files cannot be added to this job.")
    if not files:
        raise ValidationError({"files": "Choose at least one file."})
    notify_job_staff(job=job, actor=user, text=f"{job.customer.name} uploaded {len(files)} file(s)")
    attachments_add(
        job=job,
        uploads=files,
        visibility=Visibility.CUSTOMER,
        actor=user,
        actor_kind=ActorKind.CUSTOMER,
    )


@transaction.atomic
def customer_fields_save(
    *, job: Job, user: User, fields: Sequence[StageField], values: Mapping[int, Any]
) -> None:
    """Save the fields opened to the customer. Anything else is refused by the server, not
    only hidden in the page."""
    editable = {f.pk: f for f in fields if f.editable_by_customer and f.visible_to_customer}
    if set(values) - set(editable):
        raise ValidationError("Only the fields opened to you can be changed.")
    by_stage: dict[int, dict[int, Any]] = {}
    for field_id, value in values.items():
        by_stage.setdefault(editable[field_id].stage_id, {})[field_id] = value
    labels = ", ".join(editable[field_id].label for field_id in values)
    notify_job_staff(job=job, actor=user, text=f"{job.customer.name} filled in {labels}")
    for stage_id, stage_values in by_stage.items():
        stage = editable[next(iter(stage_values))].stage
        assert stage.pk == stage_id
        job_services.form_save(
            job=job,
            stage=stage,
            values=stage_values,
            actor=user,
            actor_kind=ActorKind.CUSTOMER,
            expected_version=None,
        )
