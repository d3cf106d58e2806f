"""Opportunity records through /api/v1: create, list, read, patch, notes, shares, roles."""

from __future__ import annotations

from typing import Any

import pytest

from models import clock
from tests.builder.conftest import ApiActions
from tests.builder.conftest import error_fields
from tests.builder.conftest import error_of


def test_create_returns_the_card(api: ApiActions, sales: dict[str, Any]) -> None:
    """POST 201 echoes every field with stage, owner and contact names."""
    contact = api.contact("ada@example.com", first_name="Ada", last_name="Lovelace")
    opp = api.opportunity(sales, 1, contact=contact, title="Engines", owner_id=api.uid("rep1"), value=1234.5,
                          next_action_date="2026-01-09", next_action_note="Call back",
                          custom_fields={"source": "fair"})
    assert opp["title"] == "Engines" and opp["value"] == 1234.5
    assert (opp["contact_id"], opp["contact_name"]) == (contact["id"], "Ada Lovelace")
    assert (opp["owner_id"], opp["pipeline_id"], opp["stage_id"]) == (api.uid("rep1"), sales["id"],
                                                                      sales["stages"][1]["id"])
    assert opp["stage_name"] == "Qualified"
    assert (opp["next_action_date"], opp["next_action_note"]) == ("2026-01-09", "Call back")
    assert opp["custom_fields"] == {"source": "fair"}
    assert (opp["days_in_stage"], opp["overdue"], opp["created_source"]) == (0.0, False, "user")


def test_a_rep_owns_what_they_create_and_an_admin_may_leave_it_unassigned(api: ApiActions,
                                                                            sales: dict[str, Any]) -> None:
    """owner_id defaults to the creating rep; an admin's deal has no owner unless given."""
    assert api.opportunity(sales, as_user="rep1")["owner_id"] == api.uid("rep1")
    assert api.opportunity(sales)["owner_id"] is None


def test_read_the_whole_record(api: ApiActions, sales: dict[str, Any]) -> None:
    """GET returns stage, contact, checklist state, history, tasks, notes, sequences, products and shares."""
    opp = api.opportunity(sales, 0, owner_id=api.uid("rep1"),
                          products=[{"name": "Pro plan", "quantity": 2, "special_price": 99.5}])
    api.ok("POST", f"/opportunities/{opp['id']}/notes", {"body": "Met at the fair"})
    api.ok("POST", "/tasks", {"title": "Send deck", "opportunity_id": opp["id"], "assignee_id": api.uid("rep1")})
    api.ok("POST", f"/opportunities/{opp['id']}/shares", {"user_id": api.uid("rep2")})
    record = api.ok("GET", f"/opportunities/{opp['id']}")
    assert {k: record[k] for k in opp} == opp
    assert record["contact"]["id"] == opp["contact_id"]
    assert [i["id"] for i in record["checklist"]] == [i["id"] for i in sales["stages"][0]["checklist"]]
    assert all(i["done"] is False for i in record["checklist"])
    assert [h["to_stage_id"] for h in record["history"]] == [sales["stages"][0]["id"]]
    assert [t["title"] for t in record["tasks"]] == ["Send deck"]
    assert record["tasks"][0]["contact_id"] == opp["contact_id"]
    assert [n["body"] for n in record["notes"]] == ["Met at the fair"]
    assert record["sequences"] == []
    assert [(p["name"], p["quantity"], p["special_price"]) for p in record["products"]] == [("Pro plan", 2, 99.5)]
    assert [s["user_id"] for s in record["shares"]] == [api.uid("rep2")]


@pytest.mark.parametrize("missing", ["title", "contact_id", "pipeline_id", "stage_id"])
def test_create_without_a_required_field_names_it(api: ApiActions, sales: dict[str, Any], missing: str) -> None:
    """422 validation_error lists the missing field."""
    contact = api.contact()
    body = {"title": "T", "contact_id": contact["id"], "pipeline_id": sales["id"], "stage_id": sales["stages"][0]["id"]}
    del body[missing]
    counts = api.row_counts()
    assert error_fields(api.post("/opportunities", body)) == {missing}
    assert api.row_counts() == counts


