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
from runtime.graphs.catalog.messages import config_error
from runtime.graphs.catalog.messages import merge_field_message
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
            issues.append(_err(node.id, None, "duplicate_id", f"Two nodes share the id “{node.id}”: give one a new id"))
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
                    f"Step id “{step.id}” is also used in {ctx.title(where)}: give one a new id",
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
                    f"A connection points to a node that no longer exists (“{missing[0]}”): remove it",
                )
            )
    return issues


_BRANCHING = ("decision", "split")
#: What may follow what (DESIGN.md §2 and §6.2): decisions and splits follow a goal, a sequence or
#: another decision or split, and lead to sequences, decisions or splits.
_ALLOWED_EDGES = frozenset(
    {("goal", "sequence"), ("sequence", "goal"), ("sequence", "sequence")}
    | {(src, dst) for src in ("goal", "sequence", *_BRANCHING) for dst in _BRANCHING}
    | {(src, "sequence") for src in _BRANCHING}
)


def _bad_edge_message(src: str, dst: str) -> str:
    if src == "goal" and dst == "goal":
        return "A goal can't lead straight to another goal: put a sequence between them"
    if src in _BRANCHING:
        return f"A {src}'s paths lead to sequences, decisions or splits, not to a {dst}: connect a sequence"
    return f"A {src} can't connect to a {dst}"


def edges_join_allowed_kinds(ctx: ValidationContext) -> list[Issue]:
    """Edges run goal→sequence, sequence→goal, sequence→sequence, into and out of decisions and splits."""
    issues = []
    for edge in ctx.graph.edges:
        src, dst = ctx.nodes.get(edge.source), ctx.nodes.get(edge.target)
        if src is None or dst is None:
            continue  # reported by no_dangling_edges
        if (src.kind, dst.kind) not in _ALLOWED_EDGES:
            issues.append(_err(src.id, None, "bad_edge", f"{_bad_edge_message(src.kind, dst.kind)} "
                                                         f"({ctx.title(src.id)} → {ctx.title(dst.id)})"))
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
        loop = " → ".join(ctx.title(n) for n in path)
        issues.append(_err(first, None, "cycle", f"These connections make a loop ({loop}): campaigns flow one "
                                                 "way, so remove one of them"))
    return sorted(issues, key=lambda i: i.node_id or "")


def has_entry_goal(ctx: ValidationContext) -> list[Issue]:
    """At least one goal has no incoming edge (it enrolls contacts)."""
    if ctx.entry_goals:
        return []
    return [_err(None, None, "no_entry_goal",
                 "Add a goal with nothing before it: achieving it is how contacts enter the campaign")]


def sequences_reachable(ctx: ValidationContext) -> list[Issue]:
    """Every sequence, decision and split can be reached from some entry goal."""
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
    for target in [*ctx.sequences, *ctx.branching()]:
        if target.id not in reached and target.id not in seen:
            issues.append(_err(target.id, None, "unreachable",
                               f"No contact can reach {ctx.title(target.id)}: connect it after a goal, a sequence "
                               "or a decision"))
        seen.add(target.id)
    return issues


# --- types and configs -------------------------------------------------------


def known_types(ctx: ValidationContext) -> list[Issue]:
    """Every goal and step type is in the catalog."""
    issues = []
    for goal in ctx.goals:
        if goal.type not in GOAL_TYPES:
            issues.append(_err(goal.id, None, "unknown_type",
                               f"“{goal.type}” is not a goal this version knows: replace the goal"))
    for seq, step in ctx.steps():
        if step.type not in STEP_TYPES:
            issues.append(_err(seq.id, step.id, "unknown_type",
                               f"“{step.type}” is not a step this version knows: replace the step"))
    return issues


def _config_errors(
    node_id: str, step_id: str | None, kind: NodeType[t.Any], config: dict[str, t.Any]
) -> tuple[list[Issue], BaseModel | None]:
    try:
        return [], kind.parse(config)
    except ValidationError as exc:
        issues = []
        seen: set[str] = set()
        for err in exc.errors(include_url=False, include_input=False):
            key, message = config_error(kind.Config, err, "step" if step_id else "goal")
            if key in seen:
                continue  # one message per field (a union reports one error per alternative)
            seen.add(key)
            issues.append(Issue(node_id, step_id, "invalid_config", message, "error", field=key or None))
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
                issues.append(Issue(p.node_id, p.step_id, "unknown_merge_field",
                                    merge_field_message(p.kind.Config, field_name, name), "error",
                                    field=field_name))
    return issues


# --- warnings ----------------------------------------------------------------


def sequences_not_empty(ctx: ValidationContext) -> list[Issue]:
    """A sequence without steps does nothing (warning)."""
    return [
        _warn(s.id, None, "empty_sequence", f"{ctx.title(s.id)} has no steps yet: add one, or remove the sequence")
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
                            "This email follows another email with no delay between them: add a Delay "
                            "step so they don't arrive together",
                        )
                    )
                previous_email = step.id
    return issues


def goals_lead_somewhere(ctx: ValidationContext) -> list[Issue]:
    """A goal with nothing after it only stops sequences (warning)."""
    return [
        _warn(g.id, None, "dead_end_goal", f"Nothing follows {ctx.title(g.id)}: achieving it only stops the "
                                           "sequences before it. Connect what contacts do next")
        for g in ctx.goals
        if g.id in ctx.flow and ctx.flow.out_degree(g.id) == 0
    ]


#: Rules in the order they run; ``configs_valid`` must precede the rules that
#: read ``ctx.parsed``.
