"""Pipelines and stages (the forecast is in builder/api/forecast.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import Field

from builder.api.base import route
from builder.db import commit
from builder.db import get_session
from builder.schemas.common import Patch
from builder.schemas.pipelines import PipelineCreate
from builder.schemas.pipelines import PipelineOut
from builder.schemas.pipelines import StageOut
from builder.schemas.pipelines import StagePatch
from builder.schemas.pipelines import StageSpec
from models import pipelines as pipeline_service
from models.access import Actor

bp = Blueprint("api_pipelines", __name__, url_prefix="/api/v1")


@route(bp, "/pipelines", response=list[PipelineOut])
def list_pipelines(actor: Actor) -> Any:
    """Every pipeline with its stages."""
    return pipeline_service.list_pipelines(get_session())


@route(bp, "/pipelines", ("POST",), body=PipelineCreate, response=PipelineOut, status=201)
def create_pipeline(actor: Actor, body: PipelineCreate) -> Any:
    """Create a pipeline from a template and/or stages (admins)."""
    data = body.model_dump()
    pipeline = pipeline_service.create_pipeline(get_session(), actor, data["name"], data["kind"],
                                                data["template"], data["stages"])
    commit()
    return pipeline


@route(bp, "/pipelines/<int:pipeline_id>", response=PipelineOut)
def get_pipeline(actor: Actor, pipeline_id: int) -> Any:
    """One pipeline with its stages and checklists."""
    return pipeline_service.get_pipeline(get_session(), pipeline_id)


class PipelinePatch(Patch):
    """Rename a pipeline, or set the lost reasons a rep picks from when a deal is lost."""

    name: str | None = Field(default=None, min_length=1, max_length=120, title="Name")
    lost_reasons: list[str] | None = Field(default=None, max_length=30, title="Lost reasons")


@route(bp, "/pipelines/<int:pipeline_id>", ("PATCH",), body=PipelinePatch, response=PipelineOut)
def update_pipeline(actor: Actor, pipeline_id: int, body: PipelinePatch) -> Any:
    """Rename a pipeline or set its lost reasons (admins)."""
    pipeline = pipeline_service.update_pipeline(get_session(), actor, pipeline_id, body.model_dump(exclude_unset=True))
    commit()
    return pipeline


@route(bp, "/pipelines/<int:pipeline_id>/stages", ("POST",), body=StageSpec, response=StageOut, status=201)
def add_stage(actor: Actor, pipeline_id: int, body: StageSpec) -> Any:
    """Insert a stage (admins)."""
    stage = pipeline_service.add_stage(get_session(), actor, pipeline_id, body.model_dump())
    commit()
    return stage


@route(bp, "/stages/<int:stage_id>", ("PATCH",), body=StagePatch, response=StageOut)
def update_stage(actor: Actor, stage_id: int, body: StagePatch) -> Any:
    """Change a stage (admins)."""
    stage = pipeline_service.update_stage(get_session(), actor, stage_id, body.model_dump(exclude_unset=True))
    commit()
    return stage


@route(bp, "/stages/<int:stage_id>", ("DELETE",), status=204)
def delete_stage(actor: Actor, stage_id: int) -> None:
    """Delete an empty stage (admins)."""
    pipeline_service.delete_stage(get_session(), actor, stage_id)
    commit()
