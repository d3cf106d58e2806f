"""The node catalog: one test group per goal and step type, plus the catalog JSON."""

from __future__ import annotations

import typing as t
from datetime import UTC
from datetime import datetime

import pytest
from pydantic import ValidationError

from runtime.graphs.catalog import GOAL_TYPES
from runtime.graphs.catalog import STEP_TYPES
from runtime.graphs.catalog import catalog_json
from runtime.graphs.catalog import event_keys
from runtime.graphs.catalog import goal_type
from runtime.graphs.catalog import step_type
from runtime.graphs.catalog.base import ActionStep
from runtime.graphs.catalog.base import TimerStep
from runtime.graphs.validation import StaticRefs
from tests.runtime.conftest import RecordingContext

FIELD_TYPES = {
    "string",
    "text",
    "integer",
    "number",
    "boolean",
    "select",
    "date",
    "datetime",
    "object",
    "pipeline",
    "stage",
    "user",
    "tag",
    "assignee",
    "window",
    "form",
    "link",
}

# type → (a valid config, an invalid config, expected summary)
GOAL_CASES: dict[str, tuple[dict[str, t.Any], dict[str, t.Any], str]] = {
    "stage_moved": (
        {"pipeline_id": 1, "stage_id": 11, "direction": "into"},
        {"stage_id": 11, "direction": "sideways"},
        "Moved into stage #11",
    ),
    "tag_applied": ({"tag": "vip"}, {"tag": ""}, "Tag “vip” applied"),
    "form_submitted": ({"form": "signup"}, {}, "Form “signup” submitted"),
    "link_clicked": ({"link": "pricing"}, {"link": 3}, "Clicked pricing"),
    "task_completed": (
        {"title_contains": "call"},
        {"title_contains": ["x"]},
        "Task containing “call” completed",
    ),
    "api_event": ({"name": "trial_started"}, {"nme": "x"}, "API event “trial_started”"),
    "purchase": ({"product": "Pro plan"}, {"product": 5}, "Bought Pro plan"),
    "stage_overdue": ({"stage_id": 12}, {"stage_id": "twelve"}, "Overdue in stage #12"),
    "opportunity_closed": ({"pipeline_id": 3, "outcome": "lost"}, {"outcome": "maybe"}, "Deal lost · pipeline #3"),
}

STEP_CASES: dict[str, tuple[dict[str, t.Any], dict[str, t.Any], str]] = {
    "delay": ({"amount": 2, "unit": "days"}, {"amount": 0, "unit": "days"}, "Wait 2 days"),
    "wait_until": (
        {"field": "birthday", "yearly": True},
        {"date": "2024-01-01", "field": "birthday"},
        "Wait until contact field 'birthday' (every year)",
    ),
    "send_email": (
        {"subject": "Hi {{contact.first_name}}", "body": "Hello"},
        {"subject": "Hi"},
        "Email “Hi {{contact.first_name}}”",
    ),
    "apply_tag": ({"tag": "vip"}, {}, "Apply tag “vip”"),
    "remove_tag": ({"tag": "lead"}, {"tag": None}, "Remove tag “lead”"),
    "create_task": (
        {"title": "Call {{contact.first_name}}", "assignee": 2, "due_in_days": 1},
        {"title": "Call", "due_in_days": -1},
        "Task “Call {{contact.first_name}}” → user #2, due in 1d",
    ),
    "create_note": ({"body": "Spoke to them"}, {"body": ""}, "Note “Spoke to them”"),
    "create_opportunity": (
        {"pipeline_id": 2, "stage_id": 100, "title": "Onboarding", "value": 500},
        {"pipeline_id": 2, "title": "x"},
        "New opportunity “Onboarding” in stage #100",
    ),
    "move_opportunity": ({"stage_id": 13}, {"stage": 13}, "Move opportunity to stage #13"),
    "assign_owner": (
        {"user_id": "round_robin"},
        {"user_id": "someone"},
        "Owner → round robin",
    ),
    "set_field": ({"field": "status", "value": "hot"}, {"field": "status"}, "Set status = “hot”"),
    "http_post": (
        {"url": "https://example.com/hook", "json": {"a": 1}},
        {"url": "https://x", "json": []},
        "POST https://example.com/hook",
    ),
    "notify_user": (
        {"user": "owner", "message": "Call {{contact.first_name}}"},
        {"user": "boss", "message": "x"},
        "Notify the owner: “Call {{contact.first_na…”",
    ),
}


