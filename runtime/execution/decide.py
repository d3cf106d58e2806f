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
    * A contact reaching a decision or split goes on at once down the path(s)
      it takes (`Branch`), through further decisions, to the sequences there;
      one that takes no path `Leave`s the campaign there. Decisions test the
      `Facts` the caller's thunk gives, asked once per call (the moment the
      contact arrives), and only when a decision is reached; splits use the
      stable hash of `runtime.graphs.branches`.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

from runtime.execution.runs import OPEN
from runtime.graphs.branches import Outcome
from runtime.graphs.branches import choose_split
from runtime.graphs.branches import evaluate_decision
from runtime.graphs.compiler import CompiledCampaign
from runtime.graphs.rule_eval import Facts

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
    """Start a run of the sequence (`goal_id` None: the previous sequence completed).

    `via` is the (decision or split, path) that sent the contact here, if one did.
    """

    node_id: str
    goal_id: str | None
    via: tuple[str, str] | None = None


@dataclass(frozen=True)
class Skip:
    """A goal that did not fire or a sequence that did not start, and why."""

    node_id: str
    reason: SkipReason


@dataclass(frozen=True)
class Branch:
    """The contact took these paths of a decision or split (counted per path; shown in its history)."""

    node_id: str
    branch_ids: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Leave:
    """The contact took no path of a decision (nothing matched, no Otherwise): its path ends here."""

    node_id: str
    reason: str


Action = Enroll | Hit | Stop | Start | Skip | Branch | Leave
FactsSource = t.Callable[[], Facts]


def _no_facts() -> Facts:
    raise ValueError("a decision was reached but no facts about the contact were given")


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

    def start(self, node_id: str, goal_id: str | None, via: tuple[str, str] | None = None) -> Start | Skip:
        if node_id in self.open:
            return Skip(node_id, "already_running")
        if node_id in self.finished and not self.allow_reentry:
            return Skip(node_id, "reentry_off")
        self.open.add(node_id)
        return Start(node_id, goal_id, via)

    def stop(self, node_ids: t.Iterable[str]) -> tuple[str, ...]:
        hit = tuple(sorted(n for n in node_ids if n in self.open))
        self.open.difference_update(hit)
        self.finished.update(hit)
        return hit


def satisfied_goals(compiled: CompiledCampaign, event: Mapping[str, t.Any]) -> tuple[str, ...]:
    """The goals whose config the event matches, upstream first."""
    goal_ids = compiled.goals_for_event(event)
    return tuple(sorted(goal_ids, key=lambda g: (len(compiled.stops.get(g, ())), g)))


class _Once:
    """The facts, asked for at most once (every decision of one call sees the same moment)."""

    def __init__(self, source: FactsSource) -> None:
        self.source = source
        self.facts: Facts | None = None

    def __call__(self) -> Facts:
        if self.facts is None:
            self.facts = self.source()
        return self.facts


def branch_outcome(compiled: CompiledCampaign, node_id: str, contact_id: int, facts: FactsSource) -> Outcome:
    """Where a contact goes at decision or split `node_id` (the pure evaluation, as the tester shows it)."""
    decision = compiled.decisions.get(node_id)
    if decision is not None:
        return evaluate_decision(decision, facts())
    return choose_split(compiled.splits[node_id], contact_id, node_id)


def _onward(compiled: CompiledCampaign, places: _Places, node_ids: t.Iterable[str], goal_id: str | None,
            contact_id: int, facts: FactsSource, via: tuple[str, str] | None = None) -> list[Action]:
    """Start the sequences among `node_ids`; send the contact through the decisions and splits among them."""
    actions: list[Action] = []
    for node_id in node_ids:
        if node_id in compiled.sequences:
            actions.append(places.start(node_id, goal_id, via))
        elif node_id in compiled.decisions or node_id in compiled.splits:
            outcome = branch_outcome(compiled, node_id, contact_id, facts)
            if outcome.left:
                actions.append(Leave(node_id, outcome.reason))
                continue
            actions.append(Branch(node_id, outcome.taken, outcome.reason))
            targets = compiled.branch_targets.get(node_id, {})
            for branch_id in outcome.taken:
                target = targets.get(branch_id)
                if target is not None:
                    actions += _onward(compiled, places, (target,), goal_id, contact_id, facts, (node_id, branch_id))
    return actions


def decide(compiled: CompiledCampaign, presence: Presence, event: Mapping[str, t.Any],
           facts: FactsSource = _no_facts) -> list[Action]:
    """What `event` does to a contact in a campaign, in the order to apply it.

    Args:
        compiled: the campaign version the contact is on.
        presence: the contact's place in the campaign before the event.
        event: the flat event dict (``type``, ``contact_id``, ``source`` and its fields).
        facts: the contact's facts now, asked for only if a decision is reached.

    Returns:
        Actions: `Enroll` (at most once, first), then per satisfied goal a `Hit`,
        a `Stop` of its open ancestor sequences, and per node after it a `Start`
        or `Skip` (a sequence) or a `Branch` and what follows it or a `Leave` (a
        decision or split); `Skip` for goals that could not fire.
    """
    goal_ids = satisfied_goals(compiled, event)
    if not goal_ids:
        return []
    if presence.paused:
        return [Skip(goal_id, "campaign_paused") for goal_id in goal_ids]
    places = _Places.of(presence)
    enrolled = presence.enrolled
    once = _Once(facts)
    contact_id = int(event.get("contact_id") or 0)
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
        actions += _onward(compiled, places, compiled.after_goal.get(goal_id, ()), goal_id, contact_id, once)
    return actions


def after_sequence(compiled: CompiledCampaign, presence: Presence, node_id: str, *, contact_id: int,
                   facts: FactsSource = _no_facts) -> list[Action]:
    """What follows when the contact completes sequence `node_id`: the sequences, decisions and splits after it.

    `presence` is the contact's place with the completed run already finished.
    """
    places = _Places.of(presence)
    return _onward(compiled, places, compiled.next_sequences.get(node_id, ()), None, contact_id, _Once(facts))
