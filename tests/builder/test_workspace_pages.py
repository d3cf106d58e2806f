"""The rep workspace pages: login required, render, CSP header, no inline scripts, 404s."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from builder import create_app
from builder.db import database
from models import contacts as contact_service
from models import opportunities as opp_service
from models import pipelines as pipeline_service
from models import users as user_service
from models.access import Actor

PASSWORD = "page-pass-123"
PAGES = (
    "/pipelines",
    "/pipelines/{pipeline}",
    "/pipelines/{pipeline}/forecast",
    "/opportunities/{opp}",
    "/tasks",
)


@pytest.fixture
def workspace_app(tmp_path: Path) -> Iterator[tuple[Flask, dict[str, int]]]:
    """A fresh SQLite app: admin, two reps, a sales pipeline and rep1's opportunity."""
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path}/pages.db",
            "DATA_DIR": str(tmp_path),
            "SECRET_KEY": "test-secret",
        }
    )
    with app.app_context():
        session = database().sessions()
        admin = user_service.create_user(session, "admin", PASSWORD, "admin")
        rep1 = user_service.create_user(session, "rep1", PASSWORD, "rep")
        user_service.create_user(session, "rep2", PASSWORD, "rep")
        session.flush()
        actor = Actor.of(admin)
        pipeline = pipeline_service.create_pipeline(
            session, actor, "Sales", "sales", "sales_workflow", []
        )
        session.flush()
        contact = contact_service.create_contact(
            session,
            actor,
            email="ada@example.com",
            first_name="Ada",
            last_name="<script>x</script>",
        )
        session.flush()
        opp = opp_service.create_opportunity(
            session,
            actor,
            title="Deal <b>one</b>",
            contact_id=contact.id,
            pipeline_id=pipeline.id,
            stage_id=pipeline.stages[0].id,
            owner_id=rep1.id,
        )
        session.commit()
        ids = {"pipeline": pipeline.id, "opp": opp.id}
        session.close()
    yield app, ids


def _login(client: FlaskClient, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    r = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert r.status_code == 302, r.get_data(as_text=True)


def _paths(ids: dict[str, int]) -> list[str]:
    return [p.format(**ids) for p in PAGES]


def test_pages_need_login(workspace_app: tuple[Flask, dict[str, int]]) -> None:
    """Every workspace page sends an anonymous visitor to the login form."""
    app, ids = workspace_app
    client = app.test_client()
    for path in _paths(ids):
        r = client.get(path)
        assert r.status_code == 302, path
        assert "/login" in r.headers["Location"], path


@pytest.mark.parametrize("username", ["admin", "rep1"])
def test_pages_render_with_csp_and_no_inline_scripts(
    workspace_app: tuple[Flask, dict[str, int]], username: str
) -> None:
    """Each page renders, carries the CSP header, and has only external scripts."""
    app, ids = workspace_app
    client = app.test_client()
    _login(client, username)
    for path in _paths(ids):
        r = client.get(path, follow_redirects=True)
        assert r.status_code == 200, path
        csp = r.headers["Content-Security-Policy"]
        assert (
            "script-src 'self'" in csp
            and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        )
        html = r.get_data(as_text=True)
        for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S):
            assert "src=" in attrs and not body.strip(), f"inline script on {path}"
        assert not re.search(r"\son[a-z]+\s*=", html), f"inline event handler on {path}"


def test_user_text_is_escaped(workspace_app: tuple[Flask, dict[str, int]]) -> None:
    """The record page puts the title in the HTML escaped (scripts render the rest as text)."""
    app, ids = workspace_app
    client = app.test_client()
    _login(client, "admin")
    html = client.get(f"/opportunities/{ids['opp']}").get_data(as_text=True)
    assert "Deal &lt;b&gt;one&lt;/b&gt;" in html
    assert "<b>one</b>" not in html


def test_board_remembers_the_last_pipeline(workspace_app: tuple[Flask, dict[str, int]]) -> None:
    """/pipelines opens the board used last; ?id= picks one; ?view=forecast opens its forecast."""
    app, ids = workspace_app
    with app.app_context():
        session = database().sessions()
        admin = user_service.get_user(session, 1)
        leads = pipeline_service.create_pipeline(
            session,
            Actor.of(admin),
            "Leads",
            "leads",
            None,
            [{"number": 1, "name": "New", "checklist": []}],
        )
        session.commit()
        leads_id = leads.id
        session.close()
    client = app.test_client()
    _login(client, "rep1")
    assert client.get("/pipelines").headers["Location"].endswith(f"/pipelines/{ids['pipeline']}")
    client.get(f"/pipelines/{leads_id}")
    assert client.get("/pipelines").headers["Location"].endswith(f"/pipelines/{leads_id}")
    assert (
        client.get(f"/pipelines?id={ids['pipeline']}")
        .headers["Location"]
        .endswith(f"/pipelines/{ids['pipeline']}")
    )
    r = client.get(f"/pipelines?id={leads_id}&view=forecast")
    assert r.headers["Location"].endswith(f"/pipelines/{leads_id}/forecast")


def test_unknown_or_hidden_things_are_404(workspace_app: tuple[Flask, dict[str, int]]) -> None:
    """Missing pipelines are 404; another rep's unshared opportunity too (not revealed)."""
    app, ids = workspace_app
    client = app.test_client()
    _login(client, "rep2")
    assert client.get("/pipelines/9999").status_code == 404
    assert client.get("/pipelines/9999/forecast").status_code == 404
    assert client.get(f"/opportunities/{ids['opp']}").status_code == 404
    assert client.get("/opportunities/9999").status_code == 404


def test_board_template_carries_data_not_code(workspace_app: tuple[Flask, dict[str, int]]) -> None:
    """The board passes its pipeline through data attributes and loads its scripts."""
    app, ids = workspace_app
    client = app.test_client()
    _login(client, "rep1")
    html = client.get(f"/pipelines/{ids['pipeline']}").get_data(as_text=True)
    assert f'data-pipeline-id="{ids["pipeline"]}"' in html
    for script in ("socket.io-4.8.4.min.js", "js/live.js", "js/workspace.js", "js/board.js"):
        assert script in html
    assert '<dialog id="checklist-dialog"' in html
