"""Employment information: employers, postings, labour profiles, applications, return reports.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('labour_profiles',
    sa.Column('resident_id', sa.BigInteger(), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('away_place', sa.String(length=100), nullable=True),
    sa.Column('trade', sa.String(length=50), nullable=True),
    sa.Column('skills', sa.ARRAY(sa.String(length=50)), server_default='{}', nullable=False),
    sa.Column('wanted_categories', sa.ARRAY(sa.String(length=50)), server_default='{}', nullable=False),
    sa.Column('available_from', sa.Date(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('working_locally', 'working_away', 'looking', 'unable', 'student', 'retired')", name=op.f('ck_labour_profiles_status')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_labour_profiles_resident_id_residents')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_labour_profiles_village_id_org_units')),
    sa.PrimaryKeyConstraint('resident_id', name=op.f('pk_labour_profiles'))
    )
    op.create_index('ix_labour_profiles_village_status', 'labour_profiles', ['village_id', 'status'], unique=False)
    op.create_table('employers',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('scope_unit_id', sa.BigInteger(), nullable=False),
    sa.Column('scope_path', sa.String(length=400, collation='C'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('contact_name', sa.String(length=50), nullable=False),
    sa.Column('contact_phone', sa.String(length=11), nullable=False),
    sa.Column('contact_user_id', sa.BigInteger(), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('business', 'cooperative', 'farm', 'public_post')", name=op.f('ck_employers_kind')),
    sa.ForeignKeyConstraint(['contact_user_id'], ['users.id'], name=op.f('fk_employers_contact_user_id_users')),
    sa.ForeignKeyConstraint(['scope_unit_id'], ['org_units.id'], name=op.f('fk_employers_scope_unit_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employers'))
    )
    op.create_index(op.f('ix_employers_scope_unit_id'), 'employers', ['scope_unit_id'], unique=False)
    op.create_table('return_reports',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('resident_id', sa.BigInteger(), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('from_place', sa.String(length=100), nullable=False),
    sa.Column('returned_on', sa.Date(), nullable=False),
    sa.Column('plan', sa.String(length=16), nullable=False),
    sa.Column('points_awarded', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("plan IN ('stay', 'look_for_work', 'start_business', 'temporary')", name=op.f('ck_return_reports_plan')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_return_reports_household_id_households')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_return_reports_resident_id_residents')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_return_reports_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_reports')),
    sa.UniqueConstraint('resident_id', 'returned_on', name=op.f('uq_return_reports_resident_id_returned_on'))
    )
    op.create_index('ix_return_reports_village_returned', 'return_reports', ['village_id', 'returned_on'], unique=False)
    op.create_table('job_postings',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('employer_id', sa.BigInteger(), nullable=False),
    sa.Column('scope_unit_id', sa.BigInteger(), nullable=False),
    sa.Column('scope_path', sa.String(length=400, collation='C'), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=50), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('skills', sa.ARRAY(sa.String(length=50)), server_default='{}', nullable=False),
    sa.Column('pay_min', sa.Integer(), nullable=False),
    sa.Column('pay_max', sa.Integer(), nullable=False),
    sa.Column('pay_unit', sa.String(length=8), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('headcount', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=8), server_default='draft', nullable=False),
    sa.Column('created_by_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("pay_unit IN ('month', 'day', 'piece')", name=op.f('ck_job_postings_pay_unit')),
    sa.CheckConstraint("status IN ('draft', 'open', 'filled', 'closed')", name=op.f('ck_job_postings_status')),
    sa.CheckConstraint('ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on', name=op.f('ck_job_postings_dates')),
    sa.CheckConstraint('headcount > 0', name=op.f('ck_job_postings_headcount')),
    sa.CheckConstraint('pay_min > 0 AND pay_max >= pay_min', name=op.f('ck_job_postings_pay_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_job_postings_created_by_id_users')),
    sa.ForeignKeyConstraint(['employer_id'], ['employers.id'], name=op.f('fk_job_postings_employer_id_employers')),
    sa.ForeignKeyConstraint(['scope_unit_id'], ['org_units.id'], name=op.f('fk_job_postings_scope_unit_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_postings'))
    )
    op.create_index(op.f('ix_job_postings_employer_id'), 'job_postings', ['employer_id'], unique=False)
    op.create_index('ix_job_postings_status_scope', 'job_postings', ['status', 'scope_path'], unique=False)
    op.create_table('job_applications',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('posting_id', sa.BigInteger(), nullable=False),
    sa.Column('resident_id', sa.BigInteger(), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='submitted', nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("status IN ('submitted', 'contacted', 'hired', 'declined')", name=op.f('ck_job_applications_status')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_job_applications_decided_by_id_users')),
    sa.ForeignKeyConstraint(['posting_id'], ['job_postings.id'], name=op.f('fk_job_applications_posting_id_job_postings')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_job_applications_resident_id_residents')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_job_applications_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_applications')),
    sa.UniqueConstraint('posting_id', 'resident_id', name=op.f('uq_job_applications_posting_id_resident_id'))
    )
    op.create_index(op.f('ix_job_applications_posting_id'), 'job_applications', ['posting_id'], unique=False)
    op.create_index(op.f('ix_job_applications_resident_id'), 'job_applications', ['resident_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_job_applications_resident_id'), table_name='job_applications')
    op.drop_index(op.f('ix_job_applications_posting_id'), table_name='job_applications')
    op.drop_table('job_applications')
    op.drop_index('ix_job_postings_status_scope', table_name='job_postings')
    op.drop_index(op.f('ix_job_postings_employer_id'), table_name='job_postings')
    op.drop_table('job_postings')
    op.drop_index('ix_return_reports_village_returned', table_name='return_reports')
    op.drop_table('return_reports')
    op.drop_index(op.f('ix_employers_scope_unit_id'), table_name='employers')
    op.drop_table('employers')
    op.drop_index('ix_labour_profiles_village_status', table_name='labour_profiles')
    op.drop_table('labour_profiles')
