"""Household placements: which unit a household belonged to, over time.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('household_placements',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('unit_id', sa.BigInteger(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('valid_to IS NULL OR valid_to >= valid_from', name=op.f('ck_household_placements_valid_period')),
    sa.ForeignKeyConstraint(['household_id', 'village_id'], ['households.id', 'households.village_id'], name=op.f('fk_household_placements_household_id_households')),
    sa.ForeignKeyConstraint(['unit_id', 'village_id'], ['org_units.id', 'org_units.village_id'], name=op.f('fk_household_placements_unit_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_placements'))
    )
    op.create_index('ix_household_placements_household', 'household_placements', ['household_id', 'valid_from'], unique=False)
    op.create_index('uq_household_placements_open', 'household_placements', ['household_id'], unique=True, postgresql_where=sa.text('valid_to IS NULL'))
    # every household starts where it is now, from when it was registered
    op.execute(
        "INSERT INTO household_placements (village_id, household_id, unit_id, valid_from) "
        "SELECT village_id, id, unit_id, created_at FROM households"
    )
    op.execute(
        "CREATE TRIGGER household_placements_history BEFORE UPDATE OR DELETE "
        "ON household_placements FOR EACH ROW EXECUTE FUNCTION guard_period_history('valid_to')"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER household_placements_history ON household_placements")
    op.drop_index('uq_household_placements_open', table_name='household_placements', postgresql_where=sa.text('valid_to IS NULL'))
    op.drop_index('ix_household_placements_household', table_name='household_placements')
    op.drop_table('household_placements')