@pytest.mark.parametrize(("field", "value"), [
    ("title", ""), ("title", 42), ("contact_id", "abc"), ("contact_id", 0), ("contact_id", 2**40),
    ("stage_id", -3), ("stage_id", 1.5), ("value", "lots"), ("value", -1), ("value", 1e300),
    ("next_action_date", "tomorrow"), ("custom_fields", ["a"]), ("owner_id", {"id": 1}),
    ("products", [{"name": "P", "quantity": 0}]), ("colour", "red"),
])
def test_create_with_a_bad_field_names_it(api: ApiActions, sales: dict[str, Any], field: str, value: Any) -> None:
    """Wrong types, out-of-range ids and unknown fields give 422 naming the field; nothing is stored."""
    contact = api.contact()
    body = {"title": "T", "contact_id": contact["id"], "pipeline_id": sales["id"],
            "stage_id": sales["stages"][0]["id"], field: value}
    counts = api.row_counts()
    fields = error_fields(api.post("/opportunities", body))
    assert any(f == field or f.startswith(field + ".") for f in fields), fields
    assert api.row_counts() == counts


@pytest.mark.parametrize(("change", "code"), [
    ({"contact_id": 9999}, "unknown_contact"),
    ({"stage_id": 9999}, "unknown_stage"),
    ({"pipeline_id": 9999}, "stage_not_in_pipeline"),
    ({"owner_id": 9999}, "unknown_user"),
])
def test_create_with_an_unknown_reference_is_refused(api: ApiActions, sales: dict[str, Any],
                                                     change: dict[str, Any], code: str) -> None:
    """Ids that name nothing give 422 with a specific code and store nothing."""
    contact = api.contact()
    body = {"title": "T", "contact_id": contact["id"], "pipeline_id": sales["id"],
            "stage_id": sales["stages"][0]["id"], **change}
    counts = api.row_counts()
    error_of(api.post("/opportunities", body), 422, code)
    assert api.row_counts() == counts


def test_stage_of_another_pipeline_is_refused_on_create(api: ApiActions, sales: dict[str, Any]) -> None:
    """pipeline_id and stage_id must agree."""
    other = api.pipeline("fulfillment")
    body = {"title": "T", "contact_id": api.contact()["id"], "pipeline_id": sales["id"],
            "stage_id": other["stages"][0]["id"]}
    error_of(api.post("/opportunities", body), 422, "stage_not_in_pipeline")


def test_list_filters(api: ApiActions, sales: dict[str, Any], fake_clock: clock.FakeClock) -> None:
    """pipeline_id, stage_id, owner_id, contact_id, overdue and q narrow the list."""
    fulfil = api.pipeline("fulfillment")
    ada = api.contact("ada@example.com", first_name="Ada")
    a = api.opportunity(sales, 0, contact=ada, title="Alpha", owner_id=api.uid("rep1"))
    b = api.opportunity(sales, 1, title="Beta", owner_id=api.uid("rep2"))
    fake_clock.advance(days=8)  # Prospect's 7 target days pass for a and b
    c = api.opportunity(fulfil, 0, title="Gamma", owner_id=api.uid("rep1"))

    def ids(**query: Any) -> list[int]:
        return [o["id"] for o in api.ok("GET", "/opportunities", query_string=query)]

    assert ids() == [a["id"], b["id"], c["id"]]
    assert ids(pipeline_id=sales["id"]) == [a["id"], b["id"]]
    assert ids(stage_id=sales["stages"][1]["id"]) == [b["id"]]
    assert ids(owner_id=api.uid("rep1")) == [a["id"], c["id"]]
    assert ids(contact_id=ada["id"]) == [a["id"]]
    assert ids(overdue="true") == [a["id"]]
    assert ids(overdue="false") == [b["id"], c["id"]]
    assert ids(q="gam") == [c["id"]]
    assert ids(q="ada") == [a["id"]]
    assert ids(limit=1, offset=1) == [b["id"]]


