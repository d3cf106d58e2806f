"""Scale-out mode: one web node and two workers on PostgreSQL, pushes fanned out through Redis.

Real processes: `stagecraft serve --no-runtime` and two `stagecraft worker`s share a
PostgreSQL database; a Socket.IO client connected to the web node receives the
live-count hints the *workers* emit through Redis, and every contact's steps run
exactly once across the two workers.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
import socketio

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/0"

pytestmark = [pytest.mark.postgres]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A fresh PostgreSQL database, one web node and two workers sharing it and Redis."""
    if not (_reachable("127.0.0.1", 5432) and _reachable("127.0.0.1", 6379)):
        pytest.skip("scale-out needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379")
    name = f"stagecraft_scaleout_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "STAGECRAFT_DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{name}",
           "STAGECRAFT_REDIS_URL": REDIS, "STAGECRAFT_SOCKETIO_CHANNEL": f"stagecraft-test-{name}",
           "STAGECRAFT_DATA_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    cli = [sys.executable, "-m", "builder.cli"]
    subprocess.run(cli + ["db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run(cli + ["user", "add", "boss", "--role", "admin", "--password", "boss-pass-1"],
                   env=env, cwd=ROOT, check=True, capture_output=True)
    port = _free_port()
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    for i, args in enumerate([["serve", "--no-runtime", "--port", str(port)], ["worker"], ["worker"]]):
        log = open(tmp_path / f"proc{i}.log", "wb")
        logs.append(log)
        procs.append(subprocess.Popen(cli + args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(base + "/login", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, (tmp_path / "proc0.log").read_text()
        time.sleep(0.1)
    token = requests.post(base + "/api/v1/auth/token", json={"username": "boss", "password": "boss-pass-1"},
                          timeout=10).json()["token"]
    try:
        yield {"base": base, "token": token, "logs": tmp_path}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_two_workers_run_each_step_once_and_push_through_redis(cluster: dict[str, Any]) -> None:
    """Stage saves on the web node are executed by the workers once each; the canvas room hears it."""
    base, headers = cluster["base"], {"Authorization": f"Bearer {cluster['token']}"}

    def api(method: str, path: str, **kwargs: Any) -> Any:
        r = requests.request(method, base + "/api/v1" + path, headers=headers, timeout=15, **kwargs)
        assert r.status_code < 400, r.text
        return r.json() if r.content else None

    pipeline = api("POST", "/pipelines", json={"name": "Sales", "kind": "sales", "stages": [
        {"number": 10, "name": "New"}, {"number": 20, "name": "Qualified"}]})
    stages = [s["id"] for s in pipeline["stages"]]
    campaign = api("POST", "/campaigns", json={"name": "Scale-out"})
    api("PUT", f"/campaigns/{campaign['id']}/draft", json={"graph": {
        "nodes": [
            {"id": "g1", "kind": "goal", "type": "stage_moved", "name": "Qualified",
             "config": {"pipeline_id": pipeline["id"], "stage_id": stages[1], "direction": "into"},
             "position": {"x": 0, "y": 0}},
            {"id": "s1", "kind": "sequence", "name": "Follow up", "position": {"x": 200, "y": 0}, "steps": [
                {"id": "a", "type": "create_note", "config": {"body": "qualified"}},
                {"id": "b", "type": "create_task", "config": {"title": "Call", "assignee": "owner",
                                                             "due_in_days": 0}}]}],
        "edges": [{"source": "g1", "target": "s1"}]}})
    api("POST", f"/campaigns/{campaign['id']}/publish")

    # Only a worker creates the tasks, so a task_changed push to the owner's room
    # can only have come from a worker, through Redis, to this web node.
    heard = threading.Event()
    me = api("GET", "/users/me")
    client = socketio.Client()  # reconnects (and re-joins its user room) if a loaded machine drops it
    client.on("task_changed", lambda data: heard.set())
    client.connect(base, auth={"token": cluster["token"]}, transports=["polling"], wait_timeout=10)
    joined = client.call("join", {"room": f"campaign:{campaign['id']}"}, timeout=10)
    assert joined["ok"] is True
    # Warm-up: the web node subscribes to Redis in the background after the first
    # connection; a task it creates itself proves the round trip before we rely on it.
    deadline = time.monotonic() + 20
    while not heard.is_set() and time.monotonic() < deadline:
        api("POST", "/tasks", json={"title": "warm-up", "assignee_id": me["id"]})
        heard.wait(1)
    assert heard.is_set(), "the web node never relayed its own push through Redis"
    time.sleep(1)  # let late warm-up pushes drain before listening for the workers'
    heard.clear()

    def new_deal(i: int) -> int:
        contact = api("POST", "/contacts", json={"email": f"c{i}@example.com", "first_name": f"C{i}"})
        return int(api("POST", "/opportunities", json={
            "title": f"Deal {i}", "contact_id": contact["id"], "pipeline_id": pipeline["id"],
            "stage_id": stages[0], "owner_id": me["id"]})["id"])

    count = 40
    opportunity_ids = [new_deal(i) for i in range(count)]
    for opp_id in opportunity_ids:
        api("PATCH", f"/opportunities/{opp_id}", json={"stage_id": stages[1]})

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        stats = api("GET", f"/campaigns/{campaign['id']}/stats")["nodes"]["s1"]
        if stats["completed"] == count:
            break
        time.sleep(0.2)
    assert stats["completed"] == count
    tasks = api("GET", "/tasks")
    assert sorted(t["opportunity_id"] for t in tasks if t["title"] == "Call") == sorted(opportunity_ids)
    # Only now can a push be a worker's: the web node created no task since the warm-up.
    # A push is a hint (lost if the client was reconnecting just then), so give the
    # workers a few more deals before concluding that their pushes never arrive.
    for extra in range(count, count + 5):
        if heard.wait(5):
            break
        api("PATCH", f"/opportunities/{new_deal(extra)}", json={"stage_id": stages[1]})
    assert heard.wait(5), "no push from a worker reached the web node's client through Redis"
    client.disconnect()
    logs = "".join((cluster["logs"] / f"proc{i}.log").read_text() for i in (1, 2))
    assert "Traceback" not in logs
