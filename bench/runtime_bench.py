"""Benchmark the runtime: (a) steps/s on SQLite, (b) stage save → first step committed latency.

Prints figures; asserts nothing.  Targets: ≥ 10,000 steps/s and p99 < 50 ms.

(a) enrolls N contacts through an entry goal (tag_applied, via the real
    apply_tag service, so each enrollment is an event matched against the goal
    index) into a sequence apply_tag → create_task → create_note, then runs the
    executor (`run_due`, batch after batch, as the tick does) to completion.
(b) starts the real web app with its embedded runtime (`stagecraft serve`) on
    a loopback port, and 1,000 times PATCHes an opportunity into a stage
    whose "moved into" goal starts a sequence whose first step is create_note;
    the latency is from sending the PATCH to the note being visible in the
    database (a read-only SQLite connection polls every 0.5 ms).

Run: ``.venv/bin/python bench/runtime_bench.py [--n 100000] [--saves 1000]``
``[--only a|b] [--profile] [--database-url postgresql://…/scratch]``. The bulk side (bulk tags,
imports, a 1M end-to-end run) is measured by ``bench/bulk_bench.py``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import sys
import tempfile
import threading
import time
import typing as t
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy import select  # noqa: E402
from stage_latency_bench import bench_latency  # noqa: E402

import runtime  # noqa: E402
from models import Contact  # noqa: E402
from models import Note  # noqa: E402
from models import SequenceRun  # noqa: E402
from models import Task  # noqa: E402
from models import contacts  # noqa: E402
from models.access import Actor  # noqa: E402
from models.db import make_engine  # noqa: E402
from models.db import make_session_factory  # noqa: E402
from models.db import transaction  # noqa: E402
from models.db import upgrade  # noqa: E402
from runtime import campaigns  # noqa: E402
from runtime import publishing  # noqa: E402
from runtime.config import RuntimeConfig  # noqa: E402
from runtime.execution import step_loop  # noqa: E402

ADMIN = Actor(user_id=None, role="admin")


class RssSampler:
    """Samples this process's RSS every 20 ms and keeps the peak."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def mib(n: float) -> str:
    """Bytes as MiB."""
    return f"{n / 1048576:.0f} MiB"


def graph_a() -> dict[str, t.Any]:
    """Entry goal tag 'go' → apply_tag → create_task → create_note."""
    return {
        "nodes": [
            {
                "id": "g1",
                "kind": "goal",
                "type": "tag_applied",
                "name": "Tagged go",
                "config": {"tag": "go"},
                "position": {"x": 0, "y": 0},
            },
            {
                "id": "s1",
                "kind": "sequence",
                "name": "Welcome",
                "position": {"x": 200, "y": 0},
                "steps": [
                    {"id": "t1", "type": "apply_tag", "config": {"tag": "welcomed"}},
                    {
                        "id": "t2",
                        "type": "create_task",
                        "config": {
                            "title": "Call {{contact.first_name}}",
                            "assignee": "owner",
                            "due_in_days": 1,
                        },
                    },
                    {
                        "id": "t3",
                        "type": "create_note",
                        "config": {"body": "Welcomed {{contact.first_name}}"},
                    },
                ],
            },
        ],
        "edges": [{"source": "g1", "target": "s1"}],
    }


