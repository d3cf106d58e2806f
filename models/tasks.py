"""Tasks: creation that respects each user's daily capacity, listing, completion.

Invariant (seed 002): an automated task with a relative due date lands on the
first day at or after that date on which its assignee has room.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Contact
from models import Opportunity
from models import Task
from models import User
from models import clock
from models import events
from models.access import Actor
from models.access import check_read_opportunity
from models.errors import Forbidden
from models.errors import Invalid
from models.errors import NotFound

MAX_DAYS_AHEAD = 366


def first_day_with_room(session: Session, user: User, wanted: date) -> date:
    """The first day at or after `wanted` with fewer open tasks than the user's capacity."""
    horizon = wanted + timedelta(days=MAX_DAYS_AHEAD)
    counts: dict[date, int] = dict(session.execute(  # type: ignore[arg-type]  # due_date >= wanted: never None
        select(Task.due_date, func.count()).where(
            Task.assignee_id == user.id, Task.completed_at.is_(None),
            Task.due_date >= wanted, Task.due_date < horizon,
        ).group_by(Task.due_date)
    ).all())
    return first_day_in(counts, user.daily_task_capacity, wanted)


def first_day_in(load: Mapping[date, int], capacity: int, wanted: date) -> date:
    """Seed 002 on known counts: the first day from `wanted` (within MAX_DAYS_AHEAD) with room.

    `load` maps due days to the user's open tasks; the runtime's step loop keeps one per
    user per batch instead of querying per task.
    """
    horizon = wanted + timedelta(days=MAX_DAYS_AHEAD)
    day = wanted
    while load.get(day, 0) >= capacity and day < horizon:
        day += timedelta(days=1)
    return day


def check_new_task(
    session: Session,
    actor: Actor,
    *,
    title: str,
    assignee_id: int | None,
    contact_id: int | None,
    opportunity_id: int | None,
) -> tuple[User | None, int | None]:
    """The rules a new task must pass (the CRM's own and the step loop's batched inserts).

    Returns:
        The assignee (None when unassigned) and the task's contact id (the
        opportunity's contact when none is given).

    Raises:
        Forbidden: a marketer.
        Invalid: an empty title, an unknown assignee or contact.
        NotFound: an opportunity the actor cannot see.
    """
    if actor.role == "marketer":
        raise Forbidden("marketers cannot create tasks")
    if not title.strip():
        raise Invalid("a task needs a title", code="empty_title", details={"field": "title"})
    assignee = None
    if assignee_id is not None:
        assignee = session.get(User, assignee_id)
        if assignee is None:
            raise Invalid("no such assignee", code="unknown_user", details={"field": "assignee_id"})
    if opportunity_id is not None:
        opp = check_read_opportunity(session, actor, session.get(Opportunity, opportunity_id))
        contact_id = contact_id or opp.contact_id
    if contact_id is not None and session.get(Contact, contact_id) is None:
        raise Invalid("no such contact", code="unknown_contact", details={"field": "contact_id"})
    return assignee, contact_id


def task_values(
    actor: Actor,
    *,
    title: str,
    description: str,
    assignee_id: int | None,
    due_date: date | None,
    contact_id: int | None,
    opportunity_id: int | None,
    source: str,
) -> dict[str, Any]:
    """The columns of a new task row, after `check_new_task`."""
    return {
        "title": title, "description": description, "assignee_id": assignee_id,
        "due_date": due_date, "contact_id": contact_id, "opportunity_id": opportunity_id,
        "created_by_id": actor.user_id, "source": source, "created_at": clock.now(),
    }


def announce_task(
    session: Session, task_id: int, assignee_id: int | None, opportunity_id: int | None
) -> None:
    """After commit, tell the assignee's task list and the opportunity page about a task."""
    events.notice(session, events.TaskChanged(task_id=task_id, assignee_id=assignee_id, opportunity_id=opportunity_id))