def test_every_registered_type_has_a_case() -> None:
    assert set(GOAL_CASES) == set(GOAL_TYPES)
    assert set(STEP_CASES) == set(STEP_TYPES)


@pytest.mark.parametrize("name", sorted(GOAL_CASES))
def test_goal_config_and_summary(name: str) -> None:
    valid, invalid, summary = GOAL_CASES[name]
    goal = goal_type(name)
    assert goal.summary(valid) == summary
    with pytest.raises(ValidationError):
        goal.parse(invalid)
    key = goal.index_key(valid)
    assert key[0] == name


@pytest.mark.parametrize("name", sorted(STEP_CASES))
def test_step_config_and_summary(name: str) -> None:
    valid, invalid, summary = STEP_CASES[name]
    step = step_type(name)
    assert step.summary(valid) == summary
    with pytest.raises(ValidationError):
        step.parse(invalid)


def test_registry_lookups_raise_for_unknown_types() -> None:
    with pytest.raises(KeyError):
        goal_type("nope")
    with pytest.raises(KeyError):
        step_type("nope")


# --- catalog JSON ------------------------------------------------------------


def test_catalog_json_shape() -> None:
    data = catalog_json()
    assert set(data) == {"goals", "steps", "merge_fields", "branching", "rule_fields", "rule_ops"}
    assert [g["type"] for g in data["goals"]] == list(GOAL_TYPES)
    assert [b["kind"] for b in data["branching"]] == ["decision", "split"]
    assert all(b["label"] and b["help"] and b["icon"] for b in data["branching"])
    assert {"tags", "opportunity.stage_id", "email.opened"} <= {f["name"] for f in data["rule_fields"]}
    assert data["rule_ops"]["gte"] == "is at least"
    for entry in data["goals"] + data["steps"]:
        assert {"type", "label", "help", "icon", "group", "fields"} <= set(entry)
        assert entry["label"] and entry["help"] and entry["icon"] and entry["group"]
        for f in entry["fields"]:
            assert {"name", "label", "type", "required", "help", "default", "options"} <= set(f)
            assert f["type"] in FIELD_TYPES, (entry["type"], f)
    assert {s["kind"] for s in data["steps"]} == {"timer", "action"}
    names = {m["name"] for m in data["merge_fields"]}
    assert {"contact.first_name", "owner.email", "contact.fields.<name>"} <= names


def _fields(kind: str, name: str) -> dict[str, dict[str, t.Any]]:
    entry = next(e for e in catalog_json()[kind] if e["type"] == name)
    return {f["name"]: f for f in entry["fields"]}


def test_catalog_fields_carry_widgets_options_and_dependencies() -> None:
    stage_moved = _fields("goals", "stage_moved")
    assert (
        stage_moved["pipeline_id"]["type"] == "pipeline"
        and not stage_moved["pipeline_id"]["required"]
    )
    assert stage_moved["stage_id"] == stage_moved["stage_id"] | {
        "type": "stage",
        "required": True,
        "depends_on": "pipeline_id",
    }
    assert stage_moved["direction"]["options"] == [
        {"value": "into", "label": "Moved into"},
        {"value": "out_of", "label": "Moved out of"},
    ]
    delay = _fields("steps", "delay")
    assert delay["amount"]["required"] and delay["amount"]["type"] == "integer"
    assert [o["value"] for o in delay["unit"]["options"]] == ["minutes", "hours", "days", "weeks"]
    window = delay["window"]
    assert window["type"] == "window"
    assert {f["name"]: f["default"] for f in window["fields"]}["weekdays"] == [0, 1, 2, 3, 4]
    email = _fields("steps", "send_email")
    assert email["subject"]["type"] == "string" and email["subject"]["widget"] == "merge_text"
    assert email["body"]["type"] == "text"
    task = _fields("steps", "create_task")
    assert task["assignee"]["type"] == "assignee"
    assert [o["value"] for o in task["assignee"]["options"]] == ["owner", "round_robin"]
    assert _fields("steps", "http_post")["json"]["type"] == "object"
    assert _fields("steps", "wait_until")["yearly"]["type"] == "boolean"


# --- goals: index keys and matching --------------------------------------------


def moved(src: int | None, dst: int, pipeline: int = 1, source: str = "user") -> dict[str, t.Any]:
    return {
        "type": "stage_moved",
        "contact_id": 1,
        "opportunity_id": 9,
        "pipeline_id": pipeline,
        "from_stage_id": src,
        "to_stage_id": dst,
        "source": source,
    }


