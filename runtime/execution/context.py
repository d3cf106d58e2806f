"""The step context: what a running step may read and do, against the database.

Invariants:
    * Steps act as the SYSTEM actor with source "campaign", through the CRM's
      own functions in `models`, so the events they record satisfy goals
      exactly as a user's change would (a step can stop its own run or enroll
      the contact in another campaign).
    * The common effects (a tag no live goal can match and its event, a task,
      a note) are rows in the batch's write buffer; anything else syncs the
      buffer first, so effects happen in step order.
    * Outside effects are outbox rows of any registered kind, keyed
      ``run:{run_id}:step:{step_id}`` (attempt-independent, insert-or-ignore):
      a step that runs twice still sends once.
    * Batch-cache updates (tallies, day loads, tag sets) are applied only once
      the step's savepoint commits (`pending`).
"""

from __future__ import annotations

import secrets
import typing as t
from collections.abc import Iterator
from collections.abc import Mapping
from datetime import date
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Contact
from models import ContactTag
from models import Note
from models import Opportunity
from models import OutboxMessage
from models import SequenceRun
from models import Stage
from models import Task
from models import User
from models import contacts as contact_rules
from models import events
from models import notifications
from models import opportunities as opportunity_rules
from models import tasks as task_rules
from models.access import SYSTEM
from runtime.execution.apply import insert_ignore
from runtime.execution.buffer import Batch
from runtime.execution.cache import may_satisfy_goals
from runtime.graphs import merge

BUILTIN_FIELDS = frozenset({"first_name", "last_name", "email", "name", "created_at", "phone", "email_status"})


def outbox_key(run_id: int, step_id: str) -> str:
    """The attempt-independent idempotency key of a step's outside effect."""
    return f"run:{run_id}:step:{step_id}"


class _MergeValues(Mapping[str, object]):
    """Merge field values, computed on first use (most templates need only the contact)."""

    def __init__(self, ctx: RunContext) -> None:
        self._ctx = ctx
        self._values: dict[str, object] | None = None

    def _load(self) -> dict[str, object]:
        if self._values is None:
            ctx = self._ctx
            contact = ctx.contact
            values: dict[str, object] = {
                "contact.first_name": contact.first_name,
                "contact.last_name": contact.last_name,
                "contact.email": contact.email,
            }
            for name, value in (contact.fields or {}).items():
                values[f"{merge.CUSTOM_FIELD_PREFIX}{name}"] = value
            opp = ctx.opportunity(fallback=False)
            if opp is not None:
                stage = ctx.session.get(Stage, opp.stage_id)
                values.update(
                    {
                        "opportunity.title": opp.title,
                        "opportunity.value": opp.value,
                        "opportunity.stage": stage.name if stage else "",
                    }
                )
            owner_id = ctx.owner_id()
            owner = ctx.user(owner_id)
            if owner is not None:
                values.update({"owner.name": owner.name, "owner.email": owner.email})
            self._values = values
        return self._values

    def __getitem__(self, key: str) -> object:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


