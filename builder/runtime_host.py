"""Runs the campaign runtime inside the web process (embedded mode)."""

from __future__ import annotations

import atexit

from flask import Flask

from runtime.config import RuntimeConfig


def runtime_config(app: Flask) -> RuntimeConfig:
    """The runtime's settings for this app: its database, and its secret and public URL for email links."""
    config: RuntimeConfig | None = app.extensions.get("stagecraft_runtime_config")
    if config is None:
        overrides = {"public_url": app.config["PUBLIC_URL"]} if app.config.get("PUBLIC_URL") else {}
        config = RuntimeConfig(database_url=app.config["DATABASE_URL"], secret_key=app.config["SECRET_KEY"],
                               **overrides)
        app.extensions["stagecraft_runtime_config"] = config
    return config


def start_runtime(app: Flask) -> None:
    """Start the tick, relay, reaper and overdue loops against the app's database."""
    from runtime.loops import RuntimeLoops

    config = runtime_config(app)
    loops = RuntimeLoops(app.extensions["stagecraft_db"].sessions, config)
    loops.start()
    app.extensions["stagecraft_runtime"] = loops
    atexit.register(loops.shutdown)
