"""Bearer tokens: issue for credentials, list and revoke."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import request

from builder.api.base import route
from builder.db import commit
from builder.db import get_session
from builder.schemas.accounts import TokenInfo
from builder.schemas.accounts import TokenOut
from builder.schemas.accounts import TokenRequest
from builder.schemas.accounts import UserOut
from models import users as user_service
from models.access import Actor
from models.errors import DomainError

bp = Blueprint("api_auth", __name__, url_prefix="/api/v1")


@route(bp, "/auth/token", ("POST",), body=TokenRequest, response=TokenOut, public=True)
def issue_token(body: TokenRequest) -> Any:
    """Exchange a username and password for a bearer token."""
    session = get_session()
    try:
        user = user_service.authenticate(session, body.username, body.password, request.remote_addr or "")
    except DomainError:
        commit()  # keep the failed attempt for rate limiting
        raise
    token, row = user_service.create_token(session, user, body.label)
    commit()
    return TokenOut(token=token, expires_at=row.expires_at, user=UserOut.model_validate(user))


@route(bp, "/auth/tokens", response=list[TokenInfo])
def list_tokens(actor: Actor) -> Any:
    """The caller's tokens (never the secret)."""
    return user_service.list_tokens(get_session(), actor, actor.user_id or 0)


@route(bp, "/auth/tokens/<int:token_id>", ("DELETE",), status=204)
def revoke_token(actor: Actor, token_id: int) -> None:
    """Revoke one of the caller's tokens."""
    user_service.revoke_token(get_session(), actor, token_id)
    commit()
