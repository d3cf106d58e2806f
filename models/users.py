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
from sqlalchemy import update
from sqlalchemy.orm import Session

from models import ApiToken
from models import AuditEntry
from models import LoginAttempt
from models import LoginSession
from models import Team
from models import User
from models import clock
from models.access import Actor
from models.access import require_role
from models.errors import Conflict
from models.errors import Forbidden
from models.errors import Invalid
from models.errors import NotFound
from models.errors import TooManyRequests
from models.errors import Unauthorized
from models.tables.users import ROLES

SCRYPT = {"n": 2**14, "r": 8, "p": 1}
TOKEN_DAYS = 30
LOGIN_DAYS = 14  # a browser login lasts two weeks at most
MAX_TOKEN_DAYS = 365
MAX_FAILURES = 5
MAX_FAILURES_PER_ADDRESS = 50  # credential stuffing across many usernames from one address
FAILURE_WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 8
SELF_EDITABLE = {"name", "email", "timezone"}


def hash_password(password: str) -> str:
    """A salted scrypt hash in a self-describing string."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **SCRYPT)
    return "$".join([
        "scrypt", str(SCRYPT["n"]), str(SCRYPT["r"]), str(SCRYPT["p"]),
        base64.b64encode(salt).decode(), base64.b64encode(digest).decode(),
    ])


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
    _check_password_strength(password)
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
    if actor is not None:
        _audit(session, actor, "user.created", user, role=role, team_id=user.team_id)
    return user


def _check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"the password needs at least {MIN_PASSWORD} characters", code="weak_password",
                      details={"field": "password"})


def _audit(session: Session, actor: Actor, action: str, user: User, **details: object) -> None:
    """Record who did something to a user account (never a secret in `details`)."""
    session.add(AuditEntry(actor_id=actor.user_id, action=action, target_type="user",
                           target_id=user.id, details=details))


def _active_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(
        User.role == "admin", User.active.is_(True))) or 0


def update_user(session: Session, actor: Actor, user_id: int, changes: dict[str, object]) -> User:
    """Change a user's role, capacity, team, active flag, password or name.

    Admins may change anything; users may edit their own name, email and time
    zone.  The last active admin cannot be demoted or deactivated.  Role, team,
    activation and password changes are audited (the password never is).
    """
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    changes = dict(changes)
    if actor.user_id != user_id or set(changes) - SELF_EDITABLE:
        require_role(actor, "admin")
    if "role" in changes and changes["role"] not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}", code="invalid_role", details={"field": "role"})
    if "daily_task_capacity" in changes and int(changes["daily_task_capacity"] or 0) < 1:  # type: ignore[call-overload]
        raise Invalid("daily task capacity must be at least 1", code="invalid_capacity",
                      details={"field": "daily_task_capacity"})
    if "team_id" in changes and changes["team_id"] is not None and session.get(Team, changes["team_id"]) is None:
        raise Invalid("no such team", code="unknown_team", details={"field": "team_id"})
    demoted = "role" in changes and changes["role"] != "admin" and user.role == "admin"
    deactivated = changes.get("active") is False and user.active
    if (demoted or deactivated) and user.role == "admin" and user.active and _active_admins(session) <= 1:
        raise Conflict("the last active admin cannot be demoted or deactivated", code="last_admin")
    if "role" in changes and changes["role"] != user.role:
        _audit(session, actor, "user.role_changed", user, **{"from": user.role, "to": changes["role"]})
    if "team_id" in changes and changes["team_id"] != user.team_id:
        _audit(session, actor, "user.team_changed", user, **{"from": user.team_id, "to": changes["team_id"]})
    if "active" in changes and changes["active"] is not None and bool(changes["active"]) != user.active:
        _audit(session, actor, "user.activated" if changes["active"] else "user.deactivated", user)
        if not changes["active"]:
            end_all_login_sessions(session, user.id)
    if "daily_task_capacity" in changes and changes["daily_task_capacity"] != user.daily_task_capacity:
        _audit(session, actor, "user.capacity_changed", user,
               **{"from": user.daily_task_capacity, "to": changes["daily_task_capacity"]})
    if "password" in changes:
        password = str(changes.pop("password"))
        _check_password_strength(password)
        user.password_hash = hash_password(password)
        end_all_login_sessions(session, user.id)
        _audit(session, actor, "user.password_set", user)
    for key, value in changes.items():
        if value is None and key in ("role", "active", "daily_task_capacity", "name", "email", "timezone"):
            continue  # null means "leave as is" for required columns
        setattr(user, key, value)
    session.flush()
    return user


def change_own_password(session: Session, actor: Actor, current: str, new: str) -> User:
    """Change the caller's password after checking the current one (wrong one: 403, rate-limited)."""
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None or not user.active:
        raise Unauthorized("log in first")
    _check_rate(session, user.username, "")
    if not check_password(user.password_hash, current):
        session.add(LoginAttempt(username=user.username, remote_addr=""))
        session.flush()
        raise Forbidden("the current password is wrong", code="wrong_password",
                        details={"field": "current_password"})
    _check_password_strength(new)
    user.password_hash = hash_password(new)
    end_all_login_sessions(session, user.id)
    _audit(session, actor, "user.password_changed", user)
    session.flush()
    return user


