"""Party-member household links, visits and their revisions, scoring snapshots, honours.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # links and visits name (household, village) so a record cannot leave its village
    op.create_unique_constraint(op.f('uq_households_id_village_id'), 'households', ['id', 'village_id'])
    op.create_table('chief_honours',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('quarter_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('citation', sa.String(length=500), nullable=False),
    sa.Column('score', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('honoured_by_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['honoured_by_id'], ['users.id'], name=op.f('fk_chief_honours_honoured_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_chief_honours_user_id_users')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_chief_honours_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chief_honours')),
    sa.UniqueConstraint('village_id', 'quarter_start', 'user_id', name=op.f('uq_chief_honours_village_id_quarter_start_user_id'))
    )
    op.create_table('household_links',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('member_user_id', sa.BigInteger(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('linked_by_id', sa.BigInteger(), nullable=False),
    sa.Column('ended_by_id', sa.BigInteger(), nullable=True),
    sa.Column('end_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint('valid_to IS NULL OR valid_to >= valid_from', name=op.f('ck_household_links_valid_period')),
    sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'], name=op.f('fk_household_links_ended_by_id_users')),
    sa.ForeignKeyConstraint(['household_id', 'village_id'], ['households.id', 'households.village_id'], name=op.f('fk_household_links_household_id_households')),
    sa.ForeignKeyConstraint(['linked_by_id'], ['users.id'], name=op.f('fk_household_links_linked_by_id_users')),
    sa.ForeignKeyConstraint(['member_user_id'], ['users.id'], name=op.f('fk_household_links_member_user_id_users')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_household_links_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_links'))
    )
    op.create_index('ix_household_links_household_valid_from', 'household_links', ['household_id', 'valid_from'], unique=False)
    op.create_index('ix_household_links_member_open', 'household_links', ['member_user_id', 'household_id'], unique=False, postgresql_where=sa.text('valid_to IS NULL'))
    op.create_index('ix_household_links_village_member', 'household_links', ['village_id', 'member_user_id'], unique=False)
    op.create_index('uq_household_links_open_household', 'household_links', ['household_id'], unique=True, postgresql_where=sa.text('valid_to IS NULL'))
    op.create_table('score_snapshots',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('contact_weight', sa.Numeric(precision=8, scale=3), nullable=False),
    sa.Column('problem_weight', sa.Numeric(precision=8, scale=3), nullable=False),
    sa.Column('points_weight', sa.Numeric(precision=8, scale=3), nullable=False),
    sa.Column('published_by_id', sa.BigInteger(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("period IN ('month', 'quarter', 'year')", name=op.f('ck_score_snapshots_period')),
    sa.CheckConstraint('period_end > period_start', name=op.f('ck_score_snapshots_period_order')),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_score_snapshots_published_by_id_users')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_score_snapshots_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score_snapshots')),
    sa.UniqueConstraint('id', 'village_id', name=op.f('uq_score_snapshots_id_village_id')),
    sa.UniqueConstraint('village_id', 'period_start', 'period_end', name=op.f('uq_score_snapshots_village_id_period_start_period_end'))
    )
    op.create_table('scoring_weights',
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('contact_weight', sa.Numeric(precision=8, scale=3), nullable=False),
    sa.Column('problem_weight', sa.Numeric(precision=8, scale=3), nullable=False),
    sa.Column('points_weight', sa.Numeric(precision=8, scale=3), nullable=False),
    sa.Column('updated_by_id', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('contact_weight BETWEEN 0 AND 1000 AND problem_weight BETWEEN 0 AND 1000 AND points_weight BETWEEN 0 AND 1000', name=op.f('ck_scoring_weights_weight_range')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_scoring_weights_updated_by_id_users')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_scoring_weights_village_id_org_units')),
    sa.PrimaryKeyConstraint('village_id', name=op.f('pk_scoring_weights'))
    )
    op.create_table('visits',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('author_user_id', sa.BigInteger(), nullable=False),
    sa.Column('author_role', sa.String(length=16), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notes', sa.String(length=2000), server_default='', nullable=False),
    sa.Column('place', sa.String(length=200), nullable=True),
    sa.Column('latitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('longitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('revision', sa.SmallInteger(), server_default=sa.text('1'), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("author_role IN ('party_member', 'chief')", name=op.f('ck_visits_author_role')),
    sa.CheckConstraint("mode IN ('in_person', 'phone', 'video', 'other')", name=op.f('ck_visits_mode')),
    sa.CheckConstraint("occurred_at <= created_at + interval '10 minutes'", name=op.f('ck_visits_not_in_future')),
    sa.CheckConstraint('(latitude IS NULL) = (longitude IS NULL) AND (latitude IS NULL OR (latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180))', name=op.f('ck_visits_location')),
    sa.CheckConstraint('length(notes) <= 2000', name=op.f('ck_visits_notes_length')),
    sa.ForeignKeyConstraint(['author_user_id'], ['users.id'], name=op.f('fk_visits_author_user_id_users')),
    sa.ForeignKeyConstraint(['household_id', 'village_id'], ['households.id', 'households.village_id'], name=op.f('fk_visits_household_id_households')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_visits_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visits')),
    sa.UniqueConstraint('author_user_id', 'idempotency_key', name=op.f('uq_visits_author_user_id_idempotency_key')),
    sa.UniqueConstraint('id', 'village_id', name=op.f('uq_visits_id_village_id'))
    )
    op.create_index('ix_visits_author_occurred', 'visits', ['author_user_id', 'occurred_at'], unique=False)
    op.create_index('ix_visits_household_occurred', 'visits', ['household_id', 'occurred_at'], unique=False)
    op.create_index('ix_visits_village_occurred', 'visits', ['village_id', 'occurred_at'], unique=False)
    op.create_table('score_rows',
    sa.Column('snapshot_id', sa.BigInteger(), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('chief_level', sa.Integer(), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('contacts_required', sa.Integer(), nullable=False),
    sa.Column('contacts_done', sa.Integer(), nullable=False),
    sa.Column('problems_found', sa.Integer(), nullable=False),
    sa.Column('points_earned', sa.BigInteger(), nullable=False),
    sa.Column('score', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.CheckConstraint("role IN ('party_member', 'chief')", name=op.f('ck_score_rows_role')),
    sa.CheckConstraint('contacts_done BETWEEN 0 AND contacts_required', name=op.f('ck_score_rows_contacts')),
    sa.ForeignKeyConstraint(['snapshot_id', 'village_id'], ['score_snapshots.id', 'score_snapshots.village_id'], name=op.f('fk_score_rows_snapshot_id_score_snapshots')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_score_rows_user_id_users')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_score_rows_village_id_org_units')),
    sa.PrimaryKeyConstraint('snapshot_id', 'user_id', 'role', name=op.f('pk_score_rows'))
    )
    op.create_table('visit_problems',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('visit_id', sa.BigInteger(), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('request_id', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("category IN ('dispute', 'safety_hazard', 'livelihood', 'infrastructure', 'environment', 'policy', 'other')", name=op.f('ck_visit_problems_category')),
    sa.CheckConstraint('length(description) > 0', name=op.f('ck_visit_problems_description')),
    sa.ForeignKeyConstraint(['request_id'], ['resident_requests.id'], name=op.f('fk_visit_problems_request_id_resident_requests')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_visit_problems_village_id_org_units')),
    sa.ForeignKeyConstraint(['visit_id', 'village_id'], ['visits.id', 'visits.village_id'], name=op.f('fk_visit_problems_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_problems'))
    )
    op.create_index('ix_visit_problems_village_id', 'visit_problems', ['village_id', 'id'], unique=False)
    op.create_index('ix_visit_problems_visit_id', 'visit_problems', ['visit_id'], unique=False)
    op.create_table('visit_revisions',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('visit_id', sa.BigInteger(), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('revision', sa.SmallInteger(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notes', sa.String(length=2000), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=True),
    sa.Column('latitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('longitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('problems', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('recorded_by_id', sa.BigInteger(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_visit_revisions_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_visit_revisions_village_id_org_units')),
    sa.ForeignKeyConstraint(['visit_id', 'village_id'], ['visits.id', 'visits.village_id'], name=op.f('fk_visit_revisions_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_revisions')),
    sa.UniqueConstraint('visit_id', 'revision', name=op.f('uq_visit_revisions_visit_id_revision'))
    )
    op.create_table('score_evidence',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('snapshot_id', sa.BigInteger(), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('month_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('living_status', sa.String(length=16), nullable=True),
    sa.Column('visit_id', sa.BigInteger(), nullable=True),
    sa.Column('problem_id', sa.BigInteger(), nullable=True),
    sa.Column('award_id', sa.BigInteger(), nullable=True),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sort_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ref_id', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("kind IN ('contact', 'problem', 'points')", name=op.f('ck_score_evidence_kind')),
    sa.CheckConstraint("role IN ('party_member', 'chief')", name=op.f('ck_score_evidence_role')),
    sa.ForeignKeyConstraint(['award_id'], ['points_awards.id'], name=op.f('fk_score_evidence_award_id_points_awards')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_score_evidence_household_id_households')),
    sa.ForeignKeyConstraint(['problem_id'], ['visit_problems.id'], name=op.f('fk_score_evidence_problem_id_visit_problems')),
    sa.ForeignKeyConstraint(['snapshot_id', 'village_id'], ['score_snapshots.id', 'score_snapshots.village_id'], name=op.f('fk_score_evidence_snapshot_id_score_snapshots')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_score_evidence_user_id_users')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_score_evidence_village_id_org_units')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_score_evidence_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score_evidence'))
    )
    op.create_index('ix_score_evidence_row', 'score_evidence', ['snapshot_id', 'user_id', 'role', 'kind', 'sort_at', 'ref_id'], unique=False)
    for statement in GUARDS:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_GUARDS:
        op.execute(statement)
    op.drop_index('ix_score_evidence_row', table_name='score_evidence')
    op.drop_table('score_evidence')
    op.drop_table('visit_revisions')
    op.drop_index('ix_visit_problems_visit_id', table_name='visit_problems')
    op.drop_index('ix_visit_problems_village_id', table_name='visit_problems')
    op.drop_table('visit_problems')
    op.drop_table('score_rows')
    op.drop_index('ix_visits_village_occurred', table_name='visits')
    op.drop_index('ix_visits_household_occurred', table_name='visits')
    op.drop_index('ix_visits_author_occurred', table_name='visits')
    op.drop_table('visits')
    op.drop_table('scoring_weights')
    op.drop_table('score_snapshots')
    op.drop_index('uq_household_links_open_household', table_name='household_links', postgresql_where=sa.text('valid_to IS NULL'))
    op.drop_index('ix_household_links_village_member', table_name='household_links')
    op.drop_index('ix_household_links_member_open', table_name='household_links', postgresql_where=sa.text('valid_to IS NULL'))
    op.drop_index('ix_household_links_household_valid_from', table_name='household_links')
    op.drop_table('household_links')
    op.drop_table('chief_honours')
    op.drop_constraint(op.f('uq_households_id_village_id'), 'households', type_='unique')


APPEND_ONLY = ["visit_revisions", "score_snapshots", "score_rows", "score_evidence", "chief_honours"]

# Links are history (only their end may be set, once). A visit may be corrected for 24
# hours after it was logged, never moved to another household or author, never deleted;
# its problems change only with a new version, except those already raised as requests.
# Published scores, their evidence and honours never change. forbid_rewrite and
# guard_period_history come with 0002 and 0001.
GUARDS = [
    "CREATE TRIGGER household_links_history BEFORE UPDATE OR DELETE ON household_links "
    "FOR EACH ROW EXECUTE FUNCTION guard_period_history('ended_by_id', 'end_reason')",
    # a household's links follow one another: a new one starts after every earlier one ended
    """
