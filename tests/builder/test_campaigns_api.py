"""The campaign API: drafts, validation, publish with diff, versions, rollback, pause, import/export."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from models import users
from models.db import transaction


class Api:
    """Bearer-token calls as a named user."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def __call__(self, method: str, path: str, expect: int | None = None, **kwargs: Any) -> Any:
        response = self.client.open("/api/v1" + path, method=method, headers=self.headers, **kwargs)
        if expect is not None:
            assert response.status_code == expect, response.get_data(as_text=True)
        return response


@pytest.fixture
def world(app: Flask, client: FlaskClient) -> dict[str, Any]:
    """A marketer, a rep, a pipeline with three stages, a tag and a user to assign."""
    with transaction(app.extensions["stagecraft_db"].sessions) as session:
        users.create_user(session, "mk", "marketer-pass", "marketer")
        users.create_user(session, "rp", "rep-password", "rep")
        users.create_user(session, "ad", "admin-password", "admin")
    tokens = {}
    for name, password in (("mk", "marketer-pass"), ("rp", "rep-password"), ("ad", "admin-password")):
        tokens[name] = client.post("/api/v1/auth/token", json={"username": name, "password": password}).json["token"]
    admin = Api(client, tokens["ad"])
    pipeline = admin("POST", "/pipelines", 201, json={"name": "Sales", "kind": "sales", "stages": [
        {"number": 10, "name": "New"}, {"number": 20, "name": "Qualified"}, {"number": 30, "name": "Won"}]}).json
    admin("POST", "/tags", 201, json={"tag": "vip"})
    return {"mk": Api(client, tokens["mk"]), "rp": Api(client, tokens["rp"]), "ad": admin,
            "pipeline": pipeline, "stages": [s["id"] for s in pipeline["stages"]]}


