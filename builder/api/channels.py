"""Channels in the API: an outbox email as sent, a campaign's email links, a contact's email status."""

from __future__ import annotations

from typing import Any
from typing import Literal

from flask import Blueprint
from flask import current_app
from pydantic import BaseModel
from pydantic import Field

from builder.api.base import Body
from builder.api.base import route
from builder.api.contacts import contact_out
from builder.db import commit
from builder.db import get_session
from builder.runtime_host import runtime_config
from builder.schemas import ContactOut
from models.access import Actor
from models.suppression import set_email_status
from runtime.campaign_links import campaign_email_links
from runtime.delivery.outbox import outbox_message

bp = Blueprint("api_channels", __name__, url_prefix="/api/v1")


class EmailStatusBody(Body):
    status: Literal["subscribed", "unsubscribed", "bounced"]
    reason: str = Field(default="", max_length=500)


class MessageOut(BaseModel):
    headers: dict[str, str]
    text: str
    html: str
    links: list[str]


class OutboxMessageOut(BaseModel):
    id: int
    kind: str
    status: str
    idempotency_key: str
    contact_id: int | None
    campaign_id: int | None
    run_id: int | None
    attempts: int
    last_error: str | None
    created_at: str
    sent_at: str | None
    summary: str
    payload: dict[str, Any]
    message: MessageOut | None
    render_error: str | None = None


class LinkStep(BaseModel):
    node_id: str
    step_id: str
    subject: str


class CampaignLink(BaseModel):
    url: str
    steps: list[LinkStep]


@route(bp, "/outbox/<int:outbox_id>", response=OutboxMessageOut)
def outbox_row(actor: Actor, outbox_id: int) -> Any:
    """One outbox row; for an email, the message as sent: headers, text and HTML parts."""
    return outbox_message(get_session(), actor, outbox_id, runtime_config(current_app))


@route(bp, "/campaigns/<int:campaign_id>/links", response=list[CampaignLink])
def campaign_links(actor: Actor, campaign_id: int) -> Any:
    """The links in the campaign's emails (the draft), for the link-clicked goal."""
    return campaign_email_links(get_session(), actor, campaign_id)


@route(bp, "/contacts/<int:contact_id>/email-status", ("PUT",), body=EmailStatusBody, response=ContactOut)
def put_email_status(actor: Actor, contact_id: int, body: EmailStatusBody) -> Any:
    """Set a contact's email status (subscribed, unsubscribed, bounced); audited."""
    contact = set_email_status(get_session(), actor, contact_id, body.status, reason=body.reason)
    commit()
    return contact_out(contact)
