"""Reads for the staff's jobs pages, scoped to the viewer's workspace through the models'
``visible_to`` methods, with their joins chosen so the number of queries does not grow with
the data. What a customer sees of a job is customer_view.py."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from jobline.accounts.models import initials_of
from jobline.core.pages import Counted
from jobline.core.prepared import PreparedQuery
from jobline.core.search import prefix_match
from jobline.jobs import hooks
from jobline.jobs.choices import FEED_TYPE_GROUPS, ActivityKind
from jobline.jobs.models import (
    Activity,
    Attachment,
    DocumentRequest,
    FieldValue,
    Job,
    JobFollower,
    Message,
    job_reference,
)
from jobline.jobs.stage_forms import missing_required
from jobline.pipelines.models import FieldType, Pipeline, Stage, StageField
from jobline.workspaces.models import Membership, Role, Workspace
from jobline.workspaces.viewers import Viewer, sees_money

BOARD_PAGE_SIZE = 50
CLOSED_COLUMN_DAYS = 30
FEED_PAGE_SIZE = 30
# A cursor id beyond this is not an id of ours (and would overflow SQLite's integers).
MAX_ID = 2**62

JOB_LIST_RELATED = ("pipeline", "stage", "owner", "customer")
# No page shows the search text (a job's notes and replies, up to 20,000 characters): pages
# do not read it. A service that needs it locks and re-reads the job anyway.
DEFERRED_FIELDS = ("search_text",)
# What a board card shows, and all a column loads: the rest of the job and of its owner and
# customer (~50 columns a row; on PostgreSQL ~10 timestamps a row, each parsed in Python) is
# never read there. Anything else read from these rows would cost a query per row
# (tests/jobs/test_job_page_reads.py).
CARD_FIELDS = (
    "number", "title", "version", "stage_id", "stage_entered_at", "due_date", "closed_at",
    "owner", "owner__full_name", "owner__email", "customer", "customer__name", "next_visit_at",
    "money_outstanding",
)  # fmt: skip

# The shapes of the queries the job page repeats on every request, built once, as a
# class-based view keeps its queryset: each request clones one and adds the viewer's rule
# (visible_to) and its job. Building the joins, annotations and ordering anew cost 0.2-0.5 ms
# a query on the demo's job page, more than the database took to answer it. Nothing ever
# evaluates these: only their clones run.
_JOB = Job.objects.select_related(*JOB_LIST_RELATED, "customer_stage").defer(*DEFERRED_FIELDS)
_LIVE_STAGES = Stage.objects.live().with_customer_visibility()
_STAGE_FIELDS = StageField.objects.with_customer_visibility().order_by("stage_id", "position", "id")
# The feed names the entry's actor and shows the message; the attachment it points at is
# only part of the visibility rule (joined by it), never shown from here.
_FEED = (
    Activity.objects.select_related("actor", "message")
    .with_customer_visibility()
    .order_by("-created_at", "-id")
)
# The file list says who uploaded (staff or customer: uploader_kind), never which member.
_FILES = Attachment.objects.with_customer_visibility().order_by("-created_at")
_REQUESTS = DocumentRequest.objects.order_by("-created_at")

# ...and their SQL, compiled once per shape of the viewer (core/prepared.py): compiling the
# page's queries anew cost 3.6 ms of its 12.
_GET_JOB = PreparedQuery(
    lambda viewer, number: _JOB.visible_to(viewer).filter(number=number)[:2], name="job"
)
_LIVE_STAGES_OF = PreparedQuery(
    lambda pipeline_id: _LIVE_STAGES.filter(pipeline_id=pipeline_id), name="live stages"
)
_FIELDS_OF_STAGES = PreparedQuery(
    lambda stage_ids: _STAGE_FIELDS.filter(stage_id__in=stage_ids), name="stage fields"
)
_SAVED_VALUES = PreparedQuery(
    lambda viewer, job: FieldValue.objects.visible_to(viewer, job).values_list("field_id", "value"),
    name="saved values",
)
_FEED_FIRST_PAGE = PreparedQuery(
    lambda viewer, job, show, kind_group, size: _feed_page(
        _FEED.visible_to(viewer, job), show, kind_group, size
    ),
    name="feed",
    constants=("size",),
)
_JOB_FILES = PreparedQuery(lambda viewer, job: _FILES.visible_to(viewer, job), name="files")
_JOB_REQUESTS = PreparedQuery(
    lambda viewer, job: _REQUESTS.visible_to(viewer, job), name="document requests"
)
_FOLLOWS = PreparedQuery(
    lambda job_id, user_id: JobFollower.objects.filter(job_id=job_id, user_id=user_id).values_list(
        "pk"
    )[:1],
    name="follows",
)

SORTS = {
    "activity": ("-last_activity_at", "-id"),
    "created": ("-created_at", "-id"),
}
SORT_CHOICES = [("activity", "Last activity"), ("due", "Due date"), ("created", "Created")]


def pipelines(*, workspace: Workspace) -> QuerySet[Pipeline]:
    return Pipeline.objects.active_in(workspace)


def get_pipeline(*, workspace: Workspace, pipeline_id: int) -> Pipeline:
    return get_object_or_404(Pipeline.objects.filter(workspace=workspace), pk=pipeline_id)


def live_stages(pipeline: Pipeline | int) -> list[Stage]:
    """A pipeline's stages in board order, each with ``customer_sees``. Takes the pipeline or
    its id: a view holding only a job's ``pipeline_id`` need not load the pipeline first."""
    pipeline_id = pipeline if isinstance(pipeline, int) else pipeline.pk
    return _LIVE_STAGES_OF.list(pipeline_id=pipeline_id)


