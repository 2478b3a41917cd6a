"""Jobs, their activity feed, messages (notes and replies), files, stage-form values, document
requests and followers.

Who may see which row is decided here, once per model, by a ``visible_to(viewer)`` query
method (viewers: jobline.workspaces.viewers). Members see everything of their workspace
(amounts only if their role allows); customers, and members previewing as one, see only what
was made visible to the customer. Every page, e-mail and export reads through these methods.
"""

from __future__ import annotations

from functools import cached_property

from django.conf import settings
from django.db import models
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone

from jobline.core.models import ChoiceLabels
from jobline.customers.models import Customer
from jobline.jobs import activity
from jobline.jobs.choices import CUSTOMER_KINDS, ActivityKind, ActorKind, Visibility
from jobline.pipelines.models import Pipeline, Stage, StageField, readable_on_job_q
from jobline.workspaces.models import Workspace, portal_shows_jobs_q
from jobline.workspaces.viewers import Viewer


class JobNumberSequence(models.Model):
    """The next job number of a workspace. Locked row per workspace: numbers never repeat."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, primary_key=True, related_name="job_sequence"
    )
    next_number = models.PositiveIntegerField(default=1001)

    def __str__(self) -> str:
        return f"{self.workspace}: next J-{self.next_number}"


def job_reference(number: int) -> str:
    """How people name a job: J-1001."""
    return f"J-{number}"


class JobQuerySet(models.QuerySet["Job"]):
    def visible_to(self, viewer: Viewer | None) -> JobQuerySet:
        """Members: their workspace's jobs. Customers (and previews): the jobs of that one
        customer profile."""
        if viewer is None:
            return self.none()
        mine = self.filter(workspace_id=viewer.workspace_id)
        return mine.filter(customer_id=viewer.customer_id) if viewer.sees_as_customer else mine

    def in_portal_of(self, user: object) -> JobQuerySet:
        """The jobs a signed-in person follows in the portal: those of every customer profile
        they sign in as, in workspaces whose portal shows jobs; archived jobs and archived
        profiles are not shown."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(
            portal_shows_jobs_q("workspace__"),
            customer__portal_user=user,
            customer__archived_at__isnull=True,
            archived_at__isnull=True,
        )


