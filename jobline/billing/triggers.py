"""What sets an instalment's request off: the job entering a stage, the job being won, its
quote's acceptance (at conversion), a date (periodic.py). Each trigger fires once
(services.fire); moving back un-requests nothing, and re-entering a stage requests nothing
again — staff may request by hand. One that could not be requested when its event came (the
job had no customer, or no value yet) has not fired: the next such event fires it.

And what gives a job its schedule: its pipeline's default, copied when the job is made (a
pipeline made from a template gets the template's)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils import timezone

from jobline.accounts.models import User
from jobline.billing import services
from jobline.billing.models import Instalment, InstalmentStatus, Trigger
from jobline.billing.services import InstalmentInput
from jobline.core.prepared import PreparedQuery
from jobline.jobs.choices import STAGE_ENTRY_KINDS, ActivityKind
from jobline.jobs.models import Activity, Job
from jobline.pipelines.blueprints import PipelineBlueprint
from jobline.pipelines.models import Pipeline, Stage
from jobline.quotes.models import Quote


def _waiting(job: Job | int) -> Q:
    return Q(job=job, status=InstalmentStatus.SCHEDULED, triggered_at__isnull=True)


def _due_on_entering(job_id: int, stage_id: int, won: bool) -> QuerySet[Instalment]:
    entered = Q(trigger=Trigger.STAGE, trigger_stage_id=stage_id)
    if won:
        entered |= Q(trigger=Trigger.WON)
    return Instalment.objects.filter(_waiting(job_id), entered).order_by("position")


# Asked on every stage entry (each move): its SQL compiled once per shape (core/prepared.py),
# as building it took several times as long as the database's answer.
_DUE_ON_ENTERING = PreparedQuery(_due_on_entering, name="instalments due on entering a stage")


def on_activity_logged(entry: Activity) -> None:
    """A feed entry that says the job entered a stage (created in it, moved into it) fires
    the instalments waiting for that stage, and those waiting for a win when it is won."""
    if entry.kind not in STAGE_ENTRY_KINDS or entry.stage_id is None:
        return
    if entry.kind == ActivityKind.CREATED:
        services.default_schedule_copy(entry.job)
    stage = entry.stage
    due = _DUE_ON_ENTERING.list(job_id=entry.job_id, stage_id=stage.pk, won=stage.is_won)
    if due:
        services.fire(entry.job, due, why=f"entering {stage.name}", at=entry.created_at)


def on_quote_event(quote: Quote, kind: str) -> None:
    """A converted quote's job gets its schedule from the quote (services.schedule_from_quote);
    then what the job already went through fires: an accepted quote's acceptance, the stage
    the job was made in (its value came only after)."""
    if kind != "converted" or quote.job is None:
        return
    job = quote.job
    now = timezone.now()
    services.schedule_from_quote(job, at=now)
    happened = Q(trigger=Trigger.STAGE, trigger_stage_id=job.stage_id)
    if quote.accepted_revision is not None:
        happened |= Q(trigger=Trigger.QUOTE_ACCEPTED)
    if job.stage.is_won:
        happened |= Q(trigger=Trigger.WON)
    due = list(Instalment.objects.filter(_waiting(job), happened).order_by("position"))
    if due:
        services.fire(job, due, why=f"conversion of {quote.reference}", at=now)


def on_pipeline_created(pipeline: Pipeline, blueprint: PipelineBlueprint, actor: User) -> None:
    """A pipeline made from a template gets the template's default payment schedule."""
    if not blueprint.schedule:
        return
    stages = {s.name: s for s in Stage.objects.filter(pipeline=pipeline, deleted_at__isnull=True)}
    rows = [
        InstalmentInput(
            label=row.label,
            amount_kind=row.amount_kind,
            percent=Decimal(row.percent) if row.percent else None,
            trigger=row.trigger,
            trigger_stage=stages.get(row.stage) if row.stage else None,
        )
        for row in blueprint.schedule
    ]
    services.pipeline_schedule_save.step(pipeline=pipeline, rows=rows, actor=actor)
