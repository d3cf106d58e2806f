"""Regression tests for bugs found in review (one test per finding)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from builder.live import may_join
from models.access import Actor
from tests.builder.conftest import ApiActions
from tests.builder.conftest import CliResult
from tests.builder.conftest import error_of

TOO_BIG = 2**70  # past any database integer


def test_shared_rep_cannot_clear_the_owner(api: ApiActions) -> None:
    """Clearing the owner (null) is a reassignment: a rep the deal is only shared with gets 403."""
    pipeline = api.simple_pipeline(("New", 5, 10), ("Won", 5, 100))
    opp = api.opportunity(pipeline, as_user="repa")
    api.ok("POST", f"/opportunities/{opp['id']}/shares", {"user_id": api.uid("repb")}, as_user="repa")
    error_of(api.patch(f"/opportunities/{opp['id']}", {"owner_id": None}, as_user="repb"), 403)
    assert api.ok("GET", f"/opportunities/{opp['id']}", as_user="repa")["owner_id"] == api.uid("repa")
    # the owner may still give the deal away
    assert api.ok("PATCH", f"/opportunities/{opp['id']}", {"owner_id": None}, as_user="repa")["owner_id"] is None


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/events", {"type": "form_submitted", "contact_id": TOO_BIG, "form": "x"}),
    ("GET", f"/outbox?contact_id={TOO_BIG}", None),
    ("PATCH", "/users/1", {"team_id": TOO_BIG}),
])
def test_out_of_range_ids_are_422_not_500(api: ApiActions, method: str, path: str, body: Any) -> None:
    """An id past any database integer is a validation error, not an overflow in the driver."""
    error_of(api.call(method, path, body), 422, "validation_error")


def test_draft_with_unparsable_http_post_url_is_kept_with_an_error(api: ApiActions) -> None:
    """urlsplit raises on "http://[::1"; validation reports invalid_url instead of a 500."""
    cid = api.ok("POST", "/campaigns", {"name": "Webhook"})["id"]
    graph = {"nodes": [{"id": "s1", "kind": "sequence", "name": "Hook", "position": {"x": 0, "y": 0}, "steps": [
        {"id": "h1", "type": "http_post", "config": {"url": "http://[::1", "json": {}}}]}], "edges": []}
    result = api.ok("PUT", f"/campaigns/{cid}/draft", {"graph": graph})
    assert any(e.get("step_id") == "h1" and e["code"] == "invalid_url" for e in result["errors"]), result


def test_reps_cannot_join_contact_rooms() -> None:
    """Contact rooms carry outbox deliveries, which REST (/outbox) shows to marketers and admins only."""
    assert not may_join(Actor(user_id=7, role="rep"), "contact:1")
    assert may_join(Actor(user_id=8, role="marketer"), "contact:1")
    assert may_join(Actor(user_id=9, role="admin"), "contact:1")


def test_worker_with_a_bad_database_url_prints_an_error(
        cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch) -> None:
    """`stagecraft worker` reports a bad STAGECRAFT_DATABASE_URL like the other commands (no traceback)."""
    monkeypatch.setenv("STAGECRAFT_DATABASE_URL", "bogus://nowhere")
    result = cli("worker", "--once")
    assert result.code == 2, result
    assert "error: database" in result.err
