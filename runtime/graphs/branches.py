"""Decisions and splits evaluated as pure functions (DESIGN.md §6.2).

A decision's paths are tested against `Facts` about one contact at the moment
it arrives; a split picks one path from a stable hash of (contact id, node id).
The runtime (`runtime.execution.decide`), the Evaluate tester and the simulator
all call these, so what the tester shows is what the runtime does.

Invariants:
    * Pure: no database, clock or randomness. The same spec, facts and contact
      always give the same outcome; a split's choice depends only on the
      contact id, the node id and the weights.
    * A decision in mode ``first`` takes the first path whose rules match, in
      path order; in mode ``all`` every matching path. With no match it takes
      ``otherwise`` when the decision has it, else the contact leaves.
    * Every rule of every path is evaluated and reported (the tester explains
      each one), whatever the mode.
    * A split path with weight 0 is never taken; a split whose weights sum to 0
      takes none (validation refuses to publish it).
"""

from __future__ import annotations

import hashlib
import typing as t
from dataclasses import dataclass

from runtime.graphs.graph import OTHERWISE
from runtime.graphs.graph import DecisionNode
from runtime.graphs.graph import SplitNode
from runtime.graphs.rule_eval import Checked
from runtime.graphs.rule_eval import Facts
from runtime.graphs.rule_eval import evaluate
from runtime.graphs.rules import Group
from runtime.graphs.rules import parse_rules
from runtime.graphs.rules import rules_json

OTHERWISE_LABEL = "Otherwise"


@dataclass(frozen=True)
class DecisionPath:
    """One path of a decision, its rules parsed."""

    id: str
    label: str
    rules: Group


@dataclass(frozen=True)
class DecisionSpec:
    """A decision as the runtime needs it."""

    name: str
    mode: t.Literal["first", "all"]
    paths: tuple[DecisionPath, ...]
    otherwise: bool

    def label(self, branch_id: str) -> str:
        """A path's label (its id when unlabelled; "Otherwise" for the catch-all)."""
        if branch_id == OTHERWISE:
            return OTHERWISE_LABEL
        return next((p.label or p.id for p in self.paths if p.id == branch_id), branch_id)

    def to_json(self) -> dict[str, t.Any]:
        """The compiled JSON form."""
        return {"name": self.name, "mode": self.mode, "otherwise": self.otherwise,
                "branches": [{"id": p.id, "label": p.label, "rules": rules_json(p.rules)} for p in self.paths]}

    @classmethod
    def from_json(cls, data: t.Mapping[str, t.Any]) -> DecisionSpec:
        """Rebuild from `to_json` (rules are parsed again: they were valid when compiled)."""
        return cls(data["name"], data["mode"], tuple(
            DecisionPath(b["id"], b["label"], parse_rules(b["rules"])) for b in data["branches"]),
            bool(data["otherwise"]))


@dataclass(frozen=True)
class SplitPath:
    """One path of a split and its weight."""

    id: str
    label: str
    weight: int


@dataclass(frozen=True)
class SplitSpec:
    """A split as the runtime needs it."""

    name: str
    paths: tuple[SplitPath, ...]

    @property
    def total(self) -> int:
        """The sum of the positive weights."""
        return sum(p.weight for p in self.paths if p.weight > 0)

    def label(self, branch_id: str) -> str:
        """A path's label (its id when unlabelled)."""
        return next((p.label or p.id for p in self.paths if p.id == branch_id), branch_id)

    def to_json(self) -> dict[str, t.Any]:
        """The compiled JSON form."""
        return {"name": self.name, "branches": [{"id": p.id, "label": p.label, "weight": p.weight}
                                                for p in self.paths]}

    @classmethod
    def from_json(cls, data: t.Mapping[str, t.Any]) -> SplitSpec:
        """Rebuild from `to_json`."""
        return cls(data["name"], tuple(SplitPath(b["id"], b["label"], int(b["weight"])) for b in data["branches"]))


