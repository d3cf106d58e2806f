"""Tasks: list, create, complete (completing is an event)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from builder.api.base import route
from builder.db import commit
from builder.db import get_session
from builder.schemas.tasks import TaskCreate
from builder.schemas.tasks import TaskOut
from builder.schemas.tasks import TaskPatch
from builder.schemas.tasks import TaskQuery
from models import tasks as task_service
from models.access import Actor

bp = Blueprint("api_tasks", __name__, url_prefix="/api/v1")


@route(bp, "/tasks", query=TaskQuery, response=list[TaskOut])
def list_tasks(actor: Actor, query: TaskQuery) -> Any:
    """Tasks by due date (reps: their own)."""
    return task_service.list_tasks(get_session(), actor, assignee_id=query.assignee_id, open_only=query.open,
                                   opportunity_id=query.opportunity_id, contact_id=query.contact_id)


@route(bp, "/tasks", ("POST",), body=TaskCreate, response=TaskOut, status=201)
def create_task(actor: Actor, body: TaskCreate) -> Any:
    """Create a task."""
    data = body.model_dump()
    if data["assignee_id"] is None:
        data["assignee_id"] = actor.user_id
    task = task_service.create_task(get_session(), actor, **data)
    commit()
    return task


@route(bp, "/tasks/<int:task_id>", response=TaskOut)
def get_task(actor: Actor, task_id: int) -> Any:
    """One task."""
    return task_service.get_task(get_session(), actor, task_id)


@route(bp, "/tasks/<int:task_id>", ("PATCH",), body=TaskPatch, response=TaskOut)
def update_task(actor: Actor, task_id: int, body: TaskPatch) -> Any:
    """Complete, reopen or change a task."""
    task = task_service.update_task(get_session(), actor, task_id, body.model_dump(exclude_unset=True))
    commit()
    return task
