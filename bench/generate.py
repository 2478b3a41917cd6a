"""Builds the benchmark workspace "Bench Co" once per database: 5 pipelines (the five
templates), 25 members, 2,000 customers, 100,000 jobs and 1,000,000 feed entries; then, each in
a transaction of its own, its bookings (bench/bookings_data.py) and its quotes
(bench/quotes_data.py).

People, pipelines and customers go through the ORM and the services; jobs, messages and feed
entries are written in bulk (COPY on PostgreSQL, executemany on SQLite) in one transaction, so
an interrupted run leaves nothing behind. ``ensure`` is what `make bench` calls: everything
when there is no workspace, only the bookings and / or the quotes when the jobs are there and
they are not (a database generated before issue 11, or before its quotes). Import only after
``django.setup()``.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

import bench
from bench import billing_data, bookings_data, quotes_data
from jobline.accounts.models import User
from jobline.customers.models import Customer
from jobline.jobs.choices import STAGE_ENTRY_KINDS
from jobline.jobs.demo import NOTES, REPLIES, TITLES
from jobline.jobs.models import (
    Activity,
    ActivityKind,
    ActorKind,
    Job,
    JobNumberSequence,
    Message,
    Visibility,
)
from jobline.pipelines.blueprints import BLUEPRINTS
from jobline.pipelines.models import FieldType, Stage, StageField
from jobline.pipelines.services import pipeline_create_from_blueprint
from jobline.workspaces.models import Membership, Role, Workspace
from jobline.workspaces.services import workspace_create

SEED = 20_260_101
CLOSED_SHARE = 0.10
ARCHIVED_SHARE = 0.02
# Jobs per pipeline (blueprint key): the stress pipeline gets the most, so that its board has
# well over 20,000 open jobs; the other four share the rest.
JOBS_PER_PIPELINE = {
    "standard": 26_000,
    "renovation": 18_500,
    "beauty": 18_500,
    "legal": 18_500,
    "repair": 18_500,
}
FEED_JOB_STAGE = "In progress"
MOVE_JOB_STAGE = "New"

FIRST_NAMES = [
    "Aisha", "Alex", "Amara", "Ben", "Caitlin", "Chen", "Chloe", "Dan", "Dev", "Eilidh", "Ella",
    "Emeka", "Erin", "Fatima", "Finn", "Gareth", "Grace", "Hana", "Harry", "Imogen", "Isaac",
    "Jack", "Jamal", "Jess", "Kai", "Kate", "Liam", "Lola", "Luca", "Maya", "Mei", "Mia", "Nadia",
    "Noah", "Olivia", "Omar", "Priya", "Rhys", "Rosa", "Ruby", "Sam", "Sophie", "Tariq", "Theo",
    "Tom", "Una", "Yuki", "Zara", "Zoe", "Ola",
]  # fmt: skip
SURNAMES = [
    "Ahmed", "Allen", "Bailey", "Baker", "Bell", "Bennett", "Brennan", "Brown", "Campbell",
    "Carter", "Chapman", "Clarke", "Collins", "Cooper", "Davies", "Delgado", "Edwards", "Ellis",
    "Evans", "Fisher", "Foster", "Green", "Griffiths", "Hall", "Harris", "Hughes", "Hussain",
    "Jackson", "James", "Jenkins", "Johnson", "Jones", "Kaur", "Kelly", "Khan", "King",
    "Kowalski", "Laurent", "Lee", "Lewis", "Lloyd", "MacLeod", "Marshall", "Martin", "Mason",
    "Mills", "Mitchell", "Moore", "Morgan", "Morris", "Murphy", "Nowak", "Owen", "Palmer",
    "Parker", "Patel", "Pearce", "Phillips", "Powell", "Price", "Pryce", "Reid", "Richards",
    "Roberts", "Robinson", "Rogers", "Russell", "Scott", "Shaw", "Singh", "Smith", "Stevens",
    "Stewart", "Tanaka", "Taylor", "Thomas", "Thompson", "Turner", "Walker", "Ward", "Watson",
    "White", "Williams", "Wilson", "Wood", "Wright", "Young",
]  # fmt: skip
STAFF_NAMES = [
    "Morgan Hale", "Alex Rivera", "Sam Okafor", "Jo Whitaker", "Ravi Menon", "Lucy Tran",
    "Owen Pritchard", "Nia Adebayo", "Callum Reid", "Freya Lund", "Marek Zielinski",
    "Hollie Dunn", "Arjun Bhatt", "Bea Lindqvist", "Connor Hayes", "Dana Kim", "Elliot Marsh",
    "Farah Qureshi", "George Ashby", "Holly Fenwick", "Ivan Petrov", "Jade Moreau",
    "Kofi Mensah", "Lena Fischer", "Milo Grant",
]  # fmt: skip
NOTE_TAILS = (
    "", "", " Ref {n}.", " Invoice {n} sent.", " Follow up on {d}.", " Spoke to the office.",
    " Access code {n}.", " Van booked.", " Photos in the shared drive.",
)  # fmt: skip
EXTRA_KINDS = (
    (ActivityKind.NOTE, 30),
    (ActivityKind.REPLY, 22),
    (ActivityKind.FORM_SAVED, 20),
    (ActivityKind.OWNER_CHANGED, 10),
    (ActivityKind.DUE_DATE_CHANGED, 12),
    (ActivityKind.TITLE_CHANGED, 6),
)

JOB_COLUMNS = (
    "id", "workspace_id", "number", "pipeline_id", "stage_id", "customer_stage_id", "title",
    "owner_id", "customer_id", "due_date", "created_by_id", "created_at", "last_activity_at",
    "stage_entered_at", "closed_at", "archived_at", "version", "copied_from_id", "search_text",
    "next_visit_at", "value", "deposit_due", "money_outstanding",
)  # fmt: skip
MESSAGE_COLUMNS = (
    "id", "job_id", "body", "visibility", "author_id", "author_kind", "created_at",
)  # fmt: skip
ACTIVITY_COLUMNS = (
    "id", "workspace_id", "job_id", "kind", "actor_id", "actor_kind", "visibility",
    "message_id", "attachment_id", "stage_id", "data", "created_at",
)  # fmt: skip


@dataclass
class StageInfo:
    pk: int
    name: str
    visible: bool
    terminal: bool
    cancelled: bool
    fields: list[StageField] = field(default_factory=list)

    def ref(self) -> dict[str, Any]:
        return {"id": self.pk, "name": self.name, "visible": self.visible}


@dataclass
class PipelineInfo:
    pk: int
    key: str
    stages: list[StageInfo]

    @property
    def open_stages(self) -> list[StageInfo]:
        return [s for s in self.stages if not s.terminal]

    def stage(self, name: str) -> StageInfo:
        return next(s for s in self.stages if s.name == name)


@dataclass
class JobSpec:
    """Everything decided about a job before its rows are written."""

    pipeline: PipelineInfo
    walk: list[StageInfo]  # stages entered after the first, in order; the last is current
    archived: bool
    created: dt.datetime
    last: dt.datetime
    entries: int = 0


# ----------------------------------------------------------------------------- status


def workspace_status() -> dict[str, Any] | None:
    """What is already there: None when no bench workspace exists."""
    workspace = Workspace.objects.filter(name=bench.WORKSPACE_NAME).order_by("pk").first()
    if workspace is None:
        return None
    feed_job = Job.objects.filter(workspace=workspace, number=bench.FEED_JOB_NUMBER).first()
    return {
        "workspace": workspace,
        "jobs": Job.objects.filter(workspace=workspace).count(),
        "activities": Activity.objects.filter(workspace=workspace).count(),
        "feed_job_entries": Activity.objects.filter(job=feed_job).count() if feed_job else 0,
        **bookings_data.status(workspace),
        **quotes_data.status(workspace),
        **billing_data.status(workspace),
    }


def jobs_complete(status: dict[str, Any] | None) -> bool:
    # Moves made by the benchmark add feed entries, never jobs: ">=" for the feed.
    return (
        status is not None
        and status["jobs"] == bench.JOB_COUNT
        and status["activities"] >= bench.ACTIVITY_COUNT
        and status["feed_job_entries"] == bench.FEED_JOB_ENTRIES
    )


def is_complete(status: dict[str, Any] | None) -> bool:
    return (
        jobs_complete(status)
        and bookings_data.is_complete(status)
        and quotes_data.is_complete(status)
        and billing_data.is_complete(status)
    )


# What is added to a workspace whose jobs are complete when it has none of it, in the order of
# a full generation: its name (also the status key that counts it), its check, its generator.
ADD_ONS: tuple[tuple[str, Callable[[dict[str, Any]], bool], Callable[[], float]], ...] = (
    ("bookings", bookings_data.is_complete, lambda: bookings_data.generate()),
    ("quotes", quotes_data.is_complete, lambda: quotes_data.generate()),
    ("scheduled_jobs", billing_data.is_complete, lambda: billing_data.generate()),
)


def ensure() -> float | None:
    """What `make bench` runs before measuring: generates what is missing and returns the
    seconds it took (None when everything was there). The whole workspace when there is none;
    only its bookings and / or its quotes when the jobs are complete and there are none of
    them yet; refuses a workspace that is incomplete otherwise (BENCH_RESET=1 starts again)."""
    status = workspace_status()
    if is_complete(status):
        print(f"  kept the generated workspace: {'; '.join(describe(status))}")
        return None
    if status is None:
        print("  generating the workspace (once; later runs keep it)", flush=True)
        return generate()
    missing = [(name, make) for name, _complete, make in ADD_ONS if not status[name]]
    partial = [name for name, complete, _make in ADD_ONS if status[name] and not complete(status)]
    if jobs_complete(status) and missing and not partial:
        names = " and the ".join(name for name, _make in missing)
        print(
            f"  kept the generated jobs ({next(describe(status))}); adding the {names} "
            "(once; later runs keep them)",
            flush=True,
        )
        return sum(make() for _name, make in missing)
    raise SystemExit(
        f"bench: the workspace {status['workspace']} is incomplete "
        f"({'; '.join(describe(status))}); run with BENCH_RESET=1"
    )


# ----------------------------------------------------------------------------- writing rows


class RowWriter:
    """Bulk inserts with explicit ids: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self) -> None:
        self.vendor = connection.vendor
        if self.vendor not in ("postgresql", "sqlite"):
            raise SystemExit(f"bench: unsupported database vendor {self.vendor}")
        self.rows_written = 0

    # Values as the database driver wants them. psycopg adapts Python values itself; for
    # SQLite they are stored the way Django's SQLite backend stores them.
    def ts(self, value: dt.datetime | None) -> Any:
        if value is None or self.vendor == "postgresql":
            return value
        return str(value.astimezone(dt.UTC).replace(tzinfo=None))

    def date(self, value: dt.date | None) -> Any:
        if value is None or self.vendor == "postgresql":
            return value
        return value.isoformat()

    def decimal(self, value: Decimal | None) -> Any:
        # Django hands SQLite a DecimalField's value as text (the column's NUMERIC affinity
        # stores it as a number); psycopg adapts Decimal itself.
        if value is None or self.vendor == "postgresql":
            return value
        return str(value)

    def uuid(self, value: uuid.UUID) -> Any:
        # Django keeps a UUIDField as 32 hex digits (char(32)) on SQLite, as uuid on PostgreSQL.
        return value if self.vendor == "postgresql" else value.hex

    def write(self, model: type[models.Model], columns: Sequence[str], rows: list[tuple]) -> None:
        if not rows:
            return
        table = model._meta.db_table
        quoted = ", ".join(f'"{c}"' for c in columns)
        connection.ensure_connection()
        if self.vendor == "postgresql":
            with connection.cursor() as cursor:
                raw = cursor.cursor  # the psycopg cursor under Django's wrapper
                with raw.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            placeholders = ", ".join("?" for _ in columns)
            connection.connection.executemany(
                f'INSERT INTO "{table}" ({quoted}) VALUES ({placeholders})', rows
            )
        self.rows_written += len(rows)


