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
from flask import session as flask_session
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
from models import users as user_service
from models.access import Actor
from models.errors import DomainError
from models.errors import Unauthorized

bp = Blueprint("auth", __name__)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class SessionUser(UserMixin):
    """The logged-in user as Flask-Login sees it (a detached snapshot).

    The id kept in the session cookie is the random id of a server-side login
    session, so logout, a password change or deactivation ends it for good,
    even for a copied cookie.
    """

    def __init__(self, user: User, login_id: str) -> None:
        self.id = user.id
        self.username = user.username
        self.name = user.name
        self.role = user.role
        self.team_id = user.team_id
        self.login_id = login_id

    def get_id(self) -> str:
        return self.login_id


@login_manager.user_loader
def _load_user(login_id: str) -> SessionUser | None:
    """The user of a live login session (else logged out)."""
    user = user_service.user_for_login_session(get_session(), login_id)
    return SessionUser(user, login_id) if user is not None else None


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
    if request.blueprint == "public":  # login-free pages: no session, no CSRF (builder/public.py)
        return
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


def safe_next(target: str | None) -> str:
    """`target` when it is a path on this site, else the home page (no open redirect).

    Refused: absolute and scheme-relative URLs, backslashes (browsers read
    "/\\evil.example" as "//evil.example"), control characters and whitespace.
    """
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ord(ch) < 33 or ord(ch) == 127 for ch in target)
    ):
        parsed = urlparse(target)
        if not parsed.scheme and not parsed.netloc:
            return target
    return url_for("pages.home")


def login_session(user: User, *, keep_csrf: bool = False) -> None:
    """Start a fresh session for `user` (no fixation: the old session's contents are dropped).

    `keep_csrf` keeps the CSRF token of an already-logged-in page (a password
    change), so the open page's later calls still pass.
    """
    kept = flask_session.get("csrf_token") if keep_csrf else None
    flask_session.clear()
    if kept:
        flask_session["csrf_token"] = kept
    login_id = user_service.start_login_session(get_session(), user)
    commit()
    login_user(SessionUser(user, login_id))


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
            error = exc.message[:1].upper() + exc.message[1:] + ("" if exc.message.endswith(".") else ".")
            return render_template("login.html", error=error, username=request.form.get("username", "")), exc.status
        login_session(user)
        return redirect(safe_next(request.args.get("next")))
    return render_template("login.html", error=error)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """End the session (POST with a CSRF token, so another site cannot log you out)."""
    if current_user.is_authenticated:
        user_service.end_login_session(get_session(), current_user.get_id())
        commit()
    logout_user()
    flask_session.clear()
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    """Bind Flask-Login and resolve the caller before every request."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    app.before_request(resolve_actor)
