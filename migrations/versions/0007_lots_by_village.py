"""Live points lots by village and expiry, for the village overview and the sweeper.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_points_lots_village_open', 'points_lots', ['village_id', 'expires_at'], unique=False, postgresql_where=sa.text('remaining > 0'))


def downgrade() -> None:
    op.drop_index('ix_points_lots_village_open', table_name='points_lots', postgresql_where=sa.text('remaining > 0'))
