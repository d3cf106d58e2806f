"""The demo's published campaign: sales follow-up driven by stage moves, a decision on the deal's size, and
the hand-off to fulfillment."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from models import Pipeline
from models.access import Actor
from runtime import campaigns
from runtime import publishing
from runtime.graphs.graph import graph_to_json
from runtime.graphs.graph import parse_graph
from runtime.graphs.layout import layout_graph


def _stage(pipeline: Pipeline, name: str) -> int:
    return next(s.id for s in pipeline.stages if s.name == name)


def demo_graph(sales: Pipeline, fulfil: Pipeline) -> dict[str, Any]:
    """A realistic campaign graph over the demo pipelines."""
    def moved(node_id: str, name: str, stage: str) -> dict[str, Any]:
        return {"id": node_id, "kind": "goal", "type": "stage_moved", "name": name,
                "config": {"pipeline_id": sales.id, "stage_id": _stage(sales, stage), "direction": "into"},
                "position": {"x": 0, "y": 0}}

    def seq(node_id: str, name: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
        return {"id": node_id, "kind": "sequence", "name": name, "position": {"x": 0, "y": 0},
                "steps": [{"id": f"{node_id}-{i}", **step} for i, step in enumerate(steps, 1)]}

    nodes = [
        moved("g-qualified", "Moved to Qualified", "Qualified"),
        seq("s-qualified", "Qualified follow-up", [
            {"type": "create_task", "config": {"title": "Call {{contact.first_name}} to book discovery",
                                               "assignee": "owner", "due_in_days": 1}},
            {"type": "send_email", "config": {"subject": "Great talking, {{contact.first_name}}",
                                              "body": "Hi {{contact.first_name}},\n\nThanks for your time. "
                                                      "I'll call to set up a discovery session.\n\n{{owner.name}}"}},
            {"type": "delay", "config": {"amount": 3, "unit": "days"}},
            {"type": "create_note", "config": {"body": "Qualified follow-up sent; awaiting discovery booking."}},
        ]),
        moved("g-proposed", "Moved to Proposed", "Proposed"),
        seq("s-proposed", "Proposal chase", [
            {"type": "delay", "config": {"amount": 2, "unit": "days",
                                         "window": {"weekdays": [0, 1, 2, 3, 4], "start_hour": 9, "end_hour": 17,
                                                    "timezone": "account"}}},
            {"type": "create_task", "config": {"title": "Check {{contact.first_name}} has read the proposal",
                                               "assignee": "owner", "due_in_days": 0}},
        ]),
        moved("g-closed", "Moved to Closed", "Closed"),
        seq("s-closed", "Hand off to fulfillment", [
            {"type": "apply_tag", "config": {"tag": "customer"}},
            {"type": "create_opportunity", "config": {"pipeline_id": fulfil.id,
                                                      "stage_id": fulfil.stages[0].id,
                                                      "title": "Onboarding: {{contact.first_name}} "
                                                               "{{contact.last_name}}"}},
            {"type": "send_email", "config": {"subject": "Welcome aboard, {{contact.first_name}}!",
                                              "body": "We're getting your onboarding ready."}},
        ]),
        {"id": "d-size", "kind": "decision", "name": "Deal size", "mode": "first", "otherwise": True,
         "position": {"x": 0, "y": 0},
         "branches": [{"id": "big", "label": "Big deal", "rules": {"any": [
             {"field": "opportunity.value", "op": "gte", "value": 10000},
             {"field": "tags", "op": "has", "value": "vip"}]}}]},
        seq("s-white-glove", "White-glove kickoff", [
            {"type": "create_task", "config": {"title": "Plan the kickoff with {{contact.first_name}}",
                                               "assignee": "owner", "due_in_days": 1}},
        ]),
        {"id": "g-webinar", "kind": "goal", "type": "tag_applied", "name": "Registered for webinar",
         "config": {"tag": "webinar"}, "position": {"x": 0, "y": 0}},
        seq("s-webinar", "Webinar nurture", [
            {"type": "send_email", "config": {"subject": "See you at the webinar", "body": "Here is your link."}},
            {"type": "delay", "config": {"amount": 1, "unit": "weeks"}},
            {"type": "create_task", "config": {"title": "Qualify webinar lead {{contact.first_name}}",
                                               "assignee": "round_robin", "due_in_days": 1}},
        ]),
        {"id": "note-1", "kind": "note", "text": "Reps move deals; each stage move starts the next follow-up "
                                                 "and stops the previous one.", "position": {"x": 0, "y": -140}},
    ]
    edges = [
        {"source": "g-qualified", "target": "s-qualified"}, {"source": "s-qualified", "target": "g-proposed"},
        {"source": "g-proposed", "target": "s-proposed"}, {"source": "s-proposed", "target": "g-closed"},
        {"source": "g-closed", "target": "d-size"}, {"source": "d-size", "target": "s-white-glove", "branch": "big"},
        {"source": "d-size", "target": "s-closed", "branch": "otherwise"},
        {"source": "s-white-glove", "target": "s-closed"},
        {"source": "g-webinar", "target": "s-webinar"},
    ]
    return graph_to_json(layout_graph(parse_graph({"nodes": nodes, "edges": edges})))


def seed_demo_campaign(session: Session, actor: Actor, sales: Pipeline, fulfil: Pipeline) -> None:
    """Create and publish the demo campaign."""
    campaign = campaigns.create_campaign(session, actor, "Sales follow-up", demo_graph(sales, fulfil))
    publishing.publish(session, actor, campaign.id)
    campaigns.create_campaign(session, actor, "Re-engagement (draft)")
