"""Households' living status (at home or working away) over time; existing households get
their current status as the open period.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('household_living_statuses',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('living_status', sa.String(length=16), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("living_status IN ('at_home', 'working_away')", name=op.f('ck_household_living_statuses_living_status')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to >= valid_from', name=op.f('ck_household_living_statuses_valid_period')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_household_living_statuses_household_id_households')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_household_living_statuses_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_living_statuses'))
    )
    op.create_index('ix_household_living_statuses_household', 'household_living_statuses', ['household_id', 'valid_from'], unique=False)
    op.create_index('uq_household_living_statuses_open', 'household_living_statuses', ['household_id'], unique=True, postgresql_where=sa.text('valid_to IS NULL'))

    op.execute(
        "INSERT INTO household_living_statuses (village_id, household_id, living_status, valid_from) "
        "SELECT village_id, id, living_status, created_at FROM households"
    )
    op.execute(
        "CREATE TRIGGER household_living_statuses_history BEFORE UPDATE OR DELETE "
        "ON household_living_statuses FOR EACH ROW EXECUTE FUNCTION guard_period_history('valid_to')"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER household_living_statuses_history ON household_living_statuses")
    op.drop_index('uq_household_living_statuses_open', table_name='household_living_statuses', postgresql_where=sa.text('valid_to IS NULL'))
    op.drop_index('ix_household_living_statuses_household', table_name='household_living_statuses')
    op.drop_table('household_living_statuses')
