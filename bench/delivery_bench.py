"""Delivery throughput: queued emails to an aiosmtpd sink and webhooks to a local HTTP server, on loopback.

Prints figures; asserts nothing about timings (tests never do). Each sink runs in
a process of its own, as a real server would. Usage:

    .venv/bin/python bench/delivery_bench.py [--emails 20000] [--posts 5000] [--pg] [--enrolling]

* emails: N pending email rows (a text body with two links: tracked, HTML part,
  unsubscribe header) are queued, then the runtime's delivery loop drains them
  into the sink; emails/s = N / time until every row is recorded as sent.
* --enrolling: the same, while the step loop enrolls and runs 5,000 contacts
  through a tag → note campaign at the same time (the starvation case).
* posts: N pending http_post rows to a keep-alive HTTP/1.1 server.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import secrets
import socket
import sys
import tempfile
import threading
import time
import typing as t
from datetime import UTC
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy import select  # noqa: E402

import runtime  # noqa: E402
from models import OutboxMessage  # noqa: E402
from models.db import make_engine  # noqa: E402
from models.db import make_session_factory  # noqa: E402
from models.db import upgrade  # noqa: E402
from runtime.config import RuntimeConfig  # noqa: E402
from runtime.loops import RuntimeLoops  # noqa: E402

BODY = ("Hello {name},\n\nThanks for signing up. Read the guide at https://example.com/guide?utm=welcome "
        "and book a call at https://example.com/book.\n\nThe team")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def smtp_sink(port: int, count: t.Any, ready: t.Any) -> None:
    """An aiosmtpd server that counts messages (its own process)."""
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server: t.Any, session: t.Any, envelope: t.Any) -> str:
            with count.get_lock():
                count.value += 1
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    while True:
        time.sleep(3600)


def http_sink(port: int, count: t.Any, ready: t.Any) -> None:
    """A threaded keep-alive HTTP/1.1 server that counts POSTs (its own process)."""
    from http.server import BaseHTTPRequestHandler
    from http.server import ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stall

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with count.get_lock():
                count.value += 1
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: t.Any) -> None:
            return

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: t.Any, client_address: t.Any) -> None:
            return  # a client closing a kept-alive connection is not news

    server = Server(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    ready.set()
    server.serve_forever()


def start(target: t.Any) -> tuple[mp.Process, int, t.Any]:
    port, count, ready = free_port(), mp.Value("i", 0), mp.Event()
    proc = mp.Process(target=target, args=(port, count, ready), daemon=True)
    proc.start()
    ready.wait(10)
    return proc, port, count


def queue_rows(factory: t.Any, kind: str, n: int, payload: t.Callable[[int], dict[str, t.Any]]) -> None:
    now = datetime.now(UTC)
    rows = [{"idempotency_key": f"bench:{kind}:{i}:{secrets.token_hex(4)}", "kind": kind, "payload": payload(i),
             "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
             "public_id": secrets.token_urlsafe(12), "step_id": "t1", "node_id": "s1"} for i in range(n)]
    with factory() as session:
        for i in range(0, n, 2000):
            session.execute(insert(OutboxMessage), rows[i:i + 2000])
        session.commit()


def sent(factory: t.Any, kind: str) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).where(OutboxMessage.kind == kind,
                                                             OutboxMessage.status == "sent")) or 0)


def drain(factory: t.Any, config: RuntimeConfig, kind: str, n: int, enrolling: int = 0) -> tuple[float, float]:
    """Start the runtime's loops (as after a restart with a backlog); return (seconds to the first
    recorded delivery, seconds until `n` rows of `kind` are recorded sent)."""
    loops = RuntimeLoops(factory, config)
    if enrolling:
        enroll_in_background(factory, enrolling)
    began = time.perf_counter()
    first = 0.0
    loops.start()
    try:
        while (done := sent(factory, kind)) < n:
            if done and not first:
                first = time.perf_counter() - began
            time.sleep(0.02)
            if time.perf_counter() - began > 600:
                raise SystemExit(f"gave up: {sent(factory, kind)}/{n} sent after 600 s")
        return first or time.perf_counter() - began, time.perf_counter() - began
    finally:
        loops.shutdown()


def enroll_in_background(factory: t.Any, n: int) -> None:
    """Publish tag → (note) and tag `n` contacts in batches from another thread."""
    from models import contacts
    from models.access import Actor
    from models.db import transaction
    from runtime import campaigns
    from runtime import publishing

    admin = Actor(user_id=None, role="admin")
    graph = {"nodes": [
        {"id": "g1", "kind": "goal", "type": "tag_applied", "name": "go", "config": {"tag": "go"},
         "position": {"x": 0, "y": 0}},
        {"id": "s1", "kind": "sequence", "name": "seq", "position": {"x": 200, "y": 0},
         "steps": [{"id": "n1", "type": "create_note", "config": {"body": "hello {{contact.first_name}}"}},
                   {"id": "n2", "type": "apply_tag", "config": {"tag": "done"}}]}],
        "edges": [{"source": "g1", "target": "s1"}]}
    with transaction(factory) as session:
        contacts.ensure_tag(session, "go")
        contacts.ensure_tag(session, "done")
        campaign = campaigns.create_campaign(session, admin, "bench", graph)
        publishing.publish(session, admin, campaign.id)

    def work() -> None:
        for start_at in range(0, n, 250):
            with transaction(factory) as session:
                for i in range(start_at, min(n, start_at + 250)):
                    c = contacts.create_contact(session, admin, f"enroll{i}@example.com", first_name="E")
                    contacts.apply_tag(session, admin, c.id, "go")

    threading.Thread(target=work, daemon=True).start()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--emails", type=int, default=20000)
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--pg", action="store_true", help="PostgreSQL on 127.0.0.1:5432 instead of SQLite")
    parser.add_argument("--enrolling", action="store_true", help="also enroll 5,000 contacts meanwhile")
    parser.add_argument("--connections", type=int, default=RuntimeConfig.smtp_connections)
    parser.add_argument("--window", type=int, default=RuntimeConfig.delivery_window)
    args = parser.parse_args()
    runtime.install()
    tmp = Path(tempfile.mkdtemp(prefix="delivery-bench-"))
    if args.pg:
        from tests.pg_support import fresh_database

        url = fresh_database("stagecraft_delivery_bench")
    else:
        url = f"sqlite:///{tmp / 'bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    print(f"delivery bench on {engine.dialect.name}, load average {os.getloadavg()[0]:.2f} "
          f"({os.cpu_count()} cores), {args.connections} SMTP connections, window {args.window}")

    smtp_proc, smtp_port, smtp_count = start(smtp_sink)
    config = RuntimeConfig(database_url=url, smtp_url=f"smtp://127.0.0.1:{smtp_port}", secret_key="bench-secret",
                           public_url="https://mail.example.com", allow_private_http=True,
                           smtp_connections=args.connections, delivery_window=args.window, batch_size=1000,
                           relay_seconds=0.2, tick_seconds=0.2)
    queue_rows(factory, "email", args.emails, lambda i: {"to": f"person{i}@example.com", "to_name": f"Person {i}",
                                                          "subject": f"Welcome, Person {i}",
                                                          "text": BODY.format(name=f"Person {i}")})
    first, seconds = drain(factory, config, "email", args.emails, enrolling=5000 if args.enrolling else 0)
    what = " while enrolling 5,000 contacts" if args.enrolling else ""
    print(f"emails:   {args.emails} delivered{what} in {seconds:.2f} s = {args.emails / seconds:,.0f} emails/s "
          f"(sink counted {smtp_count.value}; first recorded {first * 1000:.0f} ms after start)")
    smtp_proc.terminate()

    if args.posts:
        http_proc, http_port, http_count = start(http_sink)
        queue_rows(factory, "http_post", args.posts,
                   lambda i: {"url": f"http://127.0.0.1:{http_port}/hook", "json": {"n": i, "email": f"p{i}@x.com"}})
        _, seconds = drain(factory, config, "http_post", args.posts)
        print(f"webhooks: {args.posts} posted in {seconds:.2f} s = {args.posts / seconds:,.0f} posts/s "
              f"(server counted {http_count.value})")
        http_proc.terminate()
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
