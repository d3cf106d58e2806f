"""What a campaign graph refers to in the CRM: existence checks (`Refs`) and display names (`Names`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Pipeline
from models import Stage
from models import Tag
from models import User
from models.access import Actor
from models.access import require_role
from runtime.graphs.catalog import summarize_items
from runtime.graphs.graph import CampaignGraph
from runtime.graphs.validation import validate


class DbRefs:
    """Refs backed by the database, with per-instance caches (one validation)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._stages: dict[int, int] | None = None
        self._pipelines: set[int] | None = None
        self._users: set[int] | None = None
        self._tags: set[str] | None = None

    def pipeline_exists(self, pipeline_id: int) -> bool:
        """True when the pipeline exists."""
        if self._pipelines is None:
            self._pipelines = set(self.session.scalars(select(Pipeline.id)))
        return pipeline_id in self._pipelines

    def stage_pipeline(self, stage_id: int) -> int | None:
        """The stage's pipeline, or None."""
        if self._stages is None:
            self._stages = dict(self.session.execute(select(Stage.id, Stage.pipeline_id)).all())
        return self._stages.get(stage_id)

    def user_exists(self, user_id: int) -> bool:
        """True when the user exists."""
        if self._users is None:
            self._users = set(self.session.scalars(select(User.id)))
        return user_id in self._users

    def tag_exists(self, tag: str) -> bool:
        """True when the tag exists."""
        if self._tags is None:
            self._tags = set(self.session.scalars(select(Tag.name)))
        return tag in self._tags


class DbNames:
    """Names backed by the database (loaded once per instance), for catalog summaries."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._stages: dict[int, tuple[str, str]] | None = None
        self._pipelines: dict[int, str] | None = None
        self._users: dict[int, str] | None = None

    def stage(self, stage_id: int) -> tuple[str, str] | None:
        """(stage name, pipeline name), or None."""
        if self._stages is None:
            rows = self.session.execute(select(Stage.id, Stage.name, Pipeline.name).join(Pipeline))
            self._stages = {sid: (name, pipeline) for sid, name, pipeline in rows}
        return self._stages.get(stage_id)

    def pipeline(self, pipeline_id: int) -> str | None:
        """The pipeline's name, or None."""
        if self._pipelines is None:
            self._pipelines = dict(self.session.execute(select(Pipeline.id, Pipeline.name)).all())
        return self._pipelines.get(pipeline_id)

    def user(self, user_id: int) -> str | None:
        """The user's name, or None."""
        if self._users is None:
            self._users = dict(self.session.execute(select(User.id, User.name)).all())
        return self._users.get(user_id)


def summarize(session: Session, actor: Actor, items: list[dict[str, Any]]) -> dict[str, str]:
    """One-line summaries of goal/step configs, keyed as asked (the canvas's node texts)."""
    require_role(actor, "marketer")
    return summarize_items(items, DbNames(session))


def missing_references(session: Session, graph: CampaignGraph) -> list[dict[str, Any]]:
    """Pipelines, stages, users and tags a graph names that this CRM lacks."""
    result = validate(graph, DbRefs(session))
    codes = {"unknown_pipeline", "unknown_stage", "unknown_user", "unknown_tag"}
    return [i.to_json() for i in result.errors if i.code in codes]
