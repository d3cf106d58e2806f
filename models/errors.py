"""Domain errors: each carries the HTTP-ish status, a stable code and details.

Invariant: services raise these before changing anything, so a refused call
leaves the database as it was (the caller rolls back the session).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refused operation, with a code a client can branch on."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details if details is not None else {}

    def to_json(self) -> dict[str, Any]:
        """The `{"error": {...}}` body."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class NotFound(DomainError):
    """No such thing, or the actor may not know it exists."""

    status = 404
    code = "not_found"


class Forbidden(DomainError):
    """The actor may see the thing but not do this to it."""

    status = 403
    code = "forbidden"


class Unauthorized(DomainError):
    """No valid credentials."""

    status = 401
    code = "unauthorized"


class Conflict(DomainError):
    """The request clashes with the current state."""

    status = 409
    code = "conflict"


class Invalid(DomainError):
    """Well-formed input that breaks a domain rule."""

    status = 422
    code = "invalid"


class TooManyRequests(DomainError):
    """Rate limited."""

    status = 429
    code = "rate_limited"


class TooLarge(DomainError):
    """The request carries more than is allowed (an upload past its limit)."""

    status = 413
    code = "too_large"
