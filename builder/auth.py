"""Who is calling: browser sessions (Flask-Login + CSRF) or bearer tokens."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from flask import Blueprint
from flask import Flask
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import UserMixin
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user

from builder.db import commit
from builder.db import get_session
from builder.extensions import csrf
from builder.extensions import login_manager
from models import User
from runtime import users as user_service
from runtime.access import Actor
from runtime.errors import DomainError
from runtime.errors import Unauthorized

bp = Blueprint("auth", __name__)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class SessionUser(UserMixin):
    """The logged-in user as Flask-Login sees it (a detached snapshot)."""

    def __init__(self, user: User) -> None:
        self.id = user.id
        self.username = user.username
        self.name = user.name
        self.role = user.role
        self.team_id = user.team_id

    def get_id(self) -> str:
        return str(self.id)


@login_manager.user_loader
def _load_user(user_id: str) -> SessionUser | None:
    user = get_session().get(User, int(user_id)) if user_id.isdigit() else None
    return SessionUser(user) if user is not None and user.active else None


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer` header, if any."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


def resolve_actor() -> None:
    """Set g.actor / g.user from a bearer token or the session; enforce CSRF for sessions."""
    g.actor = None
    g.user = None
    token = bearer_token()
    if token is not None:
        user = user_service.user_for_token(get_session(), token)
        if user is not None:
            g.user = user
            g.actor = Actor.of(user)
        g.via_token = True
        return
    g.via_token = False
    # CSRF guards ambient credentials: every page form, and any API call riding
    # on a session cookie.  An anonymous API call (e.g. token exchange) has none.
    if request.method not in SAFE_METHODS and (
        current_user.is_authenticated or not request.path.startswith("/api/")
    ):
        csrf.protect()
    if current_user.is_authenticated:
        g.user = get_session().get(User, current_user.id)
        if g.user is not None:
            g.actor = Actor.of(g.user)


def current_actor() -> Actor:
    """The caller, or Unauthorized."""
    actor: Actor | None = g.get("actor")
    if actor is None:
        raise Unauthorized("log in or send a bearer token")
    return actor


def _safe_next(target: str | None) -> str:
    if target and urlparse(target).netloc == "" and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("pages.home")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Show the login form, or log in."""
    error = None
    if request.method == "POST":
        try:
            user = user_service.authenticate(
                get_session(), request.form.get("username", ""), request.form.get("password", ""),
                request.remote_addr or "",
            )
        except DomainError as exc:
            commit()  # keep the failed attempt for rate limiting
            error = exc.message
            return render_template("login.html", error=error), exc.status
        login_user(SessionUser(user))
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", error=error)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """End the session."""
    logout_user()
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    """Bind Flask-Login and resolve the caller before every request."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    app.before_request(resolve_actor)
