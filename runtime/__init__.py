"""The campaign runtime: graphs (pure), execution (goal matching, runs, steps), delivery, loops.

`install()` is the runtime's start-up wiring: the web app, `stagecraft worker`,
the CLI and the tests call it before they change CRM data.
"""

from __future__ import annotations


def install() -> None:
    """Register goal matching as the dispatcher of the CRM's domain events (idempotent)."""
    from runtime.execution.dispatch import install as install_dispatcher

    install_dispatcher()
