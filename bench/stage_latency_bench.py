"""Benchmark (b) of `runtime_bench.py`: stage save through the HTTP API → first step committed.

Starts the real web app with its embedded runtime on a loopback port and
PATCHes an opportunity into a stage whose "moved into" goal starts a sequence
whose first step is create_note; prints p50/p99 latencies, asserts nothing.
Run it through ``bench/runtime_bench.py --only b``.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
import typing as t
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from models.db import make_engine  # noqa: E402
from models.db import make_session_factory  # noqa: E402
from models.db import transaction  # noqa: E402
from models.db import upgrade  # noqa: E402


def free_port() -> int:
    """A free loopback port."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# What `stagecraft serve` does (web app + embedded runtime in one process); the runtime is
# started inside an app context so this works whichever way builder wires it.
SERVE_SCRIPT = """
import sys
from builder import create_app
from builder.extensions import socketio
from builder.runtime_host import start_runtime
app = create_app({"RUN_RUNTIME": False})
with app.app_context():
    start_runtime(app)
socketio.run(app, host="127.0.0.1", port=int(sys.argv[1]), allow_unsafe_werkzeug=True,
             use_reloader=False, log_output=False)
"""


def bench_latency(saves: int, workdir: Path, spy: str | None = None) -> None:
    """(b): stage save through the HTTP API → first step committed, p50/p99 over `saves` saves."""
    import requests

    try:
        import builder  # noqa: F401
        from builder.cli import main as _cli  # noqa: F401
    except Exception as exc:  # the web app is not there yet
        print(
            "(b) SKIPPED: the web app (builder.create_app / stagecraft serve) "
            f"is not importable: {exc!r}"
        )
        return
    data_dir = workdir / "b"
    data_dir.mkdir(exist_ok=True)
    db_path = data_dir / "bench_b.db"
    url = f"sqlite:///{db_path}"
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    from models import users

    with transaction(factory) as session:
        users.create_user(session, "bench", "bench-password-1", "admin")
    engine.dispose()

    port = free_port()
    env = dict(
        os.environ,
        STAGECRAFT_DATABASE_URL=url,
        STAGECRAFT_DATA_DIR=str(data_dir),
        PYTHONPATH=str(ROOT),
    )
    log = (data_dir / "serve.log").open("wb")
    cmd = [sys.executable, "-c", SERVE_SCRIPT, str(port)]
    if spy:  # sample the server with py-spy (raw stacks in the workdir)
        cmd = [
            spy,
            "record",
            "-r",
            "250",
            "-f",
            "raw",
            "-o",
            str(data_dir / "serve.pyspy"),
            "--",
            *cmd,
        ]
    server = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    http = requests.Session()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if http.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                print(f"(b) FAILED: the server did not come up; see {data_dir / 'serve.log'}")
                return
            time.sleep(0.1)
        token = http.post(
            f"{base}/auth/token",
            json={"username": "bench", "password": "bench-password-1"},
            timeout=10,
        ).json()["token"]
        http.headers["Authorization"] = f"Bearer {token}"

        def call(method: str, path: str, **kw: t.Any) -> t.Any:
            resp = http.request(method, f"{base}{path}", timeout=30, **kw)
            if resp.status_code >= 400:
                raise RuntimeError(f"{method} {path} -> {resp.status_code}: {resp.text[:300]}")
            return resp.json() if resp.content else None

        pipeline = call(
            "POST",
            "/pipelines",
            json={
                "name": "Bench",
                "kind": "sales",
                "stages": [
                    {
                        "number": 10,
                        "name": "Open",
                        "target_days": 0,
                        "probability": 10,
                        "checklist": [],
                    },
                    {
                        "number": 20,
                        "name": "Qualified",
                        "target_days": 0,
                        "probability": 30,
                        "checklist": [],
                    },
                ],
            },
        )
        stage_ids = sorted((s["number"], s["id"]) for s in pipeline["stages"])
        open_id, qualified_id = stage_ids[0][1], stage_ids[1][1]
        graph = {
            "nodes": [
                {
                    "id": "g1",
                    "kind": "goal",
                    "type": "stage_moved",
                    "name": "Into Qualified",
                    "config": {
                        "pipeline_id": pipeline["id"],
                        "stage_id": qualified_id,
                        "direction": "into",
                    },
                    "position": {"x": 0, "y": 0},
                },
                {
                    "id": "s1",
                    "kind": "sequence",
                    "name": "Qualified",
                    "position": {"x": 200, "y": 0},
                    "steps": [
                        {
                            "id": "t1",
                            "type": "create_note",
                            "config": {"body": "Qualified {{contact.first_name}}"},
                        },
                    ],
                },
            ],
            "edges": [{"source": "g1", "target": "s1"}],
        }
        campaign = call("POST", "/campaigns", json={"name": "Latency"})
        call("PUT", f"/campaigns/{campaign['id']}/draft", json={"graph": graph})
        call("POST", f"/campaigns/{campaign['id']}/publish")

        print(
            f"(b) stage save → first step committed, {saves:,} saves "
            f"through {base} (embedded runtime)"
        )
        opps = []
        for i in range(saves):
            contact = call(
                "POST", "/contacts", json={"email": f"l{i}@example.com", "first_name": f"L{i}"}
            )
            opp = call(
                "POST",
                "/opportunities",
                json={
                    "title": f"Deal {i}",
                    "contact_id": contact["id"],
                    "pipeline_id": pipeline["id"],
                    "stage_id": open_id,
                },
            )
            opps.append((opp["id"], contact["id"]))

        # The web server's floor: an authenticated GET that writes nothing.
        floor: list[float] = []
        for _ in range(min(200, saves)):
            g0 = time.perf_counter()
            call("GET", "/users/me")
            floor.append((time.perf_counter() - g0) * 1000)
        floor.sort()

        ro = sqlite3.connect(
            f"file:{db_path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
        latencies: list[float] = []
        api_times: list[float] = []
        after: list[float] = []
        timeouts = 0
        for opp_id, contact_id in opps:
            t0 = time.perf_counter()
            call("PATCH", f"/opportunities/{opp_id}", json={"stage_id": qualified_id})
            t_api = time.perf_counter()
            give_up = t0 + 10
            while (
                ro.execute(
                    "SELECT 1 FROM note WHERE contact_id = ? LIMIT 1", (contact_id,)
                ).fetchone()
                is None
            ):
                if time.perf_counter() > give_up:
                    timeouts += 1
                    break
                time.sleep(0.0005)
            else:
                t_step = time.perf_counter()
                latencies.append((t_step - t0) * 1000)
                api_times.append((t_api - t0) * 1000)
                after.append((t_step - t_api) * 1000)
        ro.close()
        if not latencies:
            print("    no save produced its step within 10 s")
            return
        latencies.sort()
        api_times.sort()
        after.sort()

        def pct(values: list[float], p: float) -> float:
            return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]

        print(
            f"    LATENCY p50 {pct(latencies, 50):.1f} ms, p90 {pct(latencies, 90):.1f} ms, "
            f"P99 {pct(latencies, 99):.1f} ms, max {latencies[-1]:.1f} ms   target p99 < 50 ms"
        )
        print(
            f"    of which the PATCH round trip: p50 {pct(api_times, 50):.1f} ms, "
            f"p99 {pct(api_times, 99):.1f} ms;"
            f" mean total {statistics.fmean(latencies):.1f} ms; {timeouts} saves timed out (10 s)"
        )
        print(
            f"    for scale, GET /users/me round trip: p50 {pct(floor, 50):.1f} ms, "
            f"p99 {pct(floor, 99):.1f} ms"
        )
        print(
            f"    step visible after the PATCH returned (wake → tick → commit): "
            f"p50 {pct(after, 50):.1f} ms, p99 {pct(after, 99):.1f} ms"
        )
    finally:
        if spy:  # py-spy writes its profile on Ctrl-C, and passes it on to the server
            server.send_signal(signal.SIGINT)
        else:
            server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


