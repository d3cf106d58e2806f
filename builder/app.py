"""The app factory: configuration, extensions, blueprints, runtime wiring."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

import runtime
from builder import api
from builder import auth
from builder import db
from builder import errors
from builder import pages
from builder import security
from builder import sockets
from builder.api.base import IdConverter
from builder.extensions import csrf
from builder.extensions import socketio
from builder.settings import default_settings
from builder.settings import load_secret_key

STATIC = Path(__file__).resolve().parent.parent / "canvas_static"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; `config` overrides settings from the environment."""
    app = Flask(__name__, static_folder=str(STATIC), static_url_path="/static")
    app.url_map.converters["int"] = IdConverter
    app.config.update(default_settings())
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_secret_key(Path(app.config["DATA_DIR"]))
    logging.basicConfig(level=app.config.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    logging.getLogger("alembic").setLevel(logging.WARNING)
    runtime.install()  # goal matching receives the CRM's domain events
    db.init_app(app)
    csrf.init_app(app)
    auth.init_app(app)
    security.init_app(app)
    errors.register(app)
    api.register(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)
    pages.register_page_blueprints(app)
    socketio.init_app(app, async_mode="threading", message_queue=app.config.get("REDIS_URL"),
                      channel=app.config.get("SOCKETIO_CHANNEL", "stagecraft"),
                      cors_allowed_origins=app.config.get("CORS_ORIGINS") or None, manage_session=False)
    sockets.init_app(app)
    if app.config.get("RUN_RUNTIME"):
        from builder.runtime_host import start_runtime

        start_runtime(app)
    return app
