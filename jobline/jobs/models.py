"""Jobs, their activity feed, messages (notes and replies), files and stage-form values."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobline.customers.models import Customer
from jobline.pipelines.models import Pipeline, Stage, StageField
from jobline.workspaces.models import Workspace


class Visibility(models.TextChoices):
    INTERNAL = "internal", "Internal"
    CUSTOMER = "customer", "Visible"


class JobNumberSequence(models.Model):
    """The next job number of a workspace. Locked row per workspace: numbers never repeat."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, primary_key=True, related_name="job_sequence"
    )
    next_number = models.PositiveIntegerField(default=1001)

    def __str__(self) -> str:
        return f"{self.workspace}: next J-{self.next_number}"


class Job(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="jobs")
    number = models.PositiveIntegerField()
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="jobs")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="jobs")
    # The last stage the customer was allowed to see the job enter (internal stages are
    # skipped): the portal shows this one while the job sits in an internal stage.
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
    # Number, title, customer name and notes in one column: the list's text search reads it.
    search_text = models.TextField(blank=True, default="")

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
            # Serves the list sorted by creation.
            models.Index(fields=["workspace", "-created_at", "-id"], name="job_created_idx"),
            # Serves "mine": an owner's jobs by last activity.
            models.Index(fields=["owner", "-last_activity_at"], name="job_owner_idx"),
            # Serves a customer's jobs (customer page, portal).
            models.Index(fields=["customer", "-last_activity_at"], name="job_customer_idx"),
            # PostgreSQL's full-text index on search_text is made in migration 0002 (GIN indexes
            # do not exist on SQLite, so it is created only there).
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return f"J-{self.number}"

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


class ActivityKind(models.TextChoices):
    CREATED = "created", "Created"
    STATUS_CHANGED = "status_changed", "Status changed"
    OWNER_CHANGED = "owner_changed", "Owner changed"
    DUE_DATE_CHANGED = "due_date_changed", "Due date changed"
    TITLE_CHANGED = "title_changed", "Title changed"
    CUSTOMER_CHANGED = "customer_changed", "Customer changed"
    NOTE = "note", "Internal note"
    REPLY = "reply", "Reply to customer"
    REPLY_VISIBILITY_CHANGED = "reply_visibility_changed", "Reply visibility changed"
    FILE_ADDED = "file_added", "File added"
    FILE_VISIBILITY_CHANGED = "file_visibility_changed", "File visibility changed"
    FORM_SAVED = "form_saved", "Form saved"
    ARCHIVED = "archived", "Archived"
    RESTORED = "restored", "Restored"
    COPIED = "copied", "Copied"
    REQUEST_CREATED = "request_created", "Document requested"
    REQUEST_FULFILLED = "request_fulfilled", "Document received"
    REQUEST_REOPENED = "request_reopened", "Document request reopened"


# The feed's type filter groups kinds the way people think of them.
FEED_TYPE_GROUPS: dict[str, tuple[str, ...]] = {
    "status": (ActivityKind.STATUS_CHANGED, ActivityKind.CREATED, ActivityKind.ARCHIVED,
               ActivityKind.RESTORED, ActivityKind.COPIED),
    "notes": (ActivityKind.NOTE,),
    "replies": (ActivityKind.REPLY, ActivityKind.REPLY_VISIBILITY_CHANGED),
    "files": (ActivityKind.FILE_ADDED, ActivityKind.FILE_VISIBILITY_CHANGED),
    "forms": (ActivityKind.FORM_SAVED,),
    "requests": (ActivityKind.REQUEST_CREATED, ActivityKind.REQUEST_FULFILLED,
                 ActivityKind.REQUEST_REOPENED),
    "details": (ActivityKind.OWNER_CHANGED, ActivityKind.DUE_DATE_CHANGED,
                ActivityKind.TITLE_CHANGED, ActivityKind.CUSTOMER_CHANGED),
}  # fmt: skip


class ActorKind(models.TextChoices):
    STAFF = "staff", "Staff"
    CUSTOMER = "customer", "Customer"
    SYSTEM = "system", "System"


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

    def __str__(self) -> str:
        return self.body[:60]


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

    class Meta:
        indexes = [
            # Serves the job page's files and gallery.
            models.Index(fields=["job", "-created_at"], name="attachment_job_idx"),
        ]

    def __str__(self) -> str:
        return self.original_name


class Activity(models.Model):
    """One append-only feed entry. Nothing updates or deletes these rows (on PostgreSQL a
    trigger refuses it)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="activities")
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
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # Serves the job page's feed: newest first, keyset-paginated on (created_at, id).
            models.Index(fields=["job", "-created_at", "-id"], name="activity_feed_idx"),
            # Serves the feed filtered by kind (status, notes, replies, files, forms).
            models.Index(fields=["job", "kind", "-created_at", "-id"], name="activity_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on job {self.job_id}"


class FieldValue(models.Model):
    """A job's answer to one stage-form field, with who saved it and when."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="field_values")
    field = models.ForeignKey(StageField, on_delete=models.PROTECT, related_name="values")
    value = models.JSONField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "field"], name="fieldvalue_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.field}: {self.value}"
