"""Who may do what: roles, ownership and sharing, checked in the service layer.

Invariant: API handlers, pages and Socket.IO events all go through these
checks, so a rule is written once.  Reads of a thing the actor may not see
raise NotFound (existence is not revealed); forbidden writes raise Forbidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from models import Opportunity
from models import OpportunityShare
from models import User
from models.errors import Forbidden
from models.errors import NotFound


@dataclass(frozen=True)
class Actor:
    """The user a service call acts for (None-user = the campaign runtime)."""

    user_id: int | None
    role: str
    team_id: int | None = None

    @classmethod
    def of(cls, user: User) -> Actor:
        """The actor for a logged-in user."""
        return cls(user_id=user.id, role=user.role, team_id=user.team_id)

    @property
    def is_admin(self) -> bool:
        """Admins and the runtime see everything."""
        return self.role in ("admin", "system")


SYSTEM = Actor(user_id=None, role="system")


def require_role(actor: Actor, *roles: str) -> None:
    """Raise Forbidden unless the actor has one of `roles` (admins always pass)."""
    if actor.is_admin or actor.role in roles:
        return
    raise Forbidden(f"this needs the role {' or '.join(roles)}")


def visible_opportunities(actor: Actor, query: Select[Any]) -> Select[Any]:
    """Narrow a query over opportunities to those the actor may see."""
    if actor.is_admin or actor.role == "marketer":
        return query
    grantee = [OpportunityShare.user_id == actor.user_id]
    if actor.team_id is not None:
        grantee.append(OpportunityShare.team_id == actor.team_id)
    shared = select(OpportunityShare.opportunity_id).where(or_(*grantee))
    return query.where(or_(Opportunity.owner_id == actor.user_id, Opportunity.id.in_(shared)))


def can_see_opportunity(session: Session, actor: Actor, opportunity: Opportunity) -> bool:
    """True when the actor owns, shares or oversees the opportunity."""
    if actor.is_admin or actor.role == "marketer":
        return True
    if opportunity.owner_id == actor.user_id:
        return True
    for share in opportunity.shares:
        if share.user_id == actor.user_id:
            return True
        if actor.team_id is not None and share.team_id == actor.team_id:
            return True
    return False


def check_read_opportunity(session: Session, actor: Actor, opportunity: Opportunity | None) -> Opportunity:
    """Return the opportunity or raise NotFound when it is invisible to the actor."""
    if opportunity is None or not can_see_opportunity(session, actor, opportunity):
        raise NotFound("no such opportunity")
    return opportunity


def check_write_opportunity(session: Session, actor: Actor, opportunity: Opportunity | None) -> Opportunity:
    """Return the opportunity if the actor may change it (marketers may only read)."""
    opportunity = check_read_opportunity(session, actor, opportunity)
    if actor.role == "marketer":
        raise Forbidden("marketers may read opportunities but not change them")
    return opportunity
