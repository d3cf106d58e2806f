"""Events reported from outside (forms, links, API goals, purchases), checked against the catalog.

Invariant: an event's fields are validated by the `inbound_event` model of the
goal types that take it, so a new goal type with a new inbound event needs no
change here.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from models import events
from models.access import Actor
from models.contacts import get_contact
from models.errors import Invalid
from runtime.graphs.catalog import inbound_event_types

ENVELOPE = ("type", "contact_id")


def post_event(session: Session, actor: Actor, data: dict[str, Any], *, source: str = "api") -> int:
    """Record an event from outside about a contact; its goal field (form, link, name …) is required.

    Hosted forms (source "form") and tracked links (source "email") record
    their events here too, so goals match them exactly as API-reported ones.

    Returns:
        The event's log id.

    Raises:
        NotFound: no such contact.
        Invalid: an event type no goal takes (``unknown_event_type``) or a
            missing/ill-typed field (``missing_field``).
    """
    get_contact(session, data["contact_id"])
    schema = inbound_event_types().get(data["type"])
    if schema is None:
        raise Invalid(f"no goal takes '{data['type']}' events", code="unknown_event_type", details={"field": "type"})
    reported = {k: v for k, v in data.items() if k not in ENVELOPE and v is not None and k in schema.model_fields}
    try:
        fields = schema.model_validate(reported).model_dump()
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0]) if exc.errors() and exc.errors()[0]["loc"] else "type"
        message = f"a {data['type']} event needs '{field}'"
        raise Invalid(message, code="missing_field", details={"field": field}) from exc
    event = events.Reported(kind=data["type"], fields=fields, contact_id=data["contact_id"], source=source,
                            actor_id=actor.user_id)
    row_id = events.record(session, event)
    assert row_id is not None
    return row_id
