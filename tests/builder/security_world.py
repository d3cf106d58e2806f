"""A small, real world for the authorization and security tests, built through the services.

Users admin, marketer, rep_a, rep_b (and rep_c in team "East"); a sales
pipeline; a contact; an opportunity owned by rep A (shared with the marketer
only, so rep B cannot see it); a task; a published campaign with one contact
enrolled (so a sequence run exists); a spare API token of rep A; the
marketer's segment "VIPs" and a finished export of it.

The database is a SQLite file; `World.restore()` puts it back to the seeded
state with SQLite's backup API, so each request of a matrix starts from the
same data even after a DELETE.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from builder import create_app
from models import OutboxMessage
from models import SequenceRun
from models import Stage
from models import User
from models import contacts as contact_service
from models import forms as form_service
from models import opportunities as opp_service
from models import outcomes as outcome_service
from models import pipelines as pipeline_service
from models import tasks as task_service
from models import users as user_service
from models.access import Actor
from runtime import campaigns as campaign_service
from runtime import publishing
from runtime import segments
from runtime.jobs import bulk
from runtime.jobs import runner

PASSWORDS = {
    "admin": "admin-secret-pw-1", "marketer": "marketer-secret-pw-1",
    "rep_a": "rep-a-secret-pw-1", "rep_b": "rep-b-secret-pw-1", "rep_c": "rep-c-secret-pw-1",
}
ROLES = {"admin": "admin", "marketer": "marketer", "rep_a": "rep", "rep_b": "rep", "rep_c": "rep"}


def campaign_graph(tag: str = "vip") -> dict[str, Any]:
    """A valid graph: tag applied → a sequence that waits a day, then notes → decision d1 (still tagged?) → s2."""
    return {
        "nodes": [
            {"id": "g1", "kind": "goal", "type": "tag_applied", "name": "Tagged", "config": {"tag": tag},
             "position": {"x": 0, "y": 0}},
            {"id": "s1", "kind": "sequence", "name": "Follow-up", "position": {"x": 300, "y": 0},
             "steps": [{"id": "t1", "type": "delay", "config": {"amount": 1, "unit": "days"}},
                       {"id": "t2", "type": "create_note", "config": {"body": "Followed up"}}]},
            {"id": "d1", "kind": "decision", "name": "Still tagged?", "position": {"x": 600, "y": 0}, "mode": "first",
             "otherwise": True, "branches": [{"id": "yes", "label": "Yes",
                                              "rules": {"all": [{"field": "tags", "op": "has", "value": tag}]}}]},
            {"id": "s2", "kind": "sequence", "name": "Still tagged", "position": {"x": 900, "y": 0},
             "steps": [{"id": "t3", "type": "create_note", "config": {"body": "Still tagged"}}]},
        ],
        "edges": [{"source": "g1", "target": "s1"}, {"source": "s1", "target": "d1"},
                  {"source": "d1", "target": "s2", "branch": "yes"}],
    }


@dataclass
class World:
    """Ids of the seeded things and a bearer token per user."""

    app: Flask
    db_path: Path
    users: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    _pristine: sqlite3.Connection | None = None

    def actor(self, username: str) -> Actor:
        return Actor(user_id=self.users[username], role=ROLES[username],
                     team_id=self.ids["team_east"] if username == "rep_c" else None)

    def headers(self, username: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"} if username else {}

    def snapshot(self) -> None:
        """Keep an in-memory copy of the seeded database (again after seeding more: the copy is replaced)."""
        if self._pristine is not None:
            self._pristine.close()
        self._pristine = sqlite3.connect(":memory:", check_same_thread=False)
        with sqlite3.connect(self.db_path) as src:
            src.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            src.backup(self._pristine)

    def close(self) -> None:
        """Release the snapshot and the app's connections."""
        if self._pristine is not None:
            self._pristine.close()
            self._pristine = None
        self.app.extensions["stagecraft_db"].engine.dispose()

    def restore(self) -> None:
        """Put the database back to the snapshot (through the app's engine, so its pool sees it)."""
        assert self._pristine is not None
        engine = self.app.extensions["stagecraft_db"].engine
        raw = engine.raw_connection()
        try:
            self._pristine.backup(raw.driver_connection)  # type: ignore[arg-type]
        finally:
            raw.close()


