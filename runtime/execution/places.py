"""Places: a contact's enrollment and runs in a campaign, loaded for a whole batch with one query.

Invariant: `Place` is the applier's working copy — `Writes.apply` keeps it
current while a batch is decided, so a later event of the batch sees what an
earlier one did before anything is written.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from dataclasses import field

from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Enrollment
from models import SequenceRun
from models.sets import chunks
from models.sets import dialect
from models.sets import id_param
from models.sets import id_table
from models.sets import prebuilt
from runtime.execution.cache import LiveCampaign
from runtime.execution.decide import Presence

_ENROLLMENT = t.cast(Table, Enrollment.__table__)
_RUN = t.cast(Table, SequenceRun.__table__)


def _place_statement(_d: str) -> t.Any:
    return (
        select(_ENROLLMENT.c.campaign_id, _ENROLLMENT.c.contact_id, _ENROLLMENT.c.id, _RUN.c.node_id, _RUN.c.status)
        .select_from(_ENROLLMENT.outerjoin(_RUN, (_RUN.c.contact_id == _ENROLLMENT.c.contact_id)
                                           & (_RUN.c.campaign_id == _ENROLLMENT.c.campaign_id)))
        .where(_ENROLLMENT.c.campaign_id.in_(bindparam("campaigns", expanding=True)),
               _ENROLLMENT.c.contact_id == bindparam("contacts"))
    )


def _places_statement(d: str) -> t.Any:
    ids = id_table(d, "contacts")
    return (
        select(_ENROLLMENT.c.campaign_id, _ENROLLMENT.c.contact_id, _ENROLLMENT.c.id, _RUN.c.node_id, _RUN.c.status)
        .select_from(_ENROLLMENT.outerjoin(_RUN, (_RUN.c.contact_id == _ENROLLMENT.c.contact_id)
                                           & (_RUN.c.campaign_id == _ENROLLMENT.c.campaign_id)))
        .where(_ENROLLMENT.c.campaign_id.in_(bindparam("campaigns", expanding=True)),
               # one bound list, not one parameter per contact: PostgreSQL plans a long IN list slowly
               _ENROLLMENT.c.contact_id.in_(select(ids.c.value).scalar_subquery()))
    )


@dataclass
class Place:
    """A contact's enrollment and runs in one campaign, kept current while a batch is applied."""

    campaign: LiveCampaign
    contact_id: int
    enrollment_id: int | None
    runs: list[tuple[str, str]] = field(default_factory=list)
    #: The batch enrolls the contact (the row is written at flush).
    enrolling: bool = False
    #: Sequence node id → index in `Writes.runs` of the batch's new run that is still open.
    open_new: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, campaign: LiveCampaign, contact_id: int) -> Place:
        """Load the contact's enrollment and runs in the campaign (one indexed query)."""
        return load_places(session, {campaign.id: campaign}, {campaign.id: {contact_id}})[(campaign.id, contact_id)]

    @property
    def enrolled(self) -> bool:
        """Enrolled before the batch or by it."""
        return self.enrollment_id is not None or self.enrolling

    def presence(self, *, paused: bool = False) -> Presence:
        """The pure view `decide` reads."""
        return Presence(
            paused=paused,
            allow_reentry=self.campaign.allow_reentry,
            enrolled=self.enrolled,
            runs=tuple(self.runs),
        )


def load_places(
    session: Session, campaigns: t.Mapping[int, LiveCampaign], wanted: t.Mapping[int, t.Collection[int]]
) -> dict[tuple[int, int], Place]:
    """The places of the wanted contacts in each campaign: enrollments and runs, one query per 5,000 contacts.

    Args:
        campaigns: the campaigns by id.
        wanted: campaign id → the contacts whose place is needed.

    Returns:
        (campaign id, contact id) → Place, for every wanted pair (empty places included).
    """
    places: dict[tuple[int, int], Place] = {
        (campaign_id, contact_id): Place(campaigns[campaign_id], contact_id, None)
        for campaign_id, contact_ids in wanted.items() for contact_id in contact_ids
    }
    campaign_ids = sorted(wanted)
    everyone = sorted({c for contact_ids in wanted.values() for c in contact_ids})
    session.flush()  # the query below is Core (no autoflush): the caller's pending changes go first
    d = dialect(session)
    if len(everyone) == 1:  # a single event: the contact's id as is
        parts: t.Iterable[t.Any] = [everyone]
        statement = prebuilt(session, "places_one", _place_statement)
    else:
        parts = chunks(everyone)
        statement = prebuilt(session, "places", _places_statement)
    for part in parts:
        contacts = part[0] if len(everyone) == 1 else id_param(d, part)
        rows = session.execute(statement, {"campaigns": campaign_ids, "contacts": contacts})
        for campaign_id, contact_id, enrollment_id, node_id, status in rows:
            place = places.get((campaign_id, contact_id))
            if place is None:
                continue
            place.enrollment_id = enrollment_id
            if node_id is not None:
                place.runs.append((node_id, status))
    return places