def get_job(*, viewer: Viewer | None, number: int) -> Job:
    """Jobs are addressed by their number inside the workspace; other workspaces' are 404.
    The customer-visible stage comes along: what the viewer may read of the job's stage-form
    values depends on it (FieldValue.objects.visible_to)."""
    if not 0 < number < 2**31:  # job numbers are 32-bit on PostgreSQL
        raise Http404("No such job.")
    found = _GET_JOB.list(viewer=viewer, number=number)
    if len(found) != 1:
        raise Http404("No such job.")
    return found[0]


LIST_PAGE_SIZE = 50
# A list row's values, read as a tuple: building five model instances a row (job, pipeline,
# stage, owner, customer) for 50 rows cost more than the query (2.8 ms against 1.2 at 100k
# jobs in bench/).
LIST_ROW_VALUES = (
    "pk", "number", "title", "due_date", "closed_at", "archived_at", "pipeline__name",
    "stage__name", "stage__colour", "owner_id", "owner__full_name", "owner__email",
    "customer_id", "customer__name",
)  # fmt: skip


@dataclass(slots=True)
class Named:
    name: str


@dataclass(slots=True)
class RowStage:
    name: str
    colour: str


@dataclass(slots=True)
class RowOwner:
    full_name: str
    email: str

    @property
    def initials(self) -> str:
        return initials_of(self.full_name, self.email)


@dataclass(slots=True)
class ListRow:
    """One job of the jobs list: what its row shows (jobs/_list_rows.html), nothing else."""

    pk: int
    number: int
    title: str
    due_date: dt.date | None
    closed_at: dt.datetime | None
    archived_at: dt.datetime | None
    pipeline: Named
    stage: RowStage
    owner: RowOwner | None
    customer: Named | None
    url: str = ""

    @property
    def reference(self) -> str:
        return job_reference(self.number)

    @classmethod
    def of(cls, values: tuple[Any, ...]) -> ListRow:
        (pk, number, title, due, closed, archived, pipeline, stage, colour,
         owner_id, owner_name, owner_email, customer_id, customer) = values  # fmt: skip
        return cls(
            pk=pk, number=number, title=title, due_date=due, closed_at=closed,
            archived_at=archived, pipeline=Named(pipeline), stage=RowStage(stage, colour),
            owner=RowOwner(owner_name, owner_email) if owner_id is not None else None,
            customer=Named(customer) if customer_id is not None else None,
        )  # fmt: skip