def created(stage: int, source: str, pipeline: int = 1) -> dict[str, t.Any]:
    return {
        "type": "opportunity_created",
        "contact_id": 1,
        "opportunity_id": 9,
        "pipeline_id": pipeline,
        "stage_id": stage,
        "source": source,
    }


def test_stage_moved_into_and_out_of() -> None:
    goal = goal_type("stage_moved")
    into = {"pipeline_id": 1, "stage_id": 11, "direction": "into"}
    out_of = {"stage_id": 11, "direction": "out_of"}
    assert goal.index_key(into) == ("stage_moved", "into", 11)
    assert goal.index_key(out_of) == ("stage_moved", "out_of", 11)
    assert goal.keys_for_event(moved(10, 11)) == [
        ("stage_moved", "into", 11),
        ("stage_moved", "out_of", 10),
    ]
    assert goal.matches(into, moved(10, 11))
    assert goal.matches(into, moved(14, 11, source="campaign"))
    assert not goal.matches(into, moved(11, 12))
    assert goal.matches(out_of, moved(11, 12))
    assert goal.matches(out_of, moved(11, 12, pipeline=2))  # no pipeline scope
    assert not goal.matches(into, moved(10, 11, pipeline=2))  # scoped to pipeline 1
    assert goal.keys_for_event(moved(11, 11)) == []  # saved without a stage change


def test_stage_moved_campaign_created_opportunity_counts_hand_made_does_not() -> None:
    goal = goal_type("stage_moved")
    into = {"pipeline_id": 1, "stage_id": 11, "direction": "into"}
    assert goal.keys_for_event(created(11, "campaign")) == [("stage_moved", "into", 11)]
    assert goal.matches(into, created(11, "campaign"))
    assert goal.keys_for_event(created(11, "user")) == []
    assert not goal.matches(into, created(11, "user"))
    assert not goal.matches({"stage_id": 11, "direction": "out_of"}, created(11, "campaign"))
    assert event_keys(created(11, "user")) == []


def test_opportunity_closed_by_outcome_and_pipeline() -> None:
    """Won and lost are separate keys; a pipeline narrows the goal; other events give no key."""
    goal = goal_type("opportunity_closed")

    def closed(outcome: str, pipeline: int = 1) -> dict[str, t.Any]:
        return {"type": "opportunity_closed", "contact_id": 1, "opportunity_id": 5, "pipeline_id": pipeline,
                "stage_id": 11, "outcome": outcome, "reason": "Price too high", "value": 900.0}

    assert goal.index_key({"outcome": "won"}) == ("opportunity_closed", "won")
    assert goal.index_key({}) == ("opportunity_closed", "won")  # won is the default
    assert event_keys(closed("lost")) == [("opportunity_closed", "lost")]
    assert goal.matches({"outcome": "lost"}, closed("lost"))
    assert not goal.matches({"outcome": "won"}, closed("lost"))
    assert goal.matches({"outcome": "won", "pipeline_id": 1}, closed("won"))
    assert not goal.matches({"outcome": "won", "pipeline_id": 2}, closed("won"))
    assert goal.keys_for_event({**closed("won"), "outcome": "open"}) == []
    assert goal.keys_for_event(moved(10, 11)) == []
    assert goal.summary({"outcome": "won"}) == "Deal won"


@pytest.mark.parametrize(
    ("name", "config", "hit", "miss"),
    [
        (
            "tag_applied",
            {"tag": "vip"},
            {"type": "tag_applied", "tag": "vip"},
            {"type": "tag_applied", "tag": "lead"},
        ),
        (
            "form_submitted",
            {"form": "signup"},
            {"type": "form_submitted", "form": "signup"},
            {"type": "form_submitted", "form": "other"},
        ),
        (
            "link_clicked",
            {"link": "pricing"},
            {"type": "link_clicked", "link": "pricing"},
            {"type": "tag_applied", "tag": "pricing"},
        ),
        (
            "api_event",
            {"name": "trial"},
            {"type": "api_event", "name": "trial"},
            {"type": "api_event", "name": "x"},
        ),
        (
            "task_completed",
            {"title_contains": "CALL"},
            {"type": "task_completed", "task_id": 1, "title": "Call Ada"},
            {"type": "task_completed", "task_id": 2, "title": "Send quote"},
        ),
        (
            "purchase",
            {"product": "pro plan"},
            {"type": "purchase", "product": "Pro Plan"},
            {"type": "purchase", "product": "Basic"},
        ),
        (
            "stage_overdue",
            {"stage_id": 12},
            {"type": "stage_overdue", "opportunity_id": 1, "stage_id": 12},
            {"type": "stage_overdue", "opportunity_id": 1, "stage_id": 13},
        ),
    ],
)
def test_goal_keys_and_matches(
    name: str, config: dict[str, t.Any], hit: dict[str, t.Any], miss: dict[str, t.Any]
) -> None:
    goal = goal_type(name)
    hit, miss = hit | {"contact_id": 1}, miss | {"contact_id": 1}
    assert goal.index_key(config) in goal.keys_for_event(hit)
    assert goal.index_key(config) in event_keys(hit)
    assert goal.matches(config, hit)
    assert not goal.matches(config, miss)