@pytest.mark.parametrize(("query", "field"), [
    ({"stage_id": "abc"}, "stage_id"), ({"overdue": "maybe"}, "overdue"), ({"owner": "1"}, "owner"),
    ({"limit": "0"}, "limit"), ({"pipeline_id": str(2**40)}, "pipeline_id"),
])
def test_list_with_a_bad_query_names_the_parameter(api: ApiActions, query: dict[str, str], field: str) -> None:
    """422 validation_error for wrong types, out-of-range and unknown parameters."""
    assert field in error_fields(api.get("/opportunities", query_string=query))


@pytest.mark.parametrize("path", ["/opportunities/9999", "/opportunities/0", "/opportunities/abc",
                                  "/opportunities/99999999999999999999", "/opportunities/9999/history"])
def test_unknown_opportunity_is_404(api: ApiActions, path: str) -> None:
    """Ids that cannot or do not exist give a JSON 404."""
    error_of(api.get(path), 404, "not_found")


def test_patch_fields(api: ApiActions, sales: dict[str, Any], fake_clock: clock.FakeClock) -> None:
    """Title, value, next action, custom fields (merged), owner and products change; updated_at moves."""
    opp = api.opportunity(sales, 0, custom_fields={"a": 1}, products=[{"name": "Old"}])
    fake_clock.advance(hours=1)
    changed = api.ok("PATCH", f"/opportunities/{opp['id']}", {
        "title": "Renamed", "value": 500, "next_action_date": "2026-02-01", "next_action_note": "Email",
        "custom_fields": {"b": 2}, "owner_id": api.uid("rep1"), "products": [{"name": "New", "special_price": 10}]})
    assert (changed["title"], changed["value"], changed["owner_id"]) == ("Renamed", 500, api.uid("rep1"))
    assert (changed["next_action_date"], changed["next_action_note"]) == ("2026-02-01", "Email")
    assert changed["custom_fields"] == {"a": 1, "b": 2}
    assert changed["updated_at"] != opp["updated_at"]
    record = api.ok("GET", f"/opportunities/{opp['id']}")
    assert [p["name"] for p in record["products"]] == ["New"]
    assert len(record["history"]) == 1


def test_patch_may_clear_owner_and_next_action_date(api: ApiActions, sales: dict[str, Any]) -> None:
    """null means "clear" for owner_id and next_action_date."""
    opp = api.opportunity(sales, owner_id=api.uid("rep1"), next_action_date="2026-01-09")
    changed = api.ok("PATCH", f"/opportunities/{opp['id']}", {"owner_id": None, "next_action_date": None})
    assert (changed["owner_id"], changed["next_action_date"]) == (None, None)


@pytest.mark.parametrize(("body", "field"), [
    ({"title": None}, "title"), ({"value": None}, "value"), ({"stage_id": None}, "stage_id"),
    ({"next_action_note": None}, "next_action_note"), ({"custom_fields": None}, "custom_fields"),
    ({"products": None}, "products"), ({"value": "high"}, "value"), ({"owner_id": 2**40}, "owner_id"),
    ({"pipeline_id": 1}, "pipeline_id"), ({"contact_id": 1}, "contact_id"),
])
def test_bad_patch_names_the_field_and_changes_nothing(api: ApiActions, sales: dict[str, Any],
                                                       body: dict[str, Any], field: str) -> None:
    """null for a required field, wrong types and read-only fields are 422 validation_error."""
    opp = api.opportunity(sales, 0)
    counts = api.row_counts()
    assert field in error_fields(api.patch(f"/opportunities/{opp['id']}", body))
    assert api.ok("GET", f"/opportunities/{opp['id']}")["updated_at"] == opp["updated_at"]
    assert api.row_counts() == counts


def test_patch_with_an_unknown_owner_is_refused(api: ApiActions, sales: dict[str, Any]) -> None:
    """owner_id must name a user: 422 unknown_user."""
    opp = api.opportunity(sales)
    error_of(api.patch(f"/opportunities/{opp['id']}", {"owner_id": 9999}), 422, "unknown_user")


