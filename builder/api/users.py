"""Users: list, create (admins), change role or capacity."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from builder.api.base import route
from builder.db import commit
from builder.db import get_session
from builder.schemas.accounts import UserCreate
from builder.schemas.accounts import UserOut
from builder.schemas.accounts import UserPatch
from models import users as user_service
from models.access import Actor

bp = Blueprint("api_users", __name__, url_prefix="/api/v1")


@route(bp, "/users/me", response=UserOut)
def me(actor: Actor) -> Any:
    """The caller."""
    return user_service.get_user(get_session(), actor.user_id or 0)


@route(bp, "/users", response=list[UserOut])
def list_users(actor: Actor) -> Any:
    """Every user (names are needed to assign and share)."""
    return user_service.list_users(get_session(), actor)


@route(bp, "/users", ("POST",), body=UserCreate, response=UserOut, status=201)
def create_user(actor: Actor, body: UserCreate) -> Any:
    """Create a user (admins)."""
    user = user_service.create_user(get_session(), actor=actor, **body.model_dump())
    commit()
    return user


@route(bp, "/users/<int:user_id>", response=UserOut)
def get_user(actor: Actor, user_id: int) -> Any:
    """One user."""
    return user_service.get_user(get_session(), user_id)


@route(bp, "/users/<int:user_id>", ("PATCH",), body=UserPatch, response=UserOut)
def update_user(actor: Actor, user_id: int, body: UserPatch) -> Any:
    """Change a user's role, capacity or details (admins; own name/email)."""
    user = user_service.update_user(get_session(), actor, user_id, body.model_dump(exclude_unset=True))
    commit()
    return user
