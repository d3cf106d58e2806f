"""Tasks through /api/v1: create, list, complete (an event), visibility."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from models import clock
from tests.builder.conftest import ApiActions
from tests.builder.conftest import error_fields
from tests.builder.conftest import error_of


def test_create_a_task_assigned_to_the_caller_by_default(api: ApiActions) -> None:
    """POST 201; the assignee defaults to the caller; the task is open."""
    task = api.ok("POST", "/tasks", {"title": "Call Ada", "due_date": "2026-01-07", "description": "Re: quote"},
                  as_user="rep1")
    assert (task["title"], task["due_date"], task["description"]) == ("Call Ada", "2026-01-07", "Re: quote")
    assert (task["assignee_id"], task["completed_at"], task["source"]) == (api.uid("rep1"), None, "user")
    assert api.ok("GET", f"/tasks/{task['id']}", as_user="rep1") == task


def test_a_task_on_an_opportunity_takes_its_contact(api: ApiActions, sales: dict[str, Any]) -> None:
    """opportunity_id fills in contact_id; the task is listed by opportunity."""
    opp = api.opportunity(sales, as_user="rep1")
    task = api.ok("POST", "/tasks", {"title": "Demo", "opportunity_id": opp["id"]}, as_user="rep1")
    assert task["contact_id"] == opp["contact_id"]
    listed = api.ok("GET", "/tasks", query_string={"opportunity_id": opp["id"]}, as_user="rep1")
    assert [t["id"] for t in listed] == [task["id"]]


def test_complete_a_task_is_an_event_once(api: ApiActions, fake_clock: clock.FakeClock) -> None:
    """completed: true stamps completed_at and emits task_completed; repeating emits nothing."""
    contact = api.contact()
    task = api.ok("POST", "/tasks", {"title": "Send quote", "contact_id": contact["id"]}, as_user="rep1")
    fake_clock.advance(hours=3)
    done = api.ok("PATCH", f"/tasks/{task['id']}", {"completed": True}, as_user="rep1")
    assert datetime.fromisoformat(done["completed_at"].replace("Z", "+00:00")) == fake_clock.now()
    api.ok("PATCH", f"/tasks/{task['id']}", {"completed": True}, as_user="rep1")
    [event] = api.events("task_completed")
    assert (event["contact_id"], event["actor_id"], event["source"]) == (contact["id"], api.uid("rep1"), "user")
    assert event["payload"] == {"task_id": task["id"], "title": "Send quote", "opportunity_id": None}


def test_reopen_a_task(api: ApiActions) -> None:
    """completed: false clears completed_at."""
    task = api.ok("POST", "/tasks", {"title": "Follow up"})
    api.ok("PATCH", f"/tasks/{task['id']}", {"completed": True})
    assert api.ok("PATCH", f"/tasks/{task['id']}", {"completed": False})["completed_at"] is None


def test_change_title_due_date_and_assignee(api: ApiActions) -> None:
    """PATCH changes fields; null clears the due date."""
    task = api.ok("POST", "/tasks", {"title": "Old", "due_date": "2026-01-08"})
    changed = api.ok("PATCH", f"/tasks/{task['id']}", {"title": "New", "assignee_id": api.uid("rep1")})
    assert (changed["title"], changed["assignee_id"]) == ("New", api.uid("rep1"))
    assert api.ok("PATCH", f"/tasks/{task['id']}", {"due_date": None})["due_date"] is None


def test_list_filters_by_assignee_and_state(api: ApiActions) -> None:
    """assignee_id and open narrow the list, ordered by due date."""
    late = api.ok("POST", "/tasks", {"title": "Late", "due_date": "2026-01-09", "assignee_id": api.uid("rep1")})
    early = api.ok("POST", "/tasks", {"title": "Early", "due_date": "2026-01-06", "assignee_id": api.uid("rep1")})
    other = api.ok("POST", "/tasks", {"title": "Other", "assignee_id": api.uid("rep2")})
    api.ok("PATCH", f"/tasks/{late['id']}", {"completed": True})

    def ids(**query: Any) -> list[int]:
        return [t["id"] for t in api.ok("GET", "/tasks", query_string=query)]

    assert ids() == [early["id"], late["id"], other["id"]]
    assert ids(assignee_id=api.uid("rep1")) == [early["id"], late["id"]]
    assert ids(assignee_id=api.uid("rep1"), open="true") == [early["id"]]
    assert ids(open="false") == [late["id"]]


def test_a_rep_sees_only_their_own_task_list(api: ApiActions) -> None:
    """A rep's list is theirs; asking for another's is 403; another's task is 404."""
    mine = api.ok("POST", "/tasks", {"title": "Mine"}, as_user="rep1")
    theirs = api.ok("POST", "/tasks", {"title": "Theirs"}, as_user="rep2")
    assert [t["id"] for t in api.ok("GET", "/tasks", as_user="rep1")] == [mine["id"]]
    error_of(api.get("/tasks", query_string={"assignee_id": api.uid("rep2")}, as_user="rep1"), 403, "forbidden")
    error_of(api.get(f"/tasks/{theirs['id']}", as_user="rep1"), 404, "not_found")
    error_of(api.patch(f"/tasks/{theirs['id']}", {"completed": True}, as_user="rep1"), 404, "not_found")


