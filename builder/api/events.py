"""Events from outside (forms, links, purchases, API goals), the outbox, sequence runs, audit."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from builder.api.base import route
from builder.db import commit
from builder.db import get_session
from builder.schemas.events import AuditEntryOut
from builder.schemas.events import AuditQuery
from builder.schemas.events import EventAcceptedOut
from builder.schemas.events import EventBody
from builder.schemas.events import OutboxMessageOut
from builder.schemas.events import OutboxQuery
from builder.schemas.sequences import RunPatch
from builder.schemas.sequences import RunStatusOut
from builder.schemas.sequences import SequenceRunOut
from models import audit as audit_log
from models.access import Actor
from models.contacts import get_contact
from runtime import inbound
from runtime import sequence_history
from runtime.delivery.outbox import list_outbox

bp = Blueprint("api_events", __name__, url_prefix="/api/v1")


@route(bp, "/events", ("POST",), body=EventBody, response=EventAcceptedOut, status=202)
def post_event(actor: Actor, body: EventBody) -> Any:
    """Record an outside event; goals it satisfies start their sequences."""
    event_id = inbound.post_event(get_session(), actor, body.model_dump())
    commit()
    return {"id": event_id, "type": body.type, "accepted": True}


@route(bp, "/outbox", query=OutboxQuery, response=list[OutboxMessageOut])
def outbox(actor: Actor, query: OutboxQuery) -> Any:
    """Emails and HTTP posts with their delivery status and idempotency key."""
    return list_outbox(get_session(), actor, **query.model_dump())


@route(bp, "/contacts/<int:contact_id>/sequences", response=list[SequenceRunOut])
def contact_sequences(actor: Actor, contact_id: int) -> Any:
    """The contact's follow-up sequence history."""
    get_contact(get_session(), contact_id)
    return sequence_history.contact_sequences(get_session(), contact_id)


@route(bp, "/sequence-runs/<int:run_id>", ("PATCH",), body=RunPatch, response=RunStatusOut)
def update_run(actor: Actor, run_id: int, body: RunPatch) -> Any:
    """Pause, resume or stop one contact's sequence run."""
    session = get_session()
    run = sequence_history.set_run_status(session, actor, run_id, body.status)
    commit()
    return run


@route(bp, "/audit", query=AuditQuery, response=list[AuditEntryOut])
def audit(actor: Actor, query: AuditQuery) -> Any:
    """Who published, paused, rolled back, changed roles and shares (admins)."""
    return audit_log.list_audit(get_session(), actor, query.action, query.limit)
