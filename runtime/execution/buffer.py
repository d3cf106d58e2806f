"""A batch's shared state and its write buffer (one INSERT per table instead of one per step).

Invariants:
    * The buffer holds only rows the CRM's own row functions made
      (`models.contacts.tag_row`, `models.tasks.task_values`,
      `models.opportunities.note_row`, `models.events.log_values`), and
      announces them with the CRM's own notices, so a buffered note is pushed
      to the board and the record exactly as `add_note` pushes it.
    * Nothing in a batch reads buffered rows back except through the batch's
      own caches, which are kept current (`Batch.tagged`, `Batch.day_load`,
      tallies); steps that go through a service call `Batch.sync` first, so
      event ids stay in the order things happened.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Contact
from models import ContactTag
from models import Note
from models import Tag
from models import Task
from models import User
from models import events
from models import opportunities as opportunity_rules
from models import tasks as task_rules
from models.events import Logged
from runtime.config import RuntimeConfig
from runtime.execution.cache import LiveCampaign


class WriteBuffer:
    """Rows of the common effects (tags, tasks, notes, events), inserted one executemany per table.

    A flushed ORM insert costs ~300 µs; a row of an executemany a few µs.
    """

    #: Insert order (foreign keys: none of these refer to each other).
    MODELS: tuple[type[t.Any], ...] = (ContactTag, Task, Note)

    def __init__(self, session: Session) -> None:
        self.session = session
        self.rows: dict[type[t.Any], list[dict[str, t.Any]]] = {m: [] for m in self.MODELS}
        self.events: list[Logged] = []
        self.tagged_contacts: list[int] = []
        self.note_opportunities: set[int] = set()

    def __len__(self) -> int:
        return sum(len(rows) for rows in self.rows.values()) + len(self.events)

    def add(self, model: type[t.Any], values: dict[str, t.Any]) -> None:
        """Queue one row (every row of a model has the same keys: one statement)."""
        self.rows[model].append(values)
        if model is ContactTag:
            self.tagged_contacts.append(values["contact_id"])
        elif model is Note and values["opportunity_id"] is not None:
            self.note_opportunities.add(values["opportunity_id"])

    def add_event(self, event: Logged) -> None:
        """Queue an event that no live goal can match (it is only logged)."""
        self.events.append(event)

    def discard(self) -> None:
        """Forget the queued rows (their step failed)."""
        for rows in self.rows.values():
            rows.clear()
        self.events.clear()
        self.tagged_contacts.clear()
        self.note_opportunities.clear()

    def flush(self) -> None:
        """Insert every queued row in the caller's transaction, then queue the notices."""
        if not len(self):
            return
        session = self.session
        for model in self.MODELS:
            rows = self.rows[model]
            if not rows:
                continue
            table = model.__table__
            if model is Task:
                # Ids only for the task notices: one per assignee/opportunity.
                result = session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
                latest = {
                    (row["assignee_id"], row["opportunity_id"]): task_id
                    for row, task_id in zip(rows, result.scalars(), strict=True)
                }
                for (assignee_id, opportunity_id), task_id in latest.items():
                    task_rules.announce_task(session, task_id, assignee_id, opportunity_id)
            else:
                session.execute(insert(table), rows)
        events.log_only(session, self.events)
        for contact_id in self.tagged_contacts:
            contact = session.identity_map.get(session.identity_key(Contact, contact_id))
            if contact is not None and "tags" in vars(contact):
                session.expire(contact, ["tags"])  # as the service does
        if self.note_opportunities:
            opportunity_rules.announce_notes(session, self.note_opportunities)
        self.discard()


@dataclass
class Batch:
    """State shared by the runs of one batch: time, config and per-batch caches.

    The session's identity map holds objects weakly; the batch keeps strong
    references to the contacts and users it loaded so steps find them there.
    """

    session: Session
    config: RuntimeConfig
    now: datetime
    live: dict[int, LiveCampaign]
    careful: bool = True
    contacts: dict[int, Contact] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)
    steps: int = 0
    # Round-robin tallies, loaded once per batch and kept current as we assign.
    task_tally: dict[int, int] | None = None
    owner_tally: dict[int, int] | None = None
    # Open tasks per user and due day (seed 002 capacity), loaded once per user per batch.
    day_load: dict[int, dict[date, int]] = field(default_factory=dict)
    zones: dict[str, ZoneInfo] = field(default_factory=dict)
    buffer: WriteBuffer = field(init=False)
    # Tag name -> id, and per tag id the batch's contacts that have it (loaded on first use).
    tag_ids: dict[str, int] = field(default_factory=dict)
    tagged: dict[int, set[int]] = field(default_factory=dict)
    # The contacts `tagged` knows about: the batch's, as loaded when it started.
    tag_scope: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        self.buffer = WriteBuffer(self.session)

    def sync(self) -> None:
        """Insert the buffered rows now: the next effect reads or orders after them."""
        self.buffer.flush()

    def tag_id(self, name: str) -> int | None:
        """The id of an existing tag (cached for the batch), None when there is no such tag."""
        tag_id = self.tag_ids.get(name)
        if tag_id is None:
            tag_id = self.session.scalar(select(Tag.id).where(Tag.name == name))
            if tag_id is not None:
                self.tag_ids[name] = tag_id
        return tag_id

    def contacts_tagged(self, tag_id: int) -> set[int]:
        """Which of the batch's contacts have the tag (one query per tag per batch)."""
        having = self.tagged.get(tag_id)
        if having is None:
            # No sync needed: a tag's rows are buffered only once its set exists.
            having = self.tagged[tag_id] = set(
                self.session.scalars(
                    select(ContactTag.contact_id).where(
                        ContactTag.tag_id == tag_id, ContactTag.contact_id.in_(self.tag_scope)
                    )
                )
            )
        return having

    def zone(self, name: str) -> ZoneInfo:
        """A ZoneInfo by name, the account zone for a bad or empty name."""
        zone = self.zones.get(name)
        if zone is None:
            try:
                zone = ZoneInfo(name)
            except (KeyError, ValueError):
                zone = ZoneInfo(self.config.account_timezone)
            self.zones[name] = zone
        return zone

    def load_users(self) -> None:
        """Load every user once (there are few; steps look them up by id)."""
        if not self.users:
            self.users = {u.id: u for u in self.session.scalars(select(User))}

    def first_day_with_room(self, user: User, wanted: date) -> date:
        """`models.tasks.first_day_with_room`, from counts loaded once per batch."""
        load = self.day_load.get(user.id)
        if load is None:
            load = self.day_load[user.id] = {
                day: int(n)
                for day, n in self.session.execute(
                    select(Task.due_date, func.count())
                    .where(
                        Task.assignee_id == user.id,
                        Task.completed_at.is_(None),
                        Task.due_date >= self.now.date() - timedelta(days=1),
                    )
                    .group_by(Task.due_date)
                )
                if day is not None
            }
        # Every buffered task of this user was counted here (the load exists
        # from before the first), so the query above needs no sync.
        return task_rules.first_day_in(load, user.daily_task_capacity, wanted)
