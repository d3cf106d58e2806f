"""Helpers for the relay, scheduler, worker and crash tests: SMTP/HTTP sinks, databases, campaigns.

Everything listens on 127.0.0.1 and every wait is bounded.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import typing as t
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterator
from email import message_from_bytes
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from models import contacts
from models.access import Actor
from models.db import make_engine
from models.db import make_session_factory
from models.db import transaction
from models.db import upgrade
from runtime import campaigns
from runtime import publishing

ADMIN = Actor(user_id=None, role="admin")
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, interval: float = 0.02) -> bool:
    """Poll `predicate` until it is true or `timeout` passes; return its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


# --------------------------------------------------------------------------- SMTP sink


class SmtpSink:
    """An aiosmtpd server that keeps every message; scripted replies for the first DATA commands."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.replies: list[str] = []  # e.g. ["451 4.3.0 try later"]; consumed one per DATA
        self.rcpt_replies: dict[str, str] = {}  # address -> reply to its RCPT TO, e.g. "550 5.1.1 no such user"
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_RCPT(self, server: t.Any, session: t.Any, envelope: t.Any, address: str,
                          rcpt_options: list[str]) -> str:
        """Accept the recipient unless a reply is scripted for it."""
        with self.lock:
            scripted = self.rcpt_replies.get(address)
        if scripted:
            return scripted
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: t.Any, session: t.Any, envelope: t.Any) -> str:
        """Record the message (or answer with the next scripted reply)."""
        with self.lock:
            if self.replies:
                return self.replies.pop(0)
            msg = message_from_bytes(envelope.content, policy=policy.default)
            self.messages.append(t.cast(EmailMessage, msg))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    @property
    def url(self) -> str:
        """The smtp:// URL of this sink."""
        return f"smtp://127.0.0.1:{self.port}"

    def message_ids(self) -> Counter[str]:
        """How many times each Message-ID arrived."""
        with self.lock:
            return Counter(str(m["Message-ID"]) for m in self.messages)


@pytest.fixture(name="smtp_sink")
def smtp_sink_fixture() -> Iterator[SmtpSink]:
    """A running SMTP sink on a free loopback port."""
    sink = SmtpSink()
    sink.controller.start()
    try:
        yield sink
    finally:
        sink.controller.stop()


# --------------------------------------------------------------------------- HTTP sink


class HttpSink:
    """A threaded HTTP server that records POSTs and answers with scripted statuses."""

    def __init__(self) -> None:
        self.requests: list[dict[str, t.Any]] = []
        self.statuses: list[
            int | tuple[int, dict[str, str]]
        ] = []  # consumed one per request; then 200
        self.delay = 0.0
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with sink.lock:
                    scripted = sink.statuses.pop(0) if sink.statuses else 200
                    delay = sink.delay
                    sink.requests.append(
                        {
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "json": json.loads(raw) if raw else None,
                            "answered": scripted,
                        }
                    )
                if delay:
                    time.sleep(delay)
                status, headers = scripted if isinstance(scripted, tuple) else (scripted, {})
                body = b'{"ok": true}' if status < 300 else b'{"error": "scripted"}'
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (timeout test)
                    pass

            def log_message(self, format: str, *args: t.Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str = "/hook") -> str:
        """A URL on this sink."""
        return f"http://127.0.0.1:{self.port}{path}"

    def keys(self) -> Counter[str]:
        """How many times each Idempotency-Key arrived."""
        with self.lock:
            return Counter(r["headers"].get("idempotency-key", "") for r in self.requests)


@pytest.fixture(name="http_sink")
def http_sink_fixture() -> Iterator[HttpSink]:
    """A running HTTP sink on a free loopback port."""
    sink = HttpSink()
    sink.thread.start()
    try:
        yield sink
    finally:
        sink.server.shutdown()
        sink.server.server_close()
        sink.thread.join(timeout=5)


# --------------------------------------------------------------------------- databases


def sqlite_db(path: Path) -> tuple[str, Engine, sessionmaker[Session]]:
    """A migrated SQLite file database: (url, engine, session factory)."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    return url, engine, make_session_factory(engine)


@pytest.fixture(name="db")
def db_fixture(tmp_path: Path) -> Iterator[tuple[str, Engine, sessionmaker[Session]]]:
    """A fresh migrated SQLite database in tmp_path."""
    url, engine, factory = sqlite_db(tmp_path / "stagecraft.db")
    try:
        yield url, engine, factory
    finally:
        engine.dispose()


def postgres_reachable() -> bool:
    """True when the PostgreSQL server on 127.0.0.1:5432 accepts a connection."""
    try:
        import psycopg

        psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3
        ).close()
    except Exception:
        return False
    return True


def fresh_postgres_db(name: str) -> str:
    """A fresh database for this test process (schema not yet migrated); see tests.pg_support."""
    from tests.pg_support import fresh_database

    return fresh_database(name)


requires_postgres = pytest.mark.skipif(
    not postgres_reachable(), reason="PostgreSQL on 127.0.0.1:5432 is unreachable"
)


# --------------------------------------------------------------------------- campaigns


def sequence_graph(steps: list[dict[str, t.Any]], tag: str = "go") -> dict[str, t.Any]:
    """A campaign: entry goal 'tag applied' → one sequence of `steps`."""
    return {
        "nodes": [
            {
                "id": "g1",
                "kind": "goal",
                "type": "tag_applied",
                "name": f"Tagged {tag}",
                "config": {"tag": tag},
                "position": {"x": 0, "y": 0},
            },
            {
                "id": "s1",
                "kind": "sequence",
                "name": "Follow-up",
                "position": {"x": 200, "y": 0},
                "steps": [{"id": f"t{i + 1}", **step} for i, step in enumerate(steps)],
            },
        ],
        "edges": [{"source": "g1", "target": "s1"}],
    }


def publish_campaign(
    factory: sessionmaker[Session], graph: dict[str, t.Any], name: str = "Test"
) -> int:
    """Create and publish a campaign; return its id."""
    with transaction(factory) as session:
        for tag in ("go", "done"):
            contacts.ensure_tag(session, tag)
    with transaction(factory) as session:
        campaign = campaigns.create_campaign(session, ADMIN, name, graph)
        publishing.publish(session, ADMIN, campaign.id)
        return campaign.id


def add_contacts(
    factory: sessionmaker[Session], n: int, *, tag: str | None = None, prefix: str = "c"
) -> list[int]:
    """Create `n` contacts (optionally tagging each, which enrolls them); return their ids."""
    ids = []
    with transaction(factory) as session:
        for i in range(n):
            contact = contacts.create_contact(
                session, ADMIN, f"{prefix}{i}@example.com", first_name=f"N{i}"
            )
            ids.append(contact.id)
    if tag:
        with transaction(factory) as session:
            for cid in ids:
                contacts.apply_tag(session, ADMIN, cid, tag)
    return ids


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a worker subprocess (repo on the path, no inherited fault)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAGECRAFT_")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env
