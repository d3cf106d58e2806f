"""Seed data for the workspace browser tests, made through the REST API.

The e2e server is shared by the whole session, so every test seeds its own
pipeline with a unique name and finds its cards by id.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

XSS_FIRST = "<script>window.__xss=1</script>"
XSS_LAST = "<img src=x onerror=window.__xss=2>"


def user_ids(server: Any) -> dict[str, int]:
    """username -> id of the seeded users."""
    return {u["username"]: u["id"] for u in server.api("GET", "/users")}


def contact(server: Any, first: str, last: str) -> dict[str, Any]:
    """A new contact with a unique email."""
    email = f"{first[:12].lower()}.{uuid.uuid4().hex[:8]}@example.com"
    email = (
        "".join(ch for ch in email if ch.isalnum() or ch in "@._-")
        or f"x{uuid.uuid4().hex[:8]}@example.com"
    )
    return server.api(
        "POST", "/contacts", json={"email": email, "first_name": first, "last_name": last}
    )


def opportunity(
    server: Any,
    pipeline: dict[str, Any],
    stage: dict[str, Any],
    title: str,
    contact_row: dict[str, Any],
    owner_id: int,
    value: float,
    next_days: int | None = None,
    note: str = "",
) -> dict[str, Any]:
    """A hand-made opportunity in a stage."""
    body: dict[str, Any] = {
        "title": title,
        "contact_id": contact_row["id"],
        "pipeline_id": pipeline["id"],
        "stage_id": stage["id"],
        "owner_id": owner_id,
        "value": value,
        "next_action_note": note,
    }
    if next_days is not None:
        body["next_action_date"] = (date.today() + timedelta(days=next_days)).isoformat()
    return server.api("POST", "/opportunities", json=body)


def tick_required(server: Any, opp_id: int, stage: dict[str, Any]) -> None:
    """Tick every required checklist item of a stage on an opportunity."""
    for item in stage["checklist"]:
        if item["required"]:
            server.api(
                "PUT", f"/opportunities/{opp_id}/checklist/{item['id']}", json={"done": True}
            )


def backdate(server: Any, opp_id: int, days: float) -> None:
    """Pretend the deal entered its stage `days` ago (the API cannot; overdue needs it)."""
    moment = (datetime.now(UTC) - timedelta(days=days)).replace(tzinfo=None)
    with sqlite3.connect(server.data_dir / "e2e.db", timeout=10) as db:
        db.execute(
            "UPDATE opportunity SET stage_entered_at = ? WHERE id = ?",
            (moment.strftime("%Y-%m-%d %H:%M:%S.%f"), opp_id),
        )


def sales_board(server: Any, label: str) -> dict[str, Any]:
    """A sales pipeline (sales workflow template) with a realistic spread of deals.

    Returns {pipeline, stages (by number), users, opps: {key: opportunity},
    contacts: {key: contact}}.
    """
    users = user_ids(server)
    pipeline = server.api(
        "POST",
        "/pipelines",
        json={"name": f"Sales {label}", "kind": "sales", "template": "sales_workflow"},
    )
    stages = sorted(pipeline["stages"], key=lambda s: s["number"])
    people = {
        "grace": contact(server, "Grace", "Hopper"),
        "alan": contact(server, "Alan", "Turing"),
        "ada": contact(server, "Ada", "Lovelace"),
        "linus": contact(server, "Linus", "Torvalds"),
        "barbara": contact(server, "Barbara", "Liskov"),
        "ken": contact(server, "Ken", "Thompson"),
        "margaret": contact(server, "Margaret", "Hamilton"),
        "dennis": contact(server, "Dennis", "Ritchie"),
        "evil": contact(server, XSS_FIRST, XSS_LAST),
    }
    rep1, rep2 = users["rep1"], users["rep2"]
    p, (s10, s20, s30, s40, s50, s60) = pipeline, stages
    opps = {
        "acme": opportunity(
            server,
            p,
            s10,
            "Acme Corp CRM rollout",
            people["grace"],
            rep1,
            12000,
            2,
            "Send the pricing deck",
        ),
        "globex": opportunity(server, p, s10, "Globex expansion", people["alan"], rep1, 8500, 5),
        "initech": opportunity(server, p, s10, "Initech pilot", people["linus"], rep2, 4000, 1),
        "evil": opportunity(server, p, s10, "Evil Corp deal", people["evil"], rep1, 3000, None),
        "umbrella": opportunity(
            server,
            p,
            s20,
            "Umbrella Health renewal",
            people["ada"],
            rep1,
            24000,
            -1,
            "Chase the budget owner",
        ),
        "stark": opportunity(
            server, p, s20, "Stark Industries seats", people["barbara"], rep1, 15000, 3
        ),
        "wayne": opportunity(
            server, p, s30, "Wayne Enterprises audit", people["ken"], rep1, 32000, 4
        ),
        "hooli": opportunity(server, p, s40, "Hooli migration", people["margaret"], rep2, 18000, 6),
        "soylent": opportunity(
            server, p, s50, "Soylent supply deal", people["dennis"], rep1, 46000, 1
        ),
        "vandelay": opportunity(
            server, p, s60, "Vandelay imports", people["grace"], rep1, 9000, None
        ),
    }
    backdate(server, opps["umbrella"]["id"], 20)  # past the 14-day target: overdue
    backdate(server, opps["wayne"]["id"], 6)
    backdate(server, opps["globex"]["id"], 3)
    return {
        "pipeline": pipeline,
        "stages": stages,
        "users": users,
        "opps": opps,
        "contacts": people,
    }


def card(page: Any, opp_id: int) -> Any:
    """The board card of an opportunity."""
    return page.locator(f'.card[data-opp-id="{opp_id}"]')


def column_cards(page: Any, stage_id: int) -> Any:
    """The cards in a stage's column."""
    return page.locator(f'.column[data-stage-id="{stage_id}"] .card')


def wait_live(page: Any) -> None:
    """Wait until the page's Socket.IO connection has joined its rooms."""
    page.wait_for_selector('#live-status[data-state="live"]', timeout=10000)


def enroll_in_tag_campaign(server: Any, contact_id: int) -> list[dict[str, Any]]:
    """Publish a tag-triggered campaign (delay, then email), tag the contact; return its runs."""
    tag = f"cp-{uuid.uuid4().hex[:6]}"
    graph = {
        "nodes": [
            {
                "id": "g1",
                "kind": "goal",
                "type": "tag_applied",
                "name": "Asked for a call",
                "config": {"tag": tag},
                "position": {"x": 80, "y": 120},
            },
            {
                "id": "s1",
                "kind": "sequence",
                "name": "Call follow-up",
                "position": {"x": 320, "y": 120},
                "steps": [
                    {"id": "wait", "type": "delay", "config": {"amount": 2, "unit": "days"}},
                    {"id": "mail", "type": "send_email", "config": {"subject": "Our call", "body": "Hi"}},
                ],
            },
        ],
        "edges": [{"source": "g1", "target": "s1"}],
    }
    server.api("POST", "/tags", json={"tag": tag})
    campaign = server.api("POST", "/campaigns", json={"name": f"Call nurture {tag}"})
    server.api("PUT", f"/campaigns/{campaign['id']}/draft", json={"graph": graph})
    server.api("POST", f"/campaigns/{campaign['id']}/publish")
    server.api("POST", f"/contacts/{contact_id}/tags", json={"tag": tag})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        runs = server.api("GET", f"/contacts/{contact_id}/sequences")
        if runs:
            return list(runs)
        time.sleep(0.2)
    raise AssertionError("the campaign did not enroll the contact")
