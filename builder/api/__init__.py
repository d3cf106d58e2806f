"""The JSON API under /api/v1: one blueprint per resource, registered here."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register every API blueprint."""
    from builder.api import admin
    from builder.api import auth
    from builder.api import bulk
    from builder.api import campaigns
    from builder.api import catalog
    from builder.api import contacts
    from builder.api import docs
    from builder.api import events
    from builder.api import opportunities
    from builder.api import pipelines
    from builder.api import segments
    from builder.api import tasks
    from builder.api import users

    for module in (auth, admin, users, contacts, pipelines, opportunities, tasks, campaigns, catalog, events, docs):
        app.register_blueprint(module.bp)
    for module in (bulk, segments):  # contacts at scale (#13)
        app.register_blueprint(module.bp)