CREATE FUNCTION guard_link_sequence() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM household_links l WHERE l.household_id = NEW.household_id
               AND (l.valid_to IS NULL OR l.valid_to > NEW.valid_from)) THEN
        RAISE EXCEPTION 'a link of household % would overlap another', NEW.household_id
            USING ERRCODE = 'exclusion_violation';
    END IF;
    RETURN NEW;
END $$
""",
    "CREATE TRIGGER household_links_sequence BEFORE INSERT ON household_links "
    "FOR EACH ROW EXECUTE FUNCTION guard_link_sequence()",
    """
CREATE FUNCTION guard_visit_correction() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'visits cannot be deleted' USING ERRCODE = 'restrict_violation';
    END IF;
    -- the application refuses at 24 hours by its own clock; the margin here allows for a
    -- database clock a little ahead of it, so that refusal is the one clients see
    IF now() > OLD.created_at + interval '24 hours 10 minutes' THEN
        RAISE EXCEPTION 'visit % is past its correction window', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM score_evidence e WHERE e.visit_id = OLD.id) THEN
        RAISE EXCEPTION 'visit % is counted in published scores', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF (NEW.village_id, NEW.household_id, NEW.author_user_id, NEW.author_role, NEW.created_at)
        IS DISTINCT FROM (OLD.village_id, OLD.household_id, OLD.author_user_id, OLD.author_role, OLD.created_at)
        OR NEW.idempotency_key IS DISTINCT FROM OLD.idempotency_key
        OR NEW.revision <> OLD.revision + 1 THEN
        RAISE EXCEPTION 'a visit correction changes only what was found, as a new revision'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$