def bench_steps(n: int, batch_size: int, profile: bool, workdir: Path, database_url: str | None = None) -> None:
    """(a): enroll n contacts, run the executor to completion, print steps/s and RSS."""
    db_path = workdir / "bench_a.db"
    url = database_url or f"sqlite:///{db_path}"
    if url.startswith("postgresql"):  # a scratch database: its public schema is rebuilt
        from sqlalchemy import text

        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        admin.dispose()
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    config = RuntimeConfig(database_url=url, smtp_url=None, redis_url=None, batch_size=batch_size)
    where = "PostgreSQL" if url.startswith("postgresql") else f"SQLite ({db_path})"
    print(f"(a) steps/s on {where}, N={n:,}, batch {batch_size}")

    with transaction(factory) as session:
        for tag in ("go", "welcomed"):
            contacts.ensure_tag(session, tag)
    with transaction(factory) as session:
        campaign = campaigns.create_campaign(session, ADMIN, "Bench", graph_a())
        publishing.publish(session, ADMIN, campaign.id)

    t0 = time.perf_counter()
    chunk = 5000
    with transaction(factory) as session:
        for start in range(0, n, chunk):
            session.execute(
                insert(Contact),
                [
                    {
                        "email": f"c{i}@example.com",
                        "first_name": f"F{i}",
                        "last_name": "L",
                        "fields": {},
                    }
                    for i in range(start, min(n, start + chunk))
                ],
            )
    with factory() as session:
        ids = list(session.scalars(select(Contact.id).order_by(Contact.id)))
    t1 = time.perf_counter()
    print(f"    contacts inserted: {len(ids):,} in {t1 - t0:.1f} s (bulk insert, setup only)")

    t0 = time.perf_counter()
    c0 = time.process_time()
    for start in range(0, len(ids), 1000):
        with transaction(factory) as session:
            for cid in ids[start : start + 1000]:
                contacts.apply_tag(session, ADMIN, cid, "go")
    t1 = time.perf_counter()
    enroll_cpu = time.process_time() - c0
    with factory() as session:
        runs = int(session.scalar(select(func.count()).select_from(SequenceRun)) or 0)
    print(
        f"    enrolled through the entry goal: {runs:,} runs in {t1 - t0:.1f} s "
        f"({runs / (t1 - t0):,.0f} enrollments/s, {runs / enroll_cpu:,.0f} per CPU-second; "
        f"1,000 per transaction, each through contacts.apply_tag → events.record → dispatch → decide → apply)"
    )

    rss_before = psutil.Process().memory_info().rss
    profiler = cProfile.Profile() if profile else None
    with RssSampler() as sampler:
        t0 = time.perf_counter()
        c0 = time.process_time()
        if profiler:
            profiler.enable()
        processed = 0
        while True:
            got = step_loop.run_due(factory, worker_id="bench", config=config)
            processed += got
            if got == 0:
                break
        if profiler:
            profiler.disable()
        t1 = time.perf_counter()
        cpu = time.process_time() - c0
    with factory() as session:
        steps_tasks = int(session.scalar(select(func.count()).select_from(Task)) or 0)
        steps_notes = int(session.scalar(select(func.count()).select_from(Note)) or 0)
        done = int(
            session.scalar(select(func.count()).where(SequenceRun.status == "completed")) or 0
        )
    steps = 3 * done
    elapsed = t1 - t0
    print(
        f"    executed: {processed:,} runs, {done:,} completed, "
        f"tasks {steps_tasks:,}, notes {steps_notes:,}"
    )
    print(
        f"    STEPS/S: {steps / elapsed:,.0f}  ({steps:,} steps in {elapsed:.2f} s; "
        f"{done / elapsed:,.0f} runs/s)   target >= 10,000"
    )
    print(
        f"    per CPU-second: {steps / cpu:,.0f} steps ({cpu:.2f} s CPU of this process; "
        f"wall/CPU {elapsed / cpu:.2f}, >1 means the machine was busy or we waited on I/O)"
    )
    print(
        f"    RSS: {mib(rss_before)} before execution, peak {mib(sampler.peak)} during it; "
        f"process peak (ru_maxrss) {mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)}"
    )
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
        stats.print_stats(35)
        print("    --- cProfile of the execution phase (cumulative) ---")
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print("    --- cProfile of the execution phase (own time) ---")
        print(out.getvalue())
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="contacts for (a) (default 100000)")
    parser.add_argument("--batch-size", type=int, default=RuntimeConfig().batch_size,
                        help="executor batch size for (a) (default: the runtime's own)")
    parser.add_argument(
        "--saves", type=int, default=1000, help="stage saves for (b) (default 1000)"
    )
    parser.add_argument("--only", choices=["a", "b"], help="run one part only")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the execution phase of (a)"
    )
    parser.add_argument("--spy-server", metavar="PY_SPY", help="profile the (b) server with py-spy")
    parser.add_argument("--workdir", type=Path, help="where the databases go (default: a temp dir)")
    parser.add_argument("--database-url", help="(a) on this database instead of SQLite: a scratch PostgreSQL "
                                               "database, whose public schema is DROPPED and rebuilt")
    args = parser.parse_args(argv)
    runtime.install()
    import logging

    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="stagecraft-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        version = sys.version.split()[0]
        print(f"python {version}, {os.cpu_count()} CPUs, load {load}, workdir {workdir}")
        if args.only in (None, "a"):
            bench_steps(args.n, args.batch_size, args.profile, workdir, args.database_url)
        if args.only in (None, "b"):
            bench_latency(args.saves, workdir, args.spy_server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
