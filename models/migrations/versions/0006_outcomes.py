"""opportunity outcomes (open, won, lost), expected close date, lost reasons per pipeline, history kinds

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01 10:00:00

Existing data: a deal sitting in its pipeline's final stage is won (closed when it
entered that stage); history rows without a previous stage are creations, and moves
into a final stage are wins.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.tables.base

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

LOST_REASONS = ["Price too high", "Chose a competitor", "No budget", "No decision / went silent",
                "Bad timing", "Not a fit"]
FINAL_STAGES = ("SELECT s.id FROM stage s WHERE s.number = "
                "(SELECT max(s2.number) FROM stage s2 WHERE s2.pipeline_id = s.pipeline_id)")


def upgrade() -> None:
    # Plain ADD COLUMN, never a batch "recreate": on SQLite that drops and recreates the table, which
    # foreign keys (enforced on every connection) refuse once other tables refer to its rows.
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:  # SQLite adds a CHECK only inline, with the column
        op.execute(sa.text("ALTER TABLE opportunity ADD COLUMN outcome VARCHAR(8) DEFAULT 'open' NOT NULL "
                           "CONSTRAINT ck_opportunity_outcome_known CHECK (outcome IN ('open', 'won', 'lost'))"))
    else:
        op.add_column("opportunity", sa.Column("outcome", sa.String(length=8), server_default=sa.text("'open'"),
                                               nullable=False))
        op.create_check_constraint(op.f("ck_opportunity_outcome_known"), "opportunity",
                                   "outcome IN ('open', 'won', 'lost')")
    op.add_column("opportunity", sa.Column("closed_at", models.tables.base.UTCDateTime(), nullable=True))
    op.add_column("opportunity", sa.Column("expected_close_date", sa.Date(), nullable=True))
    op.add_column("opportunity", sa.Column("close_reason", sa.String(length=200), server_default=sa.text("''"),
                                           nullable=False))
    op.add_column("opportunity", sa.Column("close_note", sa.Text(), server_default=sa.text("''"), nullable=False))
    op.create_index(op.f("ix_opportunity_outcome"), "opportunity", ["outcome"], unique=False)

    op.add_column("stage_move", sa.Column("kind", sa.String(length=16), server_default=sa.text("'move'"),
                                          nullable=False))
    op.add_column("stage_move", sa.Column("reason", sa.String(length=200), nullable=True))
    op.add_column("stage_move", sa.Column("note", sa.Text(), nullable=True))

    op.add_column("pipeline", sa.Column("lost_reasons", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))

    op.execute(sa.text("UPDATE pipeline SET lost_reasons = :reasons").bindparams(
        sa.bindparam("reasons", LOST_REASONS, type_=sa.JSON())))
    op.execute(sa.text("UPDATE stage_move SET kind = 'created' WHERE from_stage_id IS NULL"))
    op.execute(sa.text(f"UPDATE stage_move SET kind = 'won' WHERE from_stage_id IS NOT NULL "
                       f"AND to_stage_id IN ({FINAL_STAGES})"))
    op.execute(sa.text(f"UPDATE opportunity SET outcome = 'won', closed_at = stage_entered_at "
                       f"WHERE stage_id IN ({FINAL_STAGES})"))


def downgrade() -> None:
    op.drop_column("pipeline", "lost_reasons")
    for column in ("note", "reason", "kind"):
        op.drop_column("stage_move", column)
    op.drop_index(op.f("ix_opportunity_outcome"), table_name="opportunity")
    if op.get_bind().dialect.name != "sqlite":  # SQLite drops the inline CHECK with its column
        op.drop_constraint(op.f("ck_opportunity_outcome_known"), "opportunity", type_="check")
    for column in ("close_note", "close_reason", "expected_close_date", "closed_at", "outcome"):
        op.drop_column("opportunity", column)
