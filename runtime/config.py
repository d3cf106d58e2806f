"""Runtime settings, read from the environment (no Flask).

Invariant: one `RuntimeConfig` per process; the web tier builds the same object
from the same variables, so `serve` and `worker` agree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from dataclasses import field

from models.db import default_database_url


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class RuntimeConfig:
    """Everything goal matching, the tick and the outbox relay need to know."""

    database_url: str = field(default_factory=default_database_url)
    redis_url: str | None = field(default_factory=lambda: os.environ.get("STAGECRAFT_REDIS_URL") or None)
    # Web nodes and workers must share the Socket.IO channel on Redis.
    socketio_channel: str = field(default_factory=lambda: os.environ.get("STAGECRAFT_SOCKETIO_CHANNEL", "stagecraft"))
    smtp_url: str | None = field(default_factory=lambda: os.environ.get("STAGECRAFT_SMTP_URL") or None)
    mail_from: str = field(default_factory=lambda: os.environ.get("STAGECRAFT_MAIL_FROM", "stagecraft@localhost"))
    account_timezone: str = field(default_factory=lambda: os.environ.get("STAGECRAFT_TIMEZONE", "UTC"))
    allow_private_http: bool = field(default_factory=lambda: _flag("STAGECRAFT_HTTP_ALLOW_PRIVATE"))
    batch_size: int = 500  # 13.5k steps/s at 100k runs (bench); see docs/NOTES.md
    tick_seconds: float = 1.0
    relay_seconds: float = 1.0
    lease_seconds: float = 60.0
    max_attempts: int = 5
    http_timeout: float = 10.0