def check_columns(model: type[models.Model], columns: Sequence[str]) -> None:
    """Fail loudly when the schema moved on and the generator did not."""
    actual = {f.column for f in model._meta.concrete_fields}
    if actual != set(columns):
        raise SystemExit(
            f"bench: {model.__name__} columns changed; update bench/generate.py "
            f"(missing {sorted(actual - set(columns))}, unknown {sorted(set(columns) - actual)})"
        )


# ----------------------------------------------------------------------------- the cast


def _create_people() -> tuple[Workspace, User, list[User]]:
    users = []
    for index, full_name in enumerate(STAFF_NAMES):
        email = bench.ADMIN_EMAIL if index == 0 else f"staff{index:02d}@bench.jobline.test"
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User(email=email, full_name=full_name)
            user.set_unusable_password()  # the benchmark signs in with force_login
            user.save()
        users.append(user)
    admin = users[0]
    # One step of the load's transaction: a crash mid-load leaves no half workspace.
    workspace = workspace_create.step(name=bench.WORKSPACE_NAME, owner=admin)
    roles = [Role.MANAGER] * 4 + [Role.STAFF] * (len(users) - 5)
    Membership.objects.bulk_create(
        [
            Membership(workspace=workspace, user=user, role=role)
            for user, role in zip(users[1:], roles, strict=True)
        ]
    )
    return workspace, admin, users