def test_notes(api: ApiActions, sales: dict[str, Any], fake_clock: clock.FakeClock) -> None:
    """POST notes 201 with author; the record lists them newest first; an empty note is 422."""
    opp = api.opportunity(sales, owner_id=api.uid("rep1"))
    first = api.ok("POST", f"/opportunities/{opp['id']}/notes", {"body": "First"}, as_user="rep1")
    fake_clock.advance(minutes=5)
    api.ok("POST", f"/opportunities/{opp['id']}/notes", {"body": "Second"}, as_user="rep1")
    assert (first["author_id"], first["source"]) == (api.uid("rep1"), "user")
    assert [n["body"] for n in api.ok("GET", f"/opportunities/{opp['id']}")["notes"]] == ["Second", "First"]
    assert "body" in error_fields(api.post(f"/opportunities/{opp['id']}/notes", {"body": "   "}))
    assert "body" in error_fields(api.post(f"/opportunities/{opp['id']}/notes", {}))
    error_of(api.post("/opportunities/9999/notes", {"body": "x"}), 404, "not_found")


# --- roles and sharing ------------------------------------------------------------------


def test_rep_sees_own_and_shared_opportunities_only(api: ApiActions, sales: dict[str, Any]) -> None:
    """A rep's list holds their deals and deals shared with them; others' are 404."""
    mine = api.opportunity(sales, as_user="rep1")
    theirs = api.opportunity(sales, as_user="rep2")
    shared = api.opportunity(sales, as_user="rep2")
    api.ok("POST", f"/opportunities/{shared['id']}/shares", {"user_id": api.uid("rep1")}, as_user="rep2")
    assert [o["id"] for o in api.ok("GET", "/opportunities", as_user="rep1")] == [mine["id"], shared["id"]]
    assert api.ok("GET", f"/opportunities/{shared['id']}", as_user="rep1")["id"] == shared["id"]
    for path in (f"/opportunities/{theirs['id']}", f"/opportunities/{theirs['id']}/history"):
        error_of(api.get(path, as_user="rep1"), 404, "not_found")
    error_of(api.patch(f"/opportunities/{theirs['id']}", {"title": "Mine now"}, as_user="rep1"), 404)
    error_of(api.post(f"/opportunities/{theirs['id']}/notes", {"body": "x"}, as_user="rep1"), 404)
    item = sales["stages"][0]["checklist"][0]["id"]
    error_of(api.put(f"/opportunities/{theirs['id']}/checklist/{item}", {"done": True}, as_user="rep1"), 404)
    assert api.ok("GET", f"/opportunities/{theirs['id']}")["title"] == "Deal"


def test_team_share_reaches_team_members(api: ApiActions, sales: dict[str, Any]) -> None:
    """Sharing with a team lets its members see the deal."""
    api.add_user("rep1", team="North")
    api.add_user("rep2", team="North")
    opp = api.opportunity(sales, owner_id=api.uid("admin"))
    error_of(api.get(f"/opportunities/{opp['id']}", as_user="rep2"), 404)
    api.ok("POST", f"/opportunities/{opp['id']}/shares", {"team_id": api.users["rep1"]["team_id"]})
    assert api.ok("GET", f"/opportunities/{opp['id']}", as_user="rep2")["id"] == opp["id"]


def test_unsharing_hides_the_deal_again(api: ApiActions, sales: dict[str, Any]) -> None:
    """DELETE a share: 204, and the grantee gets 404 afterwards."""
    opp = api.opportunity(sales, as_user="rep1")
    share = api.ok("POST", f"/opportunities/{opp['id']}/shares", {"user_id": api.uid("rep2")}, as_user="rep1")
    assert api.get(f"/opportunities/{opp['id']}", as_user="rep2").status_code == 200
    assert api.delete(f"/opportunities/{opp['id']}/shares/{share['id']}", as_user="rep1").status_code == 204
    error_of(api.get(f"/opportunities/{opp['id']}", as_user="rep2"), 404)
    error_of(api.delete(f"/opportunities/{opp['id']}/shares/{share['id']}", as_user="rep1"), 404)


