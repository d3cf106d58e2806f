"""Migration 0006 on existing data: deals already in their pipeline's final stage become won."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import text

from models.db import alembic_config
from models.db import make_engine
from models.db import upgrade


def test_existing_deals_in_the_final_stage_are_won_and_history_gets_kinds(tmp_path: Path) -> None:
    """Before 0006 a deal in "Closed" counted as open; after it, it is won (closed when it entered the stage)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(engine), "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO pipeline (id, name, kind, archived) VALUES (1, 'Sales', 'sales', 0)"))
        for sid, number, name in ((1, 10, "Prospect"), (2, 20, "Proposed"), (3, 30, "Closed")):
            conn.execute(text("INSERT INTO stage (id, pipeline_id, number, name, target_days, probability) "
                              "VALUES (:i, 1, :n, :name, 7, :p)"), {"i": sid, "n": number, "name": name, "p": number})
        conn.execute(text("INSERT INTO contact (id, email, first_name, last_name, fields, created_at) "
                          "VALUES (1, 'a@example.com', 'A', 'B', '{}', '2026-01-01')"))
        for oid, stage in ((1, 1), (2, 3)):
            conn.execute(text(
                "INSERT INTO opportunity (id, title, contact_id, pipeline_id, stage_id, value, next_action_note, "
                "custom_fields, stage_entered_at, created_at, updated_at, created_source, version) VALUES "
                "(:i, 'Deal', 1, 1, :s, 100, '', '{}', '2026-01-0' || :i || ' 10:00:00', '2026-01-01', "
                "'2026-01-01', 'user', 1)"), {"i": oid, "s": stage})
        conn.execute(text("INSERT INTO stage_move (opportunity_id, from_stage_id, to_stage_id, moved_at, source) "
                          "VALUES (2, NULL, 2, '2026-01-01', 'user'), (2, 2, 3, '2026-01-02 10:00:00', 'user')"))
    upgrade(engine)
    with engine.connect() as conn:
        outcomes = conn.execute(text("SELECT id, outcome, closed_at FROM opportunity ORDER BY id")).all()
        kinds = conn.execute(text("SELECT kind FROM stage_move ORDER BY id")).scalars().all()
        reasons = conn.execute(text("SELECT lost_reasons FROM pipeline")).scalar_one()
    assert [(i, o) for i, o, _ in outcomes] == [(1, "open"), (2, "won")]
    assert outcomes[0][2] is None and str(outcomes[1][2]).startswith("2026-01-02 10:00:00")
    assert kinds == ["created", "won"]
    assert "Chose a competitor" in reasons
    engine.dispose()
