"""The validation checks: small pure rules over a campaign graph (style B6.5).

Each check is ``check(ctx) -> list[Issue]``; `runtime.graphs.validation.RULES`
runs them in order. Messages name fields by their canvas labels, in plain words.
"""

from __future__ import annotations

import typing as t
from dataclasses import replace

import networkx as nx
from pydantic import BaseModel
from pydantic import ValidationError

from runtime.graphs.catalog import GOAL_TYPES
from runtime.graphs.catalog import STEP_TYPES
from runtime.graphs.catalog.base import NodeType
from runtime.graphs.catalog.issues import Issue
from runtime.graphs.merge import unknown_merge_fields
from runtime.graphs.validation_context import ParsedConfig
from runtime.graphs.validation_context import ValidationContext


def _err(node_id: str | None, step_id: str | None, code: str, message: str) -> Issue:
    return Issue(node_id, step_id, code, message, "error")


def _warn(node_id: str | None, step_id: str | None, code: str, message: str) -> Issue:
    return Issue(node_id, step_id, code, message, "warning")


# --- structure ---------------------------------------------------------------


def unique_ids(ctx: ValidationContext) -> list[Issue]:
    """Node ids are unique; step ids are unique across the whole graph."""
    issues: list[Issue] = []
    seen_nodes: set[str] = set()
    for node in ctx.graph.nodes:
        if node.id in seen_nodes:
            issues.append(_err(node.id, None, "duplicate_id", f"node id {node.id!r} is used twice"))
        seen_nodes.add(node.id)
    seen_steps: dict[str, str] = {}
    for seq, step in ctx.steps():
        if step.id in seen_steps:
            where = seen_steps[step.id]
            issues.append(
                _err(
                    seq.id,
                    step.id,
                    "duplicate_id",
                    f"step id {step.id!r} is also used in {where!r}",
                )
            )
        else:
            seen_steps[step.id] = seq.id
    return issues


def no_dangling_edges(ctx: ValidationContext) -> list[Issue]:
    """Both ends of every edge exist."""
    issues = []
    for edge in ctx.graph.edges:
        missing = [end for end in (edge.source, edge.target) if end not in ctx.nodes]
        if missing:
            present = edge.source if edge.source in ctx.nodes else None
            issues.append(
                _err(
                    present,
                    None,
                    "dangling_edge",
                    f"edge {edge.source} → {edge.target} points to missing node {missing[0]!r}",
                )
            )
    return issues


_ALLOWED_EDGES = {("goal", "sequence"), ("sequence", "goal"), ("sequence", "sequence")}


def edges_join_allowed_kinds(ctx: ValidationContext) -> list[Issue]:
    """Edges run goal→sequence, sequence→goal or sequence→sequence only."""
    issues = []
    for edge in ctx.graph.edges:
        src, dst = ctx.nodes.get(edge.source), ctx.nodes.get(edge.target)
        if src is None or dst is None:
            continue  # reported by no_dangling_edges
        if (src.kind, dst.kind) not in _ALLOWED_EDGES:
            issues.append(
                _err(
                    src.id,
                    None,
                    "bad_edge",
                    f"a {src.kind} cannot connect to a {dst.kind} ({src.id} → {dst.id})",
                )
            )
    return issues


def no_cycles(ctx: ValidationContext) -> list[Issue]:
    """The goal/sequence graph is acyclic; one issue per cycle cluster."""
    issues = []
    for component in nx.strongly_connected_components(ctx.flow):
        first = min(component)
        if len(component) == 1 and not ctx.flow.has_edge(first, first):
            continue
        cycle = nx.find_cycle(ctx.flow.subgraph(component), source=first)
        path = [u for u, _v in cycle] + [cycle[0][0]]
        issues.append(_err(first, None, "cycle", "cycle: " + " → ".join(path)))
    return sorted(issues, key=lambda i: i.node_id or "")


def has_entry_goal(ctx: ValidationContext) -> list[Issue]:
    """At least one goal has no incoming edge (it enrolls contacts)."""
    if ctx.entry_goals:
        return []
    return [_err(None, None, "no_entry_goal", "no entry goal: add a goal with no incoming edge")]


def sequences_reachable(ctx: ValidationContext) -> list[Issue]:
    """Every sequence can be reached from some entry goal."""
    reached: set[str] = set()
    frontier = list(ctx.entry_goals)
    while frontier:  # one BFS from all entry goals at once
        node = frontier.pop()
        if node in reached:
            continue
        reached.add(node)
        frontier.extend(ctx.flow.successors(node))
    seen: set[str] = set()
    issues = []
    for seq in ctx.sequences:
        if seq.id not in reached and seq.id not in seen:
            issues.append(
                _err(
                    seq.id,
                    None,
                    "unreachable",
                    f"sequence {seq.name or seq.id!r} is not reachable from an entry goal",
                )
            )
        seen.add(seq.id)
    return issues


