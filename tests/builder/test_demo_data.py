"""The demo reads like a real book of business: distinct people and deals, six months of won and lost
history with reasons, open deals with expected close dates; and `stagecraft demo` works on its own."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from builder.cli import main
from models import Contact
from models import Opportunity
from models import StageMove
from models.db import make_engine
from models.db import make_session_factory


def test_demo_is_varied_and_plausible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No look-alike contacts or deals; outcomes spread over months; stays measured in real days."""
    url = f"sqlite:///{tmp_path}/demo.db"
    monkeypatch.setenv("STAGECRAFT_DATABASE_URL", url)
    assert main(["demo"]) == 0
    with make_session_factory(make_engine(url))() as session:
        people = session.scalars(select(Contact)).all()
        deals = session.scalars(select(Opportunity)).all()
        moves = session.scalars(select(StageMove).where(StageMove.kind == "move")).all()
    names = [c.name for c in people]
    assert len(set(names)) == len(names) == 50
    assert len({c.fields["company"] for c in people}) >= 35
    titles = [d.title for d in deals]
    assert max(Counter(titles).values()) == 1, Counter(titles).most_common(3)
    assert len({d.value for d in deals if d.value}) >= 30
    outcomes = Counter(d.outcome for d in deals)
    assert outcomes["won"] >= 4 and outcomes["lost"] >= 4 and outcomes["open"] >= 15
    assert all(d.close_reason for d in deals if d.outcome == "lost")
    assert len({d.closed_at.strftime("%Y-%m") for d in deals if d.closed_at}) >= 3
    assert all(d.expected_close_date for d in deals if d.outcome == "open")
    days = [m.days_in_previous_stage for m in moves if m.days_in_previous_stage is not None]
    assert len(days) >= 20 and max(days) > 10 and min(days) < 5  # real, varied stays, not all "0.0"
