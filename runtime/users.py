"""Users, password checks, bearer tokens and login rate limiting.

Invariant: passwords are kept only as scrypt hashes and tokens only as SHA-256
digests; neither is ever logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ApiToken
from models import AuditEntry
from models import LoginAttempt
from models import Team
from models import User
from models import clock
from models.users import ROLES
from runtime.access import Actor
from runtime.access import require_role
from runtime.errors import Conflict
from runtime.errors import Invalid
from runtime.errors import NotFound
from runtime.errors import TooManyRequests
from runtime.errors import Unauthorized

SCRYPT = {"n": 2**14, "r": 8, "p": 1}
TOKEN_DAYS = 30
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)


def hash_password(password: str) -> str:
    """A salted scrypt hash in a self-describing string."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **SCRYPT)
    return "scrypt$%d$%d$%d$%s$%s" % (
        SCRYPT["n"], SCRYPT["r"], SCRYPT["p"],
        base64.b64encode(salt).decode(), base64.b64encode(digest).decode(),
    )


def check_password(stored: str, password: str) -> bool:
    """True when `password` matches the stored hash (constant time)."""
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    name: str = "",
    email: str = "",
    daily_task_capacity: int = 10,
    team: str | None = None,
    actor: Actor | None = None,
) -> User:
    """Create a user; `actor` None means the command line (trusted)."""
    if actor is not None:
        require_role(actor, "admin")
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}", code="invalid_role")
    if len(password) < 8:
        raise Invalid("the password needs at least 8 characters", code="weak_password")
    if daily_task_capacity < 1:
        raise Invalid("daily task capacity must be at least 1", code="invalid_capacity")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"the username {username!r} is taken", code="username_taken")
    team_row = None
    if team:
        team_row = session.scalar(select(Team).where(Team.name == team)) or Team(name=team)
    user = User(
        username=username, name=name or username, email=email, role=role,
        password_hash=hash_password(password), daily_task_capacity=daily_task_capacity,
        team=team_row,
    )
    session.add(user)
    session.flush()
    return user


def update_user(session: Session, actor: Actor, user_id: int, changes: dict[str, object]) -> User:
    """Change a user's role, capacity, name or team (admins; users may edit their own name)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    if actor.user_id != user_id or set(changes) - {"name", "email", "timezone"}:
        require_role(actor, "admin")
    if "role" in changes:
        if changes["role"] not in ROLES:
            raise Invalid(f"role must be one of {', '.join(ROLES)}", code="invalid_role")
        if changes["role"] != user.role:
            session.add(AuditEntry(
                actor_id=actor.user_id, action="user.role_changed", target_type="user",
                target_id=user.id, details={"from": user.role, "to": changes["role"]},
            ))
    if "password" in changes:
        password = str(changes.pop("password"))
        if len(password) < 8:
            raise Invalid("the password needs at least 8 characters", code="weak_password")
        user.password_hash = hash_password(password)
    for key, value in changes.items():
        setattr(user, key, value)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str, remote_addr: str = "") -> User:
    """Return the user for good credentials; record and rate-limit failures."""
    since = clock.now() - FAILURE_WINDOW
    failures = session.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.username == username, LoginAttempt.attempted_at >= since
        )
    ) or 0
    if failures >= MAX_FAILURES:
        raise TooManyRequests("too many failed logins; try again in a few minutes")
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not check_password(user.password_hash, password):
        session.add(LoginAttempt(username=username, remote_addr=remote_addr))
        session.flush()
        raise Unauthorized("wrong username or password", code="bad_credentials")
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, label: str = "", days: int = TOKEN_DAYS) -> tuple[str, ApiToken]:
    """Issue a bearer token; the clear token is returned once and never stored."""
    token = "sc_" + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id, token_hash=_digest(token), label=label,
        expires_at=clock.now() + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    return token, row


def user_for_token(session: Session, token: str) -> User | None:
    """The active user behind a valid, unexpired, unrevoked token."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= clock.now():
        return None
    return row.user if row.user.active else None


def list_tokens(session: Session, actor: Actor, user_id: int) -> list[ApiToken]:
    """A user's tokens (theirs, or any for admins)."""
    if actor.user_id != user_id:
        require_role(actor, "admin")
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)))


def revoke_token(session: Session, actor: Actor, token_id: int) -> ApiToken:
    """Revoke a token (its owner or an admin)."""
    row = session.get(ApiToken, token_id)
    if row is None or (row.user_id != actor.user_id and not actor.is_admin):
        raise NotFound("no such token")
    row.revoked_at = clock.now()
    session.flush()
    return row


def list_users(session: Session, actor: Actor) -> list[User]:
    """Every user (any logged-in user may list names, to assign and share)."""
    return list(session.scalars(select(User).order_by(User.id)))


def get_user(session: Session, user_id: int) -> User:
    """A user by id or NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    return user
