"""The points ledger (accounts, transactions, append-only entries, lots), earning rules,
awards and claims, the store (items, stock movements, redemptions), idempotency records and
ranking snapshots.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('earning_rules',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_earning_rules_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_earning_rules')),
    sa.UniqueConstraint('village_id', 'code', name=op.f('uq_earning_rules_village_id_code'))
    )
    op.create_index(op.f('ix_earning_rules_village_id'), 'earning_rules', ['village_id'], unique=False)
    op.create_table('points_policies',
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('default_validity_days', sa.Integer(), nullable=True),
    sa.Column('expire_end_of_next_year', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('pickup_days', sa.Integer(), server_default=sa.text('7'), nullable=False),
    sa.Column('rankings_public', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('default_validity_days IS NULL OR default_validity_days > 0', name=op.f('ck_points_policies_validity')),
    sa.CheckConstraint('pickup_days BETWEEN 1 AND 90', name=op.f('ck_points_policies_pickup_days')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_points_policies_village_id_org_units')),
    sa.PrimaryKeyConstraint('village_id', name=op.f('pk_points_policies'))
    )
    op.create_table('reward_items',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('image_url', sa.String(length=500), nullable=True),
    sa.Column('category', sa.String(length=50), nullable=True),
    sa.Column('points_price', sa.Integer(), nullable=False),
    sa.Column('stock_available', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('stock_reserved', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('limit_quantity', sa.Integer(), nullable=True),
    sa.Column('limit_period', sa.String(length=8), nullable=True),
    sa.Column('active_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('active_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('enabled', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("limit_period IN ('day', 'week', 'month', 'year', 'lifetime')", name=op.f('ck_reward_items_limit_period')),
    sa.CheckConstraint('(limit_period IS NULL) = (limit_quantity IS NULL)', name=op.f('ck_reward_items_limit_shape')),
    sa.CheckConstraint('active_to IS NULL OR active_from IS NULL OR active_to > active_from', name=op.f('ck_reward_items_window')),
    sa.CheckConstraint('limit_quantity IS NULL OR limit_quantity > 0', name=op.f('ck_reward_items_limit_quantity')),
    sa.CheckConstraint('points_price > 0', name=op.f('ck_reward_items_price')),
    sa.CheckConstraint('stock_available >= 0 AND stock_reserved >= 0', name=op.f('ck_reward_items_stock')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_reward_items_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reward_items'))
    )
    op.create_index('ix_reward_items_village_id_id', 'reward_items', ['village_id', 'id'], unique=False)
    op.create_table('earning_rule_versions',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('rule_id', sa.BigInteger(), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=8), nullable=False),
    sa.Column('event_type', sa.String(length=50), nullable=True),
    sa.Column('cap_period', sa.String(length=8), nullable=True),
    sa.Column('cap_count', sa.Integer(), nullable=True),
    sa.Column('cap_scope', sa.String(length=10), server_default='household', nullable=False),
    sa.Column('once_per_household', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('active_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('active_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('enabled', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('validity_days', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(trigger = 'event') = (event_type IS NOT NULL)", name=op.f('ck_earning_rule_versions_event_type')),
    sa.CheckConstraint("cap_period IN ('day', 'week', 'month', 'year', 'lifetime')", name=op.f('ck_earning_rule_versions_cap_period')),
    sa.CheckConstraint("cap_scope IN ('resident', 'household')", name=op.f('ck_earning_rule_versions_cap_scope')),
    sa.CheckConstraint("trigger IN ('event', 'claim')", name=op.f('ck_earning_rule_versions_trigger')),
    sa.CheckConstraint('(cap_period IS NULL) = (cap_count IS NULL)', name=op.f('ck_earning_rule_versions_cap_shape')),
    sa.CheckConstraint('active_to IS NULL OR active_from IS NULL OR active_to > active_from', name=op.f('ck_earning_rule_versions_window')),
    sa.CheckConstraint('cap_count IS NULL OR cap_count > 0', name=op.f('ck_earning_rule_versions_cap_count')),
    sa.CheckConstraint('points <> 0', name=op.f('ck_earning_rule_versions_points')),
    sa.CheckConstraint('validity_days IS NULL OR validity_days > 0', name=op.f('ck_earning_rule_versions_validity')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_earning_rule_versions_created_by_id_users')),
    sa.ForeignKeyConstraint(['rule_id'], ['earning_rules.id'], name=op.f('fk_earning_rule_versions_rule_id_earning_rules')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_earning_rule_versions_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_earning_rule_versions')),
    sa.UniqueConstraint('rule_id', 'version', name=op.f('uq_earning_rule_versions_rule_id_version'))
    )
    op.create_index('ix_earning_rule_versions_event', 'earning_rule_versions', ['event_type'], unique=False)
    op.create_table('idempotency_records',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('operation', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('result_id', sa.BigInteger(), nullable=True),
    sa.Column('error_code', sa.String(length=40), nullable=True),
    sa.Column('error_message', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_idempotency_records_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_records')),
    sa.UniqueConstraint('user_id', 'operation', 'key', name=op.f('uq_idempotency_records_user_id_operation_key'))
    )
    op.create_table('points_accounts',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=True),
    sa.Column('balance', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('min_balance', sa.BigInteger(), nullable=True),
    sa.Column('lifetime_earned', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(kind = 'household') = (household_id IS NOT NULL)", name=op.f('ck_points_accounts_household_shape')),
    sa.CheckConstraint("kind <> 'household' OR min_balance = 0", name=op.f('ck_points_accounts_household_floor')),
    sa.CheckConstraint("kind IN ('household', 'issuance', 'redeemed', 'expired')", name=op.f('ck_points_accounts_kind')),
    sa.CheckConstraint('min_balance IS NULL OR balance >= min_balance', name=op.f('ck_points_accounts_floor')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_points_accounts_household_id_households')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_points_accounts_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_accounts')),
    sa.UniqueConstraint('household_id', name=op.f('uq_points_accounts_household_id'))
    )
    op.create_index(op.f('ix_points_accounts_village_id'), 'points_accounts', ['village_id'], unique=False)
    op.create_index('uq_points_accounts_system', 'points_accounts', ['village_id', 'kind'], unique=True, postgresql_where=sa.text("kind <> 'household'"))
    op.create_table('ranking_snapshots',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rows', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('published_by_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('red', 'black')", name=op.f('ck_ranking_snapshots_kind')),
    sa.CheckConstraint('period_end > period_start', name=op.f('ck_ranking_snapshots_period')),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_ranking_snapshots_published_by_id_users')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_ranking_snapshots_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ranking_snapshots')),
    sa.UniqueConstraint('village_id', 'kind', 'period_start', 'period_end', name=op.f('uq_ranking_snapshots_village_id_kind_period_start_period_end'))
    )
    op.create_table('points_lots',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('remaining', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('points > 0 AND remaining BETWEEN 0 AND points', name=op.f('ck_points_lots_remaining')),
    sa.ForeignKeyConstraint(['account_id'], ['points_accounts.id'], name=op.f('fk_points_lots_account_id_points_accounts')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_points_lots_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_lots'))
    )
    op.create_index('ix_points_lots_open', 'points_lots', ['account_id', 'expires_at'], unique=False, postgresql_where=sa.text('remaining > 0'))
    op.create_table('redemptions',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('resident_id', sa.BigInteger(), nullable=True),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('item_id', sa.BigInteger(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='reserved', nullable=False),
    sa.Column('pickup_code', sa.String(length=12), nullable=False),
    sa.Column('pickup_deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("(status = 'reserved') = (closed_at IS NULL)", name=op.f('ck_redemptions_closed')),
    sa.CheckConstraint("status IN ('reserved', 'picked_up', 'cancelled', 'expired')", name=op.f('ck_redemptions_status')),
    sa.CheckConstraint('quantity > 0 AND points > 0', name=op.f('ck_redemptions_amounts')),
    sa.ForeignKeyConstraint(['account_id'], ['points_accounts.id'], name=op.f('fk_redemptions_account_id_points_accounts')),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_redemptions_closed_by_id_users')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_redemptions_household_id_households')),
    sa.ForeignKeyConstraint(['item_id'], ['reward_items.id'], name=op.f('fk_redemptions_item_id_reward_items')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_redemptions_resident_id_residents')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_redemptions_user_id_users')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_redemptions_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemptions')),
    sa.UniqueConstraint('village_id', 'pickup_code', name=op.f('uq_redemptions_village_id_pickup_code'))
    )
    op.create_index('ix_redemptions_household_id_id', 'redemptions', ['household_id', 'id'], unique=False)
    op.create_index('ix_redemptions_reserved_deadline', 'redemptions', ['pickup_deadline'], unique=False, postgresql_where=sa.text("status = 'reserved'"))
    op.create_index('ix_redemptions_village_status', 'redemptions', ['village_id', 'status', 'id'], unique=False)
    op.create_table('points_transactions',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('actor_user_id', sa.BigInteger(), nullable=True),
    sa.Column('household_id', sa.BigInteger(), nullable=True),
    sa.Column('resident_id', sa.BigInteger(), nullable=True),
    sa.Column('rule_version_id', sa.BigInteger(), nullable=True),
    sa.Column('redemption_id', sa.BigInteger(), nullable=True),
    sa.Column('reverses_id', sa.BigInteger(), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("actor_user_id IS NOT NULL OR kind IN ('expiry', 'refund', 'award', 'deduction')", name=op.f('ck_points_transactions_actor')),
    sa.CheckConstraint("kind IN ('award', 'deduction', 'adjustment', 'reversal', 'redemption', 'refund', 'expiry')", name=op.f('ck_points_transactions_kind')),
    sa.CheckConstraint('length(reason) > 0', name=op.f('ck_points_transactions_reason')),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_points_transactions_actor_user_id_users')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_points_transactions_household_id_households')),
    sa.ForeignKeyConstraint(['redemption_id'], ['redemptions.id'], name=op.f('fk_points_transactions_redemption_id_redemptions')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_points_transactions_resident_id_residents')),
    sa.ForeignKeyConstraint(['reverses_id'], ['points_transactions.id'], name=op.f('fk_points_transactions_reverses_id_points_transactions')),
    sa.ForeignKeyConstraint(['rule_version_id'], ['earning_rule_versions.id'], name=op.f('fk_points_transactions_rule_version_id_earning_rule_versions')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_points_transactions_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_transactions')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_points_transactions_reverses_id'))
    )
    op.create_index(op.f('ix_points_transactions_household_id'), 'points_transactions', ['household_id'], unique=False)
    op.create_index(op.f('ix_points_transactions_redemption_id'), 'points_transactions', ['redemption_id'], unique=False)
    op.create_index('ix_points_transactions_village_id_created_at', 'points_transactions', ['village_id', 'created_at'], unique=False)
    op.create_table('stock_movements',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('item_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('delta_available', sa.Integer(), nullable=False),
    sa.Column('delta_reserved', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('actor_user_id', sa.BigInteger(), nullable=True),
    sa.Column('redemption_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('receive', 'adjust', 'reserve', 'release', 'pickup')", name=op.f('ck_stock_movements_kind')),
    sa.CheckConstraint('delta_available <> 0 OR delta_reserved <> 0', name=op.f('ck_stock_movements_nonzero')),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_stock_movements_actor_user_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['reward_items.id'], name=op.f('fk_stock_movements_item_id_reward_items')),
    sa.ForeignKeyConstraint(['redemption_id'], ['redemptions.id'], name=op.f('fk_stock_movements_redemption_id_redemptions')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_stock_movements_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_movements'))
    )
    op.create_index('ix_stock_movements_item_id_id', 'stock_movements', ['item_id', 'id'], unique=False)
    op.create_table('points_awards',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('rule_id', sa.BigInteger(), nullable=False),
    sa.Column('rule_version_id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('resident_id', sa.BigInteger(), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('shortfall', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('transaction_id', sa.BigInteger(), nullable=True),
    sa.Column('lot_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('shortfall >= 0', name=op.f('ck_points_awards_shortfall')),
    sa.ForeignKeyConstraint(['account_id'], ['points_accounts.id'], name=op.f('fk_points_awards_account_id_points_accounts')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_points_awards_household_id_households')),
    sa.ForeignKeyConstraint(['lot_id'], ['points_lots.id'], name=op.f('fk_points_awards_lot_id_points_lots')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_points_awards_resident_id_residents')),
    sa.ForeignKeyConstraint(['rule_id'], ['earning_rules.id'], name=op.f('fk_points_awards_rule_id_earning_rules')),
    sa.ForeignKeyConstraint(['rule_version_id'], ['earning_rule_versions.id'], name=op.f('fk_points_awards_rule_version_id_earning_rule_versions')),
    sa.ForeignKeyConstraint(['transaction_id'], ['points_transactions.id'], name=op.f('fk_points_awards_transaction_id_points_transactions')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_points_awards_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_awards')),
    sa.UniqueConstraint('rule_id', 'account_id', 'source', name=op.f('uq_points_awards_rule_id_account_id_source'))
    )
    op.create_index('ix_points_awards_rule_household_created', 'points_awards', ['rule_id', 'household_id', 'created_at'], unique=False)
    op.create_index('ix_points_awards_rule_resident_created', 'points_awards', ['rule_id', 'resident_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_points_awards_village_id'), 'points_awards', ['village_id'], unique=False)
    op.create_table('points_entries',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('transaction_id', sa.BigInteger(), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('lot_id', sa.BigInteger(), nullable=True),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('points <> 0', name=op.f('ck_points_entries_nonzero')),
    sa.ForeignKeyConstraint(['account_id'], ['points_accounts.id'], name=op.f('fk_points_entries_account_id_points_accounts')),
    sa.ForeignKeyConstraint(['lot_id'], ['points_lots.id'], name=op.f('fk_points_entries_lot_id_points_lots')),
    sa.ForeignKeyConstraint(['transaction_id'], ['points_transactions.id'], name=op.f('fk_points_entries_transaction_id_points_transactions')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_points_entries_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_entries'))
    )
    op.create_index('ix_points_entries_account_id_id', 'points_entries', ['account_id', 'id'], unique=False)
    op.create_index(op.f('ix_points_entries_lot_id'), 'points_entries', ['lot_id'], unique=False)
    op.create_index(op.f('ix_points_entries_transaction_id'), 'points_entries', ['transaction_id'], unique=False)
    op.create_table('points_claims',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('rule_id', sa.BigInteger(), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('resident_id', sa.BigInteger(), nullable=True),
    sa.Column('submitted_by_id', sa.BigInteger(), nullable=False),
    sa.Column('note', sa.String(length=1000), nullable=False),
    sa.Column('photo_urls', sa.ARRAY(sa.String(length=500)), server_default='{}', nullable=False),
    sa.Column('status', sa.String(length=10), server_default='pending', nullable=False),
    sa.Column('reviewed_by_id', sa.BigInteger(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_reason', sa.String(length=500), nullable=True),
    sa.Column('award_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status = 'pending' OR reviewed_at IS NOT NULL", name=op.f('ck_points_claims_reviewed')),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f('ck_points_claims_status')),
    sa.ForeignKeyConstraint(['award_id'], ['points_awards.id'], name=op.f('fk_points_claims_award_id_points_awards')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_points_claims_household_id_households')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_points_claims_resident_id_residents')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_points_claims_reviewed_by_id_users')),
    sa.ForeignKeyConstraint(['rule_id'], ['earning_rules.id'], name=op.f('fk_points_claims_rule_id_earning_rules')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_points_claims_submitted_by_id_users')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_points_claims_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_claims'))
    )
    op.create_index('ix_points_claims_village_id_status', 'points_claims', ['village_id', 'status', 'id'], unique=False)

    for statement in LEDGER_GUARDS:
        op.execute(statement)


APPEND_ONLY = (
    "points_transactions",
    "points_entries",
    "points_awards",
    "earning_rule_versions",
    "stock_movements",
    "idempotency_records",
    "ranking_snapshots",
)

# The ledger and its evidence cannot be rewritten by anyone who can connect, whatever the
# application does: a mistake is corrected by a new, visible transaction. And a
# transaction whose legs do not sum to zero cannot commit.
LEDGER_GUARDS = [
    """
