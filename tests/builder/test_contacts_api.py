"""Contacts and tags through /api/v1; applying and removing a tag are events."""

from __future__ import annotations

from typing import Any

import pytest

from tests.builder.conftest import ApiActions
from tests.builder.conftest import error_fields
from tests.builder.conftest import error_of


def test_create_and_read_a_contact(api: ApiActions) -> None:
    """POST 201 stores names, fields and tags (email lower-cased); GET returns the same."""
    contact = api.contact("Ada@Example.COM", first_name="Ada", last_name="Lovelace",
                          fields={"company": "Analytical"}, tags=["vip", "newsletter"], owner_id=api.uid("rep1"))
    assert contact["email"] == "ada@example.com"
    assert (contact["first_name"], contact["last_name"], contact["name"]) == ("Ada", "Lovelace", "Ada Lovelace")
    assert contact["fields"] == {"company": "Analytical"}
    assert sorted(contact["tags"]) == ["newsletter", "vip"]
    assert contact["owner_id"] == api.uid("rep1")
    assert api.ok("GET", f"/contacts/{contact['id']}") == contact


def test_tags_given_at_creation_are_events(api: ApiActions) -> None:
    """Each initial tag emits tag_applied for the new contact."""
    contact = api.contact(tags=["vip", "webinar"])
    events = api.events("tag_applied")
    assert [(e["contact_id"], e["payload"]["tag"]) for e in events] == [(contact["id"], "vip"),
                                                                       (contact["id"], "webinar")]
    assert all(e["source"] == "user" and e["actor_id"] == api.uid("admin") for e in events)


def test_duplicate_email_is_a_conflict_whatever_the_case(api: ApiActions) -> None:
    """Emails are unique case-insensitively: 409 email_taken, nothing stored."""
    api.contact("grace@example.com")
    counts = api.row_counts()
    error_of(api.post("/contacts", {"email": "GRACE@example.com", "tags": ["x"]}), 409, "email_taken")
    assert api.row_counts() == counts


@pytest.mark.parametrize(("body", "field"), [
    ({}, "email"),
    ({"email": "not-an-email"}, "email"),
    ({"email": 42}, "email"),
    ({"email": "a@example.com", "fields": ["x"]}, "fields"),
    ({"email": "a@example.com", "tags": "vip"}, "tags"),
    ({"email": "a@example.com", "first_name": "x" * 121}, "first_name"),
    ({"email": "a@example.com", "owner_id": "me"}, "owner_id"),
    ({"email": "a@example.com", "nickname": "Al"}, "nickname"),
])
def test_invalid_contact_names_the_field(api: ApiActions, body: dict[str, Any], field: str) -> None:
    """Missing, mistyped and unknown fields give 422 validation_error naming the field."""
    counts = api.row_counts()
    assert field in error_fields(api.post("/contacts", body))
    assert api.row_counts() == counts


def test_unknown_owner_is_refused(api: ApiActions) -> None:
    """owner_id must name a user."""
    error_of(api.post("/contacts", {"email": "a@example.com", "owner_id": 9999}), 422, "unknown_user")


def test_a_bad_tag_leaves_no_half_created_contact(api: ApiActions) -> None:
    """The contact, its first tag and that tag's event vanish when a later tag is invalid."""
    counts = api.row_counts()
    error_of(api.post("/contacts", {"email": "half@example.com", "tags": ["fine", "   "]}), 422, "invalid_tag")
    error_of(api.post("/contacts", {"email": "half@example.com", "tags": ["fine", "x" * 121]}), 422, "invalid_tag")
    assert api.row_counts() == counts


def test_apply_tag_is_an_event_once(api: ApiActions) -> None:
    """POST tags adds the tag and emits tag_applied; applying it again emits nothing."""
    contact = api.contact()
    updated = api.ok("POST", f"/contacts/{contact['id']}/tags", {"tag": "hot-lead"}, status=200)
    assert updated["tags"] == ["hot-lead"]
    api.ok("POST", f"/contacts/{contact['id']}/tags", {"tag": "hot-lead"}, status=200)
    [event] = api.events("tag_applied")
    assert (event["contact_id"], event["payload"]) == (contact["id"], {"tag": "hot-lead"})


def test_remove_tag_is_an_event_when_the_tag_was_there(api: ApiActions) -> None:
    """DELETE a tag emits tag_removed; removing an absent tag is a no-op without an event."""
    contact = api.contact(tags=["vip", "a/b"])
    assert api.ok("DELETE", f"/contacts/{contact['id']}/tags/vip")["tags"] == ["a/b"]
    assert api.ok("DELETE", f"/contacts/{contact['id']}/tags/a/b")["tags"] == []
    assert api.ok("DELETE", f"/contacts/{contact['id']}/tags/never")["tags"] == []
    assert [e["payload"]["tag"] for e in api.events("tag_removed")] == ["vip", "a/b"]


