"""One SQLAlchemy session per request, kept on `g`."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask import current_app
from flask import g
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from models.db import make_engine
from models.db import make_session_factory
from models.db import upgrade


class Database:
    """The app's engine and session factory."""

    def __init__(self, url: str, auto_upgrade: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        if auto_upgrade:
            upgrade(self.engine)
        self.sessions: sessionmaker[Session] = make_session_factory(self.engine)


def init_app(app: Flask) -> Database:
    """Create the database for the app and close request sessions at teardown."""
    database = Database(app.config["DATABASE_URL"], auto_upgrade=app.config.get("AUTO_UPGRADE", True))
    app.extensions["stagecraft_db"] = database
    app.teardown_appcontext(close_session)
    return database


def database() -> Database:
    """The current app's Database."""
    db: Database = current_app.extensions["stagecraft_db"]
    return db


def get_session() -> Session:
    """This request's session (opened on first use)."""
    if "db_session" not in g:
        g.db_session = database().sessions()
    session: Session = g.db_session
    return session


def commit() -> None:
    """Commit this request's work (after-commit notices go out then)."""
    get_session().commit()


def close_session(_exc: Any = None) -> None:
    """Roll back anything uncommitted and close the session."""
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()
