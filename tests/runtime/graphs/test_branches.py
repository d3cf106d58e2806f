"""Decisions and splits as pure functions: modes, otherwise, leaving, nested rules, every op, split weights."""

from __future__ import annotations

import math
import typing as t
from collections import Counter
from datetime import date

import pytest

from runtime.graphs.branches import choose_split
from runtime.graphs.branches import decision_spec
from runtime.graphs.branches import evaluate_decision
from runtime.graphs.branches import split_point
from runtime.graphs.branches import split_spec
from runtime.graphs.graph import DecisionNode
from runtime.graphs.graph import SplitNode
from runtime.graphs.rule_eval import Facts
from runtime.graphs.rules import OPS_BY_KIND
from tests.runtime.branching_graphs import decision
from tests.runtime.branching_graphs import split

VIP = Facts(tags=frozenset({"vip"}))
BIG = Facts(opportunity={"value": 25000.0})
BOTH = Facts(tags=frozenset({"vip"}), fields={"company_size": 800})
NOBODY = Facts(tags=frozenset({"newsletter"}), fields={"company_size": 12})


def spec(**kw: t.Any) -> t.Any:
    return decision_spec(DecisionNode.model_validate(decision(**kw)))


@pytest.mark.parametrize(("facts", "taken"), [(VIP, ("vip",)), (BIG, ("big",)), (BOTH, ("vip",)),
                                              (NOBODY, ("otherwise",))])
def test_mode_first_takes_the_first_matching_path(facts: Facts, taken: tuple[str, ...]) -> None:
    outcome = evaluate_decision(spec(), facts)
    assert outcome.taken == taken
    assert not outcome.left


def test_mode_all_takes_every_matching_path() -> None:
    outcome = evaluate_decision(spec(mode="all"), BOTH)
    assert outcome.taken == ("vip", "big")
    assert outcome.reason == "matched “VIP”, “Big deal”"
    assert [(p.id, p.matched, p.taken) for p in outcome.paths] == [
        ("vip", True, True), ("big", True, True), ("otherwise", False, False)]


def test_mode_first_still_reports_every_path_and_rule() -> None:
    """The tester explains each rule even for paths after the first match."""
    outcome = evaluate_decision(spec(), BOTH)
    assert [(p.id, p.matched, p.taken) for p in outcome.paths] == [
        ("vip", True, True), ("big", True, False), ("otherwise", False, False)]
    big = outcome.paths[1]
    assert [(c.field, c.actual, c.result) for c in big.rules] == [
        ("opportunity.value", None, False), ("contact.fields.company_size", 800, True)]


def test_otherwise_catches_contacts_matching_nothing() -> None:
    outcome = evaluate_decision(spec(mode="all"), NOBODY)
    assert outcome.taken == ("otherwise",)
    assert outcome.reason == "matched no path: took Otherwise"
    assert outcome.paths[-1].taken and outcome.paths[-1].label == "Otherwise"


def test_without_otherwise_a_contact_matching_nothing_leaves() -> None:
    outcome = evaluate_decision(spec(otherwise=False), NOBODY)
    assert outcome.taken == () and outcome.left
    assert outcome.reason == "matched no path of “VIP?”, which has no Otherwise path: left the campaign"
    assert [p.id for p in outcome.paths] == ["vip", "big"]


def test_nested_groups() -> None:
    """(VIP and (big deal or large company)) or (tag "partner" and not tag "churned")."""
    rules = {"any": [
        {"all": [{"field": "tags", "op": "has", "value": "vip"},
                 {"any": [{"field": "opportunity.value", "op": "gte", "value": 10000},
                          {"field": "contact.fields.company_size", "op": "gte", "value": 500}]}]},
        {"all": [{"field": "tags", "op": "has", "value": "partner"},
                 {"field": "tags", "op": "not_has", "value": "churned"}]}]}
    nested = spec(branches=[{"id": "n", "label": "Nested", "rules": rules}], otherwise=False)
    assert evaluate_decision(nested, BOTH).taken == ("n",)
    assert evaluate_decision(nested, VIP).taken == ()  # vip, but neither big nor large
    assert evaluate_decision(nested, Facts(tags=frozenset({"partner"}))).taken == ("n",)
    assert evaluate_decision(nested, Facts(tags=frozenset({"partner", "churned"}))).taken == ()
    assert len(evaluate_decision(nested, VIP).paths[0].rules) == 5  # every rule reported


