"""Runtime settings, read from the environment (no Flask).

Invariant: one `RuntimeConfig` per process; the web tier builds the same object
from the same variables, so `serve` and `worker` agree.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from models.db import default_data_dir
from models.db import default_database_url

DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def load_secret_key(data_dir: Path) -> str:
    """Read the secret key from the data folder, creating it (0600) on first run."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _public_url() -> str:
    return (os.environ.get("STAGECRAFT_PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/")


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
    # The base of every public link in emails (tracked clicks, the open pixel, unsubscribe);
    # web nodes and workers must agree, as they must on the secret that signs the links.
    public_url: str = field(default_factory=_public_url)
    secret_key: str | None = field(default_factory=lambda: os.environ.get("STAGECRAFT_SECRET_KEY") or None)
    # Delivery: parallel SMTP connections and webhook posts, and how many accepted messages
    # a connection may have ahead of their "sent" record (what a crash could re-send).
    smtp_connections: int = 4
    http_parallel: int = 16
    delivery_window: int = 4

    def signing_key(self) -> bytes:
        """The secret that signs public links: STAGECRAFT_SECRET_KEY, else the data folder's key."""
        return (self.secret_key or load_secret_key(default_data_dir())).encode()
