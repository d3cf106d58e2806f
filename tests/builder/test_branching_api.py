"""Decisions and splits over the API: the Evaluate tester, every validation problem in the draft's reply,
per-path stats, export/import and the publish diff."""

from __future__ import annotations

import copy
import typing as t

import pytest

from tests.builder.conftest import ApiActions
from tests.builder.conftest import error_of
from tests.runtime.branching_graphs import TAGS
from tests.runtime.branching_graphs import split_graph
from tests.runtime.branching_graphs import vip_graph


@pytest.fixture
def campaign(api: ApiActions) -> dict[str, t.Any]:
    """The marketer's VIP campaign (draft) with the tags it names."""
    for tag in TAGS:
        api.ok("POST", "/tags", {"tag": tag}, status=201)
    return t.cast(dict[str, t.Any], api.ok("POST", "/campaigns", {"name": "VIP", "graph": vip_graph()},
                                           as_user="marketer", status=201))


def evaluate(api: ApiActions, campaign_id: int, node_id: str, body: dict[str, t.Any], **kw: t.Any) -> t.Any:
    return api.post(f"/campaigns/{campaign_id}/nodes/{node_id}/evaluate", body, as_user="marketer", **kw)


def test_evaluate_a_made_up_contact(api: ApiActions, campaign: dict[str, t.Any]) -> None:
    response = evaluate(api, campaign["id"], "d1", {"contact": {"tags": ["newsletter"], "fields": {"company_size": 900}}})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["targets"] == ["s_big"] and body["left"] is False and body["kind"] == "decision"
    assert body["reason"] == "matched “Big deal”"
    assert [(b["id"], b["matched"], b["taken"]) for b in body["branches"]] == [
        ("vip", False, False), ("big", True, True), ("otherwise", False, False)]
    vip, big = body["branches"][0], body["branches"][1]
    assert vip["rules"] == [{"field": "tags", "op": "has", "value": "vip", "actual": ["newsletter"], "result": False}]
    assert big["rules"] == [
        {"field": "opportunity.value", "op": "gte", "value": 10000, "actual": None, "result": False},
        {"field": "contact.fields.company_size", "op": "gte", "value": 500, "actual": 900, "result": True}]


def test_evaluate_a_made_up_deal_and_nobody(api: ApiActions, campaign: dict[str, t.Any]) -> None:
    deal = evaluate(api, campaign["id"], "d1", {"contact": {"opportunity": {"value": 12000}}}).get_json()
    assert deal["targets"] == ["s_big"]
    nobody = evaluate(api, campaign["id"], "d1", {"contact": {}}).get_json()
    assert nobody["targets"] == ["s_rest"] and nobody["reason"] == "matched no path: took Otherwise"


def test_evaluate_a_real_contact_reads_the_crm_now(api: ApiActions, campaign: dict[str, t.Any]) -> None:
    ada = api.contact("ada@example.com", tags=["vip"])
    body = evaluate(api, campaign["id"], "d1", {"contact_id": ada["id"]}).get_json()
    assert body["targets"] == ["s_vip"]
    assert body["branches"][0]["rules"][0]["actual"] == ["vip"]
    api.delete(f"/contacts/{ada['id']}/tags/vip")
    assert evaluate(api, campaign["id"], "d1", {"contact_id": ada["id"]}).get_json()["targets"] == ["s_rest"]
    before = api.row_counts()
    evaluate(api, campaign["id"], "d1", {"contact_id": ada["id"]})
    assert api.row_counts() == before  # nothing written


def test_evaluate_mode_all_and_leaving(api: ApiActions, campaign: dict[str, t.Any]) -> None:
    api.ok("PUT", f"/campaigns/{campaign['id']}/draft", {"graph": vip_graph(mode="all", otherwise=False)},
           as_user="marketer")
    both = evaluate(api, campaign["id"], "d1", {"contact": {"tags": ["vip"], "fields": {"company_size": 800}}})
    assert both.get_json()["targets"] == ["s_vip", "s_big"]
    left = evaluate(api, campaign["id"], "d1", {"contact": {"tags": []}}).get_json()
    assert left["left"] is True and left["targets"] == []
    assert left["reason"] == "matched no path of “VIP?”, which has no Otherwise path: left the campaign"


def test_evaluate_a_split(api: ApiActions, campaign: dict[str, t.Any]) -> None:
    api.ok("PUT", f"/campaigns/{campaign['id']}/draft", {"graph": split_graph((1, 3))}, as_user="marketer")
    ada = api.contact("ada@example.com")
    body = evaluate(api, campaign["id"], "x1", {"contact_id": ada["id"]}).get_json()
    assert body["kind"] == "split" and len(body["targets"]) == 1
    assert [b["weight"] for b in body["branches"]] == [1, 3]
    assert sum(b["taken"] for b in body["branches"]) == 1
    again = evaluate(api, campaign["id"], "x1", {"contact_id": ada["id"]}).get_json()
    assert again == body  # stable
    error = error_of(evaluate(api, campaign["id"], "x1", {"contact": {"tags": ["vip"]}}), 422, "contact_required")
    assert error["message"] == "a split divides real contacts by their id: pick a contact to test it"