""",
    "CREATE TRIGGER visits_correction BEFORE UPDATE OR DELETE ON visits "
    "FOR EACH ROW EXECUTE FUNCTION guard_visit_correction()",
    """
CREATE FUNCTION guard_visit_problems() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row visit_problems;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'visit problems are replaced, not edited' USING ERRCODE = 'restrict_violation';
    END IF;
    row := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    IF TG_OP = 'DELETE' AND OLD.request_id IS NOT NULL THEN
        RAISE EXCEPTION 'a problem raised as a request stays' USING ERRCODE = 'restrict_violation';
    END IF;
    -- only while the visit's current version is being written: before that revision is
    -- recorded (a visit's version moves only within its correction window, see above)
    IF EXISTS (SELECT 1 FROM visits v JOIN visit_revisions r
               ON r.visit_id = v.id AND r.revision = v.revision WHERE v.id = row.visit_id) THEN
        RAISE EXCEPTION 'visit % is closed: its problems change only with a new revision, within its correction window',
            row.visit_id USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN row;
END $$
""",
    "CREATE TRIGGER visit_problems_correction BEFORE INSERT OR UPDATE OR DELETE ON visit_problems "
    "FOR EACH ROW EXECUTE FUNCTION guard_visit_problems()",
    *(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION forbid_rewrite()"
        for table in APPEND_ONLY
    ),
    *(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION forbid_rewrite()"
        for table in [*APPEND_ONLY, "visits", "household_links"]
    ),
]

DROP_GUARDS = [
    *(f"DROP TRIGGER {table}_no_truncate ON {table}" for table in [*APPEND_ONLY, "visits", "household_links"]),
    *(f"DROP TRIGGER {table}_append_only ON {table}" for table in APPEND_ONLY),
    "DROP TRIGGER visit_problems_correction ON visit_problems",
    "DROP FUNCTION guard_visit_problems()",
    "DROP TRIGGER visits_correction ON visits",
    "DROP FUNCTION guard_visit_correction()",
    "DROP TRIGGER household_links_sequence ON household_links",
    "DROP FUNCTION guard_link_sequence()",
    "DROP TRIGGER household_links_history ON household_links",
]
