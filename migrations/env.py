"""Alembic environment: async engine on asyncpg; the models' metadata for autogenerate."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import service.persistence.models  # noqa: F401  (registers every table on the metadata)
from service.persistence.base import metadata
from service.persistence.migrate import include_object

config = context.config
target_metadata = metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=False,
        include_object=include_object,
        transaction_per_migration=False,
    )


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


def _database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from service.persistence.database import resolve_database_url
    from service.settings import Settings

    return resolve_database_url(Settings())


MIGRATION_LOCK = 7_262_016_000_014
"""The session advisory lock a migration run holds: processes started at once (several hosts
after a deploy, each `grants serve` migrating at start-up) migrate one after another, and the
later ones find the database at head (they raced to create the same tables before). Held on a
connection of its own outside any transaction, and waited for by polling
`pg_try_advisory_lock`, never by a blocking call: a `CREATE INDEX CONCURRENTLY` of the running
migration waits for every open snapshot, a blocked waiter's included (a deadlock)."""


async def _run_async() -> None:
    engine = create_async_engine(_database_url())
    async with engine.connect() as lock:
        await lock.execution_options(isolation_level="AUTOCOMMIT")
        take = text("SELECT pg_try_advisory_lock(:k)")
        while not (await lock.execute(take, {"k": MIGRATION_LOCK})).scalar():  # noqa: ASYNC110  (another process holds it: no in-process event can tell us)
            await asyncio.sleep(0.5)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(_run_sync)
                await connection.commit()
        finally:
            await lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_sync(connection)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    context.configure(url=_database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
