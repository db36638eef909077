"""The append-only tables of disclosure and requests refuse TRUNCATE too, as the ledger's
and the scores' already did: a row trigger does not see a TRUNCATE, so published
statements, notice revisions, reading receipts and the requests' update records could
have been emptied in one statement.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# forbid_rewrite() comes with 0002
TABLES = ("notice_revisions", "notice_receipts", "account_statements", "request_updates")


def upgrade() -> None:
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION forbid_rewrite()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
