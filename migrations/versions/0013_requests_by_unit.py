"""Indexes for a unit's requests: the subtree they came from (figures and lists, a range
on the path) and the unit they are escalated to. Town figures scanned the whole table.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # in the migration's transaction: a failed upgrade leaves nothing half-built (the table
    # is written to only by residents' and staff's requests, so the short lock is no burden)
    op.create_index('ix_resident_requests_origin', 'resident_requests', ['origin_path', 'received_at'])
    op.create_index('ix_resident_requests_unit', 'resident_requests', ['unit_id', 'id'])


def downgrade() -> None:
    op.drop_index('ix_resident_requests_unit', table_name='resident_requests')
    op.drop_index('ix_resident_requests_origin', table_name='resident_requests')
