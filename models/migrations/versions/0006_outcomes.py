"""opportunity outcomes (open, won, lost), expected close date, lost reasons per pipeline, history kinds

Revision ID: 0006
Revises: 0001
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
down_revision = "0001"
branch_labels = None
depends_on = None

LOST_REASONS = ["Price too high", "Chose a competitor", "No budget", "No decision / went silent",
                "Bad timing", "Not a fit"]
FINAL_STAGES = ("SELECT s.id FROM stage s WHERE s.number = "
                "(SELECT max(s2.number) FROM stage s2 WHERE s2.pipeline_id = s.pipeline_id)")


def upgrade() -> None:
    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=8), server_default=sa.text("'open'"),
                                      nullable=False))
        batch_op.add_column(sa.Column("closed_at", models.tables.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("expected_close_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("close_reason", sa.String(length=200), server_default=sa.text("''"),
                                      nullable=False))
        batch_op.add_column(sa.Column("close_note", sa.Text(), server_default=sa.text("''"), nullable=False))
        batch_op.create_index(batch_op.f("ix_opportunity_outcome"), ["outcome"], unique=False)
        batch_op.create_check_constraint("outcome_known", "outcome IN ('open', 'won', 'lost')")

    with op.batch_alter_table("stage_move", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default=sa.text("'move'"),
                                      nullable=False))
        batch_op.add_column(sa.Column("reason", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))

    with op.batch_alter_table("pipeline", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lost_reasons", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))

    op.execute(sa.text("UPDATE pipeline SET lost_reasons = :reasons").bindparams(
        sa.bindparam("reasons", LOST_REASONS, type_=sa.JSON())))
    with op.batch_alter_table("pipeline", schema=None) as batch_op:
        batch_op.alter_column("lost_reasons", server_default=None)
    op.execute(sa.text("UPDATE stage_move SET kind = 'created' WHERE from_stage_id IS NULL"))
    op.execute(sa.text(f"UPDATE stage_move SET kind = 'won' WHERE from_stage_id IS NOT NULL "
                       f"AND to_stage_id IN ({FINAL_STAGES})"))
    op.execute(sa.text(f"UPDATE opportunity SET outcome = 'won', closed_at = stage_entered_at "
                       f"WHERE stage_id IN ({FINAL_STAGES})"))


def downgrade() -> None:
    with op.batch_alter_table("pipeline", schema=None) as batch_op:
        batch_op.drop_column("lost_reasons")
    with op.batch_alter_table("stage_move", schema=None) as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("reason")
        batch_op.drop_column("kind")
    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_opportunity_outcome_known"), type_="check")
        batch_op.drop_index(batch_op.f("ix_opportunity_outcome"))
        batch_op.drop_column("close_note")
        batch_op.drop_column("close_reason")
        batch_op.drop_column("expected_close_date")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("outcome")