def start_login_session(session: Session, user: User) -> str:
    """Record a browser login; return the random id for the cookie (only its digest is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(user_id=user.id, token_hash=_digest(token),
                             expires_at=clock.now() + timedelta(days=LOGIN_DAYS)))
    session.flush()
    return token


def user_for_login_session(session: Session, token: str) -> User | None:
    """The active user of a live (not ended, not expired) login session."""
    row = session.scalar(select(LoginSession).where(LoginSession.token_hash == _digest(token)))
    if row is None or row.ended_at is not None or row.expires_at <= clock.now():
        return None
    return row.user if row.user.active else None


def end_login_session(session: Session, token: str) -> None:
    """End one browser login (logout): its cookie no longer works, even if copied."""
    session.execute(update(LoginSession).where(LoginSession.token_hash == _digest(token),
                                               LoginSession.ended_at.is_(None)).values(ended_at=clock.now()))


def end_all_login_sessions(session: Session, user_id: int) -> None:
    """End every browser login of a user (password changed, user deactivated)."""
    session.execute(update(LoginSession).where(LoginSession.user_id == user_id,
                                               LoginSession.ended_at.is_(None)).values(ended_at=clock.now()))


_DUMMY_HASH: str | None = None


def _dummy_check(password: str) -> None:
    """Spend the time a real check takes, so unknown usernames are not revealed by timing."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    check_password(_DUMMY_HASH, password)


def _check_rate(session: Session, username: str, remote_addr: str) -> None:
    since = clock.now() - FAILURE_WINDOW
    failures = session.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.username == username, LoginAttempt.attempted_at >= since
        )
    ) or 0
    if failures >= MAX_FAILURES:
        raise TooManyRequests("too many failed logins; try again in a few minutes")
    if remote_addr:
        from_address = session.scalar(
            select(func.count()).select_from(LoginAttempt).where(
                LoginAttempt.remote_addr == remote_addr, LoginAttempt.attempted_at >= since
            )
        ) or 0
        if from_address >= MAX_FAILURES_PER_ADDRESS:
            raise TooManyRequests("too many failed logins from this address; try again in a few minutes")


def authenticate(session: Session, username: str, password: str, remote_addr: str = "") -> User:
    """Return the user for good credentials; record and rate-limit failures.

    Used by the login form and the token endpoint alike: after MAX_FAILURES
    failures for a username within FAILURE_WINDOW, even a good password gets
    TooManyRequests (429).  An unknown or inactive user fails like a wrong
    password.  The caller must commit after a failure to keep the attempt.
    """
    username = username[:80]
    _check_rate(session, username, remote_addr[:64])
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        _dummy_check(password)
    if user is None or not check_password(user.password_hash, password) or not user.active:
        session.add(LoginAttempt(username=username, remote_addr=remote_addr[:64]))
        session.flush()
        raise Unauthorized("wrong username or password", code="bad_credentials")
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, label: str = "", days: int = TOKEN_DAYS) -> tuple[str, ApiToken]:
    """Issue a bearer token; the clear token is returned once and never stored."""
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise Invalid(f"a token lives 1 to {MAX_TOKEN_DAYS} days", code="invalid_expiry", details={"field": "days"})
    token = "sc_" + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id, token_hash=_digest(token), label=label[:120],
        expires_at=clock.now() + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    return token, row


def issue_token(session: Session, actor: Actor, label: str = "", days: int = TOKEN_DAYS) -> tuple[str, ApiToken]:
    """A logged-in user mints a token for themselves (the clear token is shown once)."""
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None or not user.active:
        raise Unauthorized("log in first")
    return create_token(session, user, label, days)


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


def list_teams(session: Session, actor: Actor) -> list[Team]:
    """Every team (any logged-in user: teams are share targets)."""
    return list(session.scalars(select(Team).order_by(Team.name)))


def create_team(session: Session, actor: Actor, name: str) -> Team:
    """Create a team (admins)."""
    require_role(actor, "admin")
    name = name.strip()
    if not name:
        raise Invalid("a team needs a name", code="empty_name", details={"field": "name"})
    if session.scalar(select(Team.id).where(Team.name == name)) is not None:
        raise Conflict(f"the team {name!r} exists", code="team_taken")
    team = Team(name=name)
    session.add(team)
    session.flush()
    session.add(AuditEntry(actor_id=actor.user_id, action="team.created", target_type="team",
                           target_id=team.id, details={"name": name}))
    return team


def list_users(session: Session, actor: Actor) -> list[User]:
    """Every user (any logged-in user may list names, to assign and share)."""
    return list(session.scalars(select(User).order_by(User.id)))


def get_user(session: Session, user_id: int) -> User:
    """A user by id or NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    return user
