"""Alembic driven from code: `grants db …`, start-up and the tests all go through here."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option(
        "file_template",
        "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(rev)s_%%(slug)s",
    )
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _in_thread_if_loop_running(fn: Any, *args: Any) -> Any:
    """Alembic's env.py calls asyncio.run(); inside a running loop do it on a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args)
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


def upgrade(url: str, revision: str = "head") -> None:
    _in_thread_if_loop_running(command.upgrade, alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    _in_thread_if_loop_running(command.downgrade, alembic_config(url), revision)


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def _current(connection: Connection) -> tuple[str, ...]:
    return MigrationContext.configure(connection).get_current_heads()


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Autogenerate and `alembic check` leave procrastinate's tables (the job queue,
    service/jobs) alone: its own schema, applied by revision 0010 from its SQL, not declared on
    the models' metadata."""
    return not (type_ == "table" and reflected and (name or "").startswith("procrastinate_"))


def _diff(connection: Connection) -> list[Any]:
    import service.persistence.models  # noqa: F401  (registers every table)
    from service.persistence.base import metadata

    ctx = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_object": include_object}
    )
    return list(compare_metadata(ctx, metadata))


async def _with_connection(url: str, fn: Any) -> Any:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


async def current(url: str) -> tuple[str, ...]:
    result: tuple[str, ...] = await _with_connection(url, _current)
    return result


async def schema_diff(url: str) -> list[Any]:
    """What `alembic check` would report: differences between the models and the schema."""
    result: list[Any] = await _with_connection(url, _diff)
    return result
