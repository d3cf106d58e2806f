"""The rule language shared by decisions and segments: checking, parsing, evaluating, explaining."""

from __future__ import annotations

import typing as t
from datetime import UTC
from datetime import date
from datetime import datetime

import pytest

from runtime.graphs.rule_eval import Facts
from runtime.graphs.rule_eval import evaluate
from runtime.graphs.rules import FIELDS
from runtime.graphs.rules import OPS_BY_KIND
from runtime.graphs.rules import RuleError
from runtime.graphs.rules import check_rules
from runtime.graphs.rules import describe
from runtime.graphs.rules import field_spec
from runtime.graphs.rules import fields_json
from runtime.graphs.rules import fields_used
from runtime.graphs.rules import parse_rules
from runtime.graphs.rules import rules_json

ADA = Facts(
    tags=frozenset({"vip", "newsletter"}),
    contact={"email": "ada@example.com", "first_name": "Ada", "last_name": "", "owner_id": 3,
             "created_at": datetime(2026, 1, 5, 9, 0, tzinfo=UTC), "email_status": "subscribed"},
    fields={"company_size": 800, "plan": "Pro", "renewal": "2026-06-01", "notes": None},
    opportunity={"title": "Website redesign", "value": 12500.0, "stage_id": 20, "pipeline_id": 1,
                 "owner_id": 3, "outcome": "open", "expected_close_date": date(2026, 3, 31)},
    email_opened=True,
)
BARE = Facts()


def holds(rule: dict[str, t.Any], facts: Facts = ADA) -> bool:
    matched, checked = evaluate(parse_rules({"all": [rule]}), facts)
    assert [c.result for c in checked] == [matched]
    return matched


@pytest.mark.parametrize(("rule", "ada", "bare"), [
    ({"field": "tags", "op": "has", "value": "vip"}, True, False),
    ({"field": "tags", "op": "not_has", "value": "vip"}, False, True),
    ({"field": "tags", "op": "empty"}, False, True),
    ({"field": "tags", "op": "not_empty"}, True, False),
    ({"field": "contact.first_name", "op": "eq", "value": "ADA"}, True, False),  # text ignores case
    ({"field": "contact.first_name", "op": "ne", "value": "Grace"}, True, True),  # missing is ne anything
    ({"field": "contact.email", "op": "contains", "value": "@EXAMPLE"}, True, False),
    ({"field": "contact.last_name", "op": "empty"}, True, True),  # "" is empty
    ({"field": "contact.last_name", "op": "not_empty"}, False, False),
    ({"field": "contact.owner_id", "op": "eq", "value": 3}, True, False),
    ({"field": "contact.created_at", "op": "gte", "value": "2026-01-05"}, True, False),  # by calendar day
    ({"field": "contact.created_at", "op": "lt", "value": "2026-01-05"}, False, False),
    ({"field": "contact.email_status", "op": "eq", "value": "subscribed"}, True, False),
    ({"field": "opportunity.value", "op": "gte", "value": 10000}, True, False),
    ({"field": "opportunity.value", "op": "gt", "value": 12500}, False, False),
    ({"field": "opportunity.value", "op": "lte", "value": 12500.0}, True, False),
    ({"field": "opportunity.value", "op": "lt", "value": 100}, False, False),
    ({"field": "opportunity.value", "op": "eq", "value": 12500}, True, False),
    ({"field": "opportunity.expected_close_date", "op": "lte", "value": "2026-03-31"}, True, False),
    ({"field": "opportunity.stage_id", "op": "ne", "value": 30}, True, True),
    ({"field": "opportunity.outcome", "op": "eq", "value": "open"}, True, False),
    ({"field": "email.opened", "op": "eq", "value": True}, True, False),
    ({"field": "email.clicked", "op": "eq", "value": True}, False, False),
    ({"field": "email.clicked", "op": "ne", "value": True}, True, True),
    ({"field": "contact.fields.company_size", "op": "gte", "value": 500}, True, False),  # numbers as numbers
    ({"field": "contact.fields.company_size", "op": "eq", "value": "800"}, True, False),  # else as text
    ({"field": "contact.fields.plan", "op": "eq", "value": "pro"}, True, False),
    ({"field": "contact.fields.plan", "op": "contains", "value": "R"}, True, False),
    ({"field": "contact.fields.plan", "op": "gt", "value": 3}, False, False),  # text is not ordered
    ({"field": "contact.fields.renewal", "op": "gt", "value": "2026-05-31"}, True, False),
    ({"field": "contact.fields.notes", "op": "empty"}, True, True),
    ({"field": "contact.fields.missing", "op": "not_empty"}, False, False),
])
def test_each_op_on_each_kind_of_field(rule: dict[str, t.Any], ada: bool, bare: bool) -> None:
    assert holds(rule, ADA) is ada
    assert holds(rule, BARE) is bare


