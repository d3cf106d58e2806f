"""Server-side auto layout: columns by topological generation, notes kept where they are."""

from __future__ import annotations

import importlib.util

import networkx as nx

from runtime.graphs.graph import CampaignGraph
from runtime.graphs.graph import Position
from runtime.graphs.graph import flow_digraph

COLUMN_WIDTH = 380  # a 240 px node and 140 px for the edge (arrowheads clear of the handles)
ROW_HEIGHT = 200
MARGIN = 40


def _layers(flow: nx.DiGraph[str]) -> list[list[str]]:
    """Return topological generations (cycles collapsed), each ordered to limit crossings."""
    cond = nx.condensation(flow)
    members: dict[int, list[str]] = {c: sorted(cond.nodes[c]["members"]) for c in cond.nodes}
    layers: list[list[str]] = []
    row_of: dict[str, float] = {}
    for generation in nx.topological_generations(cond):
        layer = [n for c in sorted(generation, key=lambda c: members[c][0]) for n in members[c]]

        # Barycentre ordering: place a node near the rows of its predecessors.
        def rank(n: str) -> tuple[float, str]:
            rows = [row_of[p] for p in flow.predecessors(n) if p in row_of]
            return (sum(rows) / len(rows) if rows else float("inf"), n)

        layer.sort(key=rank)
        for index, n in enumerate(layer):
            row_of[n] = index
        layers.append(layer)
    return layers


def _grid(layers: list[list[str]]) -> dict[str, tuple[float, float]]:
    """Return multipartite coordinates in grid units, shifted so the minimum is (0, 0)."""
    width = len(layers)
    raw: dict[str, tuple[float, float]]
    # multipartite_layout needs numpy, which is not one of our dependencies;
    # without it, do the same arithmetic by hand.
    if importlib.util.find_spec("numpy") is not None:
        lg: nx.Graph[str] = nx.Graph()
        lg.add_nodes_from(n for layer in layers for n in layer)
        # A {layer: [nodes]} dict keeps our row order (a subset attribute
        # would be grouped through sets, losing it).
        pos = nx.multipartite_layout(lg, subset_key=dict(enumerate(layers)))
        raw = {n: (float(p[0]), float(p[1])) for n, p in pos.items()}
        # The layout is recentred and uniformly rescaled: recover one grid unit
        # from the column spacing (or, with one column, the row spacing).
        tallest = max(layers, key=len)
        if width > 1:
            unit = (raw[layers[1][0]][0] - raw[layers[0][0]][0]) or 1.0
        elif len(tallest) > 1:
            unit = (raw[tallest[1]][1] - raw[tallest[0]][1]) or 1.0
        else:
            unit = 1.0
        raw = {n: (x / unit, y / unit) for n, (x, y) in raw.items()}
    else:
        raw = {
            n: (float(index), row - (len(layer) - 1) / 2)
            for index, layer in enumerate(layers)
            for row, n in enumerate(layer)
        }
    min_x = min(x for x, _ in raw.values())
    min_y = min(y for _, y in raw.values())
    return {n: (round(x - min_x, 6), round(y - min_y, 6)) for n, (x, y) in raw.items()}


def layout_graph(graph: CampaignGraph) -> CampaignGraph:
    """Return a copy of ``graph`` with goals and sequences laid out left to right.

    Columns are ``nx.topological_generations`` (cycles are collapsed first so
    drafts can be laid out too); rows follow ``nx.multipartite_layout``,
    centred per column. Notes keep their positions.
    """
    flow = flow_digraph(graph)
    if flow.number_of_nodes() == 0:
        return graph.model_copy(deep=True)
    grid = _grid(_layers(flow))
    nodes = []
    for node in graph.nodes:
        copy = node.model_copy(deep=True)
        if node.id in grid and node.kind != "note":
            x, y = grid[node.id]
            copy.position = Position(
                x=round(MARGIN + x * COLUMN_WIDTH),
                y=round(MARGIN + y * ROW_HEIGHT),
            )
        nodes.append(copy)
    return graph.model_copy(update={"nodes": nodes}, deep=True)
