"""The links a campaign's emails carry (what the link-clicked goal's panel offers)."""

from __future__ import annotations

import typing as t

from pydantic import ValidationError
from sqlalchemy.orm import Session

from models.access import Actor
from runtime.campaigns import get_campaign
from runtime.graphs.catalog import step_type
from runtime.graphs.catalog.channel_steps import SendEmail


def campaign_email_links(session: Session, actor: Actor, campaign_id: int) -> list[dict[str, t.Any]]:
    """Each http(s) link in the draft's send_email bodies, with the steps that use it, in graph order."""
    campaign = get_campaign(session, actor, campaign_id)
    sender = t.cast(SendEmail, step_type("send_email"))
    found: dict[str, list[dict[str, str]]] = {}
    graph = campaign.draft or {}
    for node in graph.get("nodes") or []:
        if not isinstance(node, dict) or node.get("kind") != "sequence":
            continue
        for step in node.get("steps") or []:
            if not isinstance(step, dict) or step.get("type") != "send_email":
                continue
            try:
                urls = sender.links(step.get("config") or {})
                subject = sender.parse(step.get("config") or {}).subject
            except ValidationError:
                continue  # an incomplete email has no links to offer yet
            for url in urls:
                found.setdefault(url, []).append({"node_id": str(node.get("id")), "step_id": str(step.get("id")),
                                                  "subject": subject})
    return [{"url": url, "steps": steps} for url, steps in found.items()]
