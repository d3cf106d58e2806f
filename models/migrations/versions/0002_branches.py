"""decisions and splits: branch_hit, and the path that started a sequence run

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.tables.base


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('branch_hit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('node_id', sa.String(length=64), nullable=False),
    sa.Column('branch_id', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('at', models.tables.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_branch_hit_campaign_id_campaign')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_branch_hit_contact_id_contact'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['domain_event.id'], name=op.f('fk_branch_hit_event_id_domain_event')),
    sa.ForeignKeyConstraint(['version_id'], ['campaign_version.id'], name=op.f('fk_branch_hit_version_id_campaign_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_branch_hit'))
    )
    with op.batch_alter_table('branch_hit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_branch_hit_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index('ix_branch_hit_node', ['campaign_id', 'node_id', 'branch_id'], unique=False)

    with op.batch_alter_table('sequence_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('branch_node_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('branch_id', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sequence_run', schema=None) as batch_op:
        batch_op.drop_column('branch_id')
        batch_op.drop_column('branch_node_id')

    with op.batch_alter_table('branch_hit', schema=None) as batch_op:
        batch_op.drop_index('ix_branch_hit_node')
        batch_op.drop_index(batch_op.f('ix_branch_hit_contact_id'))

    op.drop_table('branch_hit')
