"""The grid (org units, levels, hamlets, households, residents, memberships) and identity
(users, appointments, login codes, refresh tokens).

Revision ID: 0001
Revises: 
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('login_codes',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('phone', sa.String(length=11), nullable=False),
    sa.Column('code_hash', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('consumed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_codes'))
    )
    op.create_index('ix_login_codes_phone_created_at', 'login_codes', ['phone', 'created_at'], unique=False)
    op.create_table('auth_failures',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('phone', sa.String(length=11), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("method IN ('code', 'password')", name=op.f('ck_auth_failures_method')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_failures'))
    )
    op.create_index('ix_auth_failures_phone_method_at', 'auth_failures', ['phone', 'method', 'failed_at'], unique=False)
    op.create_table('org_units',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('parent_id', sa.BigInteger(), nullable=True),
    sa.Column('village_id', sa.BigInteger(), nullable=True),
    sa.Column('level', sa.SmallInteger(), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=True),
    sa.Column('path', sa.String(length=400, collation='C'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(kind = 'town' AND village_id IS NULL AND level IS NULL) OR (kind = 'village' AND village_id = id AND level IS NULL AND parent_id IS NOT NULL) OR (kind = 'unit' AND village_id IS NOT NULL AND level >= 1 AND parent_id IS NOT NULL)", name=op.f('ck_org_units_kind_shape')),
    sa.CheckConstraint("kind IN ('town', 'village', 'unit')", name=op.f('ck_org_units_kind')),
    sa.CheckConstraint("path ~ '^(/[0-9]+)+/$'", name=op.f('ck_org_units_path_format')),
    sa.ForeignKeyConstraint(['parent_id'], ['org_units.id'], name=op.f('fk_org_units_parent_id_org_units')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_org_units_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_org_units')),
    sa.UniqueConstraint('id', 'village_id', name=op.f('uq_org_units_id_village_id')),
    sa.UniqueConstraint('parent_id', 'name', name=op.f('uq_org_units_parent_id_name')),
    sa.UniqueConstraint('path', name=op.f('uq_org_units_path'))
    )
    op.create_index(op.f('ix_org_units_parent_id'), 'org_units', ['parent_id'], unique=False)
    op.create_index(op.f('ix_org_units_village_id'), 'org_units', ['village_id'], unique=False)
    op.create_table('hamlets',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('has_party_group', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('has_council', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_hamlets_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hamlets')),
    sa.UniqueConstraint('village_id', 'name', name=op.f('uq_hamlets_village_id_name'))
    )
    op.create_index(op.f('ix_hamlets_village_id'), 'hamlets', ['village_id'], unique=False)
    op.create_table('residents',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('phone', sa.String(length=11), nullable=True),
    sa.Column('id_number_cipher', sa.LargeBinary(), nullable=True),
    sa.Column('id_number_digest', sa.LargeBinary(), nullable=True),
    sa.Column('id_number_masked', sa.String(length=18), nullable=True),
    sa.Column('gender', sa.String(length=8), nullable=False),
    sa.Column('birth_year', sa.SmallInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("gender IN ('male', 'female')", name=op.f('ck_residents_gender')),
    sa.CheckConstraint("phone ~ '^1[3-9][0-9]{9}$'", name=op.f('ck_residents_phone_format')),
    sa.CheckConstraint('(id_number_cipher IS NULL) = (id_number_digest IS NULL) AND (id_number_cipher IS NULL) = (id_number_masked IS NULL)', name=op.f('ck_residents_id_number_complete')),
    sa.CheckConstraint('birth_year BETWEEN 1900 AND 2100', name=op.f('ck_residents_birth_year')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_residents_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_residents')),
    sa.UniqueConstraint('id_number_digest', name=op.f('uq_residents_id_number_digest'))
    )
    op.create_index(op.f('ix_residents_phone'), 'residents', ['phone'], unique=False)
    op.create_index('ix_residents_village_id_id', 'residents', ['village_id', 'id'], unique=False)
    op.create_index('ix_residents_village_id_name', 'residents', ['village_id', 'name'], unique=False)
    op.create_table('village_levels',
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('chief_title', sa.String(length=20), nullable=False),
    sa.CheckConstraint('level BETWEEN 1 AND 6', name=op.f('ck_village_levels_level_range')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_village_levels_village_id_org_units')),
    sa.PrimaryKeyConstraint('village_id', 'level', name=op.f('pk_village_levels')),
    sa.UniqueConstraint('village_id', 'key', name=op.f('uq_village_levels_village_id_key'))
    )
    op.create_foreign_key(
        'fk_org_units_level_village_levels', 'org_units', 'village_levels',
        ['village_id', 'level'], ['village_id', 'level'],
    )
    op.create_table('households',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('unit_id', sa.BigInteger(), nullable=False),
    sa.Column('hamlet_id', sa.BigInteger(), nullable=True),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('living_status', sa.String(length=16), server_default='at_home', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("living_status IN ('at_home', 'working_away')", name=op.f('ck_households_living_status')),
    sa.ForeignKeyConstraint(['hamlet_id'], ['hamlets.id'], name=op.f('fk_households_hamlet_id_hamlets')),
    sa.ForeignKeyConstraint(['unit_id', 'village_id'], ['org_units.id', 'org_units.village_id'], name=op.f('fk_households_unit_id_org_units')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_households_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_households')),
    sa.UniqueConstraint('village_id', 'number', name=op.f('uq_households_village_id_number'))
    )
    op.create_index(op.f('ix_households_hamlet_id'), 'households', ['hamlet_id'], unique=False)
    op.create_index(op.f('ix_households_unit_id'), 'households', ['unit_id'], unique=False)
    op.create_index('ix_households_village_id_id', 'households', ['village_id', 'id'], unique=False)
    op.create_table('users',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('phone', sa.String(length=11), nullable=True),
    sa.Column('display_name', sa.String(length=50), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('resident_id', sa.BigInteger(), nullable=True),
    sa.Column('wechat_openid', sa.String(length=64), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("phone ~ '^1[3-9][0-9]{9}$'", name=op.f('ck_users_phone_format')),
    sa.CheckConstraint('phone IS NOT NULL OR resident_id IS NOT NULL', name=op.f('ck_users_identifiable')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_users_resident_id_residents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('phone', name=op.f('uq_users_phone')),
    sa.UniqueConstraint('resident_id', name=op.f('uq_users_resident_id')),
    sa.UniqueConstraint('wechat_openid', name=op.f('uq_users_wechat_openid'))
    )
    op.create_table('appointments',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('unit_id', sa.BigInteger(), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('appointed_by_id', sa.BigInteger(), nullable=True),
    sa.Column('ended_by_id', sa.BigInteger(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.CheckConstraint("role IN ('party_member', 'chief', 'grid_worker', 'information_officer', 'store_clerk', 'village_admin', 'town_admin')", name=op.f('ck_appointments_role')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to >= valid_from', name=op.f('ck_appointments_valid_period')),
    sa.ForeignKeyConstraint(['appointed_by_id'], ['users.id'], name=op.f('fk_appointments_appointed_by_id_users')),
    sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'], name=op.f('fk_appointments_ended_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], name=op.f('fk_appointments_unit_id_org_units')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_appointments_user_id_users')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_appointments_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointments'))
    )
    op.create_index('ix_appointments_unit_id_valid_from', 'appointments', ['unit_id', 'valid_from'], unique=False)
    op.create_index(op.f('ix_appointments_user_id'), 'appointments', ['user_id'], unique=False)
    op.create_index(op.f('ix_appointments_village_id'), 'appointments', ['village_id'], unique=False)
    op.create_index('uq_appointments_open_chief', 'appointments', ['unit_id'], unique=True, postgresql_where=sa.text("valid_to IS NULL AND role = 'chief'"))
    op.create_index('uq_appointments_open_user_role_unit', 'appointments', ['user_id', 'role', 'unit_id'], unique=True, postgresql_where=sa.text('valid_to IS NULL'))
    op.create_table('household_memberships',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('resident_id', sa.BigInteger(), nullable=False),
    sa.Column('relation', sa.String(length=16), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint("relation IN ('head', 'spouse', 'child', 'child_in_law', 'grandchild', 'parent', 'sibling', 'other')", name=op.f('ck_household_memberships_relation')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to >= valid_from', name=op.f('ck_household_memberships_valid_period')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_household_memberships_household_id_households')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_household_memberships_resident_id_residents')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_household_memberships_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_memberships'))
    )
    op.create_index('ix_household_memberships_household_id', 'household_memberships', ['household_id', 'valid_from'], unique=False)
    op.create_index(op.f('ix_household_memberships_village_id'), 'household_memberships', ['village_id'], unique=False)
    op.create_index('uq_household_memberships_open_head', 'household_memberships', ['household_id'], unique=True, postgresql_where=sa.text("valid_to IS NULL AND relation = 'head'"))
    op.create_index('uq_household_memberships_open_resident', 'household_memberships', ['resident_id'], unique=True, postgresql_where=sa.text('valid_to IS NULL'))
    op.create_table('refresh_tokens',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rotated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoke_reason', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_refresh_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refresh_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_refresh_tokens_token_hash'))
    )
    op.create_index(op.f('ix_refresh_tokens_family_id'), 'refresh_tokens', ['family_id'], unique=False)
    op.create_index(op.f('ix_refresh_tokens_user_id'), 'refresh_tokens', ['user_id'], unique=False)
    for statement in HISTORY_GUARD:
        op.execute(statement)


# History, not overwrite: an appointment or a membership may only be ended, once; it is
# never edited in place or deleted. Enforced here so no code path can rewrite the past.
HISTORY_GUARD = [
    """