def test_tag_routes_check_the_contact_and_the_body(api: ApiActions) -> None:
    """Unknown contact is 404; an empty or missing tag is 422."""
    error_of(api.post("/contacts/9999/tags", {"tag": "x"}), 404, "not_found")
    error_of(api.delete("/contacts/9999/tags/x"), 404, "not_found")
    contact = api.contact()
    assert "tag" in error_fields(api.post(f"/contacts/{contact['id']}/tags", {"tag": "  "}))
    assert "tag" in error_fields(api.post(f"/contacts/{contact['id']}/tags", {}))
    assert api.count("domain_event") == 0


def test_tags_exist_before_any_contact_has_them(api: ApiActions) -> None:
    """POST /tags creates a tag; GET /tags lists names."""
    assert api.ok("POST", "/tags", {"tag": "webinar"}) == ["webinar"]
    api.contact(tags=["alpha"])
    assert api.ok("GET", "/tags", as_user="rep1") == ["alpha", "webinar"]


def test_list_contacts_by_text_and_tag(api: ApiActions) -> None:
    """q matches names and email; tag narrows to tagged contacts; limit/offset page."""
    ada = api.contact("ada@example.com", first_name="Ada", tags=["vip"])
    bob = api.contact("bob@sample.org", last_name="Builder")
    cy = api.contact("cy@example.com", first_name="Cy", tags=["vip"])

    def ids(**query: Any) -> list[int]:
        return [c["id"] for c in api.ok("GET", "/contacts", query_string=query)]

    assert ids() == [ada["id"], bob["id"], cy["id"]]
    assert ids(q="example") == [ada["id"], cy["id"]]
    assert ids(q="BUILD") == [bob["id"]]
    assert ids(tag="vip") == [ada["id"], cy["id"]]
    assert ids(limit=1, offset=1) == [bob["id"]]
    assert "limit" in error_fields(api.get("/contacts", query_string={"limit": 0}))
    assert "offset" in error_fields(api.get("/contacts", query_string={"offset": -1}))


def test_patch_a_contact(api: ApiActions) -> None:
    """Names change, fields merge, email is normalised, null clears owner and time zone."""
    contact = api.contact(fields={"a": 1}, owner_id=api.uid("rep1"), timezone="Europe/Berlin")
    changed = api.ok("PATCH", f"/contacts/{contact['id']}", {
        "first_name": "Grace", "fields": {"b": 2}, "email": "Grace@Example.com", "owner_id": None, "timezone": None})
    assert (changed["first_name"], changed["email"]) == ("Grace", "grace@example.com")
    assert changed["fields"] == {"a": 1, "b": 2}
    assert (changed["owner_id"], changed["timezone"]) == (None, None)


@pytest.mark.parametrize(("body", "field"), [
    ({"email": None}, "email"), ({"first_name": None}, "first_name"), ({"fields": None}, "fields"),
    ({"email": "nope"}, "email"), ({"tags": ["x"]}, "tags"),
])
def test_bad_contact_patch_names_the_field(api: ApiActions, body: dict[str, Any], field: str) -> None:
    """null for a required field, bad values and unknown fields are 422 and change nothing."""
    contact = api.contact("keep@example.com")
    assert field in error_fields(api.patch(f"/contacts/{contact['id']}", body))
    assert api.ok("GET", f"/contacts/{contact['id']}") == contact


def test_patch_onto_a_taken_email_is_a_conflict(api: ApiActions) -> None:
    """Changing the email to another contact's gives 409."""
    api.contact("one@example.com")
    two = api.contact("two@example.com")
    error_of(api.patch(f"/contacts/{two['id']}", {"email": "ONE@example.com"}), 409, "email_taken")
    assert api.ok("GET", f"/contacts/{two['id']}")["email"] == "two@example.com"


@pytest.mark.parametrize("path", ["/contacts/9999", "/contacts/0", "/contacts/x", "/contacts/99999999999999999999"])
def test_unknown_contact_is_404(api: ApiActions, path: str) -> None:
    """Ids that cannot or do not exist give a JSON 404."""
    error_of(api.get(path), 404, "not_found")
    error_of(api.patch(path, {"first_name": "X"}), 404, "not_found")


def test_unknown_time_zone_is_refused_and_changes_nothing(api: ApiActions) -> None:
    """A contact's time zone must be an IANA name the timers can use."""
    assert "timezone" in error_fields(api.post("/contacts", {"email": "tz@example.com", "timezone": "Not/AZone"}))
    contact = api.contact(timezone="Europe/Berlin")
    assert contact["timezone"] == "Europe/Berlin"
    assert "timezone" in error_fields(api.patch(f"/contacts/{contact['id']}", {"timezone": "Mars/Olympus"}))
    assert api.ok("GET", f"/contacts/{contact['id']}")["timezone"] == "Europe/Berlin"