def job_list_page(*, viewer: Viewer | None, filters: JobFilters, page: Any) -> Page:
    """A page of the jobs list (jobs() decides which), its rows as ListRows."""
    arguments = _list_arguments(viewer, filters)
    # Counted on the jobs alone: a count of the values query would keep its joins (the
    # pipeline and stage of every match: 26 ms instead of 1 for 12,000 matches at 100k).
    paginator = Paginator(Counted(_LIST_COUNT.count(**arguments)), LIST_PAGE_SIZE)
    listed = paginator.get_page(page)
    start = (listed.number - 1) * paginator.per_page
    rows = _LIST_ROWS.list(**arguments, start=start, stop=start + paginator.per_page)
    listed.object_list = [ListRow.of(values) for values in rows]
    return listed


@dataclass
class JobFilters:
    pipeline: Pipeline | None = None
    stage: Stage | None = None
    owner_id: int | None = None  # None = everyone
    customer_id: int | None = None
    due: str = ""  # overdue / week / none
    state: str = "open"  # open / closed / archived / all
    search: str = ""
    sort: str = "activity"


_NUMBER = re.compile(r"^(?:j-?)?(\d{1,9})$", re.IGNORECASE)


def _list_arguments(viewer: Viewer | None, filters: JobFilters) -> dict[str, Any]:
    """The list's filters as the arguments of its prepared queries: ids, the choices, the
    day, and the search text as the full-text match and the job number it may be."""
    match, number = "", None
    terms = [t for t in re.split(r"\s+", filters.search.strip()) if t]
    if terms:
        number_match = _NUMBER.match(filters.search.strip())
        number = int(number_match.group(1)) if number_match else None
        match = prefix_match(filters.search)
    return {
        "viewer": viewer,
        "pipeline_id": filters.pipeline.pk if filters.pipeline is not None else None,
        "stage_id": filters.stage.pk if filters.stage is not None else None,
        "owner_id": filters.owner_id,
        "customer_id": filters.customer_id,
        "due": filters.due if filters.due in ("overdue", "week", "none") else "",
        "state": filters.state if filters.state in ("open", "closed", "archived") else "all",
        "sort": filters.sort if filters.sort in ("due", *SORTS) else "activity",
        "today": timezone.localdate(),
        "searching": bool(terms),
        "match": match,
        "number": number,
    }


def _jobs(
    *,
    viewer: Viewer | None,
    pipeline_id: int | None,
    stage_id: int | None,
    owner_id: int | None,
    customer_id: int | None,
    due: str,
    state: str,
    sort: str,
    today: dt.date,
    searching: bool,
    match: str,
    number: int | None,
) -> QuerySet[Job]:
    queryset = (
        Job.objects.visible_to(viewer).select_related(*JOB_LIST_RELATED).defer(*DEFERRED_FIELDS)
    )
    if state == "open":
        queryset = queryset.filter(archived_at__isnull=True, closed_at__isnull=True)
    elif state == "closed":
        queryset = queryset.filter(archived_at__isnull=True, closed_at__isnull=False)
    elif state == "archived":
        queryset = queryset.filter(archived_at__isnull=False)
    if pipeline_id is not None:
        queryset = queryset.filter(pipeline_id=pipeline_id)
    if stage_id is not None:
        queryset = queryset.filter(stage_id=stage_id)
    if owner_id is not None:
        queryset = queryset.filter(owner_id=owner_id)
    if customer_id is not None:
        queryset = queryset.filter(customer_id=customer_id)
    if due == "overdue":
        queryset = queryset.filter(due_date__lt=today, closed_at__isnull=True)
    elif due == "week":
        queryset = queryset.filter(due_date__gte=today, due_date__lte=today + dt.timedelta(days=7))
    elif due == "none":
        queryset = queryset.filter(due_date__isnull=True)
    if searching:
        by_number = Q(number=number) if number is not None else Q(pk__in=[])
        if not match:
            queryset = queryset.filter(by_number)
        elif connection.vendor == "postgresql":
            query = SearchQuery(match, config="simple", search_type="raw")
            vector = SearchVector("search_text", config="simple")
            # alias, not annotate: the vector is for the WHERE clause only, not per row.
            queryset = queryset.alias(search=vector).filter(Q(search=query) | by_number)
        else:
            matching = RawSQL("SELECT rowid FROM jobs_job_fts WHERE jobs_job_fts MATCH %s", [match])
            queryset = queryset.filter(Q(pk__in=matching) | by_number)
    if sort == "due":
        return queryset.order_by(F("due_date").asc(nulls_last=True), "id")
    return queryset.order_by(*SORTS[sort])


