"""Alembic environment: async engine, one metadata, the URL from the service's own rules."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from app.database import async_url
from models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from app.embedded_postgres import resolve_database_url
    from app.settings import get_settings

    settings = get_settings()
    return resolve_database_url(settings.database_url, settings.data_dir)


def run_with(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_async(url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(async_url(url))
    async with engine.connect() as connection:
        await connection.run_sync(run_with)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_async(_url()))  # the URL first: finding it may start a server