def _create_customers(workspace: Workspace, admin: User, rng: random.Random) -> list[Customer]:
    search_slots = set(rng.sample(range(bench.CUSTOMER_COUNT), bench.SEARCH_CUSTOMERS))
    customers = []
    for index in range(bench.CUSTOMER_COUNT):
        first = rng.choice(FIRST_NAMES)
        last = bench.SEARCH_WORD if index in search_slots else rng.choice(SURNAMES)
        customers.append(
            Customer(
                workspace=workspace,
                name=f"{first} {last}",
                email=f"{first}.{last}.{index}@example.com".lower(),
                phone=f"07700 9{index:05d}",
                created_by=admin,
            )
        )
    return Customer.objects.bulk_create(customers, batch_size=1000)


def _create_pipelines(workspace: Workspace, admin: User) -> dict[str, PipelineInfo]:
    pipelines = {}
    for blueprint in BLUEPRINTS:
        pipeline = pipeline_create_from_blueprint.step(
            workspace=workspace, blueprint_key=blueprint.key, actor=admin
        )
        stages = []
        for stage in Stage.objects.filter(pipeline=pipeline).order_by("position", "id"):
            info = StageInfo(
                pk=stage.pk,
                name=stage.name,
                visible=stage.visible_to_customer,
                terminal=stage.is_terminal,
                cancelled=stage.is_cancelled,
                fields=[
                    f
                    for f in stage.fields.order_by("position", "id")
                    if f.field_type != FieldType.FILE
                ],
            )
            stages.append(info)
        pipelines[blueprint.key] = PipelineInfo(pk=pipeline.pk, key=blueprint.key, stages=stages)
    return pipelines


