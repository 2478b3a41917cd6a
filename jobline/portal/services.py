"""Portal invitations, and what customers may do on their jobs. Every customer action is a
feed entry with the customer as the actor; the job's owner and followers hear of it through
the feed (the notifications app listens to every new entry)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.files import File
from django.utils import timezone

from jobline.accounts.models import User
from jobline.core.transactions import service
from jobline.customers import services as customer_services
from jobline.customers.models import Customer
from jobline.jobs import services as job_services
from jobline.jobs import uploads
from jobline.jobs.choices import ActorKind, Visibility
from jobline.jobs.models import Job, Message
from jobline.pipelines.models import StageField
from jobline.portal import sign_in
from jobline.portal.models import JobSeen
from jobline.workspaces.services import audit_record


@service
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
    audit_record(
        workspace=customer.workspace, actor=actor, action="customer.portal_invited",
        target=customer.name, new=customer.email,
    )  # fmt: skip
    sign_in.signin_link_send.step(user=user, build_url=build_url, business=customer.workspace.name)
    return user


@service
def preview_record(*, job: Job, actor: User) -> None:
    """Each "View as customer" is in the workspace's audit log."""
    audit_record(
        workspace=job.workspace, actor=actor, action="portal.previewed", field=job.reference
    )


@service
def job_mark_seen(*, job: Job, user: User) -> None:
    """Opening a job clears its unread dot."""
    JobSeen.objects.update_or_create(user=user, job=job, defaults={"seen_at": timezone.now()})


@service
def customer_password_set(*, user: User, password: str) -> None:
    """A customer may choose a password instead of links."""
    password_validation.validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise ValidationError(message)


def customer_reply(
    *,
    job: Job,
    user: User,
    body: str,
    files: Sequence[File] = (),
    one_time_token: str | None = None,
) -> Message | None:
    """A reply from the customer, with or without files; both are visible to them."""
    _require(job.pipeline.customers_can_reply, "Replies are not open on this job.")
    if files:
        _require(job.pipeline.customers_can_upload, "Files cannot be added to this job.")
    _job, message = job_services.message_post(
        job=job, body=body, visibility=Visibility.CUSTOMER, actor=user, files=files,
        actor_kind=ActorKind.CUSTOMER, one_time_token=one_time_token,
    )  # fmt: skip
    return message


def customer_upload(*, job: Job, user: User, files: Sequence[File]) -> None:
    _require(job.pipeline.customers_can_upload, "Files cannot be added to this job.")
    if not files:
        raise ValidationError({"files": "Choose at least one file."})
    uploads.attachments_add(
        job=job, uploads=files, visibility=Visibility.CUSTOMER, actor=user,
        actor_kind=ActorKind.CUSTOMER,
    )  # fmt: skip


@service
def customer_fields_save(
    *, job: Job, user: User, fields: Sequence[StageField], values: Mapping[int, Any]
) -> None:
    """Save the fields opened to the customer (``fields``: the editable ones of
    jobs.customer_view.CustomerJob.details). Anything else is refused by the server, not
    only hidden in the page."""
    editable = {f.pk: f for f in fields if f.editable_by_customer}
    if set(values) - set(editable):
        raise ValidationError("Only the fields opened to you can be changed.")
    by_stage: dict[int, dict[int, Any]] = {}
    for field_id, value in values.items():
        by_stage.setdefault(editable[field_id].stage_id, {})[field_id] = value
    for stage_values in by_stage.values():
        stage = editable[next(iter(stage_values))].stage
        job_services.form_save_stored.step(
            job=job, stage=stage, values=stage_values, actor=user,
            actor_kind=ActorKind.CUSTOMER, expected_version=None,
        )  # fmt: skip


@service
def customer_email_choices_save(*, user: User, notify_ids: set[str]) -> None:
    """Reply and file e-mails on or off for each business the person is a customer of (the
    portal account page): only their own profiles."""
    for profile in Customer.objects.filter(portal_user=user, archived_at__isnull=True):
        customer_services.customer_set_notifications.step(
            customer=profile, actor=None, notify_on_replies=str(profile.pk) in notify_ids
        )


@service
def customer_unsubscribe(*, customer: Customer, notify_on_replies: bool) -> None:
    """The e-mails' unsubscribe link (or its "turn them back on")."""
    customer_services.customer_set_notifications.step(
        customer=customer, actor=None, notify_on_replies=notify_on_replies
    )
