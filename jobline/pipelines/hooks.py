"""What the pipelines app asks of the layers above it, without importing them.

- Deleting a stage that holds jobs moves them first: the jobs app registers the handler that
  moves them (each move logged on its job).
- Switching a stage's visibility changes what customers read as the status of jobs that went
  through it: the jobs app registers the handler that sets their customer-visible stage again
  from their feed.

- A pipeline made from a template gets the template's default payment schedule: the billing
  app registers the handler that makes it.

All run inside the pipeline service's transaction. The apps above register them in their
AppConfig.ready.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jobline.pipelines.blueprints import PipelineBlueprint
from jobline.pipelines.models import Pipeline, Stage

# (stage being deleted, stage its jobs go to, actor) -> how many jobs moved
StageEmptier = Callable[[Stage, Stage, Any], int]
StageVisibilityHandler = Callable[[Stage], None]
# (pipeline just made, the template it was made from, actor)
PipelineCreatedHandler = Callable[[Pipeline, PipelineBlueprint, Any], None]

_emptiers: list[StageEmptier] = []
_visibility_handlers: list[StageVisibilityHandler] = []
_created_handlers: list[PipelineCreatedHandler] = []


def on_stage_emptied(handler: StageEmptier) -> None:
    if handler not in _emptiers:
        _emptiers.append(handler)


def on_stage_visibility_changed(handler: StageVisibilityHandler) -> None:
    if handler not in _visibility_handlers:
        _visibility_handlers.append(handler)


def empty_stage(stage: Stage, target: Stage, actor: Any) -> int:
    return sum(handler(stage, target, actor) for handler in _emptiers)


def stage_visibility_changed(stage: Stage) -> None:
    for handler in _visibility_handlers:
        handler(stage)


def on_pipeline_created(handler: PipelineCreatedHandler) -> None:
    if handler not in _created_handlers:
        _created_handlers.append(handler)


def pipeline_created(pipeline: Pipeline, blueprint: PipelineBlueprint, actor: Any) -> None:
    for handler in _created_handlers:
        handler(pipeline, blueprint, actor)