def test_marketer_cannot_change_tasks(api: ApiActions) -> None:
    """Marketers may read but not complete a task: 403, no event."""
    task = api.ok("POST", "/tasks", {"title": "Call", "assignee_id": api.uid("rep1")})
    assert api.ok("GET", f"/tasks/{task['id']}", as_user="marketer")["id"] == task["id"]
    error_of(api.patch(f"/tasks/{task['id']}", {"completed": True}, as_user="marketer"), 403, "forbidden")
    assert api.events("task_completed") == []


def test_a_task_on_an_invisible_opportunity_is_refused(api: ApiActions, sales: dict[str, Any]) -> None:
    """A rep cannot attach a task to another rep's unshared deal (404) and nothing is stored."""
    opp = api.opportunity(sales, as_user="rep2")
    api.token("rep1")
    counts = api.row_counts()
    error_of(api.post("/tasks", {"title": "Sneak", "opportunity_id": opp["id"]}, as_user="rep1"), 404)
    assert api.row_counts() == counts


@pytest.mark.parametrize(("body", "code"), [
    ({"title": "T", "assignee_id": 9999}, "unknown_user"),
    ({"title": "T", "contact_id": 9999}, "unknown_contact"),
])
def test_unknown_references_are_refused(api: ApiActions, body: dict[str, Any], code: str) -> None:
    """Ids that name nothing give 422 with a code."""
    error_of(api.post("/tasks", body), 422, code)
    assert api.count("task") == 0


@pytest.mark.parametrize(("body", "field"), [
    ({}, "title"), ({"title": ""}, "title"), ({"title": "T", "due_date": "soon"}, "due_date"),
    ({"title": "T", "assignee_id": "rep1"}, "assignee_id"), ({"title": "T", "priority": 1}, "priority"),
])
def test_invalid_task_names_the_field(api: ApiActions, body: dict[str, Any], field: str) -> None:
    """Missing, mistyped and unknown fields give 422 validation_error."""
    assert field in error_fields(api.post("/tasks", body))
    assert api.count("task") == 0


@pytest.mark.parametrize(("body", "field"), [
    ({"title": None}, "title"), ({"completed": None}, "completed"), ({"completed": "yes please"}, "completed"),
    ({"assignee_id": 0}, "assignee_id"), ({"description": "x"}, "description"),
])
def test_invalid_task_patch_names_the_field(api: ApiActions, body: dict[str, Any], field: str) -> None:
    """Bad PATCH bodies are 422 and leave the task as it was."""
    task = api.ok("POST", "/tasks", {"title": "Keep"})
    assert field in error_fields(api.patch(f"/tasks/{task['id']}", body))
    assert api.ok("GET", f"/tasks/{task['id']}") == task


def test_bad_task_queries_and_ids(api: ApiActions) -> None:
    """Bad query values are 422; unknown task ids 404."""
    assert "open" in error_fields(api.get("/tasks", query_string={"open": "maybe"}))
    assert "due" in error_fields(api.get("/tasks", query_string={"due": "today"}))
    error_of(api.get("/tasks/9999"), 404, "not_found")
    error_of(api.patch("/tasks/9999", {"completed": True}), 404, "not_found")