CREATE FUNCTION forbid_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END $$
""",
    *(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION forbid_rewrite()"
        for table in APPEND_ONLY
    ),
    *(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION forbid_rewrite()"
        for table in APPEND_ONLY
    ),
    """
CREATE FUNCTION check_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
BEGIN
    SELECT sum(points) INTO total FROM points_entries WHERE transaction_id = NEW.transaction_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'points transaction % does not balance (sum %)', NEW.transaction_id, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$
""",
    """
CREATE CONSTRAINT TRIGGER points_entries_balanced AFTER INSERT ON points_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_transaction_balanced()
""",
]


def downgrade() -> None:
    op.execute("DROP TRIGGER points_entries_balanced ON points_entries")
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
    op.execute("DROP FUNCTION check_transaction_balanced()")
    op.execute("DROP FUNCTION forbid_rewrite()")
    op.drop_index('ix_points_claims_village_id_status', table_name='points_claims')
    op.drop_table('points_claims')
    op.drop_index(op.f('ix_points_entries_transaction_id'), table_name='points_entries')
    op.drop_index(op.f('ix_points_entries_lot_id'), table_name='points_entries')
    op.drop_index('ix_points_entries_account_id_id', table_name='points_entries')
    op.drop_table('points_entries')
    op.drop_index(op.f('ix_points_awards_village_id'), table_name='points_awards')
    op.drop_index('ix_points_awards_rule_resident_created', table_name='points_awards')
    op.drop_index('ix_points_awards_rule_household_created', table_name='points_awards')
    op.drop_table('points_awards')
    op.drop_index('ix_stock_movements_item_id_id', table_name='stock_movements')
    op.drop_table('stock_movements')
    op.drop_index('ix_points_transactions_village_id_created_at', table_name='points_transactions')
    op.drop_index(op.f('ix_points_transactions_redemption_id'), table_name='points_transactions')
    op.drop_index(op.f('ix_points_transactions_household_id'), table_name='points_transactions')
    op.drop_table('points_transactions')
    op.drop_index('ix_redemptions_village_status', table_name='redemptions')
    op.drop_index('ix_redemptions_reserved_deadline', table_name='redemptions', postgresql_where=sa.text("status = 'reserved'"))
    op.drop_index('ix_redemptions_household_id_id', table_name='redemptions')
    op.drop_table('redemptions')
    op.drop_index('ix_points_lots_open', table_name='points_lots', postgresql_where=sa.text('remaining > 0'))
    op.drop_table('points_lots')
    op.drop_table('ranking_snapshots')
    op.drop_index('uq_points_accounts_system', table_name='points_accounts', postgresql_where=sa.text("kind <> 'household'"))
    op.drop_index(op.f('ix_points_accounts_village_id'), table_name='points_accounts')
    op.drop_table('points_accounts')
    op.drop_table('idempotency_records')
    op.drop_index('ix_earning_rule_versions_event', table_name='earning_rule_versions')
    op.drop_table('earning_rule_versions')
    op.drop_index('ix_reward_items_village_id_id', table_name='reward_items')
    op.drop_table('reward_items')
    op.drop_table('points_policies')
    op.drop_index(op.f('ix_earning_rules_village_id'), table_name='earning_rules')
    op.drop_table('earning_rules')
