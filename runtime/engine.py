"""Campaign engine (placeholder until the runtime lands): goal matching entry point."""

from __future__ import annotations

from sqlalchemy.orm import Session

from models import DomainEvent


def handle_event(session: Session, event: DomainEvent) -> None:
    """Satisfy the goals of live campaigns that `event` matches (runtime issue)."""
    return None