def create_task(
    session: Session,
    actor: Actor,
    *,
    title: str,
    assignee_id: int | None,
    due_date: date | None = None,
    description: str = "",
    contact_id: int | None = None,
    opportunity_id: int | None = None,
    spread_by_capacity: bool = False,
    source: str = "user",
) -> Task:
    """Create a task; `spread_by_capacity` moves it to the first day with room."""
    assignee, contact_id = check_new_task(
        session, actor, title=title, assignee_id=assignee_id, contact_id=contact_id,
        opportunity_id=opportunity_id,
    )
    if spread_by_capacity and assignee is not None and due_date is not None:
        due_date = first_day_with_room(session, assignee, due_date)
    task = Task(**task_values(
        actor, title=title, description=description, assignee_id=assignee_id, due_date=due_date,
        contact_id=contact_id, opportunity_id=opportunity_id, source=source,
    ))
    session.add(task)
    session.flush()
    announce_task(session, task.id, assignee_id, opportunity_id)
    return task


def _visible(session: Session, actor: Actor, task: Task | None) -> Task:
    if task is None:
        raise NotFound("no such task")
    if actor.is_admin or task.assignee_id == actor.user_id:
        return task
    if task.opportunity_id is not None:
        try:
            check_read_opportunity(session, actor, session.get(Opportunity, task.opportunity_id))
        except NotFound:
            raise NotFound("no such task") from None
        return task
    if actor.role == "marketer":
        return task
    raise NotFound("no such task")


def list_tasks(
    session: Session, actor: Actor, *, assignee_id: int | None = None, open_only: bool | None = None,
    opportunity_id: int | None = None, contact_id: int | None = None,
) -> list[Task]:
    """Tasks by due date; reps see their own (and those of opportunities they can see)."""
    query = select(Task).order_by(Task.due_date.is_(None), Task.due_date, Task.id)
    if opportunity_id is not None:
        check_read_opportunity(session, actor, session.get(Opportunity, opportunity_id))
        query = query.where(Task.opportunity_id == opportunity_id)
    elif actor.role == "rep":
        if assignee_id is not None and assignee_id != actor.user_id:
            raise Forbidden("reps see their own task list")
        assignee_id = actor.user_id
    if assignee_id is not None:
        query = query.where(Task.assignee_id == assignee_id)
    if contact_id is not None:
        query = query.where(Task.contact_id == contact_id)
    if open_only is True:
        query = query.where(Task.completed_at.is_(None))
    elif open_only is False:
        query = query.where(Task.completed_at.is_not(None))
    return list(session.scalars(query))


def get_task(session: Session, actor: Actor, task_id: int) -> Task:
    """A task the actor may see."""
    return _visible(session, actor, session.get(Task, task_id))


def update_task(session: Session, actor: Actor, task_id: int, changes: dict[str, object]) -> Task:
    """Complete/reopen a task or change its title, due date or assignee; completing is an event."""
    task = _visible(session, actor, session.get(Task, task_id))
    if actor.role == "marketer":
        raise Forbidden("marketers cannot change tasks")
    completed = changes.pop("completed", None)
    if "assignee_id" in changes and changes["assignee_id"] is not None:
        if session.get(User, changes["assignee_id"]) is None:
            raise Invalid("no such assignee", code="unknown_user", details={"field": "assignee_id"})
    for key, value in changes.items():
        setattr(task, key, value)
    if completed is True and task.completed_at is None:
        task.completed_at = clock.now()
        task.completed_by_id = actor.user_id
        session.flush()
        events.record(session, events.TaskCompleted(
            contact_id=task.contact_id, task_id=task.id, title=task.title, opportunity_id=task.opportunity_id,
            source="user", actor_id=actor.user_id,
        ))
    elif completed is False:
        task.completed_at = None
        task.completed_by_id = None
    session.flush()
    announce_task(session, task.id, task.assignee_id, task.opportunity_id)
    return task