def decision_spec(node: DecisionNode) -> DecisionSpec:
    """The spec of a decision node.

    Raises:
        RuleError: a path's rules do not parse (validate the graph first).
    """
    return DecisionSpec(node.name, node.mode, tuple(
        DecisionPath(b.id, b.label, parse_rules(b.rules)) for b in node.branches), node.otherwise)


def split_spec(node: SplitNode) -> SplitSpec:
    """The spec of a split node."""
    return SplitSpec(node.name, tuple(SplitPath(b.id, b.label, b.weight) for b in node.branches))


@dataclass(frozen=True)
class PathResult:
    """How one path fared for one contact: its rules matched or not, whether it was taken, and why."""

    id: str
    label: str
    matched: bool
    taken: bool
    rules: tuple[Checked, ...] = ()
    weight: int | None = None

    def to_json(self) -> dict[str, t.Any]:
        """``{id, label, matched, taken, rules: [{field, op, value, actual, result}]}`` (+ ``weight``)."""
        out: dict[str, t.Any] = {"id": self.id, "label": self.label, "matched": self.matched, "taken": self.taken,
                                 "rules": [c.to_json() for c in self.rules]}
        if self.weight is not None:
            out["weight"] = self.weight
        return out


@dataclass(frozen=True)
class Outcome:
    """Where a contact goes at a decision or split: the paths taken (none: it leaves), and why."""

    taken: tuple[str, ...]
    paths: tuple[PathResult, ...]
    reason: str

    @property
    def left(self) -> bool:
        """True when no path was taken: the contact leaves the campaign here."""
        return not self.taken


def _quoted(labels: t.Iterable[str]) -> str:
    return ", ".join(f"“{label}”" for label in labels)


def evaluate_decision(spec: DecisionSpec, facts: Facts) -> Outcome:
    """The paths a contact with these facts takes at a decision, every rule's outcome, and why.

    Args:
        spec: the decision.
        facts: what the contact is at the moment it arrives.

    Returns:
        The outcome; ``taken`` holds path ids (``"otherwise"`` for the catch-all) in path order.
    """
    results: list[tuple[DecisionPath, bool, tuple[Checked, ...]]] = []
    for path in spec.paths:
        matched, checked = evaluate(path.rules, facts)
        results.append((path, matched, tuple(checked)))
    matching = [path.id for path, matched, _ in results if matched]
    taken: list[str] = matching[:1] if spec.mode == "first" else matching
    if taken:
        reason = f"matched {_quoted(spec.label(b) for b in taken)}"
    elif spec.otherwise:
        taken = [OTHERWISE]
        reason = "matched no path: took Otherwise"
    else:
        reason = f"matched no path of “{spec.name or 'the decision'}”, which has no Otherwise path: left the campaign"
    paths = [PathResult(path.id, path.label or path.id, matched, path.id in taken, checked)
             for path, matched, checked in results]
    if spec.otherwise:
        paths.append(PathResult(OTHERWISE, OTHERWISE_LABEL, not matching, OTHERWISE in taken))
    return Outcome(tuple(taken), tuple(paths), reason)


def split_point(contact_id: int, node_id: str) -> float:
    """A contact's stable place in [0, 1) at one split (SHA-256 of "contact id:node id")."""
    digest = hashlib.sha256(f"{contact_id}:{node_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def choose_split(spec: SplitSpec, contact_id: int, node_id: str) -> Outcome:
    """The one path a contact takes at a split: its stable point falls into a path's share of the weights."""
    total = spec.total
    chosen: str | None = None
    if total > 0:
        mark = split_point(contact_id, node_id) * total
        running = 0
        for path in spec.paths:
            if path.weight <= 0:
                continue
            running += path.weight
            if mark < running:
                chosen = path.id
                break
    paths = tuple(PathResult(p.id, p.label or p.id, p.id == chosen, p.id == chosen, weight=p.weight)
                  for p in spec.paths)
    if chosen is None:
        return Outcome((), paths, f"“{spec.name or 'the split'}” has no path with a weight: left the campaign")
    share = next(p.weight for p in spec.paths if p.id == chosen) * 100 / total
    return Outcome((chosen,), paths, f"split: “{spec.label(chosen)}” ({share:.3g}% of contacts)")
