"""Signed public tokens for campaign emails: tracked clicks, the open pixel, unsubscribe.

A token names one sent message by its outbox row's random ``public_id`` (never
a row id, a contact id or the idempotency key, which are guessable), plus a
link number for clicks, and carries an HMAC-SHA256 of both with the app's
secret, bound to its purpose. So:

Invariants:
    * A token cannot be forged or altered without the secret: `verify` returns
      None for any change (the web tier answers 404 and records nothing).
    * A click token cannot be replayed as an unsubscribe token (the purpose is
      signed), nor point at another link of the same message.
    * Pure: no database, no clock; the same inputs give the same token, so a
      message re-rendered after a crash carries the same links.
"""

from __future__ import annotations

import base64
import hmac
import re
from dataclasses import dataclass
from typing import Literal

Purpose = Literal["c", "o", "u"]
"""c = click, o = open pixel, u = unsubscribe (the letter is also the URL's path segment)."""

PURPOSES: tuple[Purpose, ...] = ("c", "o", "u")
SIGNATURE_CHARS = 22  # 132 bits of HMAC-SHA256, base64url
_PUBLIC_ID = re.compile(r"^[A-Za-z0-9_-]{8,32}$")
MAX_LINKS = 500


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token says: which message (by public id), which link, for what."""

    purpose: Purpose
    public_id: str
    index: int


def _signature(secret: bytes, purpose: str, public_id: str, index: int) -> str:
    digest = hmac.digest(secret, f"stagecraft-{purpose}|{public_id}|{index}".encode(), "sha256")
    return base64.urlsafe_b64encode(digest).decode()[:SIGNATURE_CHARS]


def sign(secret: bytes, purpose: Purpose, public_id: str, index: int = 0) -> str:
    """The token ``<public_id>.<index>.<signature>`` for a message's link, pixel or unsubscribe.

    Raises:
        ValueError: a malformed public id or an index out of range.
    """
    if not _PUBLIC_ID.match(public_id) or not 0 <= index < MAX_LINKS:
        raise ValueError("cannot sign a malformed public id or link number")
    return f"{public_id}.{index}.{_signature(secret, purpose, public_id, index)}"


def verify(secret: bytes, purpose: Purpose, token: str) -> TokenClaims | None:
    """The claims of a genuine token for `purpose`, else None (tampered, truncated, other purpose)."""
    if len(token) > 80:
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    public_id, raw_index, signature = parts
    if not _PUBLIC_ID.match(public_id) or not raw_index.isdigit() or len(raw_index) > 3:
        return None
    index = int(raw_index)
    if index >= MAX_LINKS or raw_index != str(index):
        return None
    expected = _signature(secret, purpose, public_id, index)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return None
    return TokenClaims(purpose=purpose, public_id=public_id, index=index)


@dataclass(frozen=True)
class PublicLinks:
    """Builds one message's public URLs under the public base URL."""

    base_url: str
    secret: bytes
    public_id: str

    def click(self, index: int) -> str:
        """The tracked redirect for the message's link number `index`."""
        return f"{self.base_url}/t/c/{sign(self.secret, 'c', self.public_id, index)}"

    def pixel(self) -> str:
        """The open pixel."""
        return f"{self.base_url}/t/o/{sign(self.secret, 'o', self.public_id)}"

    def unsubscribe(self) -> str:
        """The unsubscribe page (GET confirms, POST unsubscribes: RFC 8058 one-click)."""
        return f"{self.base_url}/u/{sign(self.secret, 'u', self.public_id)}"
