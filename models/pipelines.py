"""Pipelines, stages, checklists, templates and the forecast."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import selectinload

from models import ChecklistItem
from models import Opportunity
from models import Pipeline
from models import Stage
from models import StageMove
from models.access import Actor
from models.access import require_role
from models.errors import Conflict
from models.errors import Invalid
from models.errors import NotFound
from models.tables.pipelines import PIPELINE_KINDS


def _sales_workflow() -> list[dict[str, Any]]:
    # Seed 003: the six-stage sales checklist; checklist items in the past tense (seed 000).
    return [
        {"number": 10, "name": "Prospect", "target_days": 7, "probability": 10, "checklist": [
            {"text": "Verified the prospect is in our target market", "required": True},
            {"text": "Scheduled an intro meeting", "required": False}]},
        {"number": 20, "name": "Qualified", "target_days": 14, "probability": 25, "checklist": [
            {"text": "Confirmed budget and decision maker", "required": True},
            {"text": "Scheduled a follow-up meeting", "required": False}]},
        {"number": 30, "name": "Discovery", "target_days": 14, "probability": 40, "checklist": [
            {"text": "Documented the purchase issues", "required": True},
            {"text": "Identified allies and blockers", "required": False}]},
        {"number": 40, "name": "Developed", "target_days": 21, "probability": 60, "checklist": [
            {"text": "Had management approve the price", "required": True},
            {"text": "Reviewed the ROI with the prospect", "required": False}]},
        {"number": 50, "name": "Proposed", "target_days": 14, "probability": 80, "checklist": [
            {"text": "Sent the contract to legal", "required": True}]},
        {"number": 60, "name": "Closed", "target_days": 0, "probability": 100, "checklist": []},
    ]


def _fulfillment() -> list[dict[str, Any]]:
    # Seed 000: stages 100..155 in steps of 5; probability is the completion %, 100 at the end.
    names = [
        "Order received", "Welcome sent", "Kick-off scheduled", "Kick-off held", "Materials gathered",
        "In production", "Internal review", "Client review", "Revisions", "Final approval",
        "Delivered", "Completed",
    ]
    stages = []
    for i, name in enumerate(names):
        number = 100 + 5 * i
        checklist = []
        if name == "Kick-off held":
            checklist = [{"text": "Mailed the signed contract", "required": True}]
        if name == "Final approval":
            checklist = [{"text": "Received written sign-off", "required": True}]
        stages.append({
            "number": number, "name": name, "target_days": 3 if i < 4 else 5,
            "probability": round(100 * (i + 1) / len(names)), "checklist": checklist,
        })
    return stages


TEMPLATES = {"sales_workflow": _sales_workflow, "fulfillment": _fulfillment}


def _check_stage_values(spec: dict[str, Any]) -> None:
    if not 0 <= int(spec.get("probability", 0)) <= 100:
        raise Invalid("probability must be 0 to 100", code="invalid_probability", details={"stage": spec.get("name")})
    if int(spec.get("target_days", 0)) < 0:
        raise Invalid("target days cannot be negative", code="invalid_target_days", details={"stage": spec.get("name")})


def _add_stage(session: Session, pipeline: Pipeline, spec: dict[str, Any]) -> Stage:
    _check_stage_values(spec)
    if any(s.number == spec["number"] for s in pipeline.stages):
        raise Conflict(f"stage number {spec['number']} is taken in this pipeline", code="stage_number_taken")
    stage = Stage(
        number=spec["number"], name=spec["name"], target_days=spec.get("target_days", 7),
        probability=spec.get("probability", 0),
        checklist=[
            ChecklistItem(text=item["text"], required=bool(item.get("required")), position=i)
            for i, item in enumerate(spec.get("checklist") or [])
        ],
    )
    pipeline.stages.append(stage)
    return stage


def create_pipeline(
    session: Session,
    actor: Actor,
    name: str,
    kind: str,
    template: str | None = None,
    stages: list[dict[str, Any]] | None = None,
) -> Pipeline:
    """Create a pipeline from a template and/or explicit stages (admins)."""
    require_role(actor, "admin")
    if kind not in PIPELINE_KINDS:
        raise Invalid(f"kind must be one of {', '.join(PIPELINE_KINDS)}", code="invalid_kind")
    if template is not None and template not in TEMPLATES:
        raise Invalid(f"unknown template {template!r}", code="unknown_template")
    specs = (TEMPLATES[template]() if template else []) + list(stages or [])
    if not specs:
        raise Invalid("a pipeline needs a template or at least one stage", code="no_stages")
    pipeline = Pipeline(name=name, kind=kind)
    session.add(pipeline)
    for spec in specs:
        _add_stage(session, pipeline, spec)
    session.flush()
    pipeline.stages.sort(key=lambda stage: stage.number)  # as a fresh load orders them
    return pipeline


def get_pipeline(session: Session, pipeline_id: int) -> Pipeline:
    """A pipeline with its stages, or NotFound."""
    pipeline = session.get(Pipeline, pipeline_id, options=[selectinload(Pipeline.stages).selectinload(Stage.checklist)])
    if pipeline is None:
        raise NotFound("no such pipeline")
    return pipeline


def list_pipelines(session: Session, kind: str | None = None) -> list[Pipeline]:
    """Every pipeline (optionally of one kind) with its stages."""
    query = select(Pipeline).options(selectinload(Pipeline.stages).selectinload(Stage.checklist)).order_by(Pipeline.id)
    if kind:
        query = query.where(Pipeline.kind == kind)
    return list(session.scalars(query))


def get_stage(session: Session, stage_id: int) -> Stage:
    """A stage or NotFound."""
    stage = session.get(Stage, stage_id)
    if stage is None:
        raise NotFound("no such stage")
    return stage


def add_stage(session: Session, actor: Actor, pipeline_id: int, spec: dict[str, Any]) -> Stage:
    """Insert a stage into a pipeline (admins)."""
    require_role(actor, "admin")
    pipeline = get_pipeline(session, pipeline_id)
    stage = _add_stage(session, pipeline, spec)
    session.flush()
    return stage


def update_stage(session: Session, actor: Actor, stage_id: int, changes: dict[str, Any]) -> Stage:
    """Rename, renumber or retune a stage; a given checklist replaces the old one."""
    require_role(actor, "admin")
    stage = get_stage(session, stage_id)
    _check_stage_values({"probability": stage.probability, "target_days": stage.target_days, **changes})
    if "number" in changes and changes["number"] != stage.number:
        clash = session.scalar(
            select(Stage.id).where(Stage.pipeline_id == stage.pipeline_id, Stage.number == changes["number"]))
        if clash is not None:
            raise Conflict(f"stage number {changes['number']} is taken in this pipeline", code="stage_number_taken")
    checklist = changes.pop("checklist", None)
    for key, value in changes.items():
        setattr(stage, key, value)
    if checklist is not None:
        stage.checklist = [
            ChecklistItem(text=item["text"], required=bool(item.get("required")), position=i)
            for i, item in enumerate(checklist)
        ]
    session.flush()
    return stage


def delete_stage(session: Session, actor: Actor, stage_id: int) -> None:
    """Delete an empty stage; refused while opportunities sit in it or history refers to it."""
    require_role(actor, "admin")
    stage = get_stage(session, stage_id)
    count = session.scalar(select(func.count()).select_from(Opportunity).where(Opportunity.stage_id == stage_id)) or 0
    if count:
        raise Conflict(f"{count} opportunities are in this stage", code="stage_not_empty", details={"count": count})
    moves = session.scalar(select(func.count()).select_from(StageMove).where(
        or_(StageMove.from_stage_id == stage_id, StageMove.to_stage_id == stage_id))) or 0
    if moves:
        raise Conflict("the sales history refers to this stage; rename it instead", code="stage_in_history",
                       details={"moves": moves})
    session.delete(stage)
    session.flush()


def final_stage_id(session: Session, pipeline_id: int) -> int | None:
    """The pipeline's final stage (highest number): moving a deal into it wins the deal."""
    return session.scalar(
        select(Stage.id).where(Stage.pipeline_id == pipeline_id).order_by(Stage.number.desc()).limit(1))


def update_pipeline(session: Session, actor: Actor, pipeline_id: int, changes: dict[str, Any]) -> Pipeline:
    """Rename a pipeline or set its list of lost reasons (admins)."""
    require_role(actor, "admin")
    pipeline = get_pipeline(session, pipeline_id)
    if "lost_reasons" in changes:
        reasons: list[str] = []
        for reason in changes.pop("lost_reasons"):
            text = " ".join(str(reason).split())
            if text and text.casefold() not in {r.casefold() for r in reasons}:
                reasons.append(text)
        pipeline.lost_reasons = reasons
    for key, value in changes.items():
        setattr(pipeline, key, value)
    session.flush()
    return pipeline


def is_overdue(opportunity: Opportunity, stage: Stage, now: datetime) -> bool:
    """True when an open opportunity has spent longer than the stage's target days in it."""
    if opportunity.outcome != "open" or stage.target_days <= 0 or stage.probability >= 100:
        return False
    return bool(now - opportunity.stage_entered_at > timedelta(days=stage.target_days))
