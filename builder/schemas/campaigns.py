"""Campaigns: drafts, publishing, versions, import/export, stats."""

from __future__ import annotations

from typing import Any
from typing import Literal

from pydantic import Field

from builder.api.base import Body
from builder.api.base import Query
from builder.schemas.common import IsoTimestamp
from builder.schemas.common import Out
from builder.schemas.graphs import GraphOut
from builder.schemas.publishing import CampaignStatus
from builder.schemas.publishing import IssueOut


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


class CampaignNameOut(Out):
    """A campaign as reps see it in the list: name and status only."""

    id: int
    name: str
    status: CampaignStatus


class CampaignSummaryOut(Out):
    """A campaign as the list shows it."""

    id: int
    name: str
    status: CampaignStatus
    live_version: int | None = Field(description="The version contacts run on (null until published).")
    has_unpublished_changes: bool
    contacts_active: int = Field(description="Contacts with an active or paused run.")
    published_at: IsoTimestamp | None = Field(description="When the live version was published.")
    published_by: str | None = Field(description="Who published the live version (a name).")
    draft_updated_at: IsoTimestamp
    allow_reentry: bool


CampaignListItem = CampaignSummaryOut | CampaignNameOut
"""Marketers and admins get summaries; reps get names only."""


class CampaignOut(CampaignSummaryOut):
    """A campaign with its draft graph."""

    draft: GraphOut
    published_version: int | None = Field(description="The same as live_version.")


class CampaignImportOut(CampaignOut):
    """The new draft campaign, with the references in its graph this CRM lacks."""

    missing_references: list[IssueOut] = Field(
        description="unknown_pipeline, unknown_stage, unknown_user and unknown_tag findings.")


class CampaignDeletedOut(Out):
    """What DELETE did."""

    result: Literal["deleted", "archived"] = Field(
        description="A never-published draft is deleted; a published campaign is archived (its runs stop).")


class CampaignExportOut(Out):
    """The draft graph with a format version, for download (POST /campaigns/import takes it back)."""

    format: Literal["stagecraft.campaign"]
    format_version: int
    name: str
    allow_reentry: bool
    graph: GraphOut


class LayoutOut(Out):
    """The graph laid out left to right (not saved)."""

    graph: GraphOut


class NodeStatsOut(Out):
    """Live numbers of one node."""

    active: int = Field(description="Runs running or due now.")
    waiting: int = Field(description="Runs parked on a future timer.")
    paused: int
    completed: int
    stopped: int
    failed: int
    satisfied: int = Field(description="Goal hits.")
    passed: int = Field(description="Contacts a decision or split sent down a path.")
    left: int = Field(description="Contacts a decision without Otherwise let leave (they matched no path).")


class EmailStepStatsOut(Out):
    """One send-email step's report: unique contacts per outcome."""

    node_id: str
    sent: int
    opened: int
    clicked: int = Field(description="Messages with at least one tracked click.")
    unsubscribed: int
    bounced: int


class CampaignStatsOut(Out):
    """Live counts per node of the live (else latest) version; every node is listed, zeros included."""

    campaign_id: int
    nodes: dict[str, NodeStatsOut] = Field(description="By node id.")
    branches: dict[str, dict[str, int]] = Field(description="By decision or split node id: contacts per path id "
                                                            "(\"otherwise\" included).")
    emails: dict[str, EmailStepStatsOut] = Field(description="By send-email step id.")
