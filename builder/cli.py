"""The `stagecraft` command: serve, worker, db upgrade, user add, demo, contacts import."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any


def _session_factory():  # type: ignore[no-untyped-def]
    from models.db import default_database_url
    from models.db import make_engine
    from models.db import make_session_factory
    from models.db import upgrade

    url = default_database_url()
    engine = make_engine(url)
    upgrade(engine)
    return make_session_factory(engine)


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the web app and the embedded runtime."""
    from builder import create_app
    from builder.extensions import socketio

    if args.demo_if_empty:
        _demo(only_if_empty=True)
        from runtime.demo import DEMO_USERS

        print("demo logins: " + ", ".join(f"{u} / {p}" for u, _, _, p in DEMO_USERS), flush=True)
    url = f"http://{args.host}:{args.port}"
    # Public links (hosted forms, tracked links, unsubscribe) default to the serving host (DESIGN.md §6.3).
    serving = os.environ.get("STAGECRAFT_PUBLIC_URL") or url.replace("://0.0.0.0:", "://localhost:")
    app = create_app({"RUN_RUNTIME": not args.no_runtime, "PUBLIC_URL": serving.rstrip("/")})
    print(f"Stagecraft is running on {url}  (database: {_safe_url(app.config['DATABASE_URL'])})", flush=True)
    socketio.run(app, host=args.host, port=args.port, allow_unsafe_werkzeug=True, use_reloader=False,
                 log_output=args.verbose)
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the runtime alone (no Flask)."""
    return run_worker([])


def run_worker(argv: list[str]) -> int:
    """`stagecraft worker`: the runtime's loops, pushing live hints through Redis when configured."""
    from runtime.worker import main as worker_main

    def push_through_redis(config: Any) -> None:
        if config.redis_url:
            from builder.live import install_redis_pushes  # Flask-free: room names only

            install_redis_pushes(config.redis_url, config.socketio_channel)

    return int(worker_main(argv, on_start=push_through_redis) or 0)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Upgrade the schema to the latest migration."""
    from models.db import default_database_url
    from models.db import make_engine
    from models.db import upgrade

    url = default_database_url()
    upgrade(make_engine(url))
    print(f"database schema is up to date ({_safe_url(url)})")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    """Create a user."""
    from models import users
    from models.db import transaction
    from models.errors import DomainError

    password = args.password
    if password is None:
        # Keeps the password out of the process list and shell history.
        import getpass

        password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    try:
        with transaction(_session_factory()) as session:
            user = users.create_user(session, args.name, password, args.role,
                                     daily_task_capacity=args.daily_task_capacity, email=args.email or "")
            print(f"created {user.role} {user.username!r} (id {user.id})")
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    return 0


def _demo(only_if_empty: bool = False) -> int:
    import runtime
    from runtime.demo import seed_demo

    runtime.install()  # the demo changes CRM data: its domain events need goal matching
    return seed_demo(_session_factory(), only_if_empty=only_if_empty, progress=lambda msg: print(msg, flush=True))


def cmd_demo(args: argparse.Namespace) -> int:
    """Seed demo users, pipelines, contacts and opportunities."""
    from models.errors import Conflict

    try:
        return _demo(only_if_empty=False)
    except Conflict as exc:
        print(f"error: the demo seems to be seeded already ({exc.message}); nothing was changed", file=sys.stderr)
        return 2


def cmd_contacts_import(args: argparse.Namespace) -> int:
    """Import a CSV file into contacts, with a progress bar (a background job run right here)."""
    from pathlib import Path

    import runtime
    from builder.progress import ProgressBar
    from models.access import SYSTEM
    from models.contact_import import suggest_mapping
    from models.db import transaction
    from runtime.jobs import imports
    from runtime.jobs import queue
    from runtime.jobs import runner
    from runtime.jobs.csv_source import file_pieces
    from runtime.jobs.csv_source import read_header
    from runtime.loops import make_worker_id

    path = Path(args.file)
    if not path.is_file():
        print(f"error: no file {path}", file=sys.stderr)
        return 2
    if args.map:
        mapping: dict[str, str | None] = {}
        for item in args.map:
            column, sep, target = item.rpartition("=")
            if not sep or not column or not target:
                print(f"error: --map takes COLUMN=FIELD (e.g. Email=email), not {item!r}", file=sys.stderr)
                return 2
            mapping[column] = target
    else:
        header = read_header(file_pieces(path))
        mapping = suggest_mapping(header.columns) if header is not None else {}
        print("mapping: " + ", ".join(f"{c}={f}" for c, f in mapping.items() if f), file=sys.stderr)
    runtime.install()
    sessions = _session_factory()
    with transaction(sessions) as session:
        job_id = imports.start_file(session, SYSTEM, path, mapping, args.tag or []).id
    worker = make_worker_id()
    queue.claim_job(sessions, worker, runner.LEASE_SECONDS, job_id=job_id)
    bar = ProgressBar(sys.stderr, unit="rows")
    try:
        status = runner.run_job(sessions, job_id, worker, progress=bar.update)
    except KeyboardInterrupt:
        bar.close()
        print(f"\nstopped: job {job_id} resumes where it stopped once `stagecraft serve` or "
              "`stagecraft worker` runs", file=sys.stderr)
        return 130
    bar.close()
    with sessions() as session:
        job = queue.get_job(session, SYSTEM, job_id)
        print(f"{job.status}: {job.done:,} rows, {job.created:,} created, {job.updated:,} updated, "
              f"{job.failed:,} failed (job {job.id})")
        for failed in queue.failed_rows(session, job.id, limit=20):
            print(f"  row {failed['row']}: {failed['message']}", file=sys.stderr)
        if job.failed > 20:
            print(f"  … and {job.failed - 20:,} more (GET /api/v1/jobs/{job.id})", file=sys.stderr)
        if job.error:
            print(f"error: {job.error}", file=sys.stderr)
    return 0 if status == "done" else 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(prog="stagecraft", description="Campaign automation and pipelines.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="web app + embedded runtime")
    serve.add_argument("--host", default=os.environ.get("STAGECRAFT_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("STAGECRAFT_PORT", "5000")))
    serve.add_argument("--no-runtime", action="store_true", help="serve the web app only")
    serve.add_argument("--demo-if-empty", action="store_true", help="seed the demo on first run")
    serve.add_argument("--verbose", action="store_true", help="log every request")
    serve.set_defaults(func=cmd_serve)
    worker = sub.add_parser("worker", help="the runtime alone, for scale-out (see `stagecraft worker --help`)")
    worker.set_defaults(func=cmd_worker)
    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply migrations")
    up.set_defaults(func=cmd_db_upgrade)
    user = sub.add_parser("user", help="user commands")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="create a user")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["admin", "marketer", "rep"])
    add.add_argument("--password", help="the password (omit it to be prompted, or pipe it on stdin)")
    add.add_argument("--email")
    add.add_argument("--daily-task-capacity", type=int, default=10)
    add.set_defaults(func=cmd_user_add)
    demo = sub.add_parser("demo", help="seed demo data")
    demo.set_defaults(func=cmd_demo)
    contacts = sub.add_parser("contacts", help="contact commands")
    contacts_sub = contacts.add_subparsers(dest="contacts_command", required=True)
    imp = contacts_sub.add_parser("import", help="import a CSV file (UTF-8, , or ; separated) into contacts")
    imp.add_argument("file", help="the CSV file; its first row names the columns")
    imp.add_argument("--map", action="append", metavar="COLUMN=FIELD",
                     help="map a column to email, first_name, last_name, timezone or fields.<name> "
                          "(repeat; without any, columns are matched by name)")
    imp.add_argument("--tag", action="append", metavar="TAG", help="apply this tag to every imported contact (repeat)")
    imp.set_defaults(func=cmd_contacts_import)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    from sqlalchemy.exc import SQLAlchemyError

    from models.errors import DomainError

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["worker"]:
            # The worker has its own options and must not import Flask: hand over at once.
            return run_worker(argv[1:])
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:  # a bad STAGECRAFT_DATABASE_URL or an unreachable server
        print(f"error: database: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
