"""Customer sign-in links, portal invitations, and what customers may do on their jobs.
Every customer action is a feed entry with the customer as the actor."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from jobline.accounts.models import User, normalize_email_address
from jobline.customers.models import Customer
from jobline.jobs import services as job_services
from jobline.jobs.models import ActorKind, Job, Message, Visibility
from jobline.jobs.uploads import attachments_add
from jobline.notifications.services import notify_job_staff
from jobline.pipelines.models import StageField
from jobline.portal.models import JobSeen, SignInLink
from jobline.workspaces.models import hash_token, new_token


class LinkThrottled(Exception):
    message = (
        "Too many sign-in links were asked for. Please wait 15 minutes, then ask again "
        "(the links already sent still work)."
    )


class LinkUnusable(Exception):
    message = "This sign-in link has expired or was already used. Ask for a new one below."


def _portal_user(email: str) -> User | None:
    """The account behind an address, if it is a customer of some business."""
    return (
        User.objects.filter(email=normalize_email_address(email), is_active=True)
        .filter(customer_profiles__isnull=False)
        .distinct()
        .first()
    )


def _send_link(*, email: str, url: str, business: str = "") -> None:
    context = {"url": url, "minutes": settings.PORTAL_LINK_VALID_MINUTES, "business": business}
    send_mail(
        subject=f"Your sign-in link{f' for {business}' if business else ''}",
        message=render_to_string("portal/email/sign_in_link.txt", context),
        html_message=render_to_string("portal/email/sign_in_link.html", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email],
    )


@transaction.atomic
def signin_link_request(
    *, email: str, ip_address: str | None, build_url: Callable[[str], str], business: str = ""
) -> None:
    """Send a one-time link if the address belongs to a customer; say nothing either way.

    Rate-limited per e-mail address and per network address; every request counts.
    """
    email = normalize_email_address(email)
    since = timezone.now() - timedelta(seconds=settings.PORTAL_LINK_WINDOW_SECONDS)
    recent = SignInLink.objects.filter(created_at__gt=since)
    if recent.filter(email=email).count() >= settings.PORTAL_LINKS_PER_EMAIL or (
        ip_address
        and recent.filter(ip_address=ip_address).count() >= settings.PORTAL_LINKS_PER_ADDRESS
    ):
        raise LinkThrottled()
    user = _portal_user(email)
    now = timezone.now()
    token = new_token() if user is not None else None
    SignInLink.objects.create(
        email=email,
        user=user,
        token_hash=hash_token(token) if token else None,
        ip_address=ip_address,
        created_at=now,
        expires_at=now + timedelta(minutes=settings.PORTAL_LINK_VALID_MINUTES),
    )
    if token is not None:
        url = build_url(token)
        transaction.on_commit(lambda: _send_link(email=email, url=url, business=business))


@transaction.atomic
def signin_link_use(*, token: str) -> User:
    """Single use: the row is locked, so a double click signs in once."""
    link = (
        # of=self: PostgreSQL cannot lock the nullable side of the join to the user.
        SignInLink.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if (
        link is None
        or link.user is None
        or link.used_at is not None
        or link.expires_at <= timezone.now()
        or not link.user.is_active
    ):
        raise LinkUnusable()
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])
    return link.user


def signin_link_is_usable(*, token: str) -> bool:
    return SignInLink.objects.filter(
        token_hash=hash_token(token),
        user__isnull=False,
        used_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).exists()


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
    now = timezone.now()
    token = new_token()
    SignInLink.objects.create(
        email=user.email,
        user=user,
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + timedelta(minutes=settings.PORTAL_LINK_VALID_MINUTES),
    )
    url = build_url(token)
    business = customer.workspace.name
    transaction.on_commit(lambda: _send_link(email=user.email, url=url, business=business))
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
