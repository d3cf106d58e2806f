"""Socket.IO handlers: authenticated connections joining the rooms `builder/live.py` names.

A connection joins its user's room at once and other rooms on request, each
checked by `live.may_join` with the user's current role (re-read from the
database, so a role change or deactivation applies to live connections).
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

from builder import live
from builder.db import close_session
from builder.db import get_session
from builder.extensions import socketio
from models import User
from models import users as user_service
from models.access import Actor

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
        join_room(live.user_room(user.id))
    finally:
        close_session()


def _disconnect(*_args: Any) -> None:
    _actors.pop(request.sid, None)  # type: ignore[attr-defined]


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
    if actor is None or not isinstance(room, str):
        return {"ok": False, "error": "forbidden"}
    try:
        allowed = live.may_join(actor, room, get_session())
    finally:
        close_session()
    if not allowed:
        return {"ok": False, "error": "forbidden"}
    join_room(room)
    return {"ok": True, "room": room}


def _leave(data: Any) -> dict[str, Any]:
    room = data.get("room") if isinstance(data, dict) else None
    if isinstance(room, str):
        leave_room(room)
    return {"ok": True}


def publish(room: str, name: str, payload: dict[str, Any]) -> None:
    """Push a hint to a room of this server's clients (and, with Redis, every web node's)."""
    socketio.emit(name, payload, to=room)


_pushes = live.LivePushes(publish)


def init_app(app: Flask) -> None:
    """Register the handlers and push committed events to the rooms."""
    socketio.on_event("connect", _connect)
    socketio.on_event("disconnect", _disconnect)
    socketio.on_event("join", _join)
    socketio.on_event("leave", _leave)
    _pushes.install()
