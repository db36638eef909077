"""When a labour profile's status last changed (not when it was last saved): a return
home earns points once per time away, and editing one's skills must not start a new one.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('labour_profiles', sa.Column('status_since', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE labour_profiles SET status_since = updated_at")
    op.alter_column('labour_profiles', 'status_since', nullable=False)


def downgrade() -> None:
    op.drop_column('labour_profiles', 'status_since')
