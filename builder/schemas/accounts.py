"""Accounts: bearer tokens, users, teams, password changes."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from typing import Literal

from pydantic import Field

from builder.api.base import Body
from builder.schemas.common import Id
from builder.schemas.common import Out
from builder.schemas.common import Password
from builder.schemas.common import Patch
from builder.schemas.common import TimeZone
from models import users as user_service


class TokenRequest(Body):
    username: str = Field(min_length=1, max_length=80)
    password: Password = Field(min_length=1, max_length=200)
    label: str = Field(default="", max_length=120)


Role = Literal["admin", "marketer", "rep"]


class UserOut(Out):
    """A user (never the password)."""

    id: int
    username: str
    name: str
    email: str
    role: Role
    daily_task_capacity: int
    team_id: int | None
    active: bool


class TokenOut(Out):
    """A new bearer token for the credentials given; the clear token is in this reply only."""

    token: str
    expires_at: datetime
    user: UserOut


class TokenInfo(Out):
    """One of the caller's tokens (never the secret)."""

    id: int
    label: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class UserCreate(Body):
    username: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: Password = Field(min_length=8, max_length=200)
    role: Role
    name: str = Field(default="", max_length=120)
    email: str = Field(default="", max_length=254)
    daily_task_capacity: int = Field(default=10, ge=1, le=500)
    team: str | None = Field(default=None, max_length=120)


class UserPatch(Patch):
    nullable: ClassVar[frozenset[str]] = frozenset({"team_id"})  # null = no team
    role: Role | None = None
    name: str | None = Field(default=None, max_length=120)
    email: str | None = Field(default=None, max_length=254)
    daily_task_capacity: int | None = Field(default=None, ge=1, le=500)
    timezone: TimeZone | None = None
    active: bool | None = None
    password: Password | None = Field(default=None, min_length=8, max_length=200)
    team_id: Id | None = None


class TokenCreate(Body):
    label: str = Field(default="", max_length=120)
    days: int = Field(default=user_service.TOKEN_DAYS, ge=1, le=user_service.MAX_TOKEN_DAYS)


class NewTokenOut(Out):
    """A token minted for the caller; the clear token is in this reply only."""

    id: int
    token: str
    label: str
    created_at: datetime
    expires_at: datetime


class PasswordChange(Body):
    current_password: Password = Field(min_length=1, max_length=200)
    new_password: Password = Field(min_length=user_service.MIN_PASSWORD, max_length=200)


class TeamCreate(Body):
    name: str = Field(min_length=1, max_length=120)


class TeamOut(Out):
    """A team (a share target)."""

    id: int
    name: str
