"""`stagecraft worker`: the runtime alone (no Flask), for scale-out.

Invariants:
    * Importing or running this module never imports Flask or `builder`: a
      worker is the tick, the outbox relay, the lease reaper and the overdue
      checker over the configured database, nothing else.
    * The schema is upgraded before any loop starts.
    * Live pushes are the caller's to wire (`on_start`): `stagecraft worker`
      pushes through Redis (`STAGECRAFT_REDIS_URL`), the queue the web nodes
      listen on, with the room names of `builder/live.py`; without it pushes
      are simply dropped (they are hints).
    * SIGTERM and SIGINT stop the loops cleanly: running batches finish and
      commit (or roll back) before the process exits.  What is printed never
      contains the database password.

Run it as ``stagecraft worker`` (``python -m runtime.worker`` runs the same
loops without live pushes).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import replace
from types import FrameType

from sqlalchemy.engine import make_url

import runtime
from models.db import make_engine
from models.db import make_session_factory
from models.db import upgrade
from runtime.config import RuntimeConfig
from runtime.loops import RuntimeLoops

log = logging.getLogger("stagecraft.worker")


def safe_url(url: str) -> str:
    """The URL with its password masked, for printing."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # unparsable: show only the scheme
        return url.split(":", 1)[0] + "://…"


def build_parser() -> argparse.ArgumentParser:
    """The worker's command line (loop settings; everything else from the environment)."""
    parser = argparse.ArgumentParser(
        prog="stagecraft worker",
        description="Run the campaign runtime (tick, outbox relay, lease reaper, overdue checker).",
    )
    parser.add_argument("--once", action="store_true", help="run every loop once, then exit")
    parser.add_argument("--tick-seconds", type=float, help="interval of the tick (default 1)")
    parser.add_argument(
        "--relay-seconds", type=float, help="interval of the outbox relay (default 1)"
    )
    parser.add_argument(
        "--lease-seconds", type=float, help="lease length of claimed rows (default 60)"
    )
    parser.add_argument(
        "--batch-size", type=int, help="runs or outbox rows per batch (default 200)"
    )
    parser.add_argument("--smtp-connections", type=int, help="parallel SMTP connections (default 4)")
    parser.add_argument("--http-parallel", type=int, help="parallel webhook posts (default 16)")
    parser.add_argument(
        "--delivery-window", type=int,
        help="accepted messages a connection may send ahead of their record (default 4)",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return parser


def config_from_args(args: argparse.Namespace) -> RuntimeConfig:
    """RuntimeConfig from the environment, with command-line overrides."""
    config = RuntimeConfig()
    overrides = {
        name: getattr(args, name)
        for name in ("tick_seconds", "relay_seconds", "lease_seconds", "batch_size", "smtp_connections",
                     "http_parallel", "delivery_window")
        if getattr(args, name) is not None
    }
    return replace(config, **overrides) if overrides else config


def main(argv: Sequence[str] | None = None, *, on_start: Callable[[RuntimeConfig], None] | None = None) -> int:
    """Run the runtime until SIGTERM/SIGINT (or one pass with --once); return the exit code.

    Args:
        argv: the worker's options.
        on_start: called with the configuration before the loops start (the
            CLI wires live pushes through Redis here).
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Per-job "Running job ..." lines every second would drown what the worker does.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    config = config_from_args(args)
    engine = make_engine(config.database_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    runtime.install()
    if on_start is not None:
        on_start(config)
    loops = RuntimeLoops(factory, config)
    smtp = safe_url(config.smtp_url) if config.smtp_url else "(none: emails held in the outbox)"
    redis = safe_url(config.redis_url) if config.redis_url else "(none: live pushes dropped)"
    print(
        f"stagecraft worker {loops.worker_id}\n"
        f"  database {safe_url(config.database_url)}\n"
        f"  smtp     {smtp}\n"
        f"  redis    {redis}\n"
        f"  tick {config.tick_seconds:g}s, relay {config.relay_seconds:g}s, "
        f"lease {config.lease_seconds:g}s, batch {config.batch_size}, "
        f"smtp connections {config.smtp_connections} (window {config.delivery_window}), "
        f"webhooks {config.http_parallel} at once",
        flush=True,
    )
    try:
        if args.once:
            counts = loops.run_once()
            print("one pass: " + ", ".join(f"{k} {v}" for k, v in counts.items()), flush=True)
            return 0
        return _run_until_signalled(loops)
    finally:
        engine.dispose()


def _run_until_signalled(loops: RuntimeLoops) -> int:
    stop = threading.Event()
    received: list[str] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        loops.start()
        print("running (SIGTERM or Ctrl-C stops)", flush=True)
        while not stop.wait(0.5):
            pass
        print(
            f"{received[0] if received else 'stop'} received: finishing running batches", flush=True
        )
    finally:
        loops.shutdown(wait=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
