"""Stagecraft's web tier: the Flask app factory, API, pages and Socket.IO.

Importing this package does not import Flask, so `stagecraft worker` (which
shares the console script) stays Flask-free.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app (see builder.app.create_app)."""
    from builder.app import create_app as _create_app

    return _create_app(config)