@pytest.mark.parametrize(("node_id", "body", "status", "code"), [
    ("nope", {"contact": {}}, 404, "not_found"),
    ("s_vip", {"contact": {}}, 422, "not_branching"),
    ("d1", {}, 422, "validation_error"),
    ("d1", {"contact_id": 1, "contact": {}}, 422, "validation_error"),
    ("d1", {"contact_id": 99999}, 404, "not_found"),
    ("d1", {"contact": {"tags": "vip"}}, 422, "validation_error"),
    ("d1", {"contact": {"shoe_size": 9}}, 422, "validation_error"),
])
def test_evaluate_refuses_bad_requests(api: ApiActions, campaign: dict[str, t.Any], node_id: str,
                                       body: dict[str, t.Any], status: int, code: str) -> None:
    error_of(evaluate(api, campaign["id"], node_id, body), status, code)


def test_evaluate_refuses_a_decision_with_bad_rules(api: ApiActions, campaign: dict[str, t.Any]) -> None:
    graph = vip_graph()
    graph["nodes"][1]["branches"][0]["rules"] = {"all": [{"field": "opportunity.value", "op": "gte", "value": "x"}]}
    api.ok("PUT", f"/campaigns/{campaign['id']}/draft", {"graph": graph}, as_user="marketer")
    error = error_of(evaluate(api, campaign["id"], "d1", {"contact": {}}), 422, "invalid_rules")
    assert error["details"]["errors"] == [{"branch_id": "vip", "rule": "all.0", "code": "invalid_value",
                                           "message": "VIP: “Deal value” is compared with a number: type one"}]


def test_reps_may_not_evaluate(api: ApiActions, campaign: dict[str, t.Any]) -> None:
    response = api.post(f"/campaigns/{campaign['id']}/nodes/d1/evaluate", {"contact": {}}, as_user="rep1")
    error_of(response, 403)


# --- validation through the API --------------------------------------------------------------------


def mutate(graph: dict[str, t.Any], what: str) -> dict[str, t.Any]:
    graph = copy.deepcopy(graph)
    d1 = next(n for n in graph["nodes"] if n["id"] == "d1")
    if what == "missing_branch_id":
        graph["edges"][1]["branch"] = "gone"
    elif what == "two_edges_one_branch":
        graph["edges"][-1]["branch"] = "vip"
    elif what == "no_outgoing":
        graph["edges"] = graph["edges"][:1]
    elif what == "no_otherwise":
        d1["otherwise"] = False
        graph["edges"] = graph["edges"][:-1]
    elif what == "unknown_field":
        d1["branches"][0]["rules"] = {"all": [{"field": "contact.shoe", "op": "eq", "value": 9}]}
    elif what == "unknown_op":
        d1["branches"][0]["rules"] = {"all": [{"field": "tags", "op": "lt", "value": "vip"}]}
    elif what == "wrong_type":
        d1["branches"][1]["rules"] = {"any": [{"field": "opportunity.value", "op": "gte", "value": "lots"}]}
    return graph


@pytest.mark.parametrize(("what", "code", "severity", "branch_id", "message"), [
    ("missing_branch_id", "unknown_branch", "error", "gone",
     "A connection leaves from a path this decision doesn't have (“gone”): remove the connection or connect it "
     "from an existing path"),
    ("two_edges_one_branch", "duplicate_branch_edge", "error", "vip",
     "Path “VIP” has 2 connections: a path leads to one place, so remove all but one"),
    ("no_outgoing", "no_outgoing_edge", "error", None,
     "Connect at least one path of this decision to what contacts do next"),
    ("no_otherwise", "no_otherwise", "warning", None,
     "Contacts that match no path leave the campaign here: add an Otherwise path to keep them"),
    ("unknown_field", "unknown_field", "error", "vip", "Path “VIP”: “contact.shoe” is not a field rules can check"),
    ("unknown_op", "unknown_op", "error", "vip", "Path “VIP”: “Tags” can't be compared with “is less than”"),
    ("wrong_type", "invalid_value", "error", "big", "Path “Big deal”: “Deal value” is compared with a number: type one"),
])
def test_every_branch_problem_reaches_the_canvas(api: ApiActions, campaign: dict[str, t.Any], what: str, code: str,
                                                 severity: str, branch_id: str | None, message: str) -> None:
    reply = api.ok("PUT", f"/campaigns/{campaign['id']}/draft", {"graph": mutate(vip_graph(), what)},
                   as_user="marketer")
    found = [i for i in reply["errors"] + reply["warnings"] if i["code"] == code]
    assert len(found) == 1, reply
    issue = found[0]
    assert (issue["node_id"], issue["severity"], issue.get("branch_id"), issue["message"]) == (
        "d1", severity, branch_id, message)
    if severity == "error":
        response = api.post(f"/campaigns/{campaign['id']}/publish", as_user="marketer")
        details = error_of(response, 422, "invalid_graph")["details"]
        assert any(e["code"] == code for e in details["errors"])


