"""Campaign graphs with decisions and splits, shared by the graph, runtime and API tests."""

from __future__ import annotations

import typing as t


def goal(node_id: str, tag: str, name: str = "") -> dict[str, t.Any]:
    """A tag-applied goal."""
    return {"id": node_id, "kind": "goal", "type": "tag_applied", "name": name or node_id, "config": {"tag": tag}}


def seq(node_id: str, *tags: str, name: str = "") -> dict[str, t.Any]:
    """A sequence applying `tags` (one step each), or waiting a day when none."""
    steps = [{"id": f"{node_id}_{i}", "type": "apply_tag", "config": {"tag": tag}} for i, tag in enumerate(tags)]
    if not tags:
        steps = [{"id": f"{node_id}_wait", "type": "delay", "config": {"amount": 1, "unit": "days"}}]
    return {"id": node_id, "kind": "sequence", "name": name or node_id, "steps": steps}


def edge(source: str, target: str, branch: str | None = None) -> dict[str, t.Any]:
    """An edge (from a path when `branch` is given)."""
    out: dict[str, t.Any] = {"source": source, "target": target}
    if branch is not None:
        out["branch"] = branch
    return out


VIP_RULES: dict[str, t.Any] = {"all": [{"field": "tags", "op": "has", "value": "vip"}]}
BIG_RULES: dict[str, t.Any] = {"any": [{"field": "opportunity.value", "op": "gte", "value": 10000},
                                       {"field": "contact.fields.company_size", "op": "gte", "value": 500}]}


def decision(node_id: str = "d1", *, mode: str = "first", otherwise: bool = True,
             branches: list[dict[str, t.Any]] | None = None, name: str = "VIP?") -> dict[str, t.Any]:
    """The DESIGN.md §6.2 decision: VIP (tag), Big deal (value or company size), Otherwise."""
    if branches is None:
        branches = [{"id": "vip", "label": "VIP", "rules": VIP_RULES},
                    {"id": "big", "label": "Big deal", "rules": BIG_RULES}]
    return {"id": node_id, "kind": "decision", "name": name, "mode": mode, "branches": branches,
            "otherwise": otherwise}


def split(node_id: str = "x1", weights: tuple[int, ...] = (50, 50), name: str = "A/B") -> dict[str, t.Any]:
    """A split with paths a, b, c… weighted as given."""
    ids = "abcdefgh"
    return {"id": node_id, "kind": "split", "name": name,
            "branches": [{"id": ids[i], "label": ids[i].upper(), "weight": w} for i, w in enumerate(weights)]}


def vip_graph(*, mode: str = "first", otherwise: bool = True) -> dict[str, t.Any]:
    """g_lead (tag "lead") → d1 (VIP? / Big deal? / Otherwise) → s_vip, s_big, s_rest.

    Each sequence applies a tag naming it ("went-vip", …), so tests see where a contact went.
    """
    nodes = [goal("g_lead", "lead", "Lead tagged"), decision(mode=mode, otherwise=otherwise),
             seq("s_vip", "went-vip", name="VIP welcome"), seq("s_big", "went-big", name="Big deal"),
             seq("s_rest", "went-rest", name="Everyone else")]
    edges = [edge("g_lead", "d1"), edge("d1", "s_vip", "vip"), edge("d1", "s_big", "big")]
    if otherwise:
        edges.append(edge("d1", "s_rest", "otherwise"))
    else:
        nodes.pop()
    return {"nodes": nodes, "edges": edges}


def split_graph(weights: tuple[int, ...] = (50, 50)) -> dict[str, t.Any]:
    """g_ab (tag "ab") → x1 split → s_a, s_b, … (each applies "went-<id>")."""
    ids = "abcdefgh"[: len(weights)]
    return {"nodes": [goal("g_ab", "ab", "A/B entry"), split(weights=weights),
                      *[seq(f"s_{i}", f"went-{i}") for i in ids]],
            "edges": [edge("g_ab", "x1"), *[edge("x1", f"s_{i}", i) for i in ids]]}


TAGS = ("lead", "ab", "vip", "went-vip", "went-big", "went-rest", "went-a", "went-b", "went-c", "after")