def jobs(*, viewer: Viewer | None, filters: JobFilters) -> QuerySet[Job]:
    return _jobs(**_list_arguments(viewer, filters))


# The list's two reads, compiled once per shape of the filters (core/prepared.py).
_LIST_COUNT = PreparedQuery(_jobs, name="job list count", texts=("match",))
_LIST_ROWS = PreparedQuery(
    lambda start, stop, **filters: _jobs(**filters).values_list(*LIST_ROW_VALUES)[start:stop],
    name="job list rows",
    constants=("start", "stop"),
    texts=("match",),
)


@dataclass
class BoardColumn:
    stage: Stage
    count: int
    cards: list[Job]
    has_more: bool
    recent_only: bool


def _column_queryset(stage: Stage) -> QuerySet[Job]:
    queryset = Job.objects.filter(stage=stage, archived_at__isnull=True).defer(*DEFERRED_FIELDS)
    if stage.is_terminal:
        # Finished columns would grow forever: they show the recently closed only.
        since = timezone.now() - dt.timedelta(days=CLOSED_COLUMN_DAYS)
        queryset = queryset.filter(stage_entered_at__gte=since)
    return queryset


def board(*, pipeline: Pipeline, with_cards: bool = True) -> list[BoardColumn]:
    """One column per stage: its count and (with_cards) its first cards. Queries: 1 for the
    stages, 1 for all counts, 1 per column for its cards — the same at 50 jobs and 50,000.
    Without cards, each column fetches its own first page (board_column_page)."""
    stages = live_stages(pipeline)
    since = timezone.now() - dt.timedelta(days=CLOSED_COLUMN_DAYS)
    # Two counts, each answered from an index alone (no join to the stage table): open
    # stages count everything (job_stage_open_idx), finishing stages only the recently
    # closed (job_board_idx).
    open_ids = [s.pk for s in stages if not s.is_terminal]
    closed_ids = [s.pk for s in stages if s.is_terminal]
    counts: dict[int, int] = {}
    for ids, extra in ((open_ids, Q()), (closed_ids, Q(stage_entered_at__gte=since))):
        if ids:
            counts.update(
                Job.objects.filter(extra, stage_id__in=ids, archived_at__isnull=True)
                .values("stage_id")
                .annotate(n=Count("*"))
                .values_list("stage_id", "n")
            )
    columns = []
    for stage in stages:
        cards = (
            list(
                _column_queryset(stage)
                .select_related("owner", "customer")
                .only(*CARD_FIELDS)
                .order_by("-stage_entered_at", "-id")[: BOARD_PAGE_SIZE + 1]
            )
            if with_cards
            else []
        )
        columns.append(
            BoardColumn(
                stage=stage,
                count=counts.get(stage.pk, 0),
                cards=cards[:BOARD_PAGE_SIZE],
                has_more=len(cards) > BOARD_PAGE_SIZE,
                recent_only=stage.is_terminal,
            )
        )
    return columns


def board_column_page(*, stage: Stage, cursor: tuple[dt.datetime, int] | None) -> list[Job]:
    """The next cards of a column after a (stage_entered_at, id) cursor: keyset, not OFFSET,
    so page 400 costs what page 1 does. No cursor: the first page."""
    queryset = _column_queryset(stage)
    if cursor is not None:
        after_entered, after_id = cursor
        queryset = queryset.filter(
            Q(stage_entered_at__lt=after_entered)
            | Q(stage_entered_at=after_entered, id__lt=after_id)
        )
    return list(
        queryset.select_related("owner", "customer")
        .only(*CARD_FIELDS)
        .order_by("-stage_entered_at", "-id")[: BOARD_PAGE_SIZE + 1]
    )


