"""Live pushes: which Socket.IO room hears which domain event, and what it is told.

Room names live here and nowhere else: the runtime and the CRM record domain
events (`models.events`, `runtime.notices`); this module turns the committed
ones into pushes. Pushes are hints (ids and counts); clients re-fetch over
REST, which applies the same access rules, so a push never leaks what REST
would hide.

Invariant: no Flask here. `stagecraft worker` imports this module to push
through Redis without loading the web framework (`builder/sockets.py` holds
the Socket.IO handlers).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from models import Job
from models import Opportunity
from models import events
from models.access import Actor
from models.access import can_see_opportunity
from models.events import Event
from runtime import notices

Push = tuple[str, str, dict[str, Any]]
"""(room, Socket.IO event name, payload)"""
Emit = Callable[[str, str, dict[str, Any]], None]
"""emit(room, name, payload)"""


def campaign_room(campaign_id: int) -> str:
    """Marketers' canvas of one campaign: live counts, publish and status changes."""
    return f"campaign:{campaign_id}"


def pipeline_room(pipeline_id: int) -> str:
    """Everyone's board of one pipeline (told only *that* something changed)."""
    return f"pipeline:{pipeline_id}"


def opportunity_room(opportunity_id: int) -> str:
    """The record page of one opportunity."""
    return f"opportunity:{opportunity_id}"


def user_room(user_id: int) -> str:
    """One user's tasks and notifications (joined on connect)."""
    return f"user:{user_id}"


def contact_room(contact_id: int) -> str:
    """One contact's outbox deliveries (marketers and admins)."""
    return f"contact:{contact_id}"


def job_room(job_id: int) -> str:
    """The page following one background job (an import, a bulk action, an export): its progress."""
    return f"job:{job_id}"


ROOM_KINDS = ("campaign", "pipeline", "opportunity", "user", "contact", "job")


def pushes(committed: Sequence[Event]) -> list[Push]:
    """The pushes a committed transaction's events make, in order, each distinct push once."""
    out: dict[tuple[str, str, str], Push] = {}

    def push(room: str, name: str, payload: dict[str, Any]) -> None:
        out.setdefault((room, name, repr(sorted(payload.items()))), (room, name, payload))

    for event in committed:
        if isinstance(event, events.OpportunityChanged):
            if event.pipeline_id is not None:
                push(pipeline_room(event.pipeline_id), "opportunity_changed",
                     {"pipeline_id": event.pipeline_id, "change": event.change})
            push(opportunity_room(event.opportunity_id), "opportunity_changed",
                 {"opportunity_id": event.opportunity_id, "pipeline_id": event.pipeline_id,
                  "stage_id": event.stage_id, "change": event.change})
        elif isinstance(event, events.TaskChanged):
            if event.assignee_id is not None:
                push(user_room(event.assignee_id), "task_changed", {"task_id": event.task_id})
            if event.opportunity_id is not None:
                push(opportunity_room(event.opportunity_id), "opportunity_changed",
                     {"opportunity_id": event.opportunity_id, "change": "task"})
        elif isinstance(event, events.NotificationCreated):
            push(user_room(event.user_id), "notification",
                 {"notification_id": event.notification_id, "contact_id": event.contact_id})
        elif isinstance(event, notices.CampaignStatsChanged):
            push(campaign_room(event.campaign_id), "stats", {"campaign_id": event.campaign_id})
        elif isinstance(event, notices.CampaignPublished):
            push(campaign_room(event.campaign_id), "campaign_published",
                 {"campaign_id": event.campaign_id, "version": event.version})
        elif isinstance(event, notices.CampaignStatusChanged):
            push(campaign_room(event.campaign_id), "campaign_status",
                 {"campaign_id": event.campaign_id, "status": event.status})
        elif isinstance(event, notices.JobChanged):
            push(job_room(event.job_id), "job", {"id": event.job_id, "status": event.status, "done": event.done,
                                                "total": event.total})
        elif isinstance(event, notices.OutboxChanged) and event.contact_id is not None:
            push(contact_room(event.contact_id), "outbox",
                 {"id": event.outbox_id, "kind": event.kind, "status": event.status,
                  "idempotency_key": event.idempotency_key, "attempts": event.attempts,
                  "last_error": event.last_error})
    return list(out.values())


def may_join(actor: Actor, room: str, session: Session | None = None) -> bool:
    """Whether the actor may listen to a room (an opportunity room needs a session to check sharing)."""
    kind, _, ident = room.partition(":")
    if not ident.isdigit() or kind not in ROOM_KINDS:
        return False
    if kind == "campaign":
        return actor.is_admin or actor.role == "marketer"
    if kind == "pipeline":
        return True
    if kind == "opportunity":
        if session is None:
            return False
        opp = session.get(Opportunity, int(ident))
        return opp is not None and can_see_opportunity(session, actor, opp)
    if kind == "user":
        return actor.is_admin or actor.user_id == int(ident)
    if kind == "job":  # as GET /jobs/{id}: its starter and admins
        if session is None:
            return False
        job = session.get(Job, int(ident))
        mine = job is not None and actor.user_id is not None and job.created_by_id == actor.user_id
        return job is not None and (actor.is_admin or mine)
    # The contact room carries outbox deliveries (keys, errors), which GET /outbox
    # shows to marketers and admins only.
    return actor.is_admin or actor.role == "marketer"


class LivePushes:
    """An after-commit subscriber that emits each committed transaction's pushes."""

    def __init__(self, emit: Emit) -> None:
        self.emit = emit

    def __call__(self, committed: Sequence[Event]) -> None:
        for room, name, payload in pushes(committed):
            self.emit(room, name, payload)

    def install(self) -> LivePushes:
        """Subscribe to committed events."""
        events.subscribe(self)
        return self

    def uninstall(self) -> None:
        """Stop pushing."""
        events.unsubscribe(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LivePushes) and other.emit == self.emit

    def __hash__(self) -> int:
        return hash(self.emit)


def install_redis_pushes(redis_url: str, channel: str = "stagecraft") -> Any:
    """Push through Redis to every web node's Socket.IO clients (the worker); return the manager."""
    import socketio  # type: ignore[import-untyped]  # python-socketio, not Flask-SocketIO

    manager = socketio.RedisManager(redis_url, channel=channel, write_only=True)

    def emit(room: str, name: str, payload: dict[str, Any]) -> None:
        manager.emit(name, payload, room=room, namespace="/")

    LivePushes(emit).install()
    return manager
