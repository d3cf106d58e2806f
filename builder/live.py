"""Socket.IO: authenticated connections, rooms per campaign/pipeline/opportunity/user.

Pushes are hints (ids and counts); clients re-fetch over REST, which applies
the same access rules, so a push never leaks what REST would hide.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask import request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError
from flask_socketio import disconnect
from flask_socketio import join_room
from flask_socketio import leave_room

from builder.db import close_session
from builder.db import get_session
from builder.extensions import socketio
from models import Opportunity
from models import User
from runtime import notices
from runtime import users as user_service
from runtime.access import Actor
from runtime.access import can_see_opportunity

_actors: dict[str, Actor] = {}


def _connect(auth: Any = None) -> None:
    user: User | None = None
    try:
        token = auth.get("token") if isinstance(auth, dict) else None
        if token:
            user = user_service.user_for_token(get_session(), str(token))
        elif current_user.is_authenticated:
            user = get_session().get(User, current_user.id)
        if user is None or not user.active:
            raise ConnectionRefusedError("unauthorized")
        _actors[request.sid] = Actor.of(user)  # type: ignore[attr-defined]
        join_room(f"user:{user.id}")
    finally:
        close_session()


def _disconnect(*_args: Any) -> None:
    _actors.pop(request.sid, None)  # type: ignore[attr-defined]


def may_join(actor: Actor, room: str) -> bool:
    """Whether the actor may listen to a room."""
    kind, _, ident = room.partition(":")
    if not ident.isdigit():
        return False
    if kind == "campaign":
        return actor.is_admin or actor.role == "marketer"
    if kind == "pipeline":
        return True
    if kind in ("opportunity",):
        try:
            opp = get_session().get(Opportunity, int(ident))
            return opp is not None and can_see_opportunity(get_session(), actor, opp)
        finally:
            close_session()
    if kind in ("user",):
        return actor.is_admin or actor.user_id == int(ident)
    if kind == "contact":
        # The contact room carries outbox deliveries (keys, errors), which GET /outbox shows
        # to marketers and admins only.
        return actor.is_admin or actor.role == "marketer"
    return False


def _fresh_actor() -> Actor | None:
    """The connection's actor re-read from the database (role changes and deactivation apply at once)."""
    sid = request.sid  # type: ignore[attr-defined]
    cached = _actors.get(sid)
    if cached is None or cached.user_id is None:
        return None
    try:
        user = get_session().get(User, cached.user_id)
        if user is None or not user.active:
            _actors.pop(sid, None)
            disconnect()
            return None
        actor = Actor.of(user)
    finally:
        close_session()
    _actors[sid] = actor
    return actor


def _join(data: Any) -> dict[str, Any]:
    actor = _fresh_actor()
    room = data.get("room") if isinstance(data, dict) else None
    if actor is None or not isinstance(room, str) or not may_join(actor, room):
        return {"ok": False, "error": "forbidden"}
    join_room(room)
    return {"ok": True, "room": room}


def _leave(data: Any) -> dict[str, Any]:
    room = data.get("room") if isinstance(data, dict) else None
    if isinstance(room, str):
        leave_room(room)
    return {"ok": True}


def publish(room: str, name: str, payload: dict[str, Any]) -> None:
    """Push a hint to a room (the runtime's after-commit publisher)."""
    socketio.emit(name, payload, to=room)


def init_app(app: Flask) -> None:
    """Register the handlers and hand the runtime our publisher."""
    socketio.on_event("connect", _connect)
    socketio.on_event("disconnect", _disconnect)
    socketio.on_event("join", _join)
    socketio.on_event("leave", _leave)
    notices.set_publisher(publish)
