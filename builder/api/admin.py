"""Account and administration: mint tokens from a session, change one's password, teams.

Handlers are thin: every rule (who may, what is valid, what is audited) lives
in models.users.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import g

from builder.api.base import route
from builder.auth import login_session
from builder.db import commit
from builder.db import get_session
from builder.schemas.accounts import NewTokenOut
from builder.schemas.accounts import PasswordChange
from builder.schemas.accounts import TeamCreate
from builder.schemas.accounts import TeamOut
from builder.schemas.accounts import TokenCreate
from models import users as user_service
from models.access import Actor
from models.errors import DomainError

bp = Blueprint("api_admin", __name__, url_prefix="/api/v1")


@route(bp, "/auth/tokens", ("POST",), body=TokenCreate, response=NewTokenOut, status=201)
def create_token(actor: Actor, body: TokenCreate) -> Any:
    """Mint a bearer token for the caller; the clear token is in this reply only."""
    token, row = user_service.issue_token(get_session(), actor, body.label, body.days)
    commit()
    return NewTokenOut(id=row.id, token=token, label=row.label, created_at=row.created_at, expires_at=row.expires_at)


@route(bp, "/users/me/password", ("POST",), body=PasswordChange, status=204)
def change_password(actor: Actor, body: PasswordChange) -> None:
    """Change the caller's password (the current one is required); other sessions end."""
    session = get_session()
    try:
        user = user_service.change_own_password(session, actor, body.current_password, body.new_password)
    except DomainError:
        commit()  # keep a failed attempt for rate limiting; nothing else was changed
        raise
    commit()
    if not g.get("via_token"):
        login_session(user, keep_csrf=True)  # this browser stays logged in, with the new fingerprint


@route(bp, "/teams", response=list[TeamOut])
def list_teams(actor: Actor) -> Any:
    """Every team (share targets)."""
    return user_service.list_teams(get_session(), actor)


@route(bp, "/teams", ("POST",), body=TeamCreate, response=TeamOut, status=201)
def create_team(actor: Actor, body: TeamCreate) -> Any:
    """Create a team (admins)."""
    team = user_service.create_team(get_session(), actor, body.name)
    commit()
    return team
