"""Login codes the SMS provider did not take are marked, so that they stop counting
toward the phone's hourly allowance (they still count toward the resend interval).

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('login_codes', sa.Column('not_delivered_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('login_codes', 'not_delivered_at')
