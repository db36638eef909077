"""Village affairs disclosure: notices, revisions, audiences, reads and receipts; group
accounts: entries and hash-chained statements; questions.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('affairs_policies',
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('finance_cadence', sa.String(length=8), server_default='month', nullable=False),
    sa.CheckConstraint("finance_cadence IN ('month', 'quarter')", name=op.f('ck_affairs_policies_cadence')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_affairs_policies_village_id_org_units')),
    sa.PrimaryKeyConstraint('village_id', name=op.f('pk_affairs_policies'))
    )
    op.create_table('account_entries',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('unit_id', sa.BigInteger(), nullable=False),
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('category', sa.String(length=50), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('counterparty', sa.String(length=100), nullable=True),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('voucher_no', sa.String(length=50), nullable=True),
    sa.Column('created_by_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("direction IN ('income', 'expense')", name=op.f('ck_account_entries_direction')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_account_entries_amount')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_account_entries_created_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], name=op.f('fk_account_entries_unit_id_org_units')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_account_entries_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_entries'))
    )
    op.create_index('ix_account_entries_unit_date', 'account_entries', ['unit_id', 'entry_date', 'id'], unique=False)
    op.create_table('account_statements',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('unit_id', sa.BigInteger(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('previous_digest', sa.String(length=64), nullable=True),
    sa.Column('correction_reason', sa.String(length=500), nullable=True),
    sa.Column('published_by_id', sa.BigInteger(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'", name=op.f('ck_account_statements_period')),
    sa.CheckConstraint('version = 1 OR correction_reason IS NOT NULL', name=op.f('ck_account_statements_reason')),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_account_statements_published_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], name=op.f('fk_account_statements_unit_id_org_units')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_account_statements_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_statements')),
    sa.UniqueConstraint('unit_id', 'period', 'version', name=op.f('uq_account_statements_unit_id_period_version'))
    )
    op.create_index('ix_account_statements_unit_id_id', 'account_statements', ['unit_id', 'id'], unique=False)
    op.create_table('notices',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='draft', nullable=False),
    sa.Column('pinned', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("category IN ('party_affairs', 'village_affairs', 'finance', 'policy', 'other')", name=op.f('ck_notices_category')),
    sa.CheckConstraint("status = 'draft' OR published_at IS NOT NULL", name=op.f('ck_notices_published')),
    sa.CheckConstraint("status IN ('draft', 'published', 'withdrawn')", name=op.f('ck_notices_status')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_notices_created_by_id_users')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_notices_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices'))
    )
    op.create_index('ix_notices_village_status_published', 'notices', ['village_id', 'status', 'published_at'], unique=False)
    op.create_table('notice_audiences',
    sa.Column('notice_id', sa.BigInteger(), nullable=False),
    sa.Column('unit_id', sa.BigInteger(), nullable=False),
    sa.Column('unit_path', sa.String(length=400, collation='C'), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_notice_audiences_notice_id_notices')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], name=op.f('fk_notice_audiences_unit_id_org_units')),
    sa.PrimaryKeyConstraint('notice_id', 'unit_id', name=op.f('pk_notice_audiences'))
    )
    op.create_table('notice_revisions',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('notice_id', sa.BigInteger(), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('attachments', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('min_read_seconds', sa.Integer(), nullable=False),
    sa.Column('change_reason', sa.String(length=500), nullable=True),
    sa.Column('created_by_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('min_read_seconds BETWEEN 3 AND 3600', name=op.f('ck_notice_revisions_min_read')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_notice_revisions_created_by_id_users')),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_notice_revisions_notice_id_notices')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_notice_revisions_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_revisions')),
    sa.UniqueConstraint('notice_id', 'revision', name=op.f('uq_notice_revisions_notice_id_revision'))
    )
    op.create_table('questions',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('notice_id', sa.BigInteger(), nullable=True),
    sa.Column('statement_id', sa.BigInteger(), nullable=True),
    sa.Column('resident_id', sa.BigInteger(), nullable=False),
    sa.Column('text', sa.String(length=1000), nullable=False),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.String(length=2000), nullable=True),
    sa.Column('answered_by_id', sa.BigInteger(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(answer IS NULL) = (answered_at IS NULL)', name=op.f('ck_questions_answered')),
    sa.CheckConstraint('(notice_id IS NULL) <> (statement_id IS NULL)', name=op.f('ck_questions_subject')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_questions_answered_by_id_users')),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_questions_notice_id_notices')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_questions_resident_id_residents')),
    sa.ForeignKeyConstraint(['statement_id'], ['account_statements.id'], name=op.f('fk_questions_statement_id_account_statements')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_questions_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questions'))
    )
    op.create_index('ix_questions_notice_id', 'questions', ['notice_id'], unique=False)
    op.create_index('ix_questions_statement_id', 'questions', ['statement_id'], unique=False)
    op.create_table('notice_reads',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('notice_id', sa.BigInteger(), nullable=False),
    sa.Column('revision_id', sa.BigInteger(), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('resident_id', sa.BigInteger(), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_notice_reads_household_id_households')),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_notice_reads_notice_id_notices')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_notice_reads_resident_id_residents')),
    sa.ForeignKeyConstraint(['revision_id'], ['notice_revisions.id'], name=op.f('fk_notice_reads_revision_id_notice_revisions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notice_reads_user_id_users')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_notice_reads_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_reads'))
    )
    op.create_index('ix_notice_reads_resident_notice', 'notice_reads', ['resident_id', 'notice_id'], unique=False)
    op.create_table('notice_receipts',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('notice_id', sa.BigInteger(), nullable=False),
    sa.Column('revision_id', sa.BigInteger(), nullable=False),
    sa.Column('read_id', sa.BigInteger(), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('resident_id', sa.BigInteger(), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seconds', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_notice_receipts_household_id_households')),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_notice_receipts_notice_id_notices')),
    sa.ForeignKeyConstraint(['read_id'], ['notice_reads.id'], name=op.f('fk_notice_receipts_read_id_notice_reads')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_notice_receipts_resident_id_residents')),
    sa.ForeignKeyConstraint(['revision_id'], ['notice_revisions.id'], name=op.f('fk_notice_receipts_revision_id_notice_revisions')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_notice_receipts_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_receipts')),
    sa.UniqueConstraint('notice_id', 'resident_id', name=op.f('uq_notice_receipts_notice_id_resident_id')),
    sa.UniqueConstraint('read_id', name=op.f('uq_notice_receipts_read_id'))
    )
    op.create_index('ix_notice_receipts_notice_household', 'notice_receipts', ['notice_id', 'household_id'], unique=False)

    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION forbid_rewrite()"
        )


# What was published or read cannot be rewritten (forbid_rewrite comes with 0002).
APPEND_ONLY = ("notice_revisions", "notice_receipts", "account_statements")


def downgrade() -> None:
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    op.drop_index('ix_notice_receipts_notice_household', table_name='notice_receipts')
    op.drop_table('notice_receipts')
    op.drop_index('ix_notice_reads_resident_notice', table_name='notice_reads')
    op.drop_table('notice_reads')
    op.drop_index('ix_questions_statement_id', table_name='questions')
    op.drop_index('ix_questions_notice_id', table_name='questions')
    op.drop_table('questions')
    op.drop_table('notice_revisions')
    op.drop_table('notice_audiences')
    op.drop_index('ix_notices_village_status_published', table_name='notices')
    op.drop_table('notices')
    op.drop_index('ix_account_statements_unit_id_id', table_name='account_statements')
    op.drop_table('account_statements')
    op.drop_index('ix_account_entries_unit_date', table_name='account_entries')
    op.drop_table('account_entries')
    op.drop_table('affairs_policies')