# --- types and configs -------------------------------------------------------


def known_types(ctx: ValidationContext) -> list[Issue]:
    """Every goal and step type is in the catalog."""
    issues = []
    for goal in ctx.goals:
        if goal.type not in GOAL_TYPES:
            issues.append(_err(goal.id, None, "unknown_type", f"unknown goal type {goal.type!r}"))
    for seq, step in ctx.steps():
        if step.type not in STEP_TYPES:
            issues.append(_err(seq.id, step.id, "unknown_type", f"unknown step type {step.type!r}"))
    return issues


def _config_errors(
    node_id: str, step_id: str | None, kind: NodeType[t.Any], config: dict[str, t.Any]
) -> tuple[list[Issue], BaseModel | None]:
    try:
        return [], kind.parse(config)
    except ValidationError as exc:
        issues = []
        for err in exc.errors(include_url=False, include_input=False):
            where = ".".join(str(p) for p in err["loc"]) or "config"
            issues.append(_err(node_id, step_id, "invalid_config", f"{where}: {err['msg']}"))
        return issues, None


def configs_valid(ctx: ValidationContext) -> list[Issue]:
    """Every config is complete and well typed per its type's Config schema."""
    issues: list[Issue] = []
    for goal in ctx.goals:
        goal_kind = GOAL_TYPES.get(goal.type)
        if goal_kind is not None:
            found, parsed = _config_errors(goal.id, None, goal_kind, goal.config)
            issues += found
            if parsed is not None:
                ctx.parsed.append(ParsedConfig(goal.id, None, goal_kind, parsed))
    for seq, step in ctx.steps():
        step_kind = STEP_TYPES.get(step.type)
        if step_kind is not None:
            found, parsed = _config_errors(seq.id, step.id, step_kind, step.config)
            issues += found
            if parsed is not None:
                ctx.parsed.append(ParsedConfig(seq.id, step.id, step_kind, parsed))
    return issues


def _located(p: ParsedConfig, found: list[Issue]) -> list[Issue]:
    if not found:
        return found
    return [replace(i, node_id=p.node_id, step_id=p.step_id) for i in found]


def config_values_sane(ctx: ValidationContext) -> list[Issue]:
    """Type-specific checks beyond the schema (e.g. http(s) URLs → ``invalid_url``)."""
    return [i for p in ctx.parsed for i in _located(p, p.kind.check_values(p.config))]


def references_exist(ctx: ValidationContext) -> list[Issue]:
    """Referenced pipelines, stages (in their pipeline), users and tags exist."""
    return [i for p in ctx.parsed for i in _located(p, p.kind.check_refs(p.config, ctx.refs))]


def merge_fields_known(ctx: ValidationContext) -> list[Issue]:
    """Merge fields in emails, tasks, notes, messages and posts are known."""
    issues = []
    for p in ctx.parsed:
        for field_name, text in p.kind.merge_texts(p.config):
            for name in unknown_merge_fields(text):
                issues.append(
                    _err(
                        p.node_id,
                        p.step_id,
                        "unknown_merge_field",
                        f"{field_name}: unknown merge field {{{{{name}}}}}",
                    )
                )
    return issues


# --- warnings ----------------------------------------------------------------


def sequences_not_empty(ctx: ValidationContext) -> list[Issue]:
    """A sequence without steps does nothing (warning)."""
    return [
        _warn(s.id, None, "empty_sequence", f"sequence {s.name or s.id!r} has no steps")
        for s in ctx.sequences
        if not s.steps
    ]


def no_email_bursts(ctx: ValidationContext) -> list[Issue]:
    """Two emails without a timer between them arrive together (warning)."""
    issues = []
    for seq in ctx.sequences:
        previous_email: str | None = None
        for step in seq.steps:
            kind = STEP_TYPES.get(step.type)
            if kind is not None and kind.kind == "timer":
                previous_email = None
            elif step.type == "send_email":
                if previous_email is not None:
                    issues.append(
                        _warn(
                            seq.id,
                            step.id,
                            "email_burst",
                            f"email {step.id!r} follows email {previous_email!r} "
                            "with no delay between",
                        )
                    )
                previous_email = step.id
    return issues


def goals_lead_somewhere(ctx: ValidationContext) -> list[Issue]:
    """A goal with nothing after it only stops sequences (warning)."""
    return [
        _warn(g.id, None, "dead_end_goal", f"goal {g.name or g.id!r} has nothing after it")
        for g in ctx.goals
        if g.id in ctx.flow and ctx.flow.out_degree(g.id) == 0
    ]


#: Rules in the order they run; ``configs_valid`` must precede the rules that
#: read ``ctx.parsed``.
