"""App configuration from the environment; the secret key is made once and kept."""

from __future__ import annotations

import os
from typing import Any

from models.db import default_data_dir
from models.db import default_database_url
from runtime.config import load_secret_key as load_secret_key  # noqa: F401  (re-exported for create_app)


def default_settings() -> dict[str, Any]:
    """Settings from STAGECRAFT_* variables with safe defaults."""
    data_dir = default_data_dir()
    return {
        "DATABASE_URL": default_database_url(),
        "DATA_DIR": str(data_dir),
        "REDIS_URL": os.environ.get("STAGECRAFT_REDIS_URL") or None,
        # The base of public links (hosted forms, tracked links, unsubscribe): DESIGN.md §6.3.
        "PUBLIC_URL": (os.environ.get("STAGECRAFT_PUBLIC_URL") or "").rstrip("/") or None,
        "SECRET_KEY": os.environ.get("STAGECRAFT_SECRET_KEY") or None,
        # Hosted forms: accepted submissions per sender address per window (seconds).
        "FORM_RATE_LIMIT": (10, 600),
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