def get_stage_of_workspace(*, workspace: Workspace, stage_id: int) -> Stage:
    return get_object_or_404(
        Stage.objects.select_related("pipeline"),
        pk=stage_id,
        pipeline__workspace=workspace,
        deleted_at__isnull=True,
    )


@dataclass
class Feed:
    entries: list[Activity]
    next_cursor: str | None


class BadCursor(ValueError):
    """A cursor that is not one of ours (a hand-edited URL)."""


def parse_cursor(raw: str) -> tuple[dt.datetime, int] | None:
    """ "<ISO time>|<id>" (the feed) → the cursor; "" → None; anything else BadCursor."""
    if not raw:
        return None
    at_text, separator, id_text = raw.rpartition("|")
    if not separator:
        raise BadCursor(raw)
    return parse_time_and_id(at_text, id_text)


def parse_time_and_id(at_text: str, id_text: str) -> tuple[dt.datetime, int]:
    try:
        at = dt.datetime.fromisoformat(at_text)
        entry_id = int(id_text)
    except (ValueError, TypeError, OverflowError) as error:
        raise BadCursor(f"{at_text}|{id_text}") from error
    if not 0 < entry_id < MAX_ID:
        raise BadCursor(id_text)
    return (at if at.tzinfo else timezone.make_aware(at)), entry_id


def feed(
    *,
    job: Job,
    viewer: Viewer | None,
    show: str = "all",
    kind_group: str = "",
    before: str = "",
    page_size: int = FEED_PAGE_SIZE,
    known_fields: dict[int, StageField] | None = None,
) -> Feed:
    """A job's feed for staff, newest first, keyset-paginated ("older entries").

    ``show``: all / customer / internal — whether the customer sees an entry is the
    models' rule (Activity.objects.seen_by_customer), as is each entry's ``customer_sees``
    chip. ``known_fields``: the stage fields the caller has already read (the job page's
    stage forms), so the entries' fields need not be read again. Raises BadCursor.
    """
    # The entry's actor is who the feed names; the message's author is never shown.
    show = show if show in ("customer", "internal") else "all"
    kind_group = kind_group if kind_group in FEED_TYPE_GROUPS else ""
    cursor = parse_cursor(before)
    if cursor is None:
        entries = _FEED_FIRST_PAGE.list(
            viewer=viewer, job=job, show=show, kind_group=kind_group, size=page_size + 1
        )
    else:
        at, entry_id = cursor
        queryset = _FEED.visible_to(viewer, job).filter(
            Q(created_at__lt=at) | Q(created_at=at, id__lt=entry_id)
        )
        entries = list(_feed_page(queryset, show, kind_group, page_size + 1))
    _read_form_fields(entries, known_fields or {}, viewer)
    next_cursor = None
    if len(entries) > page_size:
        entries = entries[:page_size]
        last = entries[-1]
        next_cursor = f"{last.created_at.isoformat()}|{last.pk}"
    return Feed(entries=entries, next_cursor=next_cursor)


def _feed_page(
    queryset: QuerySet[Activity], show: str, kind_group: str, size: int
) -> QuerySet[Activity]:
    """One page of feed entries under the feed's filters, newest first."""
    if show == "customer":
        queryset = queryset.seen_by_customer(True)
    elif show == "internal":
        queryset = queryset.seen_by_customer(False)
    if kind_group:
        queryset = queryset.filter(kind__in=FEED_TYPE_GROUPS[kind_group])
    page = queryset[:size]
    if connection.vendor == "postgresql":
        # The page is chosen from the feed index alone, then joined: PostgreSQL's generic plan
        # for the prepared statement (settings.py) expects a job's ~10 entries and would join
        # and sort all 5,000 of a long feed before taking the first page (9 ms against 1).
        return _FEED.filter(pk__in=page.values("pk"))
    return page


