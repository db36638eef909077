"""Running totals of each village's household legs per kind of transaction, kept by a
trigger on points_entries, for the village's points overview.

The overview used to sum the village's whole history on every request (all its
transactions, their entries and accounts), which grows with every movement of points. The
totals move with each posting instead, in the same transaction, by PostgreSQL itself, so
no writer (the service, the sweeper, a script) can leave them behind.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One statement-level trigger: a posting's legs arrive as one INSERT, so a posting costs
# one upsert per (village, kind) it touches. The upsert locks that totals row until
# commit; `rewards.ledger.post` moves the village's system account (issuance, redeemed or
# expired, one per kind) before it inserts the legs, so whoever waits here already holds
# that account and the totals add no wait and no lock cycle of their own.
ADD_TO_TOTALS = """
CREATE FUNCTION add_to_village_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO points_village_totals AS totals (village_id, kind, points)
    SELECT t.village_id, t.kind, sum(e.points)
    FROM new_entries e
    JOIN points_transactions t ON t.id = e.transaction_id
    JOIN points_accounts a ON a.id = e.account_id AND a.kind = 'household'
    GROUP BY t.village_id, t.kind
    ORDER BY t.village_id, t.kind
    ON CONFLICT (village_id, kind) DO UPDATE SET points = totals.points + excluded.points;
    RETURN NULL;
END $$
"""

BACKFILL = """
INSERT INTO points_village_totals (village_id, kind, points)
SELECT t.village_id, t.kind, sum(e.points)
FROM points_entries e
JOIN points_transactions t ON t.id = e.transaction_id
JOIN points_accounts a ON a.id = e.account_id AND a.kind = 'household'
GROUP BY t.village_id, t.kind
"""


def upgrade() -> None:
    op.create_table('points_village_totals',
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('points', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_points_village_totals_village_id_org_units')),
    sa.PrimaryKeyConstraint('village_id', 'kind', name=op.f('pk_points_village_totals'))
    )
    op.execute(ADD_TO_TOTALS)
    # The trigger comes first: creating it locks points_entries against inserts until this
    # migration commits, so no posting can fall between the backfill and the trigger.
    op.execute(
        "CREATE TRIGGER points_entries_village_totals AFTER INSERT ON points_entries "
        "REFERENCING NEW TABLE AS new_entries "
        "FOR EACH STATEMENT EXECUTE FUNCTION add_to_village_totals()"
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.execute("DROP TRIGGER points_entries_village_totals ON points_entries")
    op.execute("DROP FUNCTION add_to_village_totals()")
    op.drop_table('points_village_totals')
