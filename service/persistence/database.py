"""The engine: an external PostgreSQL from DATABASE_URL, or an embedded one (pgserver)."""

from __future__ import annotations

import re
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from service.settings import Settings

_DB_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

POOL_RECYCLE_SECONDS = 1800
"""A pooled connection older than this is replaced at its next checkout (before a server-side
idle timeout or a load balancer's can close it under us)."""
PREPARED_STATEMENT_CACHE_SIZE = 500
"""asyncpg's per-connection cache of prepared statements (SQLAlchemy's default is 100): a hot
statement is parsed and planned once per connection, then only bound and executed."""


def start_embedded_server(pgdata: Path) -> Any:
    """Start (or reuse) the embedded PostgreSQL in ``pgdata``; returns the pgserver handle."""
    pgdata.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, CI): harmless here.
        warnings.simplefilter("ignore")
        import pgserver  # lazily: production with DATABASE_URL never needs it

        return pgserver.get_server(pgdata)  # type: ignore[attr-defined]  # pgserver has no stubs


def embedded_database_url(pgdata: Path, database: str) -> str:
    """Start the embedded server, create ``database`` when missing, return its asyncpg URL."""
    if not _DB_NAME.fullmatch(database):
        raise ValueError(f"database name {database!r} must match {_DB_NAME.pattern}")
    server = start_embedded_server(pgdata)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608  (name checked against _DB_NAME above)
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return f"postgresql+asyncpg://postgres@/{database}?host={pgdata}"


def resolve_database_url(settings: Settings) -> str:
    if settings.database_url:
        url = settings.database_url
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+asyncpg://" + url.split("://", 1)[1]
        return url
    return embedded_database_url(settings.pgdata_dir, settings.database_name)


READ_ONLY_OPT = "read_only"
READ_ONLY: dict[str, Any] = {READ_ONLY_OPT: True}
"""A route handler's `opt` for an operation that only reads: its session (the authentication's
too) runs each statement in autocommit, without BEGIN and COMMIT (`Database.reader`). Only for
handlers none of whose statements writes: a write there would commit on its own."""


@dataclass
class Database:
    """An engine and the session factory bound to it (or to one connection, in tests)."""

    engine: AsyncEngine | None
    sessionmaker: async_sessionmaker[AsyncSession]
    reader: async_sessionmaker[AsyncSession] | None = None
    """Sessions whose statements each commit on their own (no BEGIN, no COMMIT): for the
    operations marked `READ_ONLY`, whose every statement is a read. Under READ COMMITTED each
    statement of a transaction takes its own snapshot anyway, so a request of reads sees nothing
    different; it saves the two round trips. None: the ordinary sessions (tests' savepoints)."""

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int | None = None,
        role: str | None = None,
    ) -> Database:
        """`role`: every connection acts as it (PostgreSQL `SET ROLE`, as a startup setting);
        `max_overflow`: connections beyond the pool at a peak (None: as many as the pool)."""
        connect_args: dict[str, Any] = {
            "prepared_statement_cache_size": PREPARED_STATEMENT_CACHE_SIZE
        }
        if role:
            connect_args["server_settings"] = {"role": role}
        # No pre-ping: it cost a round trip on every checkout, i.e. on every request. A connection
        # the server dropped fails its first statement instead; SQLAlchemy then invalidates it
        # and every connection pooled before it (the pool's default on a disconnect), and the
        # request retries once when nothing of it had run yet (`is_disconnect`, used by the
        # authentication middleware, whose statement is the first of every authenticated request).
        engine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size if max_overflow is None else max_overflow,
            pool_pre_ping=False,
            pool_recycle=POOL_RECYCLE_SECONDS,
            connect_args=connect_args,
        )
        reader = make_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))
        return cls(engine=engine, sessionmaker=make_sessionmaker(engine), reader=reader)

    @classmethod
    def bound_to(cls, connection: AsyncConnection) -> Database:
        """Sessions join ``connection``'s transaction through savepoints (tests roll it back)."""
        maker = async_sessionmaker(
            bind=connection,
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
        )
        return cls(engine=None, sessionmaker=maker)

    def sessionmaker_for(self, handler: Any) -> async_sessionmaker[AsyncSession]:
        """The reader for a route handler marked `READ_ONLY`, the ordinary sessions otherwise."""
        if self.reader is not None and is_read_only(handler):
            return self.reader
        return self.sessionmaker

    async def checkout(self) -> PoolProxiedConnection | None:
        """A pooled connection by itself, for the compiled reads of a `READ_ONLY` request
        (service/persistence/compiled.py), without a `Session` or `Connection` around it; None
        for a database bound to one connection (tests)."""
        if self.engine is None:
            return None
        return await self.engine.raw_connection()

    async def checkin(self, raw: PoolProxiedConnection) -> None:
        """Back to the pool (what `checkout` gave)."""
        await greenlet_spawn(raw.close)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session

    async def dispose(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()


def is_read_only(handler: Any) -> bool:
    """A route handler marked `READ_ONLY`."""
    opt = getattr(handler, "opt", None)
    return bool(opt and opt.get(READ_ONLY_OPT))


def is_disconnect(exc: BaseException) -> bool:
    """A statement failed because its connection is gone (server restart, terminated backend,
    network cut); SQLAlchemy has invalidated that connection already."""
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
