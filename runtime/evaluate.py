"""The Evaluate tester: which path(s) of a draft's decision or split a contact would take, and why.

Invariants:
    * It runs the same pure evaluation as the runtime (`runtime.execution.decide.branch_outcome`)
      on the campaign's draft, for a real contact (facts read now, as at arrival) or a made-up
      one (facts as given), and writes nothing.
    * A decision whose rules have problems is not evaluated: the problems come back, in plain words.
"""

from __future__ import annotations

import typing as t

from sqlalchemy.orm import Session

from models.access import Actor
from models.contacts import get_contact
from models.errors import Invalid
from models.errors import NotFound
from runtime.campaigns import get_campaign
from runtime.campaigns import parse_or_400
from runtime.execution.decide import branch_outcome
from runtime.execution.facts import facts_from_json
from runtime.execution.facts import load_facts
from runtime.graphs.branches import decision_spec
from runtime.graphs.branches import split_spec
from runtime.graphs.compiler import CompiledCampaign
from runtime.graphs.graph import DecisionNode
from runtime.graphs.graph import SplitNode
from runtime.graphs.rules import check_rules


def _rule_problems(node: DecisionNode) -> list[dict[str, t.Any]]:
    out = []
    for branch in node.branches:
        for problem in check_rules(branch.rules):
            out.append({"branch_id": branch.id, "rule": problem.path, "code": problem.code,
                        "message": f"{branch.label or branch.id}: {problem.message}"})
    return out


def evaluate_node(session: Session, actor: Actor, campaign_id: int, node_id: str, *,
                  contact_id: int | None = None, contact: t.Mapping[str, t.Any] | None = None) -> dict[str, t.Any]:
    """Where a contact would go at decision or split `node_id` of the campaign's draft.

    Returns:
        ``{node_id, kind, targets, branches: [{id, label, matched, taken, rules, weight?}], reason, left}``.

    Raises:
        NotFound: no such campaign, node or contact.
        Invalid: the node is not a decision or split (``not_branching``), its rules have problems
            (``invalid_rules``), or a split is asked about a made-up contact (``contact_required``).
    """
    campaign = get_campaign(session, actor, campaign_id)
    graph = parse_or_400(campaign.draft)
    node = graph.node_map().get(node_id)
    if node is None:
        raise NotFound("no such node in the campaign's draft")
    if not isinstance(node, (DecisionNode, SplitNode)):
        raise Invalid("only decisions and splits can be tested", code="not_branching", details={"node_id": node_id})
    if isinstance(node, DecisionNode):
        problems = _rule_problems(node)
        if problems:
            raise Invalid("fix this decision's rules before testing it", code="invalid_rules",
                          details={"errors": problems})
        compiled = CompiledCampaign(goal_index={}, entry_goals=frozenset(), stops={}, after_goal={},
                                    next_sequences={}, sequence_goals={}, sequences={}, goals={},
                                    decisions={node.id: decision_spec(node)})
    else:
        if contact_id is None:
            raise Invalid("a split divides real contacts by their id: pick a contact to test it",
                          code="contact_required", details={"field": "contact_id"})
        compiled = CompiledCampaign(goal_index={}, entry_goals=frozenset(), stops={}, after_goal={},
                                    next_sequences={}, sequence_goals={}, sequences={}, goals={},
                                    splits={node.id: split_spec(node)})
    if contact_id is not None:
        get_contact(session, contact_id)
        real = contact_id
        outcome = branch_outcome(compiled, node.id, real, lambda: load_facts(session, real, campaign.id))
    else:
        made_up = facts_from_json(contact or {})
        outcome = branch_outcome(compiled, node.id, 0, lambda: made_up)
    targets = {e.branch: e.target for e in graph.edges if e.source == node.id and e.branch is not None}
    return {"node_id": node.id, "kind": node.kind,
            "targets": [targets[b] for b in outcome.taken if b in targets],
            "branches": [p.to_json() for p in outcome.paths], "reason": outcome.reason, "left": outcome.left}
