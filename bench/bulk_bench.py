"""Benchmark contacts at scale (issue #13): single events, bulk tags, CSV import, and a 1M end-to-end run.

Prints figures; asserts nothing. Targets (issue #13):
    single   one tag per call through models.contacts.apply_tag, 1,000 per transaction  ≥ 2,000 events/s
    bulk     bulk tag → enrolled (apply_tag_many, 5,000 per transaction)                 ≥ 20,000/s SQLite, ≥ 10,000/s PostgreSQL
             then the same through a bulk-tag job over a segment, and the steps executed
    import   CSV rows into contacts through the import job                              ≥ 20,000 rows/s on SQLite
    e2e      N contacts imported, bulk-tagged (a job over a segment), enrolled and through a 3-step sequence
             (apply_tag → create_task → create_note)                                     < 5 minutes, peak RSS < 1 GiB

Every part starts from an empty database: a SQLite file in the work folder, or — with
``--database-url postgresql://…/scratch`` — that database, whose public schema is DROPPED and rebuilt.

Run: ``.venv/bin/python bench/bulk_bench.py [--only single,bulk,import,e2e] [--n 100000] [--e2e-n 1000000]``
``[--database-url URL] [--workdir DIR]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from runtime_bench import ADMIN  # noqa: E402
from runtime_bench import RssSampler  # noqa: E402
from runtime_bench import graph_a  # noqa: E402
from runtime_bench import mib  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

import runtime  # noqa: E402
from models import Contact  # noqa: E402
from models import Enrollment  # noqa: E402
from models import SequenceRun  # noqa: E402
from models import contacts  # noqa: E402
from models.db import make_engine  # noqa: E402
from models.db import make_session_factory  # noqa: E402
from models.db import transaction  # noqa: E402
from models.db import upgrade  # noqa: E402
from runtime import campaigns  # noqa: E402
from runtime import publishing  # noqa: E402
from runtime import segments  # noqa: E402
from runtime.config import RuntimeConfig  # noqa: E402
from runtime.execution import cache  # noqa: E402
from runtime.execution import step_loop  # noqa: E402
from runtime.jobs import bulk  # noqa: E402
from runtime.jobs import imports  # noqa: E402
from runtime.jobs import queue  # noqa: E402
from runtime.jobs import runner  # noqa: E402

CHUNK = 5000


class World:
    """An empty, migrated database with the bench campaign published (entry goal: tag "go")."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            for suffix in ("", "-wal", "-shm"):
                Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        if url.startswith("postgresql"):
            admin = make_engine(url)
            with admin.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            admin.dispose()
        self.engine = make_engine(url)
        upgrade(self.engine)
        cache.clear_caches()
        self.sessions: sessionmaker[Session] = make_session_factory(self.engine)
        with transaction(self.sessions) as session:
            for tag in ("go", "welcomed"):
                contacts.ensure_tag(session, tag)
        with transaction(self.sessions) as session:
            campaign = campaigns.create_campaign(session, ADMIN, f"Bench {name}", graph_a())
            publishing.publish(session, ADMIN, campaign.id)
        self.config = RuntimeConfig(database_url=url, smtp_url=None, redis_url=None)

    def add_contacts(self, n: int) -> list[int]:
        """Insert n bare contacts (setup, not timed); return their ids."""
        with transaction(self.sessions) as session:
            for start in range(0, n, 20000):
                session.execute(insert(Contact), [
                    {"email": f"c{i}@example.com", "first_name": f"F{i}", "last_name": "L", "fields": {}}
                    for i in range(start, min(n, start + 20000))])
        with self.sessions() as session:
            return list(session.scalars(select(Contact.id).order_by(Contact.id)))

    def count(self, model: type) -> int:
        with self.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)

    def run_steps(self) -> tuple[int, float, float]:
        """Execute every due run (the tick's loop); return (runs processed, wall s, CPU s)."""
        t0, c0 = time.perf_counter(), time.process_time()
        processed = 0
        while True:
            got = step_loop.run_due(self.sessions, worker_id="bench", config=self.config)
            processed += got
            if got == 0:
                break
        return processed, time.perf_counter() - t0, time.process_time() - c0

    def close(self) -> None:
        self.engine.dispose()


