"""Residents' requests (民情诉求): requests, their append-only updates, village deadlines.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('request_deadlines',
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('hours', sa.Integer(), nullable=False),
    sa.CheckConstraint("category IN ('dispute', 'safety_hazard', 'livelihood', 'infrastructure', 'environment', 'policy', 'other')", name=op.f('ck_request_deadlines_category')),
    sa.CheckConstraint("level IN ('unit', 'village', 'town')", name=op.f('ck_request_deadlines_level')),
    sa.CheckConstraint('hours BETWEEN 1 AND 8760', name=op.f('ck_request_deadlines_hours')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_request_deadlines_village_id_org_units')),
    sa.PrimaryKeyConstraint('village_id', 'category', 'level', name=op.f('pk_request_deadlines'))
    )
    op.create_table('resident_requests',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('origin_unit_id', sa.BigInteger(), nullable=False),
    sa.Column('origin_path', sa.String(length=400, collation='C'), nullable=False),
    sa.Column('unit_id', sa.BigInteger(), nullable=False),
    sa.Column('unit_path', sa.String(length=400, collation='C'), nullable=False),
    sa.Column('level', sa.String(length=8), server_default='unit', nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=False),
    sa.Column('photo_urls', sa.ARRAY(sa.String(length=500)), server_default='{}', nullable=False),
    sa.Column('place', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=12), server_default='received', nullable=False),
    sa.Column('submitted_by_id', sa.BigInteger(), nullable=False),
    sa.Column('resident_id', sa.BigInteger(), nullable=True),
    sa.Column('owner_id', sa.BigInteger(), nullable=True),
    sa.Column('handler_id', sa.BigInteger(), nullable=True),
    sa.Column('duplicate_of_id', sa.BigInteger(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rating', sa.String(length=16), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("category IN ('dispute', 'safety_hazard', 'livelihood', 'infrastructure', 'environment', 'policy', 'other')", name=op.f('ck_resident_requests_category')),
    sa.CheckConstraint("level IN ('unit', 'village', 'town')", name=op.f('ck_resident_requests_level')),
    sa.CheckConstraint("rating IS NULL OR rating IN ('satisfied', 'partly', 'not_satisfied')", name=op.f('ck_resident_requests_rating')),
    sa.CheckConstraint("status <> 'duplicate' OR duplicate_of_id IS NOT NULL", name=op.f('ck_resident_requests_duplicate')),
    sa.CheckConstraint("status IN ('received', 'accepted', 'in_progress', 'resolved', 'closed', 'escalated', 'reopened', 'duplicate')", name=op.f('ck_resident_requests_status')),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['resident_requests.id'], name=op.f('fk_resident_requests_duplicate_of_id_resident_requests')),
    sa.ForeignKeyConstraint(['handler_id'], ['users.id'], name=op.f('fk_resident_requests_handler_id_users')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_resident_requests_household_id_households')),
    sa.ForeignKeyConstraint(['origin_unit_id'], ['org_units.id'], name=op.f('fk_resident_requests_origin_unit_id_org_units')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_resident_requests_owner_id_users')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_resident_requests_resident_id_residents')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_resident_requests_submitted_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], name=op.f('fk_resident_requests_unit_id_org_units')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_resident_requests_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_requests'))
    )
    op.create_index('ix_resident_requests_household', 'resident_requests', ['household_id', 'id'], unique=False)
    op.create_index('ix_resident_requests_open_due', 'resident_requests', ['due_at'], unique=False, postgresql_where=sa.text("status NOT IN ('resolved', 'closed', 'duplicate')"))
    op.create_index('ix_resident_requests_village_status', 'resident_requests', ['village_id', 'status', 'id'], unique=False)
    op.create_table('request_updates',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('request_id', sa.BigInteger(), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('from_status', sa.String(length=12), nullable=True),
    sa.Column('to_status', sa.String(length=12), nullable=False),
    sa.Column('actor_id', sa.BigInteger(), nullable=True),
    sa.Column('note', sa.String(length=2000), nullable=True),
    sa.Column('visible_to_resident', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_request_updates_actor_id_users')),
    sa.ForeignKeyConstraint(['request_id'], ['resident_requests.id'], name=op.f('fk_request_updates_request_id_resident_requests')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_request_updates_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_updates'))
    )
    op.create_index('ix_request_updates_request_id', 'request_updates', ['request_id', 'id'], unique=False)

    op.execute(
        "CREATE TRIGGER request_updates_append_only BEFORE UPDATE OR DELETE ON request_updates "
        "FOR EACH ROW EXECUTE FUNCTION forbid_rewrite()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER request_updates_append_only ON request_updates")
    op.drop_index('ix_request_updates_request_id', table_name='request_updates')
    op.drop_table('request_updates')
    op.drop_index('ix_resident_requests_village_status', table_name='resident_requests')
    op.drop_index('ix_resident_requests_open_due', table_name='resident_requests', postgresql_where=sa.text("status NOT IN ('resolved', 'closed', 'duplicate')"))
    op.drop_index('ix_resident_requests_household', table_name='resident_requests')
    op.drop_table('resident_requests')
    op.drop_table('request_deadlines')
