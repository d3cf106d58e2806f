"""App configuration from the environment; the secret key is made once and kept."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from models.db import default_data_dir
from models.db import default_database_url


def load_secret_key(data_dir: Path) -> str:
    """Read the secret key from the data folder, creating it (0600) on first run."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def default_settings() -> dict[str, Any]:
    """Settings from STAGECRAFT_* variables with safe defaults."""
    data_dir = default_data_dir()
    return {
        "DATABASE_URL": default_database_url(),
        "DATA_DIR": str(data_dir),
        "REDIS_URL": os.environ.get("STAGECRAFT_REDIS_URL") or None,
        "SOCKETIO_CHANNEL": os.environ.get("STAGECRAFT_SOCKETIO_CHANNEL", "stagecraft"),
        "RUN_RUNTIME": False,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_CHECK_DEFAULT": False,
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
        "JSON_SORT_KEYS": False,
    }