@dataclass(frozen=True)
class FormLine:
    """One saved field of a form entry as staff read it."""

    label: str
    old: str
    new: str
    retired: bool


def _read_form_fields(
    entries: list[Activity], known: dict[int, StageField], viewer: Viewer | None
) -> None:
    """Each form entry gets ``lines`` (the changes the viewer may read) and ``hidden_amounts``
    (how many money lines were left out: Staff never see amounts, sees_money). One query for
    the fields of the whole page, none when ``known`` has every field."""
    forms = [e for e in entries if e.kind == ActivityKind.FORM_SAVED]
    ids = {c.field_id for e in forms for c in e.payload.changes if c.field_id} - known.keys()
    fields = dict(known)
    if ids:
        fields.update((f.pk, f) for f in StageField.objects.filter(pk__in=ids))
    money = sees_money(viewer)
    for entry in forms:
        lines, hidden = [], 0
        for change in entry.payload.changes:
            stage_field = fields.get(change.field_id) if change.field_id else None
            is_money = change.money or (
                stage_field is not None and stage_field.field_type == FieldType.MONEY
            )
            if is_money and not money:
                hidden += 1
                continue
            old, new = change.old, change.new
            if change.is_files:
                old = ", ".join(f.name for f in change.old_files or ())
                new = ", ".join(f.name for f in change.new_files or ())
            lines.append(
                FormLine(
                    label=change.label,
                    old=old,
                    new=new,
                    retired=stage_field is not None and stage_field.retired_at is not None,
                )
            )
        entry.lines = lines  # type: ignore[attr-defined]
        entry.hidden_amounts = hidden  # type: ignore[attr-defined]


def fields_for_viewer(viewer: Viewer | None, fields: list[StageField]) -> list[StageField]:
    """The stage-form fields a member may see and fill in: money fields only with money."""
    if sees_money(viewer):
        return fields
    return [f for f in fields if f.field_type != FieldType.MONEY]


@dataclass
class StageFormState:
    stage: Stage
    fields: list[StageField]
    retired: list[tuple[StageField, Any]] = field(default_factory=list)
    is_current: bool = False
    is_past: bool = False


def stage_forms(
    *,
    job: Job,
    stages: list[Stage],
    viewer: Viewer | None,
    seen: dict[int, StageField] | None = None,
) -> tuple[list[StageFormState], dict[int, Any]]:
    """The forms of the job's stages up to the current one (current open, earlier readable),
    plus the saved values the viewer may read (retired fields included; amounts only for
    those who see money) — two queries whatever the size. ``seen``, when given, receives
    every field of those stages (for feed())."""
    all_fields = _FIELDS_OF_STAGES.list(stage_ids=tuple(s.pk for s in stages))
    if seen is not None:
        seen.update((f.pk, f) for f in all_fields)
    values: dict[int, Any] = dict(_SAVED_VALUES.list(viewer=viewer, job=job))
    by_stage: dict[int, list[StageField]] = {}
    for each in fields_for_viewer(viewer, all_fields):
        by_stage.setdefault(each.stage_id, []).append(each)
    current_index = next((i for i, s in enumerate(stages) if s.pk == job.stage_id), 0)
    states = []
    for index, stage in enumerate(stages):
        fields_here = by_stage.get(stage.pk, [])
        live = [f for f in fields_here if f.retired_at is None]
        retired = [(f, values[f.pk]) for f in fields_here if f.retired_at and f.pk in values]
        if not live and not retired:
            continue
        if index > current_index and not any(f.pk in values for f in fields_here):
            continue
        states.append(
            StageFormState(
                stage=stage,
                fields=live,
                retired=retired,
                is_current=stage.pk == job.stage_id,
                is_past=index < current_index,
            )
        )
    return states, values


def stage_form_fields(*, job: Job, stage_id: int, viewer: Viewer | None) -> tuple[Stage, list]:
    """A stage of the job's pipeline and its live fields the viewer may fill in (404 for a
    stage of another pipeline)."""
    stage = get_object_or_404(Stage, pk=stage_id, pipeline_id=job.pipeline_id)
    fields = list(stage.fields.filter(retired_at__isnull=True).order_by("position", "id"))
    return stage, fields_for_viewer(viewer, fields)


