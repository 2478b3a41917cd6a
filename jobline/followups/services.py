"""Every change to follow-ups: a stage's rules set in the pipeline editor (or by a template), a
job entering the stage scheduling them (in the workspace's wall time), a lost job cancelling
them, and the periodic job that marks them due and tells the owner — once each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from jobline.accounts.models import User
from jobline.core import wall_time
from jobline.core.prepared import PreparedQuery
from jobline.core.transactions import service
from jobline.followups import selectors
from jobline.followups.models import (
    LABEL_MAX,
    MAX_OFFSET_DAYS,
    OPEN_STATUSES,
    FollowUp,
    FollowUpRule,
    FollowUpStatus,
)
from jobline.jobs import activity
from jobline.jobs.changes import job_lock, log
from jobline.jobs.choices import STAGE_ENTRY_KINDS, Visibility
from jobline.jobs.models import Activity, Job
from jobline.pipelines.models import Pipeline, Stage
from jobline.workspaces.services import audit_record


@dataclass(frozen=True)
class RuleInput:
    """A follow-up as the editor gives it: due ``offset_days`` after the job enters the
    stage, booked when a visit falls from ``window_from_days`` to ``window_to_days`` after."""

    label: str
    offset_days: int
    window_from_days: int
    window_to_days: int
    email_customer: bool = False


class RuleError(ValidationError):
    def __init__(self, message: str | dict[str, str], row: int | None = None) -> None:
        super().__init__(message)
        self.row = row


def _checked(row: RuleInput, index: int) -> RuleInput:
    label = " ".join(row.label.split())
    if not label:
        raise RuleError({"label": "Name the follow-up (6-week review…)."}, index)
    if len(label) > LABEL_MAX:
        raise RuleError({"label": f"Keep the name under {LABEL_MAX} characters."}, index)
    if not 1 <= row.offset_days <= MAX_OFFSET_DAYS:
        raise RuleError({"offset": "A follow-up is due at least a day and at most two years "
                                   "after the job enters the stage."}, index)  # fmt: skip
    if not 0 <= row.window_from_days <= row.offset_days <= row.window_to_days <= MAX_OFFSET_DAYS:
        raise RuleError({"window_from": "The window runs from before (or on) the due day to "
                                        "after (or on) it, within two years."}, index)  # fmt: skip
    return RuleInput(label, row.offset_days, row.window_from_days, row.window_to_days,
                     row.email_customer)  # fmt: skip


@service
def stage_follow_ups_save(
    *, stage: Stage, rows: Sequence[RuleInput], actor: User
) -> list[FollowUpRule]:
    """Set the follow-ups a stage schedules (empty: none). Jobs already scheduled keep theirs."""
    checked = [_checked(row, index) for index, row in enumerate(rows)]
    workspace_id = stage.pipeline.workspace_id
    before = [f"{r.label} +{r.offset_days}d" for r in FollowUpRule.objects.filter(stage=stage)]
    FollowUpRule.objects.filter(stage=stage).delete()
    saved = [
        FollowUpRule.objects.create(
            workspace_id=workspace_id, stage=stage, position=position, label=row.label,
            offset_days=row.offset_days,
            window_before_days=row.offset_days - row.window_from_days,
            window_after_days=row.window_to_days - row.offset_days,
            email_customer=row.email_customer,
        )
        for position, row in enumerate(checked, start=1)
    ]  # fmt: skip
    audit_record(
        workspace=stage.pipeline.workspace, actor=actor, action="stage.follow_ups_changed",
        target=f"{stage.pipeline.name} → {stage.name}", old=", ".join(before) or "none",
        new=", ".join(f"{r.label} +{r.offset_days}d" for r in saved) or "none",
    )  # fmt: skip
    return saved


def on_pipeline_created(pipeline: Pipeline, blueprint: Any, actor: User) -> None:
    """A pipeline made from a template gets its stages' follow-ups (weeks, as written)."""
    stages = {s.name: s for s in Stage.objects.filter(pipeline=pipeline, deleted_at__isnull=True)}
    for stage_bp in blueprint.stages:
        if not stage_bp.follow_ups:
            continue
        rows = [
            RuleInput(label=f.label, offset_days=7 * f.weeks, window_from_days=7 * f.from_weeks,
                      window_to_days=7 * f.to_weeks, email_customer=f.email_customer)
            for f in stage_bp.follow_ups
        ]  # fmt: skip
        stage_follow_ups_save.step(stage=stages[stage_bp.name], rows=rows, actor=actor)


