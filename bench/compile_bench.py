"""Benchmark: validate + compile a 1,000-node campaign (target < 100 ms).

Run: ``.venv/bin/python bench/compile_bench.py [--nodes 1000] [--runs 7]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import typing as t
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runtime.graphs.compiler import compile_graph  # noqa: E402
from runtime.graphs.graph import CampaignGraph  # noqa: E402
from runtime.graphs.graph import graph_to_json  # noqa: E402
from runtime.graphs.graph import parse_graph  # noqa: E402
from runtime.graphs.validation import StaticRefs  # noqa: E402
from runtime.graphs.validation import validate  # noqa: E402

REFS = StaticRefs(
    pipelines={1: {10, 11, 12, 13, 14, 15}, 2: {100, 105, 110, 115}},
    users={1, 2, 3},
    tags={f"tag{i}" for i in range(20)},
)


def _goal(rng: random.Random, node_id: str) -> dict[str, t.Any]:
    kind = rng.choice(
        ["stage_moved", "tag_applied", "form_submitted", "task_completed", "purchase"]
    )
    configs: dict[str, dict[str, t.Any]] = {
        "stage_moved": {
            "pipeline_id": 1,
            "stage_id": rng.choice([10, 11, 12]),
            "direction": "into",
        },
        "tag_applied": {"tag": f"tag{rng.randrange(20)}"},
        "form_submitted": {"form": f"form{rng.randrange(30)}"},
        "task_completed": {"title_contains": "call"},
        "purchase": {},
    }
    config = configs[kind]
    return {
        "id": node_id,
        "kind": "goal",
        "type": kind,
        "name": f"Goal {node_id}",
        "config": config,
    }


def _steps(rng: random.Random, node_id: str) -> list[dict[str, t.Any]]:
    pool: list[tuple[str, dict[str, t.Any]]] = [
        (
            "delay",
            {
                "amount": 2,
                "unit": "days",
                "window": {"weekdays": [0, 1, 2, 3, 4], "start_hour": 9, "end_hour": 17},
            },
        ),
        (
            "send_email",
            {
                "subject": "Hi {{contact.first_name}}",
                "body": "Hello {{contact.first_name}}, from {{owner.name}}",
            },
        ),
        (
            "create_task",
            {"title": "Call {{contact.first_name}}", "assignee": "owner", "due_in_days": 1},
        ),
        ("apply_tag", {"tag": f"tag{rng.randrange(20)}"}),
        ("create_note", {"body": "Followed up"}),
        ("move_opportunity", {"stage_id": 12}),
        ("http_post", {"url": "https://example.com/hook", "json": {"id": "{{contact.email}}"}}),
    ]
    chosen = [rng.choice(pool) for _ in range(rng.randint(3, 5))]
    return [
        {"id": f"{node_id}-{i}", "type": kind, "config": cfg}
        for i, (kind, cfg) in enumerate(chosen)
    ]


def make_campaign(
    nodes: int = 1000, edges: int = 1200, seed: int = 7, window: int = 60
) -> dict[str, t.Any]:
    """Return a valid campaign JSON: ~40 % goals, the rest sequences, a DAG of ``edges`` edges."""
    rng = random.Random(seed)
    kinds = ["goal"] * 20 + [
        "goal" if rng.random() < 0.4 else "sequence" for _ in range(nodes - 20)
    ]
    out_nodes: list[dict[str, t.Any]] = []
    for i, kind in enumerate(kinds):
        node_id = f"n{i:04d}"
        if kind == "goal":
            out_nodes.append(_goal(rng, node_id))
        else:
            out_nodes.append(
                {
                    "id": node_id,
                    "kind": "sequence",
                    "name": f"Seq {node_id}",
                    "steps": _steps(rng, node_id),
                }
            )
    pairs: set[tuple[int, int]] = set()

    def allowed(a: int, b: int) -> bool:
        return not (kinds[a] == "goal" and kinds[b] == "goal")

    # Every sequence, and 60 % of the later goals, get one predecessor.
    for j in range(20, nodes):
        if kinds[j] == "goal" and rng.random() < 0.4:
            continue  # an extra entry goal
        candidates = [i for i in range(max(0, j - window), j) if allowed(i, j)]
        if not candidates:
            continue  # a goal after only goals: another entry goal
        pairs.add((rng.choice(candidates), j))
    while len(pairs) < edges:
        j = rng.randrange(21, nodes)
        i = rng.randrange(max(0, j - window), j)
        if allowed(i, j):
            pairs.add((i, j))
    out_edges = [{"source": f"n{i:04d}", "target": f"n{j:04d}"} for i, j in sorted(pairs)]
    return {"nodes": out_nodes, "edges": out_edges}


def _time(fn: t.Callable[[], object], runs: int) -> float:
    fn()  # warm-up: first-call caches (pydantic, regex) are not what we measure
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    """Print validate/compile medians for a generated campaign."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--edges", type=int, default=1200)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    data = make_campaign(args.nodes, args.edges)
    graph: CampaignGraph = parse_graph(data)
    result = validate(graph, REFS)
    if result.errors:
        raise SystemExit(f"generated graph is invalid: {result.errors[:3]}")
    steps = sum(len(n.get("steps", [])) for n in data["nodes"])
    print(f"campaign: {len(data['nodes'])} nodes, {len(data['edges'])} edges, {steps} steps")

    t_parse = _time(lambda: parse_graph(data), args.runs)
    t_validate = _time(lambda: validate(graph, REFS), args.runs)
    t_compile = _time(lambda: compile_graph(graph), args.runs)
    t_both = _time(lambda: (validate(graph, REFS), compile_graph(graph)), args.runs)
    compiled = compile_graph(graph)
    t_dump = _time(lambda: compiled.to_json(), args.runs)
    t_load = _time(lambda: type(compiled).from_json(compiled.to_json()), args.runs)
    t_export = _time(lambda: graph_to_json(graph), args.runs)
    print(f"parse_graph          {t_parse:7.1f} ms")
    print(f"validate             {t_validate:7.1f} ms")
    print(f"compile_graph        {t_compile:7.1f} ms")
    print(f"validate + compile   {t_both:7.1f} ms   (target < 100 ms)")
    print(f"compiled to_json     {t_dump:7.1f} ms")
    print(f"compiled round trip  {t_load:7.1f} ms")
    print(f"graph_to_json        {t_export:7.1f} ms")


if __name__ == "__main__":
    main()