def test_split_with_zero_total_weight_through_the_api(api: ApiActions, campaign: dict[str, t.Any]) -> None:
    reply = api.ok("PUT", f"/campaigns/{campaign['id']}/draft", {"graph": split_graph((0, 0))}, as_user="marketer")
    assert [(i["node_id"], i["code"]) for i in reply["errors"]] == [("x1", "zero_weight")]


def test_goal_config_messages_name_fields_by_label(api: ApiActions, campaign: dict[str, t.Any]) -> None:
    graph = vip_graph()
    graph["nodes"][0]["config"] = {}
    reply = api.ok("PUT", f"/campaigns/{campaign['id']}/draft", {"graph": graph}, as_user="marketer")
    [issue] = [i for i in reply["errors"] if i["code"] == "invalid_config"]
    assert (issue["node_id"], issue["field"], issue["message"]) == ("g_lead", "tag", "Type the tag this goal watches")


def test_malformed_branching_graph_is_a_400_and_keeps_the_draft(api: ApiActions, campaign: dict[str, t.Any]) -> None:
    graph = vip_graph()
    graph["nodes"][1]["mode"] = "sometimes"
    error_of(api.put(f"/campaigns/{campaign['id']}/draft", {"graph": graph}, as_user="marketer"), 400, "malformed_graph")
    stored = api.ok("GET", f"/campaigns/{campaign['id']}", as_user="marketer")["draft"]
    assert next(n for n in stored["nodes"] if n["id"] == "d1")["mode"] == "first"


# --- stats, export/import, publish -----------------------------------------------------------------


def test_stats_export_import_and_publish_diff(api: ApiActions, campaign: dict[str, t.Any]) -> None:
    cid = campaign["id"]
    first = api.ok("POST", f"/campaigns/{cid}/publish", as_user="marketer", status=200)
    assert {e["branch_id"] for e in first["diff"]["branches"]["added"]} == {"vip", "big", "otherwise"}
    api.contact("vip@example.com", tags=["vip", "lead"])
    stats = api.ok("GET", f"/campaigns/{cid}/stats", as_user="marketer")
    assert stats["branches"]["d1"] == {"vip": 1, "big": 0, "otherwise": 0}
    assert stats["nodes"]["d1"]["passed"] == 1
    exported = api.ok("GET", f"/campaigns/{cid}/export", as_user="marketer")
    imported = api.ok("POST", "/campaigns/import", exported, as_user="marketer", status=201)
    assert imported["draft"] == exported["graph"] and imported["missing_references"] == []
    d1 = next(n for n in imported["draft"]["nodes"] if n["id"] == "d1")
    assert d1["branches"][1]["rules"]["any"][0] == {"field": "opportunity.value", "op": "gte", "value": 10000}
    graph = vip_graph()
    graph["nodes"][1]["branches"][0]["label"] = "Very important"
    api.ok("PUT", f"/campaigns/{cid}/draft", {"graph": graph}, as_user="marketer")
    dry = api.ok("POST", f"/campaigns/{cid}/publish?dry_run=1", as_user="marketer", status=200)
    assert [(e["branch_id"], e["changes"]) for e in dry["diff"]["branches"]["changed"]] == [("vip", ["label"])]
    [contact] = api.ok("GET", "/contacts?q=vip@example.com")
    history = api.ok("GET", f"/contacts/{contact['id']}/sequences")
    assert [(h["kind"], h["status"]) for h in history] == [("decision", "branched"), ("sequence", "active")]


def test_catalog_serves_branching_kinds_and_rule_fields(api: ApiActions) -> None:
    catalog = api.ok("GET", "/catalog", as_user="marketer")
    assert [b["kind"] for b in catalog["branching"]] == ["decision", "split"]
    assert any(f["name"] == "opportunity.stage_id" and f["label"] == "Deal stage" for f in catalog["rule_fields"])
    summaries = api.ok("POST", "/catalog/summaries", {"items": [
        {"key": "d1:vip", "type": "rules", "config": {"rules": {"all": [{"field": "tags", "op": "has", "value": "vip"}]}}},
        {"key": "bad", "type": "rules", "config": {"rules": {"all": []}}}]}, as_user="marketer", status=200)
    assert summaries["summaries"] == {"d1:vip": "Tags has “vip”", "bad": ""}