# ----------------------------------------------------------------------------- job plans


def _random_walk(
    pipeline: PipelineInfo, final: StageInfo, steps: int, rng: random.Random
) -> list[StageInfo]:
    """``steps`` moves between open stages that end in ``final`` (the big feed job)."""
    walk: list[StageInfo] = []
    current = pipeline.open_stages[0]
    for step in range(steps):
        if step == steps - 1:
            target = final
        else:
            choices = [s for s in pipeline.open_stages if s.pk != current.pk]
            if step == steps - 2:  # the last move must be a real move into ``final``
                choices = [s for s in choices if s.pk != final.pk]
            target = rng.choice(choices)
        walk.append(target)
        current = target
    return walk


def _plan_jobs(
    pipelines: dict[str, PipelineInfo], now: dt.datetime, rng: random.Random
) -> list[JobSpec]:
    stage_weights = {
        key: [rng.uniform(0.6, 1.4) for _ in info.open_stages] for key, info in pipelines.items()
    }
    keys = [key for key, count in JOBS_PER_PIPELINE.items() for _ in range(count)]
    stress = pipelines[bench.STRESS_BLUEPRINT]
    # The two designated jobs come first (numbers 1001 and 1002); the rest are shuffled so
    # job numbers interleave the pipelines as they would in a real workspace.
    keys.remove(bench.STRESS_BLUEPRINT)
    keys.remove(bench.STRESS_BLUEPRINT)
    rng.shuffle(keys)
    specs = [
        JobSpec(
            pipeline=stress,
            walk=_random_walk(stress, stress.stage(FEED_JOB_STAGE), 700, rng),
            archived=False,
            created=now - dt.timedelta(days=400),
            last=now - dt.timedelta(hours=2),
            entries=bench.FEED_JOB_ENTRIES,
        ),
        JobSpec(
            pipeline=stress,
            walk=[],
            archived=False,
            created=now - dt.timedelta(days=3),
            last=now - dt.timedelta(days=1),
        ),
    ]
    assert specs[1].pipeline.stages[0].name == MOVE_JOB_STAGE
    for key in keys:
        pipeline = pipelines[key]
        roll = rng.random()
        closed = roll < CLOSED_SHARE
        archived = rng.random() < ARCHIVED_SHARE
        if closed:
            won = [s for s in pipeline.stages if s.terminal and not s.cancelled]
            lost = [s for s in pipeline.stages if s.cancelled]
            final = rng.choice(won) if rng.random() < 0.8 or not lost else rng.choice(lost)
            # Finished work went some way through the pipeline before it closed.
            depth = rng.randrange(0, len(pipeline.open_stages))
            walk = [*pipeline.open_stages[1 : depth + 1], final]
            created = now - dt.timedelta(days=rng.uniform(5, 3 * 365))
            span = dt.timedelta(days=rng.uniform(1, 120))
            last = min(created + span, now - dt.timedelta(minutes=rng.uniform(5, 600)))
        else:
            (final,) = rng.choices(pipeline.open_stages, weights=stage_weights[key])
            walk = pipeline.open_stages[1 : pipeline.open_stages.index(final) + 1]
            # Open work is younger, and its last activity leans towards today.
            created = now - dt.timedelta(days=400 * rng.random() ** 1.6 + 0.05)
            last = now - (now - created) * rng.random() ** 3
        specs.append(
            JobSpec(pipeline=pipeline, walk=walk, archived=archived, created=created, last=last)
        )
    _share_entries(specs, rng)
    return specs


