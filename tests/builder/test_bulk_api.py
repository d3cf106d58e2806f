"""Contacts at scale through the API: CSV import (multipart), preview, bulk actions, jobs, exports, segments."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from runtime.jobs import runner
from tests.builder.conftest import ApiActions
from tests.builder.conftest import error_of

CSV = "Email;First name;Company\nada@example.com;Ada;Analytical\nnot-an-email;Bob;\nGRACE@example.com;Grace;Navy\n"


def upload(api: ApiActions, data: bytes | str, mapping: Any = None, tags: Any = None, *, as_user: str = "admin",
           name: str = "people.csv", **extra: Any) -> Any:
    """POST /contacts/import as multipart."""
    body: dict[str, Any] = {"file": (io.BytesIO(data.encode() if isinstance(data, str) else data), name)}
    body["mapping"] = mapping if isinstance(mapping, str) else json.dumps(
        mapping if mapping is not None else {"Email": "email", "First name": "first_name", "Company": "fields.company"})
    body["tags"] = tags if isinstance(tags, str) else json.dumps(tags or [])
    body.update(extra)
    return api.call("POST", "/contacts/import", data=body, content_type="multipart/form-data", as_user=as_user)


def run_jobs(api: ApiActions) -> None:
    runner.run_pending(api.sessions(), "api-test")


def job(api: ApiActions, job_id: int, as_user: str = "admin") -> dict[str, Any]:
    return api.ok("GET", f"/jobs/{job_id}", as_user=as_user)  # type: ignore[no-any-return]


def test_import_through_the_api_reports_progress_and_failed_rows(api: ApiActions) -> None:
    response = upload(api, CSV, tags=["imported"])
    assert response.status_code == 202
    job_id = response.get_json()["job_id"]
    assert job(api, job_id)["status"] == "queued"
    run_jobs(api)
    done = job(api, job_id)
    assert {k: done[k] for k in ("kind", "status", "total", "done", "created", "updated", "failed")} == {
        "kind": "import", "status": "done", "total": 3, "done": 3, "created": 2, "updated": 0, "failed": 1}
    assert done["failed_rows"] == [{"row": 3, "message": "“not-an-email” is not a valid email address"}]
    assert done["file_name"] == "people.csv"
    grace = api.ok("GET", "/contacts?q=grace")[0]
    assert (grace["email"], grace["fields"], grace["tags"]) == ("grace@example.com", {"company": "Navy"}, ["imported"])


def test_import_refusals_are_plain_and_store_nothing(api: ApiActions) -> None:
    api.token("rep1")
    before = api.row_counts()
    error = error_of(upload(api, CSV, {"Email": "email", "Phone": "fields.phone"}), 422, "missing_columns")
    assert error["message"] == "The file has no column “Phone”: choose columns from its header"
    error = error_of(upload(api, CSV, {"First name": "first_name"}), 422, "email_not_mapped")
    assert "email" in error["message"] and error["details"]["field"] == "mapping"
    error_of(upload(api, "", {"Email": "email"}), 422, "empty_file")
    error_of(upload(api, CSV, "{not json"), 422, "invalid_mapping")
    error_of(upload(api, CSV, tags='"vip"'), 422, "invalid_tags")
    error = error_of(api.call("POST", "/contacts/import", data={"mapping": "{}"}, content_type="multipart/form-data"),
                     422, "no_file")
    assert error["message"] == "Choose a CSV file to import"
    error_of(upload(api, CSV, as_user="rep1"), 403)
    assert api.row_counts() == before


def test_an_upload_over_50_mb_is_a_clear_413_and_stores_nothing(api: ApiActions) -> None:
    before = api.row_counts()
    big = b"Email\n" + b"x" * (50 * 1024 * 1024)
    error = error_of(upload(api, big, {"Email": "email"}), 413, "file_too_large")
    assert error["message"].startswith("The file is larger than 50 MB")
    assert error["details"]["limit_bytes"] == 50 * 1024 * 1024
    just_over = b"Email\n" + b"y" * (50 * 1024 * 1024 - 5)  # within the request limit, over the file limit
    error_of(upload(api, just_over, {"Email": "email"}), 413, "file_too_large")
    assert api.row_counts() == before


def test_a_browser_upload_needs_the_csrf_token(api: ApiActions) -> None:
    token = api.login_session("marketer")
    body = {"file": (io.BytesIO(CSV.encode()), "p.csv"), "mapping": json.dumps({"Email": "email"})}
    refused = api.client.post("/api/v1/contacts/import", data=body, content_type="multipart/form-data")
    error_of(refused, 400, "csrf_failed")
    body = {"file": (io.BytesIO(CSV.encode()), "p.csv"), "mapping": json.dumps({"Email": "email"})}
    accepted = api.client.post("/api/v1/contacts/import", data=body, content_type="multipart/form-data",
                               headers={"X-CSRFToken": token})
    assert accepted.status_code == 202


def test_preview_reads_the_header_and_suggests_a_mapping(api: ApiActions) -> None:
    data = "\ufeffE-mail,First Name,Zip code\na@example.com,A,02134\n"
    response = api.call("POST", "/contacts/import/preview", data={"file": (io.BytesIO(data.encode()), "x.csv")},
                        content_type="multipart/form-data")
    assert response.status_code == 200
    preview = response.get_json()
    assert preview["columns"] == ["E-mail", "First Name", "Zip code"]
    assert preview["mapping"] == {"E-mail": "email", "First Name": "first_name", "Zip code": "fields.zip_code"}
    assert preview["sample"] == [["a@example.com", "A", "02134"]] and preview["delimiter"] == ","
    assert {"name": "email", "label": "Email"} in preview["fields"]
    assert api.count("job") == 0


def test_bulk_tag_a_segment_then_export_it(api: ApiActions) -> None:
    for email, plan in (("a@example.com", "Pro"), ("b@example.com", "Free"), ("c@example.com", "pro")):
        api.contact(email, first_name="=1+1" if email[0] == "a" else "X", fields={"plan": plan})
    segment = api.ok("POST", "/segments", {"name": "Pro plan", "rules": {
        "all": [{"field": "contact.fields.plan", "op": "eq", "value": "PRO"}]}})
    assert segment["count"] == 2
    started = api.ok("POST", "/contacts/bulk", {"segment_id": segment["id"], "action": "apply_tag", "tag": "pro"},
                     status=202)
    run_jobs(api)
    tagged = job(api, started["job_id"])
    assert (tagged["status"], tagged["done"], tagged["updated"], tagged["action"], tagged["tag"]) == (
        "done", 2, 2, "apply_tag", "pro")
    assert len(api.events("tag_applied")) == 2
    export = api.ok("POST", "/contacts/bulk", {"segment_id": segment["id"], "action": "export"}, status=202)
    error_of(api.get(f"/jobs/{export['job_id']}/file"), 422, "not_ready")
    run_jobs(api)
    assert job(api, export["job_id"])["download"] is True
    response = api.get(f"/jobs/{export['job_id']}/file")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert [r[1] for r in rows[1:]] == ["a@example.com", "c@example.com"]
    assert rows[1][2] == "'=1+1" and rows[1][7] == "pro"


def test_bulk_refusals(api: ApiActions) -> None:
    contact = api.contact()
    error_of(api.post("/contacts/bulk", {"action": "apply_tag", "tag": "x"}), 422, "no_selection")
    error_of(api.post("/contacts/bulk", {"action": "apply_tag", "contact_ids": [contact["id"]]}), 422, "no_tag")
    error_of(api.post("/contacts/bulk", {"action": "apply_tag", "tag": "x", "segment_id": 999}), 404)
    error_of(api.post("/contacts/bulk", {"action": "apply_tag", "tag": "x", "contact_ids": [contact["id"]]},
                      as_user="rep1"), 403)
    assert api.count("job") == 0


def test_jobs_are_private_to_their_starter_and_admins(api: ApiActions) -> None:
    contact = api.contact()
    started = api.ok("POST", "/contacts/bulk", {"contact_ids": [contact["id"]], "action": "export"},
                     as_user="marketer", status=202)
    assert job(api, started["job_id"], as_user="marketer")["kind"] == "export"
    assert job(api, started["job_id"], as_user="admin")["status"] == "queued"
    api.add_user("marketer2", "marketer")
    error_of(api.get(f"/jobs/{started['job_id']}", as_user="marketer2"), 404)
    error_of(api.get("/jobs/999"), 404)


def test_segments_crud_count_members_and_plain_problems(api: ApiActions) -> None:
    a = api.contact("a@example.com", tags=["vip"])
    api.contact("b@example.com")
    fields = api.ok("GET", "/segments/fields")
    assert {"name": "tags", "label": "Tags", "kind": "tags", "ops": ["has", "not_has", "empty", "not_empty"],
            "choices": [], "op_labels": {"has": "has", "not_has": "does not have", "empty": "is empty",
                                          "not_empty": "is not empty"}} in fields
    rules = {"all": [{"field": "tags", "op": "has", "value": "vip"}]}
    assert api.ok("POST", "/segments/count", {"rules": rules}, status=200) == {"count": 1}
    error = error_of(api.post("/segments/count", {"rules": {"all": [{"field": "tags", "op": "gt", "value": 1}]}}),
                     422, "invalid_rules")
    assert error["message"] == "“Tags” can't be compared with “is more than”"
    assert error["details"]["problems"] == [{"path": "all.0", "code": "unknown_op", "message": error["message"]}]
    created = api.ok("POST", "/segments", {"name": "VIP", "rules": rules})
    assert (created["name"], created["count"], created["description"]) == ("VIP", 1, "Tags has “vip”")
    error_of(api.post("/segments", {"name": "VIP", "rules": rules}), 409, "segment_name_taken")
    assert [s["name"] for s in api.ok("GET", "/segments")] == ["VIP"]
    assert [c["id"] for c in api.ok("GET", f"/segments/{created['id']}/contacts")] == [a["id"]]
    changed = api.ok("PATCH", f"/segments/{created['id']}", {"rules": {"all": [{"field": "tags", "op": "empty"}]}})
    assert changed["count"] == 1 and changed["name"] == "VIP"
    assert api.delete(f"/segments/{created['id']}").status_code == 204
    error_of(api.get(f"/segments/{created['id']}"), 404)
    error_of(api.get("/segments", as_user="rep1"), 403)


@pytest.mark.parametrize("rules", [[], {"all": []}, {"all": [{"field": "nope", "op": "eq", "value": 1}]}])
def test_bad_rules_are_422_with_their_place(api: ApiActions, rules: Any) -> None:
    body = {"name": "Broken", "rules": rules}
    response = api.post("/segments", body)
    assert response.status_code == 422
    assert api.count("segment") == 0
