"""The schema is built only by migrations: up, check against the models, down, up again."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from service.persistence import migrate
from service.persistence.base import metadata
from tests.conftest import Server


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
            return {r[0] for r in rows}
    finally:
        await engine.dispose()


PROCRASTINATE_TABLES = {
    "procrastinate_events",
    "procrastinate_jobs",
    "procrastinate_periodic_defers",
    "procrastinate_workers",
}


async def test_migrations_upgrade_check_downgrade_upgrade(server: Server) -> None:
    name = f"grants_mig_{uuid.uuid4().hex[:8]}"
    url = await server.create_database(name)
    try:
        migrate.upgrade(url)
        assert await migrate.current(url) == (migrate.head_revision(url),)
        model_tables = {t.name for t in metadata.sorted_tables}
        # revision 0010 applies the job queue's own schema (procrastinate's tables) too
        assert await _tables(url) == model_tables | {"alembic_version"} | PROCRASTINATE_TABLES
        # `alembic check`: no difference between the models and the migrated schema
        assert await migrate.schema_diff(url) == []

        migrate.downgrade(url, "base")
        assert await _tables(url) == {"alembic_version"}
        assert await migrate.current(url) == ()

        migrate.upgrade(url)
        assert await migrate.schema_diff(url) == []
    finally:
        await server.drop_database(name)


def test_migration_files_are_date_prefixed() -> None:
    files = sorted(
        p.name
        for p in migrate.MIGRATIONS_DIR.joinpath("versions").glob("*.py")
        if p.name != "__init__.py"
    )
    assert files, "no migrations"
    for name in files:
        date_part = name.split("-", 1)[0]
        assert len(date_part) == len("2026_11_23_1851"), name
        assert date_part.replace("_", "").isdigit(), name