ADA = Facts(tags=frozenset({"vip"}), contact={"first_name": "Ada", "email": "ada@example.com",
                                               "created_at": date(2026, 1, 5), "owner_id": 3},
            fields={"plan": "Pro", "seats": 12}, opportunity={"value": 500.0, "stage_id": 20},
            email_opened=True)
# One case per op: (field, op, value, holds for ADA).
EVERY_OP = [
    ("tags", "has", "vip", True), ("tags", "not_has", "vip", False), ("tags", "empty", None, False),
    ("tags", "not_empty", None, True), ("contact.first_name", "eq", "ada", True),
    ("contact.first_name", "ne", "Grace", True), ("contact.email", "contains", "@example", True),
    ("opportunity.value", "gt", 499, True), ("opportunity.value", "gte", 500, True),
    ("opportunity.value", "lt", 500, False), ("opportunity.value", "lte", 500, True),
    ("contact.fields.plan", "empty", None, False), ("contact.fields.missing", "empty", None, True),
    ("contact.fields.plan", "not_empty", None, True), ("contact.created_at", "gte", "2026-01-01", True),
    ("email.opened", "eq", True, True), ("email.clicked", "eq", True, False),
    ("contact.fields.seats", "ne", 12, False), ("opportunity.stage_id", "eq", 20, True),
]


def test_every_op_is_covered_here() -> None:
    assert {op for ops in OPS_BY_KIND.values() for op in ops} == {case[1] for case in EVERY_OP}


@pytest.mark.parametrize(("field", "op", "value", "holds"), EVERY_OP)
def test_each_op_through_a_decision(field: str, op: str, value: t.Any, holds: bool) -> None:
    rule: dict[str, t.Any] = {"field": field, "op": op}
    if value is not None:
        rule["value"] = value
    one = spec(branches=[{"id": "p", "label": "P", "rules": {"all": [rule]}}], otherwise=True)
    outcome = evaluate_decision(one, ADA)
    assert outcome.taken == (("p",) if holds else ("otherwise",))
    [checked] = outcome.paths[0].rules
    assert (checked.field, checked.op, checked.result) == (field, op, holds)


# --- splits --------------------------------------------------------------------------------------


def sspec(weights: tuple[int, ...]) -> t.Any:
    return split_spec(SplitNode.model_validate(split(weights=weights)))


@pytest.mark.parametrize("weights", [(50, 50), (1, 3), (70, 20, 10), (1, 1, 1)])
def test_split_weights_hold_over_10000_contacts(weights: tuple[int, ...]) -> None:
    """Each path's share is within 4 standard deviations of its weight's share (binomial)."""
    n = 10_000
    counts = Counter(choose_split(sspec(weights), contact_id, "x1").taken[0] for contact_id in range(1, n + 1))
    total = sum(weights)
    for branch_id, weight in zip("abcdefgh", weights, strict=False):
        p = weight / total
        sigma = math.sqrt(n * p * (1 - p))
        assert abs(counts[branch_id] - n * p) <= 4 * sigma, (branch_id, counts, weights)


def test_split_is_deterministic_and_depends_on_the_node() -> None:
    spec_ = sspec((50, 50))
    first = [choose_split(spec_, c, "x1").taken for c in range(200)]
    assert first == [choose_split(spec_, c, "x1").taken for c in range(200)]
    assert split_point(7, "x1") == split_point(7, "x1")
    other_node = [choose_split(spec_, c, "x2").taken for c in range(200)]
    assert first != other_node  # a second split re-divides the same contacts independently


def test_zero_weight_path_is_never_taken_and_zero_total_takes_none() -> None:
    assert {choose_split(sspec((0, 5)), c, "x1").taken for c in range(500)} == {("b",)}
    outcome = choose_split(sspec((0, 0)), 1, "x1")
    assert outcome.left and "no path with a weight" in outcome.reason


def test_split_reason_and_paths() -> None:
    outcome = choose_split(sspec((1, 3)), 11, "x1")
    chosen = outcome.taken[0]
    assert outcome.reason == f"split: “{chosen.upper()}” ({25 if chosen == 'a' else 75}% of contacts)"
    assert [(p.id, p.weight, p.taken) for p in outcome.paths] == [("a", 1, chosen == "a"), ("b", 3, chosen == "b")]
