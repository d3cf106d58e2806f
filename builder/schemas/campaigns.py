"""Campaigns: drafts, publishing, versions, import/export, stats."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from builder.api.base import Body
from builder.api.base import Query


class CampaignCreate(Body):
    name: str = Field(min_length=1, max_length=200)
    graph: Any = None


class CampaignPatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    allow_reentry: bool | None = None


class DraftBody(Body):
    graph: Any


class PublishQuery(Query):
    dry_run: bool = False


class ListQuery(Query):
    include_archived: bool = False


class ImportBody(Body):
    format: str
    format_version: int
    name: str
    graph: Any
    allow_reentry: bool = False
