"""Validation checks of decisions and splits (DESIGN.md §6.2): their paths, rules, weights and connections.

Each check is ``check(ctx) -> list[Issue]`` like those in `runtime.graphs.checks`;
an issue names the node, the path (``branch_id``) and, for a rule, where in the
rules it is (``rule``), so the canvas shows it on the right row.
"""

from __future__ import annotations

from collections import Counter

from runtime.graphs.catalog.issues import Issue
from runtime.graphs.catalog.issues import Severity
from runtime.graphs.graph import OTHERWISE
from runtime.graphs.graph import DecisionNode
from runtime.graphs.graph import SplitNode
from runtime.graphs.rules import check_rules
from runtime.graphs.validation_context import ValidationContext

Branching = DecisionNode | SplitNode


def _issue(node: Branching, code: str, message: str, severity: Severity = "error", *,
           branch_id: str | None = None, rule: str | None = None) -> Issue:
    return Issue(node.id, None, code, message, severity, branch_id=branch_id, rule=rule)


def _path_name(node: Branching, branch_id: str) -> str:
    if branch_id == OTHERWISE and isinstance(node, DecisionNode):
        return "Otherwise"
    paths: list[tuple[str, str]] = [(b.id, b.label) for b in node.branches]
    for index, (path_id, label) in enumerate(paths, 1):
        if path_id == branch_id:
            return f"path “{label}”" if label else f"path {index}"
    return f"path “{branch_id}”"


def _noun(node: Branching) -> str:
    return "decision" if isinstance(node, DecisionNode) else "split"


def branch_ids_unique(ctx: ValidationContext) -> list[Issue]:
    """A node's paths have distinct ids, and "otherwise" is not one of them."""
    issues = []
    for node in ctx.branching():
        counts = Counter(b.id for b in node.branches)
        for branch_id, count in counts.items():
            if count > 1:
                issues.append(_issue(node, "duplicate_branch", f"{count} paths share the id “{branch_id}”: "
                                     "remove one and add it again", branch_id=branch_id))
            if branch_id == OTHERWISE:
                issues.append(_issue(node, "reserved_branch", "“otherwise” names the catch-all path: give this "
                                     "path another id", branch_id=branch_id))
    return issues


def paths_exist(ctx: ValidationContext) -> list[Issue]:
    """A decision has a path with rules; a split has paths to divide contacts between."""
    issues = []
    for node in ctx.decisions:
        if not node.branches:
            issues.append(_issue(node, "no_paths", "Add a path with the rules contacts must match"))
    for split in ctx.splits:
        if not split.branches:
            issues.append(_issue(split, "no_paths", "Add the paths this split divides contacts between"))
        elif len(split.branches) == 1:
            issues.append(_issue(split, "one_path", "A split with one path sends everyone the same way: add "
                                 "another path", "warning"))
    return issues


def decision_rules_valid(ctx: ValidationContext) -> list[Issue]:
    """Every path's rules name known fields and ops, with values of the right type."""
    issues = []
    for node in ctx.decisions:
        for branch in node.branches:
            where = _path_name(node, branch.id)
            for problem in check_rules(branch.rules):
                issues.append(_issue(node, problem.code, f"{where[:1].upper()}{where[1:]}: {problem.message}",
                                     branch_id=branch.id, rule=problem.path or None))
    return issues


def otherwise_present(ctx: ValidationContext) -> list[Issue]:
    """A decision without Otherwise lets contacts that match nothing leave (warning)."""
    return [_issue(node, "no_otherwise", "Contacts that match no path leave the campaign here: add an "
                   "Otherwise path to keep them", "warning") for node in ctx.decisions if not node.otherwise]


def split_weights(ctx: ValidationContext) -> list[Issue]:
    """Weights are whole numbers of 0 or more, and at least one is above 0."""
    issues = []
    for split in ctx.splits:
        for branch in split.branches:
            if branch.weight < 0:
                issues.append(_issue(split, "invalid_weight", f"The weight of {_path_name(split, branch.id)} "
                                     "can't be negative: use 0 to send nobody that way", branch_id=branch.id))
        if split.branches and sum(max(b.weight, 0) for b in split.branches) == 0:
            issues.append(_issue(split, "zero_weight", "Give at least one path a weight above 0: contacts are "
                                 "divided in proportion to the weights"))
    return issues


def branch_edges(ctx: ValidationContext) -> list[Issue]:
    """Each connection from a decision or split continues one of its paths, and each path has one connection."""
    issues = []
    seen: Counter[tuple[str, str]] = Counter()
    for edge in ctx.flow_edges:
        source = ctx.nodes[edge.source]
        if not isinstance(source, (DecisionNode, SplitNode)):
            if edge.branch is not None:
                issues.append(Issue(source.id, None, "stray_branch", f"A connection from {ctx.title(source.id)} "
                                    "names a path, but only decisions and splits have paths: connect it again",
                                    "error"))
            continue
        if edge.branch is None:
            issues.append(_issue(source, "missing_branch", f"A connection from this {_noun(source)} doesn't say "
                                 "which path it continues: remove it and connect from a path's handle"))
            continue
        known = {b.id for b in source.branches}
        if isinstance(source, DecisionNode) and source.otherwise:
            known.add(OTHERWISE)
        if edge.branch not in known:
            if edge.branch == OTHERWISE and isinstance(source, DecisionNode):
                message = "A connection leaves from Otherwise, but this decision has no Otherwise path: turn " \
                          "Otherwise on or remove the connection"
            else:
                message = f"A connection leaves from a path this {_noun(source)} doesn't have (“{edge.branch}”): " \
                          "remove the connection or connect it from an existing path"
            issues.append(_issue(source, "unknown_branch", message, branch_id=edge.branch))
            continue
        seen[(source.id, edge.branch)] += 1
    for (node_id, branch_id), count in sorted(seen.items()):
        if count > 1:
            node = ctx.nodes[node_id]
            assert isinstance(node, (DecisionNode, SplitNode))
            name = _path_name(node, branch_id)
            issues.append(_issue(node, "duplicate_branch_edge", f"{name[:1].upper()}{name[1:]} has {count} "
                                 "connections: a path leads to one place, so remove all but one",
                                 branch_id=branch_id))
    return issues


def paths_lead_somewhere(ctx: ValidationContext) -> list[Issue]:
    """A decision or split has at least one connected path (error); an unconnected path is a warning."""
    issues = []
    connected = {(e.source, e.branch) for e in ctx.flow_edges if e.branch is not None}
    for node in ctx.branching():
        if node.id in ctx.flow and ctx.flow.out_degree(node.id) == 0:
            issues.append(_issue(node, "no_outgoing_edge", f"Connect at least one path of this {_noun(node)} to "
                                 "what contacts do next"))
            continue
        ids = [b.id for b in node.branches]
        if isinstance(node, DecisionNode) and node.otherwise:
            ids.append(OTHERWISE)
        for branch_id in ids:
            if (node.id, branch_id) not in connected:
                name = _path_name(node, branch_id)
                issues.append(_issue(node, "unconnected_path", f"{name[:1].upper()}{name[1:]} leads nowhere: "
                                     "contacts who take it stop here", "warning", branch_id=branch_id))
    return issues