CREATE FUNCTION guard_period_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    allowed text[] := TG_ARGV;
    old_rest jsonb;
    new_rest jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION '% rows are history and cannot be deleted', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.valid_to IS NOT NULL THEN
        RAISE EXCEPTION 'an ended % row cannot change', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END IF;
    old_rest := to_jsonb(OLD) - allowed - 'valid_to';
    new_rest := to_jsonb(NEW) - allowed - 'valid_to';
    IF old_rest IS DISTINCT FROM new_rest THEN
        RAISE EXCEPTION 'only the end of a % row may be set', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$
""",
    """
CREATE TRIGGER appointments_history BEFORE UPDATE OR DELETE ON appointments
    FOR EACH ROW EXECUTE FUNCTION guard_period_history('ended_by_id')
""",
    """
CREATE TRIGGER household_memberships_history BEFORE UPDATE OR DELETE ON household_memberships
    FOR EACH ROW EXECUTE FUNCTION guard_period_history('end_reason')
""",
]


def downgrade() -> None:
    op.execute('DROP TRIGGER household_memberships_history ON household_memberships')
    op.execute('DROP TRIGGER appointments_history ON appointments')
    op.execute('DROP FUNCTION guard_period_history()')
    op.drop_index(op.f('ix_refresh_tokens_user_id'), table_name='refresh_tokens')
    op.drop_index(op.f('ix_refresh_tokens_family_id'), table_name='refresh_tokens')
    op.drop_table('refresh_tokens')
    op.drop_index('uq_household_memberships_open_resident', table_name='household_memberships', postgresql_where=sa.text('valid_to IS NULL'))
    op.drop_index('uq_household_memberships_open_head', table_name='household_memberships', postgresql_where=sa.text("valid_to IS NULL AND relation = 'head'"))
    op.drop_index(op.f('ix_household_memberships_village_id'), table_name='household_memberships')
    op.drop_index('ix_household_memberships_household_id', table_name='household_memberships')
    op.drop_table('household_memberships')
    op.drop_index('uq_appointments_open_user_role_unit', table_name='appointments', postgresql_where=sa.text('valid_to IS NULL'))
    op.drop_index('uq_appointments_open_chief', table_name='appointments', postgresql_where=sa.text("valid_to IS NULL AND role = 'chief'"))
    op.drop_index(op.f('ix_appointments_village_id'), table_name='appointments')
    op.drop_index(op.f('ix_appointments_user_id'), table_name='appointments')
    op.drop_index('ix_appointments_unit_id_valid_from', table_name='appointments')
    op.drop_table('appointments')
    op.drop_table('users')
    op.drop_index('ix_households_village_id_id', table_name='households')
    op.drop_index(op.f('ix_households_unit_id'), table_name='households')
    op.drop_index(op.f('ix_households_hamlet_id'), table_name='households')
    op.drop_table('households')
    op.drop_constraint('fk_org_units_level_village_levels', 'org_units', type_='foreignkey')
    op.drop_table('village_levels')
    op.drop_index('ix_residents_village_id_name', table_name='residents')
    op.drop_index('ix_residents_village_id_id', table_name='residents')
    op.drop_index(op.f('ix_residents_phone'), table_name='residents')
    op.drop_table('residents')
    op.drop_index(op.f('ix_hamlets_village_id'), table_name='hamlets')
    op.drop_table('hamlets')
    op.drop_index(op.f('ix_org_units_village_id'), table_name='org_units')
    op.drop_index(op.f('ix_org_units_parent_id'), table_name='org_units')
    op.drop_table('org_units')
    op.drop_index('ix_auth_failures_phone_method_at', table_name='auth_failures')
    op.drop_table('auth_failures')
    op.drop_index('ix_login_codes_phone_created_at', table_name='login_codes')
    op.drop_table('login_codes')
