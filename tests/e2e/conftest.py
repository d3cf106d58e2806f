"""Browser tests: a real `stagecraft serve` on a free loopback port, driven by Debian Chromium.

The server runs in a subprocess with its own data folder; tests seed data over
the REST API with a bearer token and log in through the real login form.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "screenshots"
PASSWORDS = {"admin": "admin-pass-1", "marketer": "marketer-pass-1", "rep1": "rep1-pass-1", "rep2": "rep2-pass-1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A running app with helpers to call its API as any seeded user."""

    def __init__(self, base_url: str, proc: subprocess.Popen[bytes], data_dir: Path) -> None:
        self.base_url = base_url
        self.proc = proc
        self.data_dir = data_dir
        self.log: Any = None
        self._tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        """A bearer token for a seeded user."""
        if username not in self._tokens:
            r = requests.post(f"{self.base_url}/api/v1/auth/token",
                              json={"username": username, "password": PASSWORDS[username]}, timeout=10)
            r.raise_for_status()
            self._tokens[username] = r.json()["token"]
        return self._tokens[username]

    def api(self, method: str, path: str, as_user: str = "admin", **kwargs: Any) -> Any:
        """Call the API; raise on an error status, return the JSON (or None)."""
        r = requests.request(method, f"{self.base_url}/api/v1{path}",
                             headers={"Authorization": f"Bearer {self.token(as_user)}"}, timeout=15, **kwargs)
        if r.status_code >= 400:
            raise AssertionError(f"{method} {path} -> {r.status_code}: {r.text}")
        return r.json() if r.content else None

    def raw(self, method: str, path: str, as_user: str | None = "admin", **kwargs: Any) -> requests.Response:
        """Call the API and return the response as is."""
        headers = {"Authorization": f"Bearer {self.token(as_user)}"} if as_user else {}
        return requests.request(method, f"{self.base_url}/api/v1{path}", headers=headers, timeout=15, **kwargs)


def launch(data_dir: Path, **extra_env: str) -> Server:
    """Start `stagecraft serve` (web + embedded runtime) on a free port with the seeded users."""
    env = {**os.environ, "STAGECRAFT_DATA_DIR": str(data_dir), "STAGECRAFT_DATABASE_URL": f"sqlite:///{data_dir}/e2e.db",
           "STAGECRAFT_HTTP_ALLOW_PRIVATE": "1", "PYTHONUNBUFFERED": "1", **extra_env}
    env.pop("STAGECRAFT_REDIS_URL", None)
    for username, password in PASSWORDS.items():
        role = {"admin": "admin", "marketer": "marketer"}.get(username, "rep")
        subprocess.run([sys.executable, "-m", "builder.cli", "user", "add", username, "--role", role,
                        "--password", password], env=env, check=True, cwd=ROOT, capture_output=True)
    port = _free_port()
    log = open(data_dir / "server.log", "wb")
    args = [sys.executable, "-m", "builder.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen(args,
                            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(base_url + "/login", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            log.close()
            raise RuntimeError("server did not start:\n" + (data_dir / "server.log").read_text())
        time.sleep(0.1)
    server = Server(base_url, proc, data_dir)
    server.log = log
    return server


def shut(server: Server) -> None:
    """Stop a launched server."""
    server.proc.terminate()
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
    server.log.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Start `stagecraft serve` (web + embedded runtime) with seeded users."""
    running = launch(tmp_path_factory.mktemp("e2e-data"))
    yield running
    shut(running)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's Chromium; never a downloaded browser."""
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    return {**browser_type_launch_args, "executable_path": executable,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                     "--no-first-run", "--disable-component-update", "--disable-sync"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A 1280x800 window."""
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}}


def login(page: Any, server: Server, username: str) -> None:
    """Log in through the real form."""
    page.goto(server.base_url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORDS[username])
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot into the gitignored screenshots/ folder."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