def test_optional_filters_match_anything() -> None:
    assert goal_type("task_completed").matches({}, {"type": "task_completed", "title": None})
    assert goal_type("purchase").matches({}, {"type": "purchase", "product": "Anything"})
    assert goal_type("purchase").summary({}) == "Any purchase"
    assert goal_type("task_completed").summary({}) == "Any task completed"


def test_goal_refs(refs: StaticRefs) -> None:
    stage = goal_type("stage_moved")
    assert stage.check_refs({"pipeline_id": 1, "stage_id": 11}, refs) == []
    assert [i.code for i in stage.check_refs({"pipeline_id": 9, "stage_id": 11}, refs)] == [
        "unknown_pipeline"
    ]
    assert [i.code for i in stage.check_refs({"pipeline_id": 2, "stage_id": 11}, refs)] == [
        "unknown_stage"
    ]
    assert [i.code for i in stage.check_refs({"stage_id": 999}, refs)] == ["unknown_stage"]
    assert [i.code for i in goal_type("tag_applied").check_refs({"tag": "nope"}, refs)] == [
        "unknown_tag"
    ]
    assert [i.code for i in goal_type("stage_overdue").check_refs({"stage_id": 1}, refs)] == [
        "unknown_stage"
    ]


# --- actions: execute calls exactly one ctx method -------------------------------


@pytest.mark.parametrize(
    ("name", "config", "call"),
    [
        (
            "send_email",
            {"subject": "Hi {{contact.first_name}}", "body": "From {{owner.name}} {{owner.email}}"},
            ("enqueue", ("email", {"to": "ada@example.com", "to_name": "Ada Lovelace", "subject": "Hi Ada",
                                   "text": "From Grace "})),
        ),
        ("apply_tag", {"tag": "vip"}, ("apply_tag", ("vip",))),
        ("remove_tag", {"tag": "lead"}, ("remove_tag", ("lead",))),
        (
            "create_task",
            {"title": "Call {{contact.first_name}}", "assignee": "round_robin", "due_in_days": 3},
            ("create_task", ("Call Ada", "", "round_robin", 3)),
        ),
        ("create_note", {"body": "Met {{contact.first_name}}"}, ("create_note", ("Met Ada",))),
        (
            "create_opportunity",
            {"pipeline_id": 2, "stage_id": 100, "title": "Onboard {{contact.first_name}}"},
            ("create_opportunity", (2, 100, "Onboard Ada", None)),
        ),
        ("move_opportunity", {"stage_id": 13}, ("move_opportunity", (13,))),
        ("assign_owner", {"user_id": 3}, ("assign_owner", (3,))),
        ("set_field", {"field": "score", "value": 7}, ("set_field", ("score", 7))),
        (
            "http_post",
            {
                "url": "https://example.com",
                "json": {"who": "{{contact.first_name}}", "n": [1, {"x": True}]},
            },
            ("enqueue", ("http_post", {"url": "https://example.com", "json": {"who": "Ada", "n": [1, {"x": True}]}})),
        ),
        (
            "notify_user",
            {"user": 2, "message": "Look at {{contact.first_name}}"},
            ("notify_user", (2, "Look at Ada")),
        ),
    ],
)
def test_action_execute_calls_one_context_method(
    ctx: RecordingContext, name: str, config: dict[str, t.Any], call: tuple[str, tuple[t.Any, ...]]
) -> None:
    step = step_type(name)
    assert isinstance(step, ActionStep) and step.kind == "action"
    step.execute(ctx, config)
    assert ctx.calls == [call]


