"""Campaign graphs for the canvas browser tests and the canvas benchmark."""

from __future__ import annotations

import random
from typing import Any


def stage_ids(pipeline: dict[str, Any]) -> dict[str, int]:
    """Stage ids by name."""
    return {s["name"]: s["id"] for s in pipeline["stages"]}


def sales_followup_graph(pipeline: dict[str, Any]) -> dict[str, Any]:
    """A realistic 11-node sales follow-up campaign on a sales_workflow pipeline, laid out in rows."""
    st = stage_ids(pipeline)
    pid = pipeline["id"]

    def goal(id_: str, name: str, type_: str, config: dict[str, Any], x: int, y: int) -> dict[str, Any]:
        return {"id": id_, "kind": "goal", "type": type_, "name": name, "config": config, "position": {"x": x, "y": y}}

    def seq(id_: str, name: str, steps: list[tuple[str, dict[str, Any]]], x: int, y: int) -> dict[str, Any]:
        return {"id": id_, "kind": "sequence", "name": name, "position": {"x": x, "y": y},
                "steps": [{"id": f"{id_}_{i}", "type": t, "config": c} for i, (t, c) in enumerate(steps, 1)]}

    into = lambda stage: {"pipeline_id": pid, "stage_id": st[stage], "direction": "into"}  # noqa: E731
    nodes = [
        goal("g_lead", "New lead tagged", "tag_applied", {"tag": "New lead"}, 0, 0),
        seq("s_welcome", "Welcome & first call", [
            ("send_email", {"subject": "Thanks for reaching out, {{contact.first_name}}",
                            "body": "Hi {{contact.first_name}},\n\nThanks for your interest. {{owner.name}} will call you shortly."}),
            ("delay", {"amount": 1, "unit": "days"}),
            ("create_task", {"title": "Call {{contact.first_name}} {{contact.last_name}}", "assignee": "owner", "due_in_days": 0}),
        ], 320, 0),
        goal("g_qualified", "Moved to Qualified", "stage_moved", into("Qualified"), 640, 0),
        seq("s_discovery", "Discovery follow-up", [
            ("create_task", {"title": "Book a discovery call", "assignee": "owner", "due_in_days": 1}),
            ("send_email", {"subject": "Next steps for {{opportunity.title}}", "body": "Here is what happens next…"}),
            ("delay", {"amount": 3, "unit": "days", "window": {"weekdays": [0, 1, 2, 3, 4], "start_hour": 9, "end_hour": 17}}),
            ("notify_user", {"user": "owner", "message": "Check in on {{contact.first_name}}"}),
        ], 960, 0),
        goal("g_proposed", "Proposal sent", "stage_moved", into("Proposed"), 0, 240),
        seq("s_proposal", "Proposal nurture", [
            ("send_email", {"subject": "Your proposal for {{opportunity.title}}", "body": "Attached is your proposal."}),
            ("delay", {"amount": 2, "unit": "days"}),
            ("create_task", {"title": "Follow up on the proposal", "assignee": "owner", "due_in_days": 0}),
        ], 320, 240),
        goal("g_won", "Deal won", "stage_moved", into("Closed"), 640, 240),
        seq("s_onboard", "Customer onboarding", [
            ("apply_tag", {"tag": "Customer"}),
            ("send_email", {"subject": "Welcome aboard, {{contact.first_name}}!", "body": "We're thrilled to work with you."}),
            ("create_note", {"body": "Onboarding started"}),
        ], 960, 240),
        goal("g_stuck", "Proposal overdue", "stage_overdue", {"stage_id": st["Proposed"]}, 320, 460),
        seq("s_nudge", "Nudge the owner", [
            ("notify_user", {"user": "owner", "message": "{{opportunity.title}} is overdue in Proposed"}),
            ("create_task", {"title": "Unblock {{opportunity.title}}", "assignee": "owner", "due_in_days": 0}),
        ], 640, 460),
        {"id": "n_tip", "kind": "note", "text": "Reps: move the deal to Qualified after the first call.\nProposal goals stop the discovery emails.",
         "position": {"x": 0, "y": 460}},
    ]
    pairs = [("g_lead", "s_welcome"), ("s_welcome", "g_qualified"), ("g_qualified", "s_discovery"),
             ("s_discovery", "g_proposed"), ("g_proposed", "s_proposal"), ("s_proposal", "g_won"),
             ("g_won", "s_onboard"), ("g_stuck", "s_nudge")]
    return {"nodes": nodes, "edges": [{"id": f"e_{a}_{b}", "source": a, "target": b} for a, b in pairs]}


def big_graph(n_nodes: int = 1000, seed: int = 7) -> dict[str, Any]:
    """A generated campaign of `n_nodes` (goal/sequence chains in a grid) with about 1.2 edges per node."""
    rng = random.Random(seed)
    cols = 40
    nodes: list[dict[str, Any]] = []
    for i in range(n_nodes):
        x, y = (i % cols) * 300, (i // cols) * 180
        if i % 2 == 0:
            nodes.append({"id": f"n{i}", "kind": "goal", "type": "tag_applied", "name": f"Tag {i}",
                          "config": {"tag": f"t{i}"}, "position": {"x": x, "y": y}})
        else:
            nodes.append({"id": f"n{i}", "kind": "sequence", "name": f"Sequence {i}", "position": {"x": x, "y": y},
                          "steps": [{"id": f"n{i}s1", "type": "delay", "config": {"amount": 1, "unit": "days"}},
                                    {"id": f"n{i}s2", "type": "apply_tag", "config": {"tag": f"done{i}"}}]})
    edges = set()
    for i in range(n_nodes - 1):
        if (i + 1) % cols:
            edges.add((i, i + 1))  # chain along the row: goal→seq→goal…, always forward
    while len(edges) < int(n_nodes * 1.2):
        a = rng.randrange(n_nodes - cols)
        b = a + cols + rng.randrange(-2, 3)
        if 0 <= b < n_nodes and b > a and not (a % 2 == 0 and b % 2 == 0):
            edges.add((a, b))
    return {"nodes": nodes, "edges": [{"id": f"e{a}_{b}", "source": f"n{a}", "target": f"n{b}"} for a, b in sorted(edges)]}