class Job(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="jobs")
    number = models.PositiveIntegerField()
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="jobs")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="jobs")
    # The last customer-visible stage the job entered (internal stages are skipped): what
    # the customer reads as its status, and how far they have seen it go. Kept by every
    # move, and set again from the feed when a stage's visibility is switched.
    customer_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_jobs",
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="jobs"
    )
    due_date = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(default=timezone.now)
    stage_entered_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Optimistic concurrency: every change bumps it; a change from a stale page is refused.
    version = models.PositiveIntegerField(default=1)
    copied_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies"
    )
    # The start of its next scheduled visit that has not ended yet, kept by the bookings
    # services (and moved on by their periodic job as visits end): the board card and the
    # job's header show it without reading the bookings.
    next_visit_at = models.DateTimeField(null=True, blank=True)
    # What it is worth (from its converted quote, or typed on its Payments page) and the
    # deposit due on acceptance (from the quote). Shown only to roles that see money.
    value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    deposit_due = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # What its requested instalments still await (None: nothing), kept by the billing
    # services in the same transaction as each request, payment, refund and void: the board
    # card shows it (to roles that see money) without reading the schedule.
    money_outstanding = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # Number, title, customer name and notes in one column: the list's text search reads it.
    search_text = models.TextField(blank=True, default="")

    objects = JobQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "number"], name="job_number_unique"),
        ]
        indexes = [
            # Serves the board: a pipeline's unarchived jobs per stage, most recent in stage first.
            models.Index(
                fields=["stage", "-stage_entered_at", "-id"],
                name="job_board_idx",
                condition=Q(archived_at__isnull=True),
            ),
            # Serves the board's per-stage counts (selectors.board): only the unarchived jobs'
            # stage ids, so the count reads this small index alone. Without it SQLite counted
            # through the plain stage_id index and read every job row for archived_at
            # (~34 ms at 23,000 open jobs in bench/; ~2 ms with it).
            models.Index(
                fields=["stage"],
                name="job_stage_open_idx",
                condition=Q(archived_at__isnull=True),
            ),
            # Serves the jobs list's default sort (last activity) inside a workspace.
            models.Index(fields=["workspace", "-last_activity_at", "-id"], name="job_activity_idx"),
            # Serves the list sorted by due date and the overdue / this-week filters.
            models.Index(fields=["workspace", "due_date", "id"], name="job_due_idx"),
            # Serves the jobs list's open jobs of one pipeline: the page in last-activity order
            # and its count (due_date rides along so the overdue / this-week counts read only
            # the index). Measured in bench/: the count went from 16 ms to 3 ms at 100k jobs.
            models.Index(
                fields=["workspace", "pipeline", "-last_activity_at", "-id", "due_date"],
                name="job_open_pipeline_idx",
                condition=Q(archived_at__isnull=True, closed_at__isnull=True),
            ),
            # Counts the open jobs of a pipeline (the list's "n jobs" and its pages), overdue
            # or not, from the index alone: the one above has due_date last and the open
            # filter outside its columns, so SQLite read every matching row to count them
            # (2.5 ms for the 12,000 overdue jobs of a pipeline in bench/; 0.45 ms from this).
            models.Index(
                fields=["workspace", "pipeline", "due_date", "archived_at", "closed_at"],
                name="job_open_due_idx",
                condition=Q(archived_at__isnull=True, closed_at__isnull=True),
            ),
            # Serves the list sorted by creation.
            models.Index(fields=["workspace", "-created_at", "-id"], name="job_created_idx"),
            # Serves "mine": an owner's jobs by last activity.
            models.Index(fields=["owner", "-last_activity_at"], name="job_owner_idx"),
            # Serve the dashboard's lists of an owner's open jobs in their own order, so each
            # reads its first rows (and counts to its cap) from the front of an index: "my
            # overdue jobs" by due date (through job_owner_idx SQLite read and sorted all of an
            # owner's ~3,900 jobs: ~13 ms in bench/), and "waiting on the customer" by last
            # activity (without it SQLite prefers the first index and sorts, ~12 ms).
            models.Index(
                fields=["workspace", "owner", "due_date", "number"],
                name="job_owner_due_idx",
                condition=Q(archived_at__isnull=True, closed_at__isnull=True),
            ),
            models.Index(
                fields=["workspace", "owner", "-last_activity_at", "-number"],
                name="job_owner_open_idx",
                condition=Q(archived_at__isnull=True, closed_at__isnull=True),
            ),
            # Serves a customer's jobs (customer page, portal).
            models.Index(fields=["customer", "-last_activity_at"], name="job_customer_idx"),
            # PostgreSQL's full-text index on search_text is made in migration 0002 (GIN indexes
            # do not exist on SQLite, so it is created only there).
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return job_reference(self.number)

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_overdue(self) -> bool:
        return (
            self.due_date is not None
            and self.closed_at is None
            and self.due_date < timezone.localdate()
        )


def _of_job(queryset: models.QuerySet, viewer: Viewer, job: Job | None) -> models.QuerySet:
    """Rows of one job the viewer may open (checked on the job in hand, no join), or of every
    job of the viewer's workspace — and, for a customer, of their own jobs only."""
    if job is not None:
        if job.workspace_id != viewer.workspace_id or (
            viewer.sees_as_customer and job.customer_id != viewer.customer_id
        ):
            return queryset.none()
        return queryset.filter(job=job)
    mine = queryset.filter(job__workspace_id=viewer.workspace_id)
    return mine.filter(job__customer_id=viewer.customer_id) if viewer.sees_as_customer else mine


def _customer_message_q(prefix: str = "") -> Q:
    return Q(**{f"{prefix}visibility": Visibility.CUSTOMER})


def _customer_attachment_q(prefix: str = "") -> Q:
    """A file the customer sees: shared with them, and not attached to a message they do not
    see (a reply made internal takes its files with it)."""
    return Q(**{f"{prefix}visibility": Visibility.CUSTOMER}) & (
        Q(**{f"{prefix}message__isnull": True})
        | Q(**{f"{prefix}message__visibility": Visibility.CUSTOMER})
    )


class MessageQuerySet(models.QuerySet["Message"]):
    def visible_to(self, viewer: Viewer | None, job: Job | None = None) -> MessageQuerySet:
        """Members: notes and replies. Customers: replies that are still customer-visible."""
        if viewer is None:
            return self.none()
        mine = _of_job(self, viewer, job)
        return mine.filter(_customer_message_q()) if viewer.sees_as_customer else mine


class Message(models.Model):
    """An internal note or a reply to the customer. Its visibility may be corrected later
    (a reply sent by mistake becomes internal); the correction is its own feed entry."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="messages")
    body = models.TextField()
    visibility = models.CharField(max_length=10, choices=Visibility.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    author_kind = models.CharField(
        max_length=10, choices=ActorKind.choices, default=ActorKind.STAFF
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = MessageQuerySet.as_manager()

    def __str__(self) -> str:
        return self.body[:60]


class DocumentRequestQuerySet(models.QuerySet["DocumentRequest"]):
    def visible_to(self, viewer: Viewer | None, job: Job | None = None) -> DocumentRequestQuerySet:
        """Document requests are addressed to the customer: every request of a job they may
        open is theirs to see (the files in them follow Attachment.objects.visible_to)."""
        if viewer is None:
            return self.none()
        return _of_job(self, viewer, job)


class DocumentRequest(models.Model):
    """Staff ask the customer for a document ("Photo ID"); the customer uploads into it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        FULFILLED = "fulfilled", "Done"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="document_requests")
    title = models.CharField(max_length=160)
    description = models.TextField(blank=True)
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    fulfilled_at = models.DateTimeField(null=True, blank=True)

    objects = DocumentRequestQuerySet.as_manager()

    class Meta:
        indexes = [
            # Serves the job page's and the portal's list of a job's requests.
            models.Index(fields=["job", "status", "created_at"], name="docrequest_job_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class AttachmentQuerySet(models.QuerySet["Attachment"]):
    def visible_to(self, viewer: Viewer | None, job: Job | None = None) -> AttachmentQuerySet:
        """Members: every file of their workspace's jobs. Customers: files shared with them
        whose message (if any) they still see."""
        if viewer is None:
            return self.none()
        mine = _of_job(self, viewer, job)
        return mine.filter(_customer_attachment_q()) if viewer.sees_as_customer else mine

    def with_customer_visibility(self) -> AttachmentQuerySet:
        """Each file with ``customer_sees`` (the rule above: the staff pages' chips) and
        ``shared`` (its own setting, which "Share with customer" / "Make internal" flips; a
        shared file on an internal note is still not seen)."""
        return self.annotate(
            customer_sees=ExpressionWrapper(_customer_attachment_q(), output_field=BooleanField()),
            shared=ExpressionWrapper(
                Q(visibility=Visibility.CUSTOMER), output_field=BooleanField()
            ),
        )


class Attachment(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments"
    )
    document_request = models.ForeignKey(
        DocumentRequest,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attachments",
    )
    file = models.FileField(upload_to="jobs/%Y/%m/", max_length=255)
    thumbnail = models.FileField(upload_to="jobs/thumbs/%Y/%m/", blank=True, max_length=255)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    is_image = models.BooleanField(default=False)
    visibility = models.CharField(max_length=10, choices=Visibility.choices)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    uploader_kind = models.CharField(
        max_length=10, choices=ActorKind.choices, default=ActorKind.STAFF
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        indexes = [
            # Serves the job page's files and gallery.
            models.Index(fields=["job", "-created_at"], name="attachment_job_idx"),
        ]

    def __str__(self) -> str:
        return self.original_name


def _customer_entry_q() -> Q:
    """A feed entry the customer may be shown: a kind that can ever reach them, flagged
    customer-visible when written, and the reply or file it points at still visible now."""
    return (
        Q(visibility=Visibility.CUSTOMER, kind__in=CUSTOMER_KINDS)
        & (Q(message__isnull=True) | _customer_message_q("message__"))
        & (Q(attachment__isnull=True) | _customer_attachment_q("attachment__"))
    )


class ActivityQuerySet(models.QuerySet["Activity"]):
    def visible_to(self, viewer: Viewer | None, job: Job | None = None) -> ActivityQuerySet:
        """Members: the whole feed of their workspace's jobs. Customers: the entries of
        _customer_entry_q. (What a customer reads of an entry they may see — stage labels,
        which form fields — is customer_view's part, through the other models' rules.)"""
        if viewer is None:
            return self.none()
        if job is not None:
            mine = _of_job(self, viewer, job)
        else:
            mine = self.filter(workspace_id=viewer.workspace_id)
            if viewer.sees_as_customer:
                mine = mine.filter(job__customer_id=viewer.customer_id)
        return mine.filter(_customer_entry_q()) if viewer.sees_as_customer else mine

    def with_customer_visibility(self) -> ActivityQuerySet:
        """Each entry with ``customer_sees`` (the staff feed's Visible / Internal chip): the
        same rule as visible_to, evaluated in the same query."""
        return self.annotate(
            customer_sees=ExpressionWrapper(_customer_entry_q(), output_field=BooleanField())
        )

    def seen_by_customer(self, seen: bool) -> ActivityQuerySet:
        """The staff feed's "Customer-visible" / "Internal" filter."""
        return self.filter(_customer_entry_q()) if seen else self.exclude(_customer_entry_q())


class Activity(ChoiceLabels, models.Model):
    """One append-only feed entry. Nothing updates or deletes these rows (on PostgreSQL a
    trigger refuses it). ``data`` is written and read through jobs/activity.py only."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    # No index of its own: the feed index below starts with the job and serves every lookup
    # by job. A second, narrower one tempted PostgreSQL's generic plan for the (prepared)
    # feed query into reading all of a long feed and sorting it: 9 ms against 1 at 5,000
    # entries.
    job = models.ForeignKey(
        Job, on_delete=models.CASCADE, related_name="activities", db_index=False
    )
    kind = models.CharField(max_length=32, choices=ActivityKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    visibility = models.CharField(max_length=10, choices=Visibility.choices)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    attachment = models.ForeignKey(
        Attachment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The stage a creation or a move entered (also in the payload, by name): the customer's
    # status is computed from these when a stage's visibility is switched. No index of its
    # own: the job's feed index finds the entries; stages are never deleted for real.
    stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        indexes = [
            # Serves the job page's feed: newest first, keyset-paginated on (created_at, id).
            models.Index(fields=["job", "-created_at", "-id"], name="activity_feed_idx"),
            # Serves the feed filtered by kind (status, notes, replies, files, forms), and the
            # customer's status from a job's stage entries.
            models.Index(fields=["job", "kind", "-created_at", "-id"], name="activity_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on job {self.job_id}"

    @cached_property
    def payload(self) -> activity.Payload:
        """The typed payload (jobs/activity.py) of this entry's kind."""
        return activity.parse(self.kind, self.data)


class FieldValueQuerySet(models.QuerySet["FieldValue"]):
    def visible_to(self, viewer: Viewer | None, job: Job) -> FieldValueQuerySet:
        """A job's saved stage-form values the viewer may read: those of the fields
        StageField.objects.on_job allows (money only for viewers who see money, retired money
        fields included; for customers only customer-visible fields of stages they have seen
        the job reach) — the same rule, applied to the values' fields."""
        if viewer is None:
            return self.none()
        customer_stage = job.customer_stage
        condition = readable_on_job_q(
            viewer,
            customer_stage_position=customer_stage.position if customer_stage else None,
            prefix="field__",
        )
        if condition is None:
            return self.none()
        return _of_job(self, viewer, job).filter(condition)


class FieldValue(models.Model):
    """A job's answer to one stage-form field, with who saved it and when."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="field_values")
    field = models.ForeignKey(StageField, on_delete=models.PROTECT, related_name="values")
    value = models.JSONField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    objects = FieldValueQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "field"], name="fieldvalue_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.field}: {self.value}"


class JobFollower(models.Model):
    """A staff member who asked to hear what the customer does on a job they do not own."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "jobs_jobfollower"
        constraints = [
            models.UniqueConstraint(fields=["job", "user"], name="jobfollower_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} follows job {self.job_id}"