# ----------------------------------------------------------------------------- scheduling


# Asked on every stage entry (each move): its SQL compiled once (core/prepared.py), as
# building it took several times as long as the database's answer.
_RULES_OF_STAGE = PreparedQuery(
    lambda stage_id: FollowUpRule.objects.filter(stage_id=stage_id), name="follow-up rules"
)


def schedule(job: Job, stage: Stage, entered_at: dt.datetime) -> list[FollowUp]:
    """The stage's follow-ups for a job entering it, each at the same wall-clock time N days
    on in the workspace's time zone (so a DST change shifts nothing); one open per rule."""
    made = []
    time_zone = job.workspace.time_zone
    for rule in _RULES_OF_STAGE.list(stage_id=stage.pk):
        if FollowUp.objects.filter(job=job, rule=rule, status__in=OPEN_STATUSES).exists():
            continue
        made.append(FollowUp.objects.create(
            workspace_id=job.workspace_id, job=job, rule=rule, label=rule.label,
            due_at=wall_time.add_days(entered_at, rule.offset_days, time_zone),
            window_starts_at=wall_time.add_days(
                entered_at, rule.offset_days - rule.window_before_days, time_zone),
            window_ends_at=wall_time.add_days(
                entered_at, rule.offset_days + rule.window_after_days, time_zone),
            email_customer=rule.email_customer, created_at=entered_at,
        ))  # fmt: skip
    return made


def on_activity_logged(entry: Activity) -> None:
    """A job entering a stage schedules its follow-ups; a job that is lost cancels its own."""
    if entry.kind not in STAGE_ENTRY_KINDS or entry.stage_id is None:
        return
    stage = entry.stage
    if stage.is_lost:
        FollowUp.objects.filter(job=entry.job, status__in=OPEN_STATUSES).update(
            status=FollowUpStatus.CANCELLED
        )
        return
    schedule(entry.job, stage, entry.created_at)


def follow_ups_notice(*, now: dt.datetime | None = None) -> int:
    """Mark every follow-up that has come due (the periodic job): one claimed by a
    conditional UPDATE in the same transaction as its feed entry (which tells the owner; and,
    when its stage says so and the portal is on, one that asks the customer to book), so
    running twice tells once. One with a visit already in its window is due without news.
    Returns how many owners were told."""
    now = now or timezone.now()
    told = 0
    due = list(
        FollowUp.objects.filter(status=FollowUpStatus.PENDING, due_at__lte=now)
        .select_related("job")
        .order_by("due_at", "pk")[:NOTICE_PER_RUN]
    )
    for follow_up in due:
        with transaction.atomic(durable=True):
            job = job_lock(job=follow_up.job, expected_version=None)
            claimed = FollowUp.objects.filter(
                pk=follow_up.pk, status=FollowUpStatus.PENDING
            ).update(status=FollowUpStatus.DUE, noticed_at=now)
            if not claimed or selectors.is_booked(follow_up) or job.archived_at is not None:
                continue
            log(job=job, actor=None, at=now, payload=activity.FollowUpDue(
                follow_up_id=follow_up.pk, label=follow_up.label,
                window_starts_at=follow_up.window_starts_at,
                window_ends_at=follow_up.window_ends_at,
            ))  # fmt: skip
            if follow_up.email_customer and job.customer_id and job.workspace.portal_enabled:
                # The stage says to tell them: an entry of their feed, which their digest
                # e-mails ("time to book your review").
                log(job=job, actor=None, at=now, visibility=Visibility.CUSTOMER,
                    payload=activity.FollowUpInvited(follow_up_id=follow_up.pk,
                                                     label=follow_up.label))  # fmt: skip
            told += 1
    return told


# A run marks at most this many; the rest go on the next run.
NOTICE_PER_RUN = 500