def missing_required_fields(*, job: Job) -> list[StageField]:
    """The required fields of the job's current stage that are still empty."""
    fields = list(job.stage.fields.filter(retired_at__isnull=True).order_by("position", "id"))
    values = dict(FieldValue.objects.filter(job=job).values_list("field_id", "value"))
    return missing_required(fields, values)


def saved_values(*, job: Job, viewer: Viewer | None) -> dict[int, Any]:
    """The job's saved values the viewer may read, by field id."""
    return dict(FieldValue.objects.visible_to(viewer, job).values_list("field_id", "value"))


def job_files(*, job: Job, viewer: Viewer | None) -> list[Attachment]:
    return _JOB_FILES.list(viewer=viewer, job=job)


def job_requests(
    *, job: Job, viewer: Viewer | None, files: list[Attachment]
) -> list[DocumentRequest]:
    """The job's document requests, newest first, each with ``files``: the ones sent into it,
    taken from the job's files the caller has already read (no query of their own)."""
    requests = _JOB_REQUESTS.list(viewer=viewer, job=job)
    by_request: dict[int, list[Attachment]] = {}
    for file in files:
        if file.document_request_id is not None:
            by_request.setdefault(file.document_request_id, []).append(file)
    for request in requests:
        request.files = by_request.get(request.pk, [])  # type: ignore[attr-defined]
    return requests


def job_message(*, job: Job, viewer: Viewer | None, message_id: int) -> Message:
    return get_object_or_404(Message.objects.visible_to(viewer, job), pk=message_id)


def job_attachment(*, job: Job, viewer: Viewer | None, attachment_id: int) -> Attachment:
    return get_object_or_404(Attachment.objects.visible_to(viewer, job), pk=attachment_id)


def job_request(*, job: Job, viewer: Viewer | None, request_id: int) -> DocumentRequest:
    return get_object_or_404(DocumentRequest.objects.visible_to(viewer, job), pk=request_id)


def attachment_of_workspace(*, viewer: Viewer | None, attachment_id: int) -> Attachment:
    """A file of the viewer's workspace's jobs (the download views); another workspace's id
    is a 404, as is a made-up one."""
    attachment = (
        Attachment.objects.visible_to(viewer).select_related("job").filter(pk=attachment_id)
    ).first()
    if attachment is None:
        raise Http404("No such file.")
    return attachment


def is_following(*, job: Job, user: Any) -> bool:
    return bool(_FOLLOWS.list(job_id=job.pk, user_id=user.pk))


def owners(*, workspace: Workspace) -> QuerySet[Membership]:
    return (
        Membership.objects.active()
        .filter(workspace=workspace)
        .select_related("user")
        .order_by("user__full_name")
    )


def default_owner_filter(viewer: Viewer | None) -> str:
    """Whose jobs the list shows first: Staff their own ("mine"), everyone else everyone's."""
    return "mine" if viewer is None or viewer.role == Role.STAFF else "all"


# ----------------------------------------------------------------------------- dashboard

DASHBOARD_ROWS = 8
# A list counts its rows up to this many ("100+" past it): counting a big owner's every job
# would cost more than the rest of the page.
DASHBOARD_COUNT_MAX = 100


@dataclass(frozen=True)
class DashboardJobs:
    """A dashboard list: its first rows and how many there are in all (up to
    DASHBOARD_COUNT_MAX: ``capped`` says there are more)."""

    rows: list[Job]
    total: int

    @property
    def capped(self) -> bool:
        return self.total >= DASHBOARD_COUNT_MAX


def _my_open_jobs(viewer: Viewer) -> QuerySet[Job]:
    return (
        Job.objects.visible_to(viewer)
        .filter(owner_id=viewer.user_id, archived_at__isnull=True, closed_at__isnull=True)
        .select_related("stage", "customer")
        .only("number", "title", "due_date", "stage__name", "stage__colour", "customer__name",
              "money_outstanding")
    )  # fmt: skip


