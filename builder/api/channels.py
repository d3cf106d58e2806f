"""Channels in the API: an outbox email as sent, a campaign's email links, a contact's email status."""

from __future__ import annotations

from typing import Any
from typing import Literal

from flask import Blueprint
from flask import current_app
from pydantic import Field

from builder.api.base import Body
from builder.api.base import route
from builder.db import commit
from builder.db import get_session
from builder.runtime_host import runtime_config
from builder.schemas.common import Out
from builder.schemas.contacts import ContactOut
from builder.schemas.events import OutboxMessageOut
from models.access import Actor
from models.suppression import set_email_status
from runtime.campaign_links import campaign_email_links
from runtime.delivery.outbox import outbox_message

bp = Blueprint("api_channels", __name__, url_prefix="/api/v1")


class EmailStatusBody(Body):
    status: Literal["subscribed", "unsubscribed", "bounced"]
    reason: str = Field(default="", max_length=500)


class MessageOut(Out):
    """An email as it was (or would be) sent."""

    headers: dict[str, str] = Field(description="Header name → value, as sent.")
    text: str
    html: str
    links: list[str] = Field(description="The original addresses of the tracked links, in order.")


class OutboxDetailOut(OutboxMessageOut):
    """One outbox row with its payload and, for an email, the message as sent."""

    payload: dict[str, Any] = Field(description="Free-form JSON: what the step queued (its kind's fields).")
    message: MessageOut | None = Field(description="For an email: headers, text and HTML parts; else null.")
    render_error: str | None = Field(default=None, description="Why the email could not be rendered, if so.")


class LinkStep(Out):
    node_id: str
    step_id: str
    subject: str


class CampaignLink(Out):
    url: str
    steps: list[LinkStep]


@route(bp, "/outbox/<int:outbox_id>", response=OutboxDetailOut)
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
    return contact
