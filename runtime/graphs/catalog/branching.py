"""The branching node kinds, decision and split (DESIGN.md §6.2), as the catalog presents them.

Invariants:
    * Pure, like the rest of the catalog: a kind's entry (label, help, icon),
      the one-line texts of a node and of a path's rules, and the names rules
      show for ids (stages, pipelines, users) come from here; evaluation is in
      `runtime.graphs.branches`.
    * A text for rules that do not parse is "" (the canvas shows "No rules yet").
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from runtime.graphs.catalog.labels import short
from runtime.graphs.catalog.ports import NO_NAMES
from runtime.graphs.catalog.ports import Names
from runtime.graphs.rules import OP_LABELS
from runtime.graphs.rules import RuleError
from runtime.graphs.rules import describe
from runtime.graphs.rules import fields_json
from runtime.graphs.rules import parse_rules


@dataclass(frozen=True)
class BranchingKind:
    """A node kind that sends contacts down paths: what the palette shows of it."""

    kind: str
    label: str
    help: str
    icon: str

    def to_json(self) -> dict[str, t.Any]:
        """The palette entry."""
        return {"kind": self.kind, "label": self.label, "help": self.help, "icon": self.icon}


DECISION = BranchingKind(
    "decision", "Decision",
    "Sends each contact down the path whose rules it matches (tags, contact fields, its deal, email "
    "engagement), checked when the contact arrives. Take the first matching path or every one; contacts "
    "matching none take Otherwise, or leave the campaign without it.",
    "diamond",
)
SPLIT = BranchingKind(
    "split", "Split",
    "Divides contacts between paths by weight (A/B tests). Each contact always gets the same path.",
    "split",
)
BRANCHING_KINDS: dict[str, BranchingKind] = {k.kind: k for k in (DECISION, SPLIT)}


def rule_value_name(names: Names) -> t.Callable[[str, t.Any], str]:
    """How rules show an id value: a stage, pipeline or user by its name (None → the default text)."""

    def name(field: str, value: t.Any) -> str:
        if not isinstance(value, int) or isinstance(value, bool):
            return ""
        if field == "opportunity.stage_id":
            found = names.stage(value)
            return found[0] if found else ""
        if field == "opportunity.pipeline_id":
            return names.pipeline(value) or ""
        if field in ("opportunity.owner_id", "contact.owner_id"):
            return names.user(value) or ""
        return ""

    return name


def rules_summary(rules: object, names: Names = NO_NAMES) -> str:
    """A path's rules in one line ("Tags has “vip” and Deal value is at least 10000"), "" when incomplete."""
    try:
        return describe(parse_rules(rules), rule_value_name(names))
    except RuleError:
        return ""


def split_shares(weights: t.Sequence[int]) -> list[float]:
    """Each weight's share of the total, in percent (zeros when the total is not positive)."""
    total = sum(w for w in weights if w > 0)
    return [round(100 * max(w, 0) / total, 1) if total > 0 else 0.0 for w in weights]


def node_summary(node: t.Mapping[str, t.Any]) -> str:
    """A decision's or split's paths in one line ("VIP · Big deal · Otherwise", "A 50% · B 50%")."""
    branches = [b for b in node.get("branches") or [] if isinstance(b, t.Mapping)]
    labels = [str(b.get("label") or b.get("id") or "") for b in branches]
    if node.get("kind") == "split":
        weights = [int(b.get("weight") or 0) if isinstance(b.get("weight"), int) else 0 for b in branches]
        return short(" · ".join(f"{label} {share:g}%" for label, share in zip(labels, split_shares(weights),
                                                                               strict=True)), 80)
    if node.get("otherwise"):
        labels.append("Otherwise")
    return short(" · ".join(labels), 80)


def branching_json() -> dict[str, t.Any]:
    """The catalog's part for branching: the two kinds, the rule fields and the ops' labels."""
    return {"branching": [k.to_json() for k in BRANCHING_KINDS.values()], "rule_fields": fields_json(),
            "rule_ops": dict(OP_LABELS)}
