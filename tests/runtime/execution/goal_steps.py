"""Graph pieces and actions shared by the goal-matching and lifecycle tests."""

from __future__ import annotations

from models.contacts import apply_tag
from tests.runtime.engine_fixtures import ADMIN
from tests.runtime.engine_fixtures import Env
from tests.runtime.engine_fixtures import goal
from tests.runtime.engine_fixtures import step


def wait(step_id: str) -> dict[str, object]:
    """A one-day delay step (step ids are unique across a graph)."""
    return step(step_id, "delay", amount=1, unit="days")


def note(step_id: str, body: str = "note") -> dict[str, object]:
    """A create_note step."""
    return step(step_id, "create_note", body=body)


def tag(env: Env, contact_id: int, name: str) -> None:
    """A user applying a tag."""
    apply_tag(env.session, ADMIN, contact_id, name)


def into(
    env: Env,
    node_id: str,
    stage: str,
    name: str = "",
    direction: str = "into",
    pipeline: str | None = None,
) -> dict[str, object]:
    """A stage_moved goal on a named stage."""
    config: dict[str, object] = {
        "stage_id": env.stage(stage, pipeline or "sales"),
        "direction": direction,
    }
    if pipeline is not None:
        config["pipeline_id"] = env.ids[pipeline]
    return goal(node_id, "stage_moved", name or f"{direction} {stage}", **config)
