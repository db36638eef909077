"""The migrations build the schema the models declare: a column, index or constraint added
to one and not the other fails here, not in production."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import models  # noqa: F401  (every model registered on the metadata)
from models.base import Base


async def test_migrated_database_matches_the_models(engine):
    async with engine.connect() as conn:
        differences = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
    assert differences == []