def _share_entries(specs: list[JobSpec], rng: random.Random) -> None:
    """Give every job its entry count so that the whole feed is exactly ACTIVITY_COUNT."""
    fixed = [s for s in specs if s.entries]
    rest = [s for s in specs if not s.entries]
    minimum = {id(s): 1 + len(s.walk) + (1 if s.archived else 0) for s in rest}
    budget = bench.ACTIVITY_COUNT - sum(s.entries for s in fixed) - sum(minimum.values())
    weights = [rng.expovariate(1.0) for _ in rest]
    total = sum(weights)
    extras = [int(budget * w / total) for w in weights]
    for index in rng.sample(range(len(rest)), budget - sum(extras)):
        extras[index] += 1
    for spec, extra in zip(rest, extras, strict=True):
        spec.entries = minimum[id(spec)] + extra


# ----------------------------------------------------------------------------- rows


class JobRows:
    """Turns job plans into job, message and feed rows with consistent histories."""

    def __init__(
        self,
        *,
        writer: RowWriter,
        workspace: Workspace,
        users: list[User],
        customers: list[Customer],
        rng: random.Random,
    ) -> None:
        self.writer = writer
        self.workspace_id = workspace.pk
        self.users = users
        self.user_refs = {u.pk: {"id": u.pk, "name": u.full_name} for u in users}
        self.customers = customers
        self.rng = rng
        self.job_id = (Job.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        self.message_id = (Message.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        self.activity_id = (Activity.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        self.kinds = [k for k, _w in EXTRA_KINDS]
        self.kind_weights = [w for _k, w in EXTRA_KINDS]
        self.jobs: list[tuple] = []
        self.messages: list[tuple] = []
        self.activities: list[tuple] = []
        self.bodies: list[str] = []  # the current job's notes and replies, for its search text

    def flush(self) -> None:
        self.writer.write(Job, JOB_COLUMNS, self.jobs)
        self.writer.write(Message, MESSAGE_COLUMNS, self.messages)
        self.writer.write(Activity, ACTIVITY_COLUMNS, self.activities)
        self.jobs, self.messages, self.activities = [], [], []

    def _times(self, spec: JobSpec) -> list[dt.datetime]:
        if spec.entries == 1:
            spec.last = spec.created  # only "created": that was its last activity
            return [spec.created]
        span = (spec.last - spec.created).total_seconds()
        middle = sorted(self.rng.random() * span for _ in range(spec.entries - 2))
        times = [spec.created, *(spec.created + dt.timedelta(seconds=s) for s in middle)]
        return [*times, spec.last]

    def _activity(
        self,
        *,
        job_id: int,
        kind: str,
        actor: int | None,
        visibility: str,
        data: dict[str, Any],
        at: dt.datetime,
        message_id: int | None = None,
        actor_kind: str | None = None,
    ) -> None:
        if actor_kind is None:
            actor_kind = ActorKind.STAFF if actor else ActorKind.SYSTEM
        # Creations and moves carry the stage they entered as a column too (Activity.stage).
        entered = data.get("stage") if kind == ActivityKind.CREATED else data.get("to")
        stage_id = entered["id"] if kind in STAGE_ENTRY_KINDS and entered else None
        self.activities.append(
            (
                self.activity_id, self.workspace_id, job_id, kind, actor, actor_kind, visibility,
                message_id, None, stage_id, json.dumps(data), self.writer.ts(at),
            )
        )  # fmt: skip
        self.activity_id += 1

    def _message(self, job_id: int, at: dt.datetime, *, reply: bool, actor: int | None) -> int:
        rng = self.rng
        pool = REPLIES if reply else NOTES
        tail = rng.choice(NOTE_TAILS).format(
            n=rng.randrange(1000, 99999), d=(at + dt.timedelta(days=3)).strftime("%-d %b")
        )
        body = rng.choice(pool) + tail
        from_customer = reply and actor is None
        message_id = self.message_id
        self.messages.append(
            (
                message_id, job_id, body,
                Visibility.CUSTOMER if reply else Visibility.INTERNAL,
                actor, ActorKind.CUSTOMER if from_customer else ActorKind.STAFF,
                self.writer.ts(at),
            )
        )  # fmt: skip
        self.message_id += 1
        self.bodies.append(body)
        return message_id

    def add(self, number: int, spec: JobSpec) -> None:
        rng = self.rng
        job_id = self.job_id
        self.job_id += 1
        self.bodies = []
        pipeline = spec.pipeline
        owner = rng.choice(self.users) if rng.random() < 0.95 else None
        owner_id = owner.pk if owner else None
        actors = [owner_id or self.users[0].pk, *(u.pk for u in rng.sample(self.users, 2))]
        customer = rng.choice(self.customers) if rng.random() < 0.97 else None
        title = rng.choice(TITLES[pipeline.key])
        times = self._times(spec)
        # Positions in the timeline: 0 = created, then the moves, then (maybe) archived last.
        last_free = len(times) - (1 if spec.archived else 0)
        move_slots = sorted(rng.sample(range(1, last_free), len(spec.walk)))
        moves = dict(zip(move_slots, spec.walk, strict=True))
        first = pipeline.stages[0]
        current = first
        customer_stage = first if first.visible else None
        stage_entered = spec.created
        closed_at = None
        due = None
        if rng.random() < 0.75:
            due = (spec.created + dt.timedelta(days=rng.randrange(7, 120))).date()
        self._activity(
            job_id=job_id,
            kind=ActivityKind.CREATED,
            actor=actors[0],
            visibility=Visibility.CUSTOMER if first.visible else Visibility.INTERNAL,
            data={"stage": first.ref(), "title": title},
            at=times[0],
        )
        seen_stages = [first]
        for index in range(1, len(times)):
            at = times[index]
            actor = rng.choice(actors)
            if index in moves:
                target = moves[index]
                customer_sees = target.visible and (
                    customer_stage is None or customer_stage.pk != target.pk
                )
                self._activity(
                    job_id=job_id,
                    kind=ActivityKind.STATUS_CHANGED,
                    actor=actor,
                    visibility=Visibility.CUSTOMER if customer_sees else Visibility.INTERNAL,
                    data={
                        "from": current.ref(),
                        "to": target.ref(),
                        "closed": target.terminal,
                        "reopened": current.terminal and not target.terminal,
                    },
                    at=at,
                )
                if target.visible:
                    customer_stage = target
                current, stage_entered = target, at
                closed_at = at if target.terminal else None
                seen_stages.append(target)
            elif spec.archived and index == len(times) - 1:
                self._activity(
                    job_id=job_id,
                    kind=ActivityKind.ARCHIVED,
                    actor=actor,
                    visibility=Visibility.INTERNAL,
                    data={},
                    at=at,
                )
            else:
                self._extra(job_id, at, actor, seen_stages, title, due)
        search_parts = [f"J-{number}", str(number), title]
        if customer is not None:
            search_parts.append(customer.name)
        search_parts.extend(self.bodies)
        self.jobs.append(
            (
                job_id, self.workspace_id, number, pipeline.pk, current.pk,
                customer_stage.pk if customer_stage else None, title, owner_id,
                customer.pk if customer else None, self.writer.date(due), self.users[0].pk,
                self.writer.ts(spec.created), self.writer.ts(spec.last),
                self.writer.ts(stage_entered), self.writer.ts(closed_at),
                self.writer.ts(spec.last) if spec.archived else None,
                spec.entries, None, "\n".join(search_parts)[:20000], None, None, None, None,
            )
        )  # fmt: skip

    def _extra(
        self,
        job_id: int,
        at: dt.datetime,
        actor: int,
        seen_stages: list[StageInfo],
        title: str,
        due: dt.date | None,
    ) -> None:
        """One of the everyday entries: a note, a reply, a saved form, a detail changed."""
        rng = self.rng
        (kind,) = rng.choices(self.kinds, weights=self.kind_weights)
        if kind == ActivityKind.FORM_SAVED:
            stage = rng.choice(seen_stages)
            if stage.fields:
                changed = rng.sample(stage.fields, min(len(stage.fields), rng.randint(1, 2)))
                changes = [
                    {
                        "field": f.pk,
                        "label": f.label,
                        "old": "",
                        "new": _value_text(f, rng),
                        "visible": f.visible_to_customer,
                    }
                    for f in changed
                ]
                visible = any(f.visible_to_customer for f in changed)
                self._activity(
                    job_id=job_id,
                    kind=kind,
                    actor=actor,
                    visibility=Visibility.CUSTOMER if visible else Visibility.INTERNAL,
                    data={"stage": stage.ref(), "changes": changes},
                    at=at,
                )
                return
            kind = ActivityKind.NOTE
        if kind in (ActivityKind.NOTE, ActivityKind.REPLY):
            reply = kind == ActivityKind.REPLY
            from_customer = reply and rng.random() < 0.35
            author = None if from_customer else actor
            message_id = self._message(job_id, at, reply=reply, actor=author)
            self._activity(
                job_id=job_id,
                kind=kind,
                actor=author,
                actor_kind=ActorKind.CUSTOMER if from_customer else ActorKind.STAFF,
                visibility=Visibility.CUSTOMER if reply else Visibility.INTERNAL,
                data={},
                message_id=message_id,
                at=at,
            )
        elif kind == ActivityKind.OWNER_CHANGED:
            old, new = rng.sample(self.users, 2)
            self._activity(
                job_id=job_id,
                kind=kind,
                actor=actor,
                visibility=Visibility.INTERNAL,
                data={"old": self.user_refs[old.pk], "new": self.user_refs[new.pk]},
                at=at,
            )
        elif kind == ActivityKind.DUE_DATE_CHANGED:
            old = at.date() + dt.timedelta(days=rng.randrange(3, 30))
            self._activity(
                job_id=job_id,
                kind=kind,
                actor=actor,
                visibility=Visibility.CUSTOMER,
                data={"old": old.isoformat(), "new": due.isoformat() if due else None},
                at=at,
            )
        else:
            self._activity(
                job_id=job_id,
                kind=ActivityKind.TITLE_CHANGED,
                actor=actor,
                visibility=Visibility.CUSTOMER,
                data={"old": title.lower(), "new": title},
                at=at,
            )


def _value_text(stage_field: StageField, rng: random.Random) -> str:
    kind = stage_field.field_type
    if kind == FieldType.CHECKBOX:
        return "Yes"
    if kind == FieldType.MONEY:
        return f"{rng.randrange(60, 4800)}.00"
    if kind == FieldType.NUMBER:
        return str(rng.randrange(1, 6))
    if kind == FieldType.DATE:
        return (timezone.localdate() + dt.timedelta(days=rng.randrange(-200, 20))).isoformat()
    if kind in (FieldType.DROPDOWN, FieldType.MULTI_DROPDOWN) and stage_field.options:
        return rng.choice(stage_field.options)
    return rng.choice(["Checked on site.", "As discussed on the phone.", "Confirmed", "Ref 4471"])


# ----------------------------------------------------------------------------- main


def _progress(label: str) -> Callable[[str], None]:
    started = time.perf_counter()

    def say(message: str) -> None:
        print(f"  [{time.perf_counter() - started:6.1f}s] {label}: {message}", flush=True)

    return say


def _finish_database(say: Callable[[str], None]) -> None:
    """Sequences after explicit ids, then fresh planner statistics."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [Job, Message, Activity]):
                cursor.execute(sql)
            # VACUUM sets the visibility map too, so index-only scans work from the first run.
            say("VACUUM ANALYZE")
            cursor.execute("VACUUM ANALYZE")
    else:
        with connection.cursor() as cursor:
            say("ANALYZE")
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA optimize")


def generate(
    *, chunk: int = 5_000, bookings: bool = True, quotes: bool = True, billing: bool = True
) -> float:
    """Build the workspace, then (unless ``bookings`` is off) its bookings and (unless
    ``quotes`` is off) its quotes; returns the seconds it took."""
    for model, columns in ((Job, JOB_COLUMNS), (Message, MESSAGE_COLUMNS)):
        check_columns(model, columns)
    check_columns(Activity, ACTIVITY_COLUMNS)
    bookings_data.check_columns()
    quotes_data.check_columns()
    started = time.perf_counter()
    say = _progress(connection.vendor)
    rng = random.Random(SEED)
    now = timezone.now()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            # Loading only: a crash mid-load loses the (uncommitted) load, nothing else.
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute("PRAGMA cache_size = -262144")
    writer = RowWriter()
    with transaction.atomic():
        workspace, admin, users = _create_people()
        customers = _create_customers(workspace, admin, rng)
        pipelines = _create_pipelines(workspace, admin)
        say(f"{len(users)} members, {len(customers)} customers, {len(pipelines)} pipelines")
        specs = _plan_jobs(pipelines, now, rng)
        rows = JobRows(
            writer=writer, workspace=workspace, users=users, customers=customers, rng=rng
        )
        for offset, spec in enumerate(specs):
            rows.add(bench.FIRST_NUMBER + offset, spec)
            if (offset + 1) % chunk == 0:
                rows.flush()
                if (offset + 1) % (chunk * 4) == 0:
                    say(f"{offset + 1:,} jobs, {writer.rows_written:,} rows")
        rows.flush()
        JobNumberSequence.objects.update_or_create(
            workspace=workspace, defaults={"next_number": bench.FIRST_NUMBER + len(specs)}
        )
        say(f"{len(specs):,} jobs and {writer.rows_written:,} rows written; committing")
    _finish_database(say)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = FULL")
    if bookings:
        bookings_data.generate(chunk=chunk)
    if quotes:
        quotes_data.generate(chunk=chunk)
    if billing:
        billing_data.generate(chunk=chunk)
    elapsed = time.perf_counter() - started
    say(f"done in {elapsed:.0f}s")
    return elapsed


def describe(status: dict[str, Any]) -> Iterable[str]:
    yield (
        f"{status['jobs']:,} jobs, {status['activities']:,} feed entries "
        f"(job J-{bench.FEED_JOB_NUMBER}: {status['feed_job_entries']:,})"
    )
    yield bookings_data.describe(status)
    yield quotes_data.describe(status)
    yield billing_data.describe(status)