def rate(n: float, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s" if seconds > 0 else "n/a"


def bench_single(url: str, n: int) -> None:
    world = World(url, "single")
    ids = world.add_contacts(n)
    t0, c0 = time.perf_counter(), time.process_time()
    for start in range(0, len(ids), 1000):
        with transaction(world.sessions) as session:
            for contact_id in ids[start:start + 1000]:
                contacts.apply_tag(session, ADMIN, contact_id, "go")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    runs = world.count(SequenceRun)
    print(f"  single  {runs:,} enrollments from {n:,} single tag events (apply_tag → record → dispatch, 1,000 per "
          f"transaction) in {wall:.1f} s: SINGLE EVENTS {rate(n, wall)} ({rate(n, cpu)} per CPU-second)   "
          f"target >= 2,000/s")
    world.close()


def bench_bulk(url: str, n: int) -> None:
    world = World(url, "bulk")
    ids = world.add_contacts(n)
    t0, c0 = time.perf_counter(), time.process_time()
    for start in range(0, len(ids), CHUNK):
        with transaction(world.sessions) as session:
            contacts.apply_tag_many(session, ADMIN, ids[start:start + CHUNK], "go")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    enrolled = world.count(Enrollment)
    print(f"  bulk    {enrolled:,} enrolled by apply_tag_many ({CHUNK:,} per transaction) in {wall:.1f} s: "
          f"BULK TAG → ENROLLED {rate(enrolled, wall)} ({rate(enrolled, cpu)} per CPU-second)   "
          f"target >= 20,000/s SQLite, >= 10,000/s PostgreSQL")
    processed, wall, cpu = world.run_steps()
    print(f"          then executed {processed:,} runs = {3 * processed:,} steps in {wall:.1f} s: "
          f"STEPS {rate(3 * processed, wall)} ({rate(3 * processed, cpu)} per CPU-second)")
    world.close()
    world = World(url, "bulk job")
    world.add_contacts(n)
    with transaction(world.sessions) as session:
        everyone = segments.create_segment(session, ADMIN, "Everyone",
                                           {"all": [{"field": "contact.email", "op": "contains", "value": "@"}]})
        job_id = bulk.start_bulk_tag(session, ADMIN, "apply_tag", "go", segment_id=everyone.id).id
    t0 = time.perf_counter()
    assert queue.claim_job(world.sessions, "bench", 600, job_id=job_id) == job_id
    runner.run_job(world.sessions, job_id, "bench")
    wall = time.perf_counter() - t0
    enrolled = world.count(Enrollment)
    print(f"          the same as a bulk-tag job over a segment (count, keyset pages, segment SQL each page): "
          f"{enrolled:,} enrolled in {wall:.1f} s, {rate(enrolled, wall)}")
    world.close()


def write_csv(path: Path, n: int) -> float:
    t0 = time.perf_counter()
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("\ufeffEmail;First name;Last name;Company;Plan\n")
        for i in range(n):
            out.write(f"person{i}@example.com;First{i};Last{i};\"Company {i % 977}; Ltd\";{i % 5}\n")
    return time.perf_counter() - t0


def run_import(world: World, path: Path, tags: list[str] | None = None) -> tuple[int, float, float]:
    mapping = {"Email": "email", "First name": "first_name", "Last name": "last_name", "Company": "fields.company",
               "Plan": "fields.plan"}
    with transaction(world.sessions) as session:
        job_id = imports.start_file(session, ADMIN, path, mapping, tags or []).id
    t0, c0 = time.perf_counter(), time.process_time()
    assert queue.claim_job(world.sessions, "bench", 600, job_id=job_id) == job_id
    status = runner.run_job(world.sessions, job_id, "bench")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert status == "done", status
    return job_id, wall, cpu


def bench_import(url: str, n: int, workdir: Path) -> None:
    path = workdir / f"import-{n}.csv"
    write_csv(path, n)
    world = World(url, "import")
    _job, wall, cpu = run_import(world, path)
    created = world.count(Contact)
    print(f"  import  {created:,} contacts from a {path.stat().st_size / 1048576:.0f} MiB CSV in {wall:.1f} s: "
          f"IMPORT {rate(n, wall)} ({rate(n, cpu)} per CPU-second)   target >= 20,000 rows/s on SQLite")
    world.close()


def bench_e2e(url: str, n: int, workdir: Path) -> None:
    path = workdir / f"e2e-{n}.csv"
    made = write_csv(path, n)
    print(f"  e2e     {n:,} rows written to {path.name} ({path.stat().st_size / 1048576:.0f} MiB) in {made:.1f} s "
          "(setup, not timed)")
    world = World(url, "e2e")
    with RssSampler() as sampler:
        t0 = time.perf_counter()
        _job, import_s, _ = run_import(world, path)
        print(f"          1. imported {world.count(Contact):,} contacts in {import_s:.1f} s ({rate(n, import_s)})")
        with transaction(world.sessions) as session:
            everyone = segments.create_segment(session, ADMIN, "Imported",
                                               {"all": [{"field": "contact.fields.plan", "op": "not_empty"}]})
            job_id = bulk.start_bulk_tag(session, ADMIN, "apply_tag", "go", segment_id=everyone.id).id
        t1 = time.perf_counter()
        assert queue.claim_job(world.sessions, "bench", 600, job_id=job_id) == job_id
        runner.run_job(world.sessions, job_id, "bench")
        tag_s = time.perf_counter() - t1
        enrolled = world.count(Enrollment)
        print(f"          2. bulk-tagged the segment, {enrolled:,} enrolled, in {tag_s:.1f} s ({rate(enrolled, tag_s)})")
        processed, steps_s, _cpu = world.run_steps()
        print(f"          3. executed {processed:,} runs = {3 * processed:,} steps in {steps_s:.1f} s "
              f"({rate(3 * processed, steps_s)})")
        total = time.perf_counter() - t0
    done = 0
    with world.sessions() as session:
        done = int(session.scalar(select(func.count()).where(SequenceRun.status == "completed")) or 0)
    print(f"          END TO END {total:.0f} s ({total / 60:.1f} min) for {n:,} contacts, {done:,} sequences "
          f"completed; PEAK RSS {mib(sampler.peak)} (ru_maxrss "
          f"{mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)})   target < 5 min, < 1 GiB")
    world.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="single,bulk,import,e2e", help="comma-separated parts")
    parser.add_argument("--n", type=int, default=100_000, help="contacts for single/bulk/import (single: n/5)")
    parser.add_argument("--e2e-n", type=int, default=1_000_000, help="contacts of the end-to-end run")
    parser.add_argument("--database-url", help="a scratch PostgreSQL database (its public schema is dropped!) "
                                               "or a SQLite URL; default: SQLite files in the work folder")
    parser.add_argument("--workdir", type=Path, help="where CSV files and SQLite databases go (default: temp)")
    args = parser.parse_args(argv)
    runtime.install()
    parts = set(args.only.split(","))
    with tempfile.TemporaryDirectory(prefix="stagecraft-bulk-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load}, "
              f"database {args.database_url or 'SQLite (' + str(workdir) + ')'}")

        def url(name: str) -> str:
            return args.database_url or f"sqlite:///{workdir / (name + '.db')}"

        if "single" in parts:
            bench_single(url("single"), max(1000, args.n // 5))
        if "bulk" in parts:
            bench_bulk(url("bulk"), args.n)
        if "import" in parts:
            bench_import(url("import"), args.n, workdir)
        if "e2e" in parts:
            bench_e2e(url("e2e"), args.e2e_n, workdir)
        print(f"load at the end {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