def test_sharing_rules(api: ApiActions, sales: dict[str, Any]) -> None:
    """Exactly one grantee, known ids, only owner/admin shares, and a repeat share is the same share."""
    opp = api.opportunity(sales, as_user="rep1")
    url = f"/opportunities/{opp['id']}/shares"
    error_of(api.post(url, {}, as_user="rep1"), 422, "one_grantee")
    error_of(api.post(url, {"user_id": api.uid("rep2"), "team_id": 1}, as_user="rep1"), 422, "one_grantee")
    error_of(api.post(url, {"user_id": 9999}, as_user="rep1"), 422, "unknown_user")
    error_of(api.post(url, {"team_id": 9999}, as_user="rep1"), 422, "unknown_team")
    assert "user_id" in error_fields(api.post(url, {"user_id": "rep2"}, as_user="rep1"))
    first = api.ok("POST", url, {"user_id": api.uid("rep2")}, as_user="rep1")
    assert api.ok("POST", url, {"user_id": api.uid("rep2")}, as_user="rep1")["id"] == first["id"]
    error_of(api.post(url, {"user_id": api.uid("rep3")}, as_user="rep2"), 403, "forbidden")
    assert api.count("opportunity_share") == 1


def test_a_shared_rep_may_edit_but_not_reassign(api: ApiActions, sales: dict[str, Any]) -> None:
    """A grantee can update the deal; only the owner or an admin reassigns it."""
    opp = api.opportunity(sales, as_user="rep1")
    api.ok("POST", f"/opportunities/{opp['id']}/shares", {"user_id": api.uid("rep2")}, as_user="rep1")
    assert api.ok("PATCH", f"/opportunities/{opp['id']}", {"value": 10}, as_user="rep2")["value"] == 10
    error_of(api.patch(f"/opportunities/{opp['id']}", {"owner_id": api.uid("rep2")}, as_user="rep2"), 403)
    assert api.ok("GET", f"/opportunities/{opp['id']}")["owner_id"] == api.uid("rep1")


def test_marketer_reads_but_cannot_change_opportunities(api: ApiActions, sales: dict[str, Any]) -> None:
    """Marketers see every deal; PATCH, create, notes and checklist are 403 and change nothing."""
    opp = api.opportunity(sales, as_user="rep1")
    api.token("marketer")
    counts = api.row_counts()
    assert [o["id"] for o in api.ok("GET", "/opportunities", as_user="marketer")] == [opp["id"]]
    assert api.ok("GET", f"/opportunities/{opp['id']}", as_user="marketer")["id"] == opp["id"]
    error_of(api.patch(f"/opportunities/{opp['id']}", {"title": "X"}, as_user="marketer"), 403, "forbidden")
    error_of(api.move(opp, sales["stages"][1], as_user="marketer"), 403, "forbidden")
    error_of(api.post(f"/opportunities/{opp['id']}/notes", {"body": "x"}, as_user="marketer"), 403)
    item = sales["stages"][0]["checklist"][0]["id"]
    error_of(api.put(f"/opportunities/{opp['id']}/checklist/{item}", {"done": True}, as_user="marketer"), 403)
    body = {"title": "M", "contact_id": opp["contact_id"], "pipeline_id": sales["id"],
            "stage_id": sales["stages"][0]["id"]}
    error_of(api.post("/opportunities", body, as_user="marketer"), 403, "forbidden")
    assert api.row_counts() == counts


def test_admin_sees_every_opportunity(api: ApiActions, sales: dict[str, Any]) -> None:
    """Admins list and change any deal."""
    a = api.opportunity(sales, as_user="rep1")
    b = api.opportunity(sales, as_user="rep2")
    assert [o["id"] for o in api.ok("GET", "/opportunities")] == [a["id"], b["id"]]
    assert api.ok("PATCH", f"/opportunities/{b['id']}", {"owner_id": api.uid("rep1")})["owner_id"] == api.uid("rep1")
