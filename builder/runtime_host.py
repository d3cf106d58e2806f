"""Runs the campaign runtime inside the web process (embedded mode)."""

from __future__ import annotations

import atexit

from flask import Flask

from runtime.config import RuntimeConfig


def start_runtime(app: Flask) -> None:
    """Start the tick, relay, reaper and overdue loops against the app's database."""
    from runtime.loops import RuntimeLoops

    config = RuntimeConfig(database_url=app.config["DATABASE_URL"])
    loops = RuntimeLoops(app.extensions["stagecraft_db"].sessions, config)
    loops.start()
    app.extensions["stagecraft_runtime"] = loops
    atexit.register(loops.shutdown)