class RunContext:
    """`StepContext` for one run, against the database, as the SYSTEM actor."""

    def __init__(self, session: Session, run: SequenceRun, batch: Batch) -> None:
        self.session = session
        self.run = run
        self.batch = batch
        self.now = batch.now
        self.contact_id = run.contact_id
        self.step_id = ""
        self.detail: dict[str, t.Any] = {}  # non-empty: the step was skipped, and why
        # Batch-cache updates that apply only if the step's savepoint commits.
        self.pending: list[t.Callable[[], None]] = []
        self._merge: _MergeValues | None = None

    # -- reading ------------------------------------------------------------------

    @property
    def contact(self) -> Contact:
        """The run's contact (loaded with the batch)."""
        contact = self.batch.contacts.get(self.contact_id)
        if contact is None:
            contact = self.session.get(Contact, self.contact_id)
            if contact is None:
                raise LookupError(f"contact {self.contact_id} is gone")
            self.batch.contacts[self.contact_id] = contact
        return contact

    def user(self, user_id: int | None) -> User | None:
        """A user by id (loaded with the batch)."""
        if user_id is None:
            return None
        self.batch.load_users()
        return self.batch.users.get(user_id) or self.session.get(User, user_id)

    def opportunity(self, *, fallback: bool = True) -> Opportunity | None:
        """The run's opportunity, else (with `fallback`) the contact's latest, bound to the run."""
        if self.run.opportunity_id is not None:
            opp = self.session.get(Opportunity, self.run.opportunity_id)
            if opp is not None:
                return opp
        if not fallback:
            return None
        opp = self.session.scalar(
            select(Opportunity)
            .where(Opportunity.contact_id == self.contact_id)
            .order_by(Opportunity.updated_at.desc(), Opportunity.id.desc())
            .limit(1)
        )
        if opp is not None:
            self.run.opportunity_id = opp.id
        return opp

    def owner_id(self) -> int | None:
        """The run's opportunity owner, else the contact's owner."""
        opp = self.opportunity(fallback=False)
        if opp is not None and opp.owner_id is not None:
            return opp.owner_id
        return self.contact.owner_id

    def render(self, template: str, *, html: bool = False) -> str:
        """Fill merge fields from the contact, opportunity and owner."""
        if "{{" not in template:
            return template
        if self._merge is None:
            self._merge = _MergeValues(self)
        return merge.render(template, self._merge, html=html)

    def contact_field(self, name: str) -> object:
        """A built-in column (email, first_name, last_name, name, created_at, phone, email_status) or a custom field."""
        contact = self.contact
        if name in BUILTIN_FIELDS:
            value = getattr(contact, name)
            if value or name != "phone":
                return value
        return (contact.fields or {}).get(name)  # a phone kept as a custom field before the column existed

    def timezone(self, which: str) -> ZoneInfo:
        """'contact' (falls back to the account zone), 'account', or an IANA name."""
        if which == "account":
            return self.batch.zone(self.batch.config.account_timezone)
        if which == "contact":
            return self.batch.zone(self.contact.timezone or self.batch.config.account_timezone)
        return self.batch.zone(which)

    def _today(self) -> date:
        return self.now.astimezone(self.timezone("account")).date()

    # -- effects: each step calls exactly one ----------------------------------------

    def apply_tag(self, tag: str) -> None:
        """Apply a tag (an event: it may satisfy goals, even stop this run).

        When no live goal can match the event, the tag and its event are
        buffered rows; otherwise (or for a tag that does not exist yet) the
        CRM applies it and goals are matched at once, exactly as for a user.
        """
        batch = self.batch
        name = contact_rules.tag_name(tag)
        contact_id = self.contact.id  # LookupError for a deleted contact, as the CRM raises
        event = events.TagApplied(contact_id=contact_id, tag=name, source="campaign", actor_id=SYSTEM.user_id)
        tag_id = batch.tag_id(name)
        if tag_id is None or contact_id not in batch.tag_scope or may_satisfy_goals(self.session, event.data()):
            batch.sync()
            contact_rules.apply_tag(self.session, SYSTEM, contact_id, name, source="campaign")
            having = batch.tagged.get(tag_id) if tag_id is not None else None
            if having is not None:
                tagged = having  # bound now: mypy cannot narrow a name inside the lambda
                self.pending.append(lambda: tagged.add(contact_id))
            return
        having = batch.contacts_tagged(tag_id)
        if contact_id in having:
            return  # already there: no row and no event, as the CRM does
        batch.buffer.add(ContactTag, contact_rules.tag_row(contact_id, tag_id))
        batch.buffer.add_event(event)
        self.pending.append(lambda: having.add(contact_id))

    def remove_tag(self, tag: str) -> None:
        """Remove a tag."""
        batch = self.batch
        batch.sync()
        contact_rules.remove_tag(self.session, SYSTEM, self.contact_id, tag, source="campaign")
        tag_id = batch.tag_ids.get(tag)
        having = batch.tagged.get(tag_id) if tag_id is not None else None
        if having is not None:
            contact_id = self.contact_id
            self.pending.append(lambda: having.discard(contact_id))

    def create_task(
        self, title: str, description: str, assignee: str | int, due_in_days: int
    ) -> None:
        """Create a task; its due day is the first with room for the assignee (seed 002)."""
        if assignee == "owner":
            assignee_id = self.owner_id()
        elif assignee == "round_robin":
            assignee_id = self._round_robin_task_assignee()
        else:
            assignee_id = int(assignee)
        due = self._today() + timedelta(days=due_in_days)
        opportunity_id = self.run.opportunity_id
        user, contact_id = task_rules.check_new_task(
            self.session,
            SYSTEM,
            title=title,
            assignee_id=assignee_id,
            contact_id=self.contact_id,
            opportunity_id=opportunity_id,
        )
        if user is not None:
            # Seed 002: the first day with room, from the batch's counts (which
            # the service would re-query per task); counted once the step commits.
            due = self.batch.first_day_with_room(user, due)
            load = self.batch.day_load[user.id]
            self.pending.append(lambda: load.__setitem__(due, load.get(due, 0) + 1))
        self.batch.buffer.add(
            Task,
            task_rules.task_values(
                SYSTEM,
                title=title,
                description=description,
                assignee_id=assignee_id,
                due_date=due,
                contact_id=contact_id,
                opportunity_id=opportunity_id,
                source="campaign",
            ),
        )

    def _round_robin_task_assignee(self) -> int | None:
        """The active rep with the fewest campaign-made tasks (ties: lowest id)."""
        batch = self.batch
        if batch.task_tally is None:
            batch.sync()  # count the tasks this batch already made, as a flushed ORM path would
            batch.task_tally = self._rep_tally(Task.assignee_id, Task.source == "campaign")
        return self._pick(batch.task_tally)

    def _round_robin_owner(self) -> int | None:
        """The active rep owning the fewest contacts (ties: lowest id)."""
        batch = self.batch
        if batch.owner_tally is None:
            batch.owner_tally = self._rep_tally(Contact.owner_id, Contact.owner_id.is_not(None))
        return self._pick(batch.owner_tally)

    def _rep_tally(self, user_column: t.Any, *where: t.Any) -> dict[int, int]:
        """Every active rep → how many rows (matching `where`) point at them through `user_column`."""
        counts = (
            select(user_column.label("uid"), func.count().label("n")).where(*where).group_by(user_column).subquery()
        )
        rows = self.session.execute(
            select(User.id, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.uid == User.id)
            .where(User.role == "rep", User.active.is_(True))
        )
        return {uid: int(n) for uid, n in rows}

    def _pick(self, tally: dict[int, int]) -> int | None:
        """The id with the lowest count (ties: lowest id), counted once the step commits."""
        if not tally:
            return None
        chosen = min(tally, key=lambda uid: (tally[uid], uid))
        self.pending.append(lambda: tally.__setitem__(chosen, tally[chosen] + 1))
        return chosen

    def create_note(self, body: str) -> None:
        """Record a note on the contact (and the run's opportunity); a buffered row."""
        self.batch.buffer.add(
            Note, opportunity_rules.note_row(body, self.contact_id, self.run.opportunity_id, None, "campaign")
        )

    def create_opportunity(
        self, pipeline_id: int, stage_id: int, title: str, value: float | None
    ) -> None:
        """Create an opportunity (source=campaign); later steps of the run act on it."""
        self.batch.sync()  # its service records events/flushes: after the buffered rows
        opp = opportunity_rules.create_opportunity(
            self.session,
            SYSTEM,
            title=title,
            contact_id=self.contact_id,
            pipeline_id=pipeline_id,
            stage_id=stage_id,
            owner_id=self.contact.owner_id,
            value=value,
            source="campaign",
            campaign_id=self.run.campaign_id,
        )
        self.run.opportunity_id = opp.id

    def move_opportunity(self, stage_id: int) -> None:
        """Move the run's (else the contact's latest) opportunity to a stage, as the campaign."""
        self.batch.sync()  # its service records events/flushes: after the buffered rows
        opp = self.opportunity()
        if opp is None:
            self.detail = {"reason": "the contact has no opportunity to move"}
            return
        if opp.outcome != "open":  # a won or lost deal moves only once reopened by a person
            self.detail = {"reason": f"the opportunity is {opp.outcome}; it was not moved"}
            return
        opportunity_rules.move_stage(
            self.session, SYSTEM, opp, stage_id, source="campaign", campaign_id=self.run.campaign_id
        )

    def assign_owner(self, user: str | int) -> None:
        """Make a user (or the next rep round robin) owner of the contact and its opportunity."""
        self.batch.sync()  # its service records events/flushes: after the buffered rows
        user_id = self._round_robin_owner() if user == "round_robin" else int(user)
        if user_id is None:
            self.detail = {"reason": "no active rep to assign"}
            return
        if self.user(user_id) is None:
            raise LookupError(f"user {user_id} does not exist")
        self.contact.owner_id = user_id
        opp = self.opportunity(fallback=False)
        if opp is not None and opp.owner_id != user_id:
            opportunity_rules.update_opportunity(
                self.session, SYSTEM, opp.id, {"owner_id": user_id}
            )
        tally = self.batch.owner_tally
        if user != "round_robin" and tally is not None and user_id in tally:
            self.pending.append(lambda: tally.__setitem__(user_id, tally[user_id] + 1))

    def set_field(self, field: str, value: object) -> None:
        """Set a custom field of the contact."""
        self.batch.sync()  # its service records events/flushes: after the buffered rows
        contact_rules.update_contact(
            self.session, SYSTEM, self.contact_id, {"fields": {field: value}}
        )

    def notify_user(self, user: str | int, message: str) -> None:
        """Leave an in-app notification for the owner or a user (pushed live after commit)."""
        user_id = self.owner_id() if user == "owner" else int(user)
        if user_id is None:
            self.detail = {"reason": "the contact has no owner to notify"}
            return
        notifications.notify(self.session, user_id, message, contact_id=self.contact_id)

    def skip(self, reason: str) -> None:
        """The step does nothing for this contact: the reason shows in the sequence history."""
        self.detail = {"reason": reason}

    def enqueue(self, kind: str, payload: dict[str, t.Any]) -> None:
        """Queue an outside effect of `kind` in the outbox (once per run and step).

        The row gets a random public id (what tracked links and unsubscribe
        tokens name) and its campaign step, for per-step reports.
        """
        insert_ignore(
            self.session,
            OutboxMessage,
            {
                "idempotency_key": outbox_key(self.run.id, self.step_id),
                "kind": kind,
                "contact_id": self.contact_id,
                "run_id": self.run.id,
                "campaign_id": self.run.campaign_id,
                "node_id": self.run.node_id,
                "step_id": self.step_id,
                "public_id": secrets.token_urlsafe(12),
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": self.now,
                "created_at": self.now,
            },
            ["idempotency_key"],
        )
