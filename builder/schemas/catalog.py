"""The node catalog and its config summaries."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic import Field

from builder.api.base import Body


class SummaryItem(Body):
    """One goal or step config to summarise; `key` is echoed back (a node or step id)."""

    key: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=60)
    config: dict[str, Any] = Field(default_factory=dict)


class SummariesBody(Body):
    """Configs to summarise (at most 5,000: a whole 1,000-node campaign)."""

    items: list[SummaryItem] = Field(max_length=5000)


class SummariesOut(BaseModel):
    """`{key: one-line summary}`; "" for an incomplete config or an unknown type."""

    summaries: dict[str, str]