def _my_overdue(viewer: Viewer, today: dt.date) -> QuerySet[Job]:
    return _my_open_jobs(viewer).filter(due_date__lt=today)


def _my_waiting(viewer: Viewer) -> QuerySet[Job]:
    open_requests = DocumentRequest.objects.filter(
        job_id=OuterRef("pk"), status=DocumentRequest.Status.OPEN
    )
    waiting = Q(Exists(open_requests)) | Q(money_outstanding__isnull=False)
    # An approval asked (the approvals app), …: registered once at start (AppConfig.ready),
    # so the prepared shapes built from this stay what the plain queryset compiles to.
    for wait in hooks.customer_waits():
        waiting |= wait.condition()
    return _my_open_jobs(viewer).filter(waiting)


def _capped(queryset: QuerySet[Job]) -> QuerySet[Any]:
    """The ids of the first DASHBOARD_COUNT_MAX rows: their number is the capped count."""
    return queryset.order_by().values_list("pk")[:DASHBOARD_COUNT_MAX]


# The dashboard's lists, compiled once per shape of the viewer (core/prepared.py): compiling
# their five queries anew cost more than SQLite took to answer them (~1 ms each).
_OVERDUE_ROWS = PreparedQuery(
    lambda viewer, today: _my_overdue(viewer, today).order_by("due_date", "number")[
        :DASHBOARD_ROWS
    ],
    name="my overdue jobs",
)
_OVERDUE_CAPPED = PreparedQuery(
    lambda viewer, today: _capped(_my_overdue(viewer, today)), name="my overdue jobs, capped"
)
_WAITING_ROWS = PreparedQuery(
    lambda viewer: _my_waiting(viewer).order_by("-last_activity_at", "-number")[:DASHBOARD_ROWS],
    name="my jobs waiting",
)
_WAITING_CAPPED = PreparedQuery(
    lambda viewer: _capped(_my_waiting(viewer)), name="my jobs waiting, capped"
)
_OPEN_REQUEST_TITLES = PreparedQuery(
    lambda job_ids: DocumentRequest.objects.filter(
        job_id__in=job_ids, status=DocumentRequest.Status.OPEN
    ).values_list("job_id", "title"),
    name="open request titles",
)


def my_overdue_jobs(*, viewer: Viewer | None, today: dt.date) -> DashboardJobs:
    """The viewer's own open jobs past their due date, the longest overdue first."""
    if viewer is None or viewer.sees_as_customer:
        return DashboardJobs(rows=[], total=0)
    rows = _OVERDUE_ROWS.list(viewer=viewer, today=today)
    total = (
        len(rows)
        if len(rows) < DASHBOARD_ROWS
        else len(_OVERDUE_CAPPED.list(viewer=viewer, today=today))
    )
    return DashboardJobs(rows=rows, total=total)


def my_jobs_waiting_on_the_customer(*, viewer: Viewer | None) -> DashboardJobs:
    """The viewer's own open jobs that wait for their customer: an open document request, a
    requested instalment not yet paid (``money_outstanding``; its amount shows only to the
    roles that see money, through money()), or what a higher layer registers (an approval
    asked, hooks.CustomerWait). Each row has ``waiting_for``: its open requests' titles and
    what else it waits for."""
    if viewer is None or viewer.sees_as_customer:
        return DashboardJobs(rows=[], total=0)
    rows = _WAITING_ROWS.list(viewer=viewer)
    titles: dict[int, list[str]] = {}
    if rows:
        job_ids = [j.pk for j in rows]
        for job_id, title in _OPEN_REQUEST_TITLES.list(job_ids=job_ids):
            titles.setdefault(job_id, []).append(title)
        for wait in hooks.customer_waits():
            for job_id, title in wait.waiting_for(job_ids):
                titles.setdefault(job_id, []).append(title)
    for job in rows:
        job.waiting_for = titles.get(job.pk, [])  # type: ignore[attr-defined]
    total = len(rows) if len(rows) < DASHBOARD_ROWS else len(_WAITING_CAPPED.list(viewer=viewer))
    return DashboardJobs(rows=rows, total=total)