def test_execute_accepts_frozen_compiled_configs(ctx: RecordingContext) -> None:
    from runtime.graphs.compiler import freeze

    post = step_type("http_post")
    assert isinstance(post, ActionStep)
    post.execute(ctx, freeze({"url": "http://h.example", "json": {"a": [1, 2]}}))
    assert ctx.calls == [("enqueue", ("http_post", {"url": "http://h.example", "json": {"a": [1, 2]}}))]
    assert type(ctx.calls[0][1][1]["json"]["a"]) is list


def test_http_post_url_scheme_is_checked_separately() -> None:
    post = step_type("http_post")
    assert post.check_values({"url": "https://example.com/x"}) == []
    assert [i.code for i in post.check_values({"url": "ftp://example.com"})] == ["invalid_url"]
    assert [i.code for i in post.check_values({"url": "javascript:alert(1)"})] == ["invalid_url"]


def test_step_refs(refs: StaticRefs) -> None:
    def codes(name: str, config: dict[str, t.Any]) -> list[str]:
        return [i.code for i in step_type(name).check_refs(config, refs)]

    assert codes("create_task", {"title": "x", "assignee": 9}) == ["unknown_user"]
    assert codes("create_task", {"title": "x", "assignee": "owner"}) == []
    assert codes("assign_owner", {"user_id": 8}) == ["unknown_user"]
    assert codes("notify_user", {"user": 7, "message": "x"}) == ["unknown_user"]
    assert codes("apply_tag", {"tag": "ghost"}) == ["unknown_tag"]
    assert codes("remove_tag", {"tag": "vip"}) == []
    assert codes("create_opportunity", {"pipeline_id": 5, "stage_id": 10, "title": "x"}) == [
        "unknown_pipeline"
    ]
    assert codes("create_opportunity", {"pipeline_id": 1, "stage_id": 100, "title": "x"}) == [
        "unknown_stage"
    ]
    assert codes("move_opportunity", {"stage_id": 77}) == ["unknown_stage"]


# --- timers --------------------------------------------------------------------


def test_delay_due_at(ctx: RecordingContext) -> None:
    delay = step_type("delay")
    assert isinstance(delay, TimerStep) and delay.kind == "timer"
    assert delay.due_at(ctx, {"amount": 90, "unit": "minutes"}) == datetime(
        2024, 6, 3, 13, 30, tzinfo=UTC
    )
    # Monday 12:00 UTC + 1 day = Tuesday 14:00 Berlin: outside 9–12, so Wednesday 09:00.
    windowed = {
        "amount": 1,
        "unit": "days",
        "window": {"weekdays": [0, 1, 2, 3, 4], "start_hour": 9, "end_hour": 12},
    }
    assert delay.due_at(ctx, windowed) == datetime(2024, 6, 5, 7, 0, tzinfo=UTC)
    assert delay.summary(windowed) == "Wait 1 day, then Mon–Fri 9:00–12:00"


def test_delay_window_validation() -> None:
    delay = step_type("delay")
    window: dict[str, t.Any]
    for window in (
        {"weekdays": []},
        {"weekdays": [7]},
        {"start_hour": 17, "end_hour": 9},
        {"timezone": "Mars/Olympus"},
    ):
        with pytest.raises(ValidationError):
            delay.parse({"amount": 1, "unit": "hours", "window": window})
    parsed = delay.parse(
        {"amount": 1, "unit": "hours", "window": {"weekdays": [4, 0, 0], "timezone": "Asia/Tokyo"}}
    )
    assert parsed.window.weekdays == [0, 4]


def test_wait_until_due_at(ctx: RecordingContext) -> None:
    wait = step_type("wait_until")
    assert isinstance(wait, TimerStep)
    ctx.fields["birthday"] = "1990-06-10"
    # 09:00 Berlin (CEST, UTC+2) on the next birthday.
    assert wait.due_at(ctx, {"field": "birthday", "yearly": True}) == datetime(
        2024, 6, 10, 7, 0, tzinfo=UTC
    )
    assert wait.due_at(ctx, {"field": "birthday"}) is None  # 1990 is past: proceed now
    assert wait.due_at(ctx, {"field": "missing"}) is None
    assert wait.due_at(
        ctx, {"date": "2024-07-01T10:00:00+00:00", "offset_days": 1, "direction": "before"}
    ) == datetime(2024, 6, 30, 10, 0, tzinfo=UTC)
    with pytest.raises(ValidationError):
        wait.parse({})
    with pytest.raises(ValidationError):
        wait.parse({"date": "next tuesday"})