def build_world(tmp: Path, **config: Any) -> World:
    """Create the app on a fresh SQLite file and seed it through the services."""
    db_path = tmp / "world.db"
    app = create_app({"DATABASE_URL": f"sqlite:///{db_path}", "DATA_DIR": str(tmp), "SECRET_KEY": "test-secret",
                      **config})
    world = World(app=app, db_path=db_path)
    sessions = app.extensions["stagecraft_db"].sessions
    with sessions() as s:
        east = user_service.create_team(s, Actor(user_id=None, role="system"), "East")
        world.ids["team_east"] = east.id
        for username, role in ROLES.items():
            user = user_service.create_user(s, username, PASSWORDS[username], role, name=username.replace("_", " ").title(),
                                            team="East" if username == "rep_c" else None)
            world.users[username] = user.id
            token, _row = user_service.create_token(s, user, "matrix")
            world.tokens[username] = token
        s.flush()
        spare_token, spare = user_service.create_token(s, s.get(User, world.users["rep_a"]), "spare")
        world.ids["spare_token"] = spare.id
        world.tokens["spare"] = spare_token
        admin = world.actor("admin")
        rep_a = world.actor("rep_a")
        pipeline = pipeline_service.create_pipeline(s, admin, "Sales", "sales", "sales_workflow", None)
        world.ids["pipeline"] = pipeline.id
        stages = sorted(pipeline.stages, key=lambda st: st.number)
        world.ids["stage_first"] = stages[0].id
        world.ids["stage_second"] = stages[1].id
        world.ids["stage_empty"] = stages[-1].id  # Closed: no opportunity sits in it
        world.ids["checklist_item"] = stages[0].checklist[0].id
        contact = contact_service.create_contact(s, rep_a, "ada@example.com", "Ada", "Lovelace",
                                                 owner_id=world.users["rep_a"])
        world.ids["contact"] = contact.id
        opp = opp_service.create_opportunity(s, rep_a, title="Acme deal", contact_id=contact.id,
                                             pipeline_id=pipeline.id, stage_id=stages[0].id, value=1000)
        world.ids["opportunity"] = opp.id
        share = opp_service.share(s, rep_a, opp.id, user_id=world.users["marketer"])
        world.ids["share"] = share.id
        lost = opp_service.create_opportunity(s, rep_a, title="Lost deal", contact_id=contact.id,
                                              pipeline_id=pipeline.id, stage_id=stages[0].id, value=500)
        opp_service.share(s, rep_a, lost.id, user_id=world.users["marketer"])
        outcome_service.close_opportunity(s, rep_a, lost.id, "lost", reason="Price too high")
        world.ids["lost_opportunity"] = lost.id
        task = task_service.create_task(s, rep_a, title="Call Ada", assignee_id=world.users["rep_a"],
                                        opportunity_id=opp.id)
        world.ids["task"] = task.id
        contact_service.ensure_tag(s, "vip")
        campaign = campaign_service.create_campaign(s, world.actor("marketer"), "Welcome", campaign_graph())
        world.ids["campaign"] = campaign.id
        publishing.publish(s, world.actor("marketer"), campaign.id)
        contact_service.apply_tag(s, rep_a, contact.id, "vip")
        run = s.scalar(select(SequenceRun).where(SequenceRun.contact_id == contact.id))
        assert run is not None, "the published campaign should have enrolled the tagged contact"
        world.ids["run"] = run.id
        form = form_service.create_form(s, world.actor("marketer"), {
            "name": "Newsletter", "fields": [{"name": "email", "label": "Email", "required": True}]})
        world.ids["form"] = form.id
        outbox = OutboxMessage(idempotency_key="world:email", kind="email", contact_id=contact.id,
                               payload={"to": "ada@example.com", "subject": "Hi", "text": "Hello"}, status="pending",
                               public_id="worldpublicid0001")
        s.add(outbox)
        s.flush()
        world.ids["outbox"] = outbox.id
        assert s.get(Stage, world.ids["stage_empty"]) is not None
        vips = segments.create_segment(s, world.actor("marketer"), "VIPs",
                                       {"all": [{"field": "tags", "op": "has", "value": "vip"}]})
        world.ids["segment"] = vips.id
        world.ids["job"] = bulk.start_export(s, world.actor("marketer"), segment_id=vips.id).id
        s.commit()
    runner.run_pending(sessions, "world")  # the marketer's export is done: its file can be downloaded
    world.snapshot()
    return world


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client: Any, username: str, password: str | None = None, next_url: str | None = None,
          **kwargs: Any) -> Any:
    token = csrf_of(client.get("/login", **kwargs).get_data(as_text=True))
    url = "/login" + (f"?next={next_url}" if next_url is not None else "")
    return client.post(url, data={"username": username, "password": password or PASSWORDS[username],
                                  "csrf_token": token}, **kwargs)


def logged_in(world: World, username: str) -> tuple[Any, str]:
    """A client with a session, and the CSRF token its pages carry."""
    client = world.app.test_client()
    assert login(client, username).status_code == 302
    return client, csrf_of(client.get("/account").get_data(as_text=True))
