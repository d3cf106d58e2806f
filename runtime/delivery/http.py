"""Webhooks: JSON POSTs with an Idempotency-Key, never to private addresses by default.

Invariants:
    * HTTP posts to loopback, private, link-local, multicast, reserved or
      otherwise non-global addresses are refused (every address the host
      resolves to is checked) unless ``config.allow_private_http``. Redirects
      are not followed, so a redirect cannot lead past that check.
    * Connection errors, timeouts, 5xx, 408 and 429 are transient; other 4xx,
      3xx and bad URLs are permanent.

Known limit: the address check resolves the host itself; ``requests`` resolves
again when it connects, so a DNS answer that changes in between (rebinding)
is not caught.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from runtime.config import RuntimeConfig
from runtime.delivery.base import Claimed
from runtime.delivery.base import PermanentError
from runtime.delivery.base import Report
from runtime.delivery.base import TransientError
from runtime.delivery.base import register_transport

USER_AGENT = "Stagecraft-outbox/0.1"


class RefusedDestination(PermanentError):
    """An HTTP destination that resolves to a non-public address."""


def _forbidden_reason(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    checks = (
        ("loopback", addr.is_loopback),
        ("link-local", addr.is_link_local),
        ("unspecified", addr.is_unspecified),
        ("multicast", addr.is_multicast),
        ("reserved", addr.is_reserved),
        ("private", addr.is_private),
        ("not globally routable", not addr.is_global),
    )
    for reason, hit in checks:
        if hit:
            return reason
    return None


def check_destination(host: str, port: int) -> None:
    """Refuse `host` if any address it resolves to is not a public one.

    Args:
        host: a host name or literal address.
        port: the port the request will use.

    Raises:
        RefusedDestination: an address is loopback/private/link-local/reserved/….
        TransientError: the name does not resolve (may be a DNS hiccup).
    """
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise TransientError(f"cannot resolve {host!r}: {exc}") from exc
    if not infos:
        raise TransientError(f"{host!r} resolves to no address")
    for info in infos:
        literal = str(info[4][0]).split("%", 1)[0]
        reason = _forbidden_reason(ipaddress.ip_address(literal))
        if reason:
            raise RefusedDestination(
                f"refused: {host} resolves to {literal} ({reason}); "
                "set STAGECRAFT_HTTP_ALLOW_PRIVATE=1 to allow private destinations"
            )


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None


KEEP_ALIVE_BODY = 64 * 1024


def _drain(response: requests.Response) -> None:
    """Read a small reply to the end (keeping the connection alive); a large one just closes it."""
    read = 0
    try:
        for chunk in response.iter_content(8192):
            read += len(chunk)
            if read > KEEP_ALIVE_BODY:
                return
    except requests.RequestException:  # the post succeeded; only the connection is lost
        return


def post_json(
    http: requests.Session, key: str, payload: dict[str, Any], config: RuntimeConfig
) -> None:
    """POST the row's JSON with its Idempotency-Key; raise on anything but 2xx.

    Raises:
        RefusedDestination: a private destination while those are not allowed.
        PermanentError: bad URL, a 3xx, or a 4xx other than 408/429.
        TransientError: connection error, timeout, 5xx, 408, 429.
    """
    url = str(payload.get("url") or "")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentError(f"not an http(s) URL: {url!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise PermanentError(f"bad port in {url!r}") from exc
    if not config.allow_private_http:
        check_destination(parts.hostname, port)
    headers = {"Idempotency-Key": key, "User-Agent": USER_AGENT}
    try:
        response = http.post(
            url,
            json=payload.get("json"),
            headers=headers,
            timeout=config.http_timeout,
            allow_redirects=False,
            stream=True,  # the body is not needed; never download an endless one
        )
    except requests.Timeout as exc:
        raise TransientError(f"timed out after {config.http_timeout:g} s: {url}") from exc
    except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
        raise PermanentError(f"bad URL {url!r}: {exc}") from exc
    except requests.RequestException as exc:
        raise TransientError(f"{type(exc).__name__}: {exc}") from exc
    with response:
        status = response.status_code
        if 200 <= status < 300:
            _drain(response)  # a fully read response returns its connection to the pool
            return
        try:
            raw = response.raw.read(200, decode_content=True) or b""
        except Exception:  # only a hint for last_error
            raw = b""
        snippet = raw.decode("utf-8", "replace").strip()
        message = f"HTTP {status} from {url}" + (f": {snippet}" if snippet else "")
        if status >= 500 or status in (408, 429):
            raise TransientError(message, retry_after=_retry_after(response))
        if 300 <= status < 400:
            raise PermanentError(f"{message} (redirects are not followed)")
        raise PermanentError(message)


class HttpSender:
    """Pooled keep-alive connections (per host) shared by ``config.http_parallel`` posting threads."""

    def __init__(self, config: RuntimeConfig) -> None:
        self.config = config
        self.parallel = max(1, config.http_parallel)
        self.http = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=16, pool_maxsize=self.parallel, max_retries=0)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)
        self.pool = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="webhook")

    def deliver(self, item: Claimed, now: datetime) -> None:
        """POST the row's JSON."""
        post_json(self.http, item.key, item.payload, self.config)

    def deliver_all(self, items: Iterator[Claimed], now: datetime, report: Report) -> None:
        """POST rows' JSON from every thread at once until `items` runs out."""
        lock = threading.Lock()

        def run() -> None:
            while True:
                with lock:
                    item = next(items, None)
                if item is None:
                    return
                try:
                    self.deliver(item, now)
                except Exception as exc:  # classified by the relay (a bug counts as an attempt)
                    report(item, exc)
                else:
                    report(item, None)

        for future in [self.pool.submit(run) for _ in range(self.parallel)]:
            future.result()

    def close(self) -> None:
        """Close pooled connections and stop the threads."""
        self.http.close()
        self.pool.shutdown(wait=False)


class HttpTransport:
    """The `http_post` outbox kind."""

    kind = "http_post"
    held_note = ""

    def ready(self, config: RuntimeConfig) -> bool:
        """Always: webhooks need no set-up."""
        return True

    def open(self, config: RuntimeConfig) -> HttpSender:
        """A pooled session and its posting threads."""
        return HttpSender(config)


register_transport(HttpTransport())
