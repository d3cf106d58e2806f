"""The JSON API under /api/v1: one blueprint per resource, registered here."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register every API blueprint."""
    from builder.api import admin
    from builder.api import auth
    from builder.api import branching
    from builder.api import bulk
    from builder.api import campaigns
    from builder.api import catalog
    from builder.api import channels
    from builder.api import contacts
    from builder.api import docs
    from builder.api import events
    from builder.api import forecast
    from builder.api import forms
    from builder.api import opportunities
    from builder.api import outcomes
    from builder.api import pipelines
    from builder.api import segments
    from builder.api import tasks
    from builder.api import users

    for module in (auth, admin, users, contacts, pipelines, opportunities, tasks, campaigns, branching, catalog, events,
                   docs, outcomes, forecast, forms, channels, bulk, segments):
        app.register_blueprint(module.bp)
