"""Goal matching as a pure function: what an event does to one contact in one campaign.

Invariants (seed 001, DESIGN.md §2):
    * No database, no clock, no I/O: `decide` reads a compiled campaign, the
      contact's `Presence` in it and the event, and returns actions that a thin
      applier writes (`runtime.execution.apply`), the simulator records and
      the inspector explains.
    * A goal is satisfied when its config matches the event and it is an entry
      goal or the contact was already in the campaign *before* the event.
    * Satisfying a goal stops the contact's open runs on the goal's ancestor
      sequences and starts the sequences after it, unless the contact is running
      that sequence now, or ran it before and the campaign does not allow
      re-entry. Sequences on other paths are untouched.
    * A paused campaign satisfies nothing: each matching goal is skipped with
      the reason ``campaign_paused``.
    * Goals are taken upstream first (fewer ancestors), so when one event
      satisfies a goal and another further down the same path, the contact ends
      at the furthest one.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

from runtime.execution.runs import OPEN
from runtime.graphs.compiler import CompiledCampaign

SkipReason = t.Literal["not_in_campaign", "campaign_paused", "already_running", "reentry_off"]


@dataclass(frozen=True)
class Presence:
    """A contact's place in one campaign before an event: enrolled or not, and its runs."""

    paused: bool = False
    allow_reentry: bool = False
    enrolled: bool = False
    #: (sequence node id, run status) for every run the contact has or had in the campaign.
    runs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Enroll:
    """Enroll the contact in the campaign."""


@dataclass(frozen=True)
class Hit:
    """The goal is satisfied (counted on the canvas)."""

    goal_id: str


@dataclass(frozen=True)
class Stop:
    """Stop the contact's open runs on these sequences."""

    node_ids: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Start:
    """Start a run of the sequence (`goal_id` None: the previous sequence completed)."""

    node_id: str
    goal_id: str | None


@dataclass(frozen=True)
class Skip:
    """A goal that did not fire or a sequence that did not start, and why."""

    node_id: str
    reason: SkipReason


Action = Enroll | Hit | Stop | Start | Skip


@dataclass
class _Places:
    """The contact's open and finished sequences, updated as actions are decided."""

    allow_reentry: bool
    open: set[str] = field(default_factory=set)
    finished: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, presence: Presence) -> _Places:
        places = cls(presence.allow_reentry)
        for node_id, status in presence.runs:
            (places.open if status in OPEN else places.finished).add(node_id)
        return places

    def start(self, node_id: str, goal_id: str | None) -> Start | Skip:
        if node_id in self.open:
            return Skip(node_id, "already_running")
        if node_id in self.finished and not self.allow_reentry:
            return Skip(node_id, "reentry_off")
        self.open.add(node_id)
        return Start(node_id, goal_id)

    def stop(self, node_ids: t.Iterable[str]) -> tuple[str, ...]:
        hit = tuple(sorted(n for n in node_ids if n in self.open))
        self.open.difference_update(hit)
        self.finished.update(hit)
        return hit


def satisfied_goals(compiled: CompiledCampaign, event: Mapping[str, t.Any]) -> tuple[str, ...]:
    """The goals whose config the event matches, upstream first."""
    goal_ids = compiled.goals_for_event(event)
    return tuple(sorted(goal_ids, key=lambda g: (len(compiled.stops.get(g, ())), g)))


def decide(compiled: CompiledCampaign, presence: Presence, event: Mapping[str, t.Any]) -> list[Action]:
    """What `event` does to a contact in a campaign, in the order to apply it.

    Args:
        compiled: the campaign version the contact is on.
        presence: the contact's place in the campaign before the event.
        event: the flat event dict (``type``, ``contact_id``, ``source`` and its fields).

    Returns:
        Actions: `Enroll` (at most once, first), then per satisfied goal a `Hit`,
        a `Stop` of its open ancestor sequences, and a `Start` or `Skip` per
        sequence after it; `Skip` for goals that could not fire.
    """
    goal_ids = satisfied_goals(compiled, event)
    if not goal_ids:
        return []
    if presence.paused:
        return [Skip(goal_id, "campaign_paused") for goal_id in goal_ids]
    places = _Places.of(presence)
    enrolled = presence.enrolled
    actions: list[Action] = []
    for goal_id in goal_ids:
        if goal_id not in compiled.entry_goals and not presence.enrolled:
            actions.append(Skip(goal_id, "not_in_campaign"))
            continue
        if not enrolled:
            actions.append(Enroll())
            enrolled = True
        actions.append(Hit(goal_id))
        stopped = places.stop(compiled.stops.get(goal_id, ()))
        if stopped:
            name = compiled.goals[goal_id].name or goal_id
            actions.append(Stop(stopped, f"goal '{name}' satisfied"))
        for node_id in compiled.after_goal.get(goal_id, ()):
            if node_id in compiled.sequences:
                actions.append(places.start(node_id, goal_id))
    return actions


def after_sequence(compiled: CompiledCampaign, presence: Presence, node_id: str) -> list[Start | Skip]:
    """What follows when the contact completes sequence `node_id` (sequence → sequence edges).

    `presence` is the contact's place with the completed run already finished.
    """
    places = _Places.of(presence)
    return [places.start(following, None) for following in compiled.next_sequences.get(node_id, ())]
