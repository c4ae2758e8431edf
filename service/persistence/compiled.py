"""Compiled queries for the hottest reads (issue 16): a Core statement compiled once to asyncpg's
SQL and sent to the driver directly, on the session's own connection.

Why: on the authentication (every request) and the proposal reads, SQLAlchemy's execution path —
the greenlet hop, the execution context, the cursor adapter, the result proxy, the type processors
— cost more CPU than everything the database does for them (docs/performance.md). The statements
stay SQLAlchemy Core, written and type-checked beside the models, so they follow the schema; only
their execution skips the machinery. The rows are asyncpg `Record`s (mapping-like: ``r["name"]``,
``dict(r)``; UUIDs are `uuid.UUID` subclasses; the project's enums are stored as text and come
back as `str`).

What this keeps from SQLAlchemy: the session's connection (the same transaction, or autocommit for
a `READ_ONLY` handler; the tests' savepoint connection), the statement-counting hook
(`before_cursor_execute` listeners still see every statement: the query-count tests and
bench/statements.py) and a dropped connection's invalidation (`DroppedConnection`).

Bound parameters are passed as asyncpg takes them: no SQLAlchemy bind processing. Use it only for
statements whose parameters are plain values asyncpg encodes itself (UUIDs, strings and str enums,
integers, aware datetimes, lists for ``= ANY(…)``) — never an expanding ``IN``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

_DIALECT = asyncpg_dialect(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]  # untyped in SQLAlchemy

DISCONNECTS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)
"""What asyncpg raises when the connection under a statement is gone (a terminated backend can
also leave its protocol "another operation is in progress": InternalClientError)."""


RAW_CONNECTION = "grants_raw_connection"
"""`session.info` key: the pooled connection a `READ_ONLY` request reads on (the authentication
middleware checks it out without a `Session` transaction around it: `Database.checkout`). Absent:
the session's own connection."""


class DroppedConnection(Exception):
    """The statement's pooled connection was gone; it has been invalidated (taken out of the pool
    and closed). Nothing ran: the caller may start again on a fresh connection."""


@dataclass(frozen=True)
class CompiledQuery:
    """`sql` with ``$n`` placeholders for asyncpg and the names of its parameters in order."""

    sql: str
    names: tuple[str, ...]
    defaults: Mapping[str, Any]
    """The values of the statement's own bound literals (``func.json_build_object("key", …)``)."""

    @classmethod
    def of(cls, statement: ClauseElement) -> CompiledQuery:
        compiled = statement.compile(dialect=_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        names = tuple(compiled.positiontup or ())
        if any(b.expanding for b in compiled.binds.values()):
            raise ValueError("an expanding IN cannot be compiled once: use `= ANY(:list)`")
        defaults = {k: v.value for k, v in compiled.binds.items() if k in names and not v.required}
        return cls(sql=str(compiled), names=names, defaults=defaults)

    def arguments(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(params[n] if n in params else self.defaults[n] for n in self.names)

    async def fetch(
        self, session: AsyncSession, params: Mapping[str, Any] | None = None
    ) -> list[asyncpg.Record]:
        """Every row, on the session's connection."""
        driver, args = await self._prepare(session, params or {})
        try:
            rows: list[asyncpg.Record] = await driver.fetch(self.sql, *args)
        except DISCONNECTS as exc:
            await _invalidate(session, exc)
            raise DroppedConnection(str(exc)) from exc
        return rows

    async def fetchrow(
        self, session: AsyncSession, params: Mapping[str, Any] | None = None
    ) -> asyncpg.Record | None:
        """The first row or None, on the session's connection."""
        driver, args = await self._prepare(session, params or {})
        try:
            row: asyncpg.Record | None = await driver.fetchrow(self.sql, *args)
        except DISCONNECTS as exc:
            await _invalidate(session, exc)
            raise DroppedConnection(str(exc)) from exc
        return row

    async def _prepare(
        self, session: AsyncSession, params: Mapping[str, Any]
    ) -> tuple[Any, Sequence[Any]]:
        args = self.arguments(params)
        raw = session.info.get(RAW_CONNECTION)
        if raw is not None:
            bind = session.bind
            dispatch = bind.sync_engine.dispatch if bind is not None else None
            if dispatch is not None and dispatch.before_cursor_execute:
                dispatch.before_cursor_execute(None, None, self.sql, args, None, False)
            return raw.driver_connection, args
        connection = await session.connection()
        sync = connection.sync_connection
        if sync is not None and sync.dispatch.before_cursor_execute:
            # the listeners counting statements (tests, bench/statements.py) see this one too
            sync.dispatch.before_cursor_execute(sync, None, self.sql, args, None, False)
        raw = await connection.get_raw_connection()
        return raw.driver_connection, args


async def _invalidate(session: AsyncSession, exc: BaseException) -> None:
    """As SQLAlchemy does on a disconnect: this connection is closed and every connection pooled
    before it is replaced at its next checkout (a restarted server dropped them all)."""
    given = session.info.get(RAW_CONNECTION)
    if given is not None:
        given._pool._invalidate(given, exc, _checkin=False)  # no public API for it
        given.invalidate(exc)
        return
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    sync = connection.sync_connection
    if sync is not None:
        # the pool-wide invalidation SQLAlchemy's own disconnect handling makes (engine/base.py)
        sync.engine.pool._invalidate(raw, exc, _checkin=False)  # no public API for it
    await connection.invalidate(exc)
    await session.rollback()