def graph(world: dict[str, Any], *, stage: int | None = None, steps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A goal → sequence campaign on the world's pipeline."""
    return {
        "nodes": [
            {"id": "g1", "kind": "goal", "type": "stage_moved", "name": "Qualified",
             "config": {"pipeline_id": world["pipeline"]["id"], "stage_id": stage or world["stages"][1],
                        "direction": "into"}, "position": {"x": 10, "y": 20}, "ui": {"color": "violet"}},
            {"id": "s1", "kind": "sequence", "name": "Follow up", "position": {"x": 300, "y": 20},
             "steps": steps if steps is not None else [
                 {"id": "t1", "type": "create_task",
                  "config": {"title": "Call {{contact.first_name}}", "assignee": "owner", "due_in_days": 1}}]},
        ],
        "edges": [{"source": "g1", "target": "s1"}],
    }


def new_campaign(world: dict[str, Any], name: str = "Follow-up") -> int:
    """Create a draft campaign as the marketer."""
    return int(world["mk"]("POST", "/campaigns", 201, json={"name": name}).json["id"])


def test_create_and_read_campaign_starts_as_empty_draft(world: dict[str, Any]) -> None:
    """A new campaign is a draft with an empty graph and no version."""
    cid = new_campaign(world)
    body = world["mk"]("GET", f"/campaigns/{cid}", 200).json
    assert body["status"] == "draft"
    assert body["draft"] == {"nodes": [], "edges": []}
    assert body["published_version"] is None


def test_save_draft_keeps_incomplete_graph_and_returns_errors(world: dict[str, Any]) -> None:
    """An incomplete but sound draft is stored, with node-level errors."""
    cid = new_campaign(world)
    g = graph(world)
    g["nodes"][0]["config"] = {"direction": "into"}
    reply = world["mk"]("PUT", f"/campaigns/{cid}/draft", 200, json={"graph": g}).json
    assert reply["valid"] is False
    assert any(e["node_id"] == "g1" and e["code"] == "invalid_config" for e in reply["errors"])
    stored = world["mk"]("GET", f"/campaigns/{cid}", 200).json["draft"]
    assert stored["nodes"][0]["config"] == {"direction": "into"}
    assert stored["nodes"][0]["ui"] == {"color": "violet"}


@pytest.mark.parametrize("payload, code", [
    ({"graph": [1, 2]}, "malformed_graph"),
    ({"graph": {"nodes": [{"id": "x", "kind": "portal"}], "edges": []}}, "malformed_graph"),
    ({"graph": {"nodes": [], "edges": [{"source": "a", "target": "b"}]}}, "malformed_graph"),
    ({"graph": {"nodes": [{"id": "n", "kind": "note", "text": "x" * (2 * 1024 * 1024 + 10),
                           "position": {"x": 0, "y": 0}}], "edges": []}}, "graph_too_large"),
])
def test_malformed_draft_is_refused_and_stored_draft_unchanged(world: dict[str, Any], payload: Any, code: str) -> None:
    """Not an object, unknown kind, dangling edge, > 2 MB: 400 and nothing changes."""
    cid = new_campaign(world)
    world["mk"]("PUT", f"/campaigns/{cid}/draft", 200, json={"graph": graph(world)})
    before = world["mk"]("GET", f"/campaigns/{cid}", 200).json["draft"]
    reply = world["mk"]("PUT", f"/campaigns/{cid}/draft", 400, json=payload).json
    assert reply["error"]["code"] == code
    assert world["mk"]("GET", f"/campaigns/{cid}", 200).json["draft"] == before


def test_draft_body_that_is_not_json_is_refused(world: dict[str, Any]) -> None:
    """A body that is not JSON is a 400 malformed_json."""
    cid = new_campaign(world)
    reply = world["mk"]("PUT", f"/campaigns/{cid}/draft", 400, data="{nope", content_type="application/json").json
    assert reply["error"]["code"] == "malformed_json"


def test_validate_reports_all_errors(world: dict[str, Any]) -> None:
    """Validate returns every error of the stored draft."""
    cid = new_campaign(world)
    world["mk"]("PUT", f"/campaigns/{cid}/draft", 200, json={"graph": graph(world, stage=999_999)})
    reply = world["mk"]("POST", f"/campaigns/{cid}/validate", 200).json
    assert reply["valid"] is False
    assert [(e["node_id"], e["code"]) for e in reply["errors"]] == [("g1", "unknown_stage")]


def test_publish_invalid_graph_is_422_with_errors(world: dict[str, Any]) -> None:
    """Publishing an invalid draft is refused with every error and creates no version."""
    cid = new_campaign(world)
    world["mk"]("PUT", f"/campaigns/{cid}/draft", 200, json={"graph": graph(world, stage=999_999)})
    reply = world["mk"]("POST", f"/campaigns/{cid}/publish", 422).json
    assert reply["error"]["code"] == "invalid_graph"
    assert reply["error"]["details"]["errors"][0]["code"] == "unknown_stage"
    assert world["mk"]("GET", f"/campaigns/{cid}/versions", 200).json == []


def test_publish_dry_run_shows_diff_without_publishing(world: dict[str, Any]) -> None:
    """dry_run returns the diff and leaves the campaign a draft."""
    cid = new_campaign(world)
    world["mk"]("PUT", f"/campaigns/{cid}/draft", 200, json={"graph": graph(world)})
    reply = world["mk"]("POST", f"/campaigns/{cid}/publish?dry_run=1", 200).json
    assert reply["dry_run"] is True
    assert {e["node_id"] for e in reply["diff"]["nodes"]["added"]} == {"g1", "s1"}
    assert world["mk"]("GET", f"/campaigns/{cid}", 200).json["status"] == "draft"


def test_publish_creates_immutable_numbered_versions(world: dict[str, Any]) -> None:
    """Each publish is a new version; older versions keep their graph."""
    cid = new_campaign(world)
    world["mk"]("PUT", f"/campaigns/{cid}/draft", 200, json={"graph": graph(world)})
    first = world["mk"]("POST", f"/campaigns/{cid}/publish", 200).json
    assert first["version"] == 1 and first["status"] == "live"
    changed = graph(world, steps=[{"id": "t9", "type": "create_note", "config": {"body": "Qualified"}}])
    world["mk"]("PUT", f"/campaigns/{cid}/draft", 200, json={"graph": changed})
    second = world["mk"]("POST", f"/campaigns/{cid}/publish", 200).json
    assert second["version"] == 2
    assert [s["step_id"] for s in second["diff"]["steps"]["removed"]] == ["t1"]
    assert [s["step_id"] for s in second["diff"]["steps"]["added"]] == ["t9"]
    versions = world["mk"]("GET", f"/campaigns/{cid}/versions", 200).json
    assert [v["number"] for v in versions] == [2, 1]
    v1 = world["mk"]("GET", f"/campaigns/{cid}/versions/1", 200).json
    assert v1["graph"]["nodes"][1]["steps"][0]["id"] == "t1"
    world["mk"]("GET", f"/campaigns/{cid}/versions/7", 404)


def test_rollback_publishes_old_graph_as_new_version(world: dict[str, Any]) -> None:
    """Rolling back to v1 makes v3 with v1's graph, and the draft follows."""
    cid = new_campaign(world)
    world["mk"]("PUT", f"/campaigns/{cid}/draft", 200, json={"graph": graph(world)})
    world["mk"]("POST", f"/campaigns/{cid}/publish", 200)
    world["mk"]("PUT", f"/campaigns/{cid}/draft", 200,
                json={"graph": graph(world, steps=[{"id": "t9", "type": "create_note", "config": {"body": "x"}}])})
    world["mk"]("POST", f"/campaigns/{cid}/publish", 200)
    reply = world["mk"]("POST", f"/campaigns/{cid}/versions/1/rollback", 200).json
    assert reply["version"] == 3
    v3 = world["mk"]("GET", f"/campaigns/{cid}/versions/3", 200).json
    v1 = world["mk"]("GET", f"/campaigns/{cid}/versions/1", 200).json
    assert v3["graph"] == v1["graph"] and v3["rolled_back_from"] == 1
    assert world["mk"]("GET", f"/campaigns/{cid}", 200).json["draft"] == v1["graph"]


def test_pause_and_resume(world: dict[str, Any]) -> None:
    """Pause needs a published campaign; status goes paused then live."""
    cid = new_campaign(world)
    assert world["mk"]("POST", f"/campaigns/{cid}/pause", 409).json["error"]["code"] == "not_published"
    world["mk"]("PUT", f"/campaigns/{cid}/draft", 200, json={"graph": graph(world)})
    world["mk"]("POST", f"/campaigns/{cid}/publish", 200)
    assert world["mk"]("POST", f"/campaigns/{cid}/pause", 200).json["status"] == "paused"
    assert world["mk"]("POST", f"/campaigns/{cid}/resume", 200).json["status"] == "live"


def test_delete_draft_removes_it_but_published_campaign_is_archived(world: dict[str, Any]) -> None:
    """Never-published drafts are deleted; published campaigns are archived."""
    draft = new_campaign(world, "Scratch")
    assert world["mk"]("DELETE", f"/campaigns/{draft}", 200).json == {"result": "deleted"}
    world["mk"]("GET", f"/campaigns/{draft}", 404)
    live = new_campaign(world)
    world["mk"]("PUT", f"/campaigns/{live}/draft", 200, json={"graph": graph(world)})
    world["mk"]("POST", f"/campaigns/{live}/publish", 200)
    assert world["mk"]("DELETE", f"/campaigns/{live}", 200).json == {"result": "archived"}
    assert world["mk"]("GET", f"/campaigns/{live}", 200).json["status"] == "archived"
    assert live not in [c["id"] for c in world["mk"]("GET", "/campaigns", 200).json]
    world["mk"]("PUT", f"/campaigns/{live}/draft", 409, json={"graph": graph(world)})


def test_list_shows_status_version_and_unpublished_changes(world: dict[str, Any]) -> None:
    """The list says live version, publisher and whether the draft differs."""
    cid = new_campaign(world)
    world["mk"]("PUT", f"/campaigns/{cid}/draft", 200, json={"graph": graph(world)})
    world["mk"]("POST", f"/campaigns/{cid}/publish", 200)
    row = next(c for c in world["mk"]("GET", "/campaigns", 200).json if c["id"] == cid)
    assert (row["status"], row["live_version"], row["has_unpublished_changes"]) == ("live", 1, False)
    changed = graph(world)
    changed["nodes"][1]["name"] = "Follow up (v2)"
    world["mk"]("PUT", f"/campaigns/{cid}/draft", 200, json={"graph": changed})
    row = next(c for c in world["mk"]("GET", "/campaigns", 200).json if c["id"] == cid)
    assert row["has_unpublished_changes"] is True


def test_rep_sees_names_only_and_cannot_edit_or_publish(world: dict[str, Any]) -> None:
    """Reps list names; opening, saving and publishing are forbidden."""
    cid = new_campaign(world)
    assert world["rp"]("GET", "/campaigns", 200).json == [{"id": cid, "name": "Follow-up", "status": "draft"}]
    world["rp"]("GET", f"/campaigns/{cid}", 403)
    world["rp"]("PUT", f"/campaigns/{cid}/draft", 403, json={"graph": graph(world)})
    world["rp"]("POST", f"/campaigns/{cid}/publish", 403)
    world["rp"]("POST", "/campaigns", 403, json={"name": "x"})


def test_export_import_export_is_identical_and_reports_missing_refs(world: dict[str, Any]) -> None:
    """Export → import → export gives the same graph; unknown ids are reported."""
    cid = new_campaign(world)
    world["mk"]("PUT", f"/campaigns/{cid}/draft", 200, json={"graph": graph(world)})
    exported = world["mk"]("GET", f"/campaigns/{cid}/export", 200).json
    assert exported["format"] == "stagecraft.campaign" and exported["format_version"] == 1
    imported = world["mk"]("POST", "/campaigns/import", 201, json=exported).json
    assert imported["missing_references"] == []
    again = world["mk"]("GET", f"/campaigns/{imported['id']}/export", 200).json
    assert again["graph"] == exported["graph"]
    broken = copy.deepcopy(exported)
    broken["graph"]["nodes"][0]["config"]["stage_id"] = 424242
    reply = world["mk"]("POST", "/campaigns/import", 201, json=broken).json
    assert [(m["node_id"], m["code"]) for m in reply["missing_references"]] == [("g1", "unknown_stage")]


def test_import_refuses_other_formats(world: dict[str, Any]) -> None:
    """An import that is not our format is a 400 and creates nothing."""
    before = len(world["mk"]("GET", "/campaigns", 200).json)
    reply = world["mk"]("POST", "/campaigns/import", 400,
                        json={"format": "zapier", "format_version": 1, "name": "x", "graph": {}}).json
    assert reply["error"]["code"] == "bad_import_format"
    assert len(world["mk"]("GET", "/campaigns", 200).json) == before


def test_duplicate_copies_the_draft(world: dict[str, Any]) -> None:
    """Duplicate makes a new draft with the same graph."""
    cid = new_campaign(world)
    world["mk"]("PUT", f"/campaigns/{cid}/draft", 200, json={"graph": graph(world)})
    copy_ = world["mk"]("POST", f"/campaigns/{cid}/duplicate", 201).json
    assert copy_["status"] == "draft" and copy_["name"] == "Follow-up (copy)"
    assert copy_["draft"] == world["mk"]("GET", f"/campaigns/{cid}", 200).json["draft"]


def test_layout_positions_nodes_left_to_right(world: dict[str, Any]) -> None:
    """Server-side layout puts a goal left of the sequence after it."""
    cid = new_campaign(world)
    laid = world["mk"]("POST", f"/campaigns/{cid}/layout", 200, json={"graph": graph(world)}).json["graph"]
    pos = {n["id"]: n["position"] for n in laid["nodes"]}
    assert pos["g1"]["x"] < pos["s1"]["x"]


def test_stats_and_publish_diff_count_contacts_on_removed_nodes(world: dict[str, Any]) -> None:
    """A contact waiting in a sequence shows in stats and in the diff when that node is removed."""
    cid = new_campaign(world)
    steps = [{"id": "w1", "type": "delay", "config": {"amount": 2, "unit": "days"}},
             {"id": "t1", "type": "create_note", "config": {"body": "later"}}]
    world["mk"]("PUT", f"/campaigns/{cid}/draft", 200, json={"graph": graph(world, steps=steps)})
    world["mk"]("POST", f"/campaigns/{cid}/publish", 200)
    contact = world["ad"]("POST", "/contacts", 201, json={"email": "ann@example.com", "first_name": "Ann"}).json
    opp = world["rp"]("POST", "/opportunities", 201, json={
        "title": "Deal", "contact_id": contact["id"], "pipeline_id": world["pipeline"]["id"],
        "stage_id": world["stages"][0]}).json
    world["rp"]("PATCH", f"/opportunities/{opp['id']}", 200, json={"stage_id": world["stages"][1]})
    stats = world["mk"]("GET", f"/campaigns/{cid}/stats", 200).json["nodes"]
    assert stats["g1"]["satisfied"] == 1
    assert stats["s1"]["active"] + stats["s1"]["waiting"] == 1
    only_goal = graph(world)
    only_goal["nodes"] = only_goal["nodes"][:1]
    only_goal["edges"] = []
    world["mk"]("PUT", f"/campaigns/{cid}/draft", 200, json={"graph": only_goal})
    diff = world["mk"]("POST", f"/campaigns/{cid}/publish?dry_run=1", 200).json["diff"]
    assert [(e["node_id"], e["contacts"]) for e in diff["nodes"]["removed"]] == [("s1", 1)]
    published = world["mk"]("POST", f"/campaigns/{cid}/publish", 200).json
    assert published["migration"]["stopped"] == 1
    runs = world["ad"]("GET", f"/contacts/{contact['id']}/sequences", 200).json
    assert runs[0]["status"] == "stopped" and "removed in version 2" in runs[0]["stop_reason"]


def test_catalog_lists_goal_and_step_types_with_fields(world: dict[str, Any]) -> None:
    """The catalog serves every DESIGN §5 type with its form fields."""
    catalog = world["mk"]("GET", "/catalog", 200).json
    goals = {g["type"] for g in catalog["goals"]}
    steps = {s["type"] for s in catalog["steps"]}
    assert {"stage_moved", "tag_applied", "form_submitted", "link_clicked", "task_completed", "api_event",
            "purchase", "stage_overdue"} <= goals
    assert {"delay", "wait_until", "send_email", "apply_tag", "remove_tag", "create_task", "create_note",
            "create_opportunity", "move_opportunity", "assign_owner", "set_field", "http_post",
            "notify_user"} <= steps
    stage_moved = next(g for g in catalog["goals"] if g["type"] == "stage_moved")
    assert {f["name"] for f in stage_moved["fields"]} >= {"pipeline_id", "stage_id", "direction"}


def test_outside_event_satisfies_entry_goal(world: dict[str, Any]) -> None:
    """POST /events with a form submission enrolls the contact via a form goal."""
    cid = new_campaign(world)
    g = {"nodes": [
        {"id": "f1", "kind": "goal", "type": "form_submitted", "name": "Demo form", "config": {"form": "demo"},
         "position": {"x": 0, "y": 0}},
        {"id": "s1", "kind": "sequence", "name": "Thanks", "position": {"x": 200, "y": 0},
         "steps": [{"id": "n1", "type": "create_note", "config": {"body": "asked for a demo"}}]}],
        "edges": [{"source": "f1", "target": "s1"}]}
    world["mk"]("PUT", f"/campaigns/{cid}/draft", 200, json={"graph": g})
    world["mk"]("POST", f"/campaigns/{cid}/publish", 200)
    contact = world["ad"]("POST", "/contacts", 201, json={"email": "bo@example.com"}).json
    world["ad"]("POST", "/events", 422, json={"type": "form_submitted", "contact_id": contact["id"]})
    world["ad"]("POST", "/events", 202, json={"type": "form_submitted", "contact_id": contact["id"], "form": "demo"})
    runs = world["ad"]("GET", f"/contacts/{contact['id']}/sequences", 200).json
    assert [(r["node_id"], r["status"]) for r in runs] == [("s1", "active")]


def test_rep_manages_only_runs_of_contacts_they_can_see(world: dict[str, Any]) -> None:
    """A rep cannot pause another owner's contact's run (404) until the deal is shared with them."""
    cid = new_campaign(world)
    steps = [{"id": "w1", "type": "delay", "config": {"amount": 2, "unit": "days"}}]
    world["mk"]("PUT", f"/campaigns/{cid}/draft", 200, json={"graph": graph(world, steps=steps)})
    world["mk"]("POST", f"/campaigns/{cid}/publish", 200)
    contact = world["ad"]("POST", "/contacts", 201, json={"email": "cy@example.com"}).json
    opp = world["ad"]("POST", "/opportunities", 201, json={
        "title": "Admin's deal", "contact_id": contact["id"], "pipeline_id": world["pipeline"]["id"],
        "stage_id": world["stages"][0]}).json
    world["ad"]("PATCH", f"/opportunities/{opp['id']}", 200, json={"stage_id": world["stages"][1]})
    run_id = world["ad"]("GET", f"/contacts/{contact['id']}/sequences", 200).json[0]["id"]
    world["rp"]("PATCH", f"/sequence-runs/{run_id}", 404, json={"status": "paused"})
    rep_id = world["rp"]("GET", "/users/me", 200).json["id"]
    world["ad"]("POST", f"/opportunities/{opp['id']}/shares", 201, json={"user_id": rep_id})
    assert world["rp"]("PATCH", f"/sequence-runs/{run_id}", 200, json={"status": "paused"}).json["status"] == "paused"
    world["mk"]("PATCH", f"/sequence-runs/{run_id}", 403, json={"status": "active"})


def test_catalog_summaries_use_names_and_blank_incomplete_configs(world: dict[str, Any]) -> None:
    """The canvas's node texts come from the catalog, with stage, pipeline and user names."""
    qualified = world["stages"][1]
    items = [
        {"key": "g1", "type": "stage_moved", "config": {"stage_id": qualified, "direction": "into"}},
        {"key": "t1", "type": "move_opportunity", "config": {"stage_id": qualified}},
        {"key": "t2", "type": "create_task", "config": {"title": "Call", "assignee": "round_robin"}},
        {"key": "t3", "type": "send_email", "config": {"subject": "Hi"}},  # no body yet
        {"key": "t4", "type": "no_such_type", "config": {}},
    ]
    out = world["mk"]("POST", "/catalog/summaries", 200, json={"items": items}).json["summaries"]
    assert out == {
        "g1": "Moved into Qualified · Sales",
        "t1": "Move opportunity to Qualified",
        "t2": "Task “Call” → round robin, due today",
        "t3": "",
        "t4": "",
    }
    world["rp"]("POST", "/catalog/summaries", 403, json={"items": items})


def test_saving_says_whether_the_draft_differs_from_live(world: dict[str, Any]) -> None:
    """An undo back to the published graph clears "Unpublished changes"; moving nodes is not a change."""
    cid = new_campaign(world)
    first = world["mk"]("PUT", f"/campaigns/{cid}/draft", 200, json={"graph": graph(world)}).json
    assert first["has_unpublished_changes"] is True  # never published
    world["mk"]("POST", f"/campaigns/{cid}/publish", 200)
    changed = graph(world)
    changed["nodes"][1]["name"] = "Follow up (v2)"
    assert world["mk"]("PUT", f"/campaigns/{cid}/draft", 200, json={"graph": changed}).json[
        "has_unpublished_changes"] is True
    undone = world["mk"]("PUT", f"/campaigns/{cid}/draft", 200, json={"graph": graph(world)}).json
    assert undone["has_unpublished_changes"] is False
    moved = graph(world)
    moved["nodes"][0]["position"] = {"x": 500, "y": 500}
    assert world["mk"]("PUT", f"/campaigns/{cid}/draft", 200, json={"graph": moved}).json[
        "has_unpublished_changes"] is False
    row = next(c for c in world["mk"]("GET", "/campaigns", 200).json if c["id"] == cid)
    assert row["has_unpublished_changes"] is False
