"""Security headers on every response: CSP, no sniffing, no framing."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask import Response
from flask import has_request_context
from flask import request
from flask.sessions import SecureCookieSessionInterface

# Vue compiles templates in the browser, which needs 'unsafe-eval' for scripts;
# inline scripts stay forbidden.  Vue Flow positions nodes with inline styles.
CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self' ws: wss:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the Secure flag set per request.

    The cookie is Secure when SESSION_COOKIE_SECURE is set or the request came
    over https; deciding per request (rather than flipping app.config, which
    threads share) keeps one https request from affecting another.
    HttpOnly and SameSite=Lax come from the settings.
    """

    def get_cookie_secure(self, app: Any) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or (has_request_context() and request.is_secure)


def init_app(app: Flask) -> None:
    """Add the headers; mark session cookies Secure when served over https."""
    app.session_interface = SessionInterface()

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        if not getattr(response, "embeddable", False):  # hosted forms may be framed (builder/public.py)
            response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