def test_every_field_offers_exactly_its_kinds_ops() -> None:
    for entry in fields_json():
        assert entry["ops"] == list(OPS_BY_KIND[entry["kind"]]) and entry["label"]
    assert set(FIELDS) >= {"tags", "email.opened", "email.clicked", "opportunity.value"}
    assert field_spec("contact.fields.size") is not None and field_spec("contact.fields.") is None


def test_all_and_any_nest_and_every_rule_is_reported() -> None:
    rules = {"all": [
        {"field": "tags", "op": "has", "value": "vip"},
        {"any": [{"field": "opportunity.value", "op": "gte", "value": 50000},
                 {"field": "contact.fields.company_size", "op": "gte", "value": 500}]},
    ]}
    matched, checked = evaluate(parse_rules(rules), ADA)
    assert matched
    assert [(c.field, c.actual, c.result) for c in checked] == [
        ("tags", ["newsletter", "vip"], True), ("opportunity.value", 12500.0, False),
        ("contact.fields.company_size", 800, True)]
    assert not evaluate(parse_rules(rules), BARE)[0]
    assert checked[0].to_json() == {"field": "tags", "op": "has", "value": "vip", "actual": ["newsletter", "vip"],
                                    "result": True}
    assert fields_used(parse_rules(rules)) == {"tags", "opportunity.value", "contact.fields.company_size"}
    assert rules_json(parse_rules(rules)) == rules


@pytest.mark.parametrize(("rules", "code", "message"), [
    ([], "invalid_group", "A group must say whether all or any of its rules must match"),
    ({"all": []}, "empty_group", "Add at least one rule to this group"),
    ({"all": [{"op": "eq", "value": 1}]}, "unknown_field", "Choose what the rule checks"),
    ({"all": [{"field": "contact.shoe_size", "op": "eq", "value": 1}]}, "unknown_field",
     "“contact.shoe_size” is not a field rules can check"),
    ({"all": [{"field": "tags", "op": "gt", "value": "x"}]}, "unknown_op", "“Tags” can't be compared with “is more than”"),
    ({"all": [{"field": "tags", "op": "like", "value": "x"}]}, "unknown_op", "Choose how “Tags” is compared"),
    ({"all": [{"field": "opportunity.value", "op": "gte", "value": "lots"}]}, "invalid_value",
     "“Deal value” is compared with a number: type one"),
    ({"all": [{"field": "tags", "op": "has", "value": " "}]}, "invalid_value", "Type the tag “Tags” is compared with"),
    ({"all": [{"field": "contact.created_at", "op": "gt", "value": "yesterday"}]}, "invalid_value",
     "“Contact created” is compared with a date (YYYY-MM-DD)"),
    ({"all": [{"field": "email.opened", "op": "eq", "value": "yes"}]}, "invalid_value",
     "“Opened an email of this campaign” is compared with yes or no"),
    ({"all": [{"field": "opportunity.outcome", "op": "eq", "value": "maybe"}]}, "invalid_value",
     "“Deal outcome” is one of open, won, lost"),
    ({"all": [{"field": "contact.fields.x", "op": "gt", "value": "abc"}]}, "invalid_value",
     "“Custom field “x”” “is more than” needs a number or a date"),
    ({"all": [{"field": "tags", "op": "has", "value": "a", "extra": 1}]}, "invalid_rule",
     "A rule has a field, a comparison and (mostly) a value"),
])
def test_problems_are_located_and_said_in_plain_words(rules: t.Any, code: str, message: str) -> None:
    problems = check_rules(rules)
    assert [(p.code, p.message) for p in problems] == [(code, message)]
    with pytest.raises(RuleError):
        parse_rules(rules)


def test_problem_paths_point_into_nested_groups_and_limits_hold() -> None:
    rules = {"any": [{"field": "tags", "op": "has", "value": "a"}, {"all": [{"field": "nope", "op": "eq"}]}]}
    assert [p.path for p in check_rules(rules)] == ["any.1.all.0"]
    deep: dict[str, t.Any] = {"all": [{"field": "tags", "op": "empty"}]}
    for _ in range(6):
        deep = {"all": [deep]}
    assert [p.code for p in check_rules(deep)] == ["too_deep"]
    many = {"all": [{"field": "tags", "op": "empty"}] * 101}
    assert [p.code for p in check_rules(many)] == ["too_many_rules"]


def test_describe_reads_like_a_sentence() -> None:
    rules = parse_rules({"all": [{"field": "tags", "op": "has", "value": "vip"},
                                 {"any": [{"field": "opportunity.stage_id", "op": "eq", "value": 20},
                                          {"field": "email.opened", "op": "eq", "value": True}]}]})
    names = {("opportunity.stage_id", 20): "Qualified"}
    text = describe(rules, lambda f, v: names.get((f, v), ""))
    assert text == "Tags has “vip” and (Deal stage is Qualified or Opened an email of this campaign is true)"
