"""Recording and verifying audit events.

Every state change calls :func:`record` in the transaction that makes the change. Writers are
serialised by a transaction-scoped advisory lock, so two concurrent requests can never both chain
onto the same predecessor: the chain cannot fork.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col, select

from service.audit.chain import GENESIS_HASH, canonical_event, chain_hash
from service.context import RequestContext, utcnow
from service.persistence.models import AuditEvent

AUDIT_LOCK_KEY = 0x6772616E7473  # "grants": pg_advisory_xact_lock key of the audit chain

SECRET_FIELDS = frozenset({"password_hash", "token_hash", "key_hash", "totp_secret", "code_hash"})

_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_TABLE: sa.Table = AuditEvent.__table__  # type: ignore[attr-defined]  # SQLModel tables have one
_FIELDS = (
    "at",
    "actor_id",
    "actor",
    "action",
    "entity",
    "entity_id",
    "before",
    "after",
    "reason",
    "request_id",
)
_PREV = sa.select(
    sa.func.coalesce(
        sa.select(_TABLE.c.hash).order_by(_TABLE.c.seq.desc()).limit(1).scalar_subquery(),
        sa.literal(GENESIS_HASH, sa.CHAR(64)),
    ).label("hash")
).subquery("prev")
_APPEND = (
    sa.insert(_TABLE)
    .from_select(
        [*_FIELDS, "prev_hash", "hash"],
        sa.select(
            *(sa.bindparam(f, type_=_TABLE.c[f].type) for f in _FIELDS),
            _PREV.c.hash,
            sa.func.encode(
                sa.func.sha256(
                    sa.func.convert_to(
                        sa.func.concat(
                            _PREV.c.hash, "\n", sa.bindparam("canonical", type_=sa.Text())
                        ),
                        "UTF8",
                    )
                ),
                "hex",
            ),
        ),
    )
    .returning(_TABLE.c.seq, _TABLE.c.prev_hash, _TABLE.c.hash)
)
"""The event with its predecessor's hash and its own, in one statement (built once)."""


def _digest(prev: Any, canonical: Any) -> Any:
    return sa.func.encode(
        sa.func.sha256(sa.func.convert_to(sa.func.concat(prev, "\n", canonical), "UTF8")),
        "hex",
    )


@functools.cache
def _append_chain(n: int) -> sa.Select[Any]:
    """`n` events in one statement: each a data-modifying CTE that chains onto the hash the one
    before it returned (the first onto the last stored event), so each row's `seq` is drawn after
    its predecessor's; the bind parameters of event i end in `_i`."""
    ctes: list[Any] = []
    for i in range(n):
        fields = [sa.bindparam(f"{f}_{i}", type_=_TABLE.c[f].type) for f in _FIELDS]
        canonical = sa.bindparam(f"canonical_{i}", type_=sa.Text())
        prev = _PREV.c.hash if i == 0 else ctes[-1].c.hash
        source = sa.select(*fields, prev, _digest(prev, canonical))
        if i > 0:
            source = source.select_from(ctes[-1])
        ctes.append(
            sa.insert(_TABLE)
            .from_select([*_FIELDS, "prev_hash", "hash"], source)
            .returning(_TABLE.c.seq, _TABLE.c.prev_hash, _TABLE.c.hash)
            .cte(f"e{i}")
        )
    parts = [sa.select(e.c.seq, e.c.prev_hash, e.c.hash) for e in ctes]
    return sa.union_all(*parts).subquery("appended").select().order_by("seq")


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    return msgspec.to_builtins(value, str_keys=True, builtin_types=None, enc_hook=_enc)


def _enc(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    raise NotImplementedError(type(value))


def snapshot(row: SQLModel | None, *, exclude: Iterable[str] = ()) -> dict[str, Any] | None:
    """The row's columns as JSON-ready data, secrets left out."""
    if row is None:
        return None
    skip = SECRET_FIELDS | set(exclude)
    data = {k: v for k, v in row.model_dump().items() if k not in skip}
    result: dict[str, Any] = _jsonable(data)
    return result


async def record(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    action: str,
    entity: str,
    entity_id: uuid.UUID | str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction.

    Two statements: the chain's lock, then one INSERT that reads the last hash and computes this
    event's (SHA-256 in PostgreSQL over the same bytes as `chain_hash`) — the lock must be a
    statement of its own, so that the INSERT's snapshot, taken after the lock is granted, sees
    the event of the writer that held it."""
    await session.execute(_LOCK, {"key": AUDIT_LOCK_KEY})
    at = utcnow()
    actor_id = ctx.actor.id if ctx.actor.kind == "user" else None
    before_j = _jsonable(before)
    after_j = _jsonable(after)
    fields: dict[str, Any] = {
        "at": at,
        "actor_id": actor_id,
        "actor": ctx.actor.label,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "before": before_j,
        "after": after_j,
        "reason": reason,
        "request_id": ctx.request_id,
    }
    canonical = canonical_event(**fields)
    seq, prev, digest = (await session.execute(_APPEND, {**fields, "canonical": canonical})).one()
    return AuditEvent(seq=seq, prev_hash=prev, hash=digest, **fields)


@dataclass(frozen=True)
class Event:
    """One event for :func:`record_many` (the keyword arguments of :func:`record`)."""

    action: str
    entity: str
    entity_id: uuid.UUID | str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    reason: str | None = None


async def record_many(
    session: AsyncSession, ctx: RequestContext, events: list[Event], *, locked: bool = False
) -> None:
    """Append `events` to the chain in this order, as :func:`record` would one by one, in two
    statements whatever their number: the chain's lock, then one statement of chained INSERTs.

    `locked`: the caller took the chain's lock (`pg_advisory_xact_lock(AUDIT_LOCK_KEY)`) in an
    earlier statement of this transaction — its own writes, say — so one statement here. It must
    have been an earlier statement: the INSERTs' snapshot has to be taken after the lock was
    granted to see the event of the writer that held it before."""
    if not events:
        return
    if not locked:
        await session.execute(_LOCK, {"key": AUDIT_LOCK_KEY})
    at = utcnow()
    actor_id = ctx.actor.id if ctx.actor.kind == "user" else None
    params: dict[str, Any] = {}
    for i, ev in enumerate(events):
        fields: dict[str, Any] = {
            "at": at,
            "actor_id": actor_id,
            "actor": ctx.actor.label,
            "action": ev.action,
            "entity": ev.entity,
            "entity_id": str(ev.entity_id),
            "before": _jsonable(ev.before),
            "after": _jsonable(ev.after),
            "reason": ev.reason,
            "request_id": ctx.request_id,
        }
        params.update({f"{k}_{i}": v for k, v in fields.items()})
        params[f"canonical_{i}"] = canonical_event(**fields)
    rows = (await session.execute(_append_chain(len(events)), params)).all()
    assert len(rows) == len(events)


@dataclass(frozen=True)
class Verification:
    ok: bool
    events_checked: int
    first_broken_seq: int | None = None
    reason: str | None = None


async def verify(session: AsyncSession, *, batch: int = 5000) -> Verification:
    """Walk the chain from the first event to the last; name the first broken link."""
    prev = GENESIS_HASH
    checked = 0
    last_seq = 0
    while True:
        rows = (
            (
                await session.execute(
                    select(AuditEvent)
                    .where(col(AuditEvent.seq) > last_seq)
                    .order_by(col(AuditEvent.seq))
                    .limit(batch)
                )
            )
            .scalars()
            .all()
        )
        if not rows:
            return Verification(ok=True, events_checked=checked)
        for ev in rows:
            assert ev.seq is not None
            if ev.prev_hash != prev:
                return Verification(
                    ok=False,
                    events_checked=checked,
                    first_broken_seq=ev.seq,
                    reason=(
                        f"event {ev.seq} points to {ev.prev_hash[:12]}… but the event before it "
                        f"hashes to {prev[:12]}… (an event was removed or inserted)"
                    ),
                )
            expected = chain_hash(
                prev,
                canonical_event(
                    at=ev.at,
                    actor_id=ev.actor_id,
                    actor=ev.actor,
                    action=ev.action,
                    entity=ev.entity,
                    entity_id=ev.entity_id,
                    before=ev.before,
                    after=ev.after,
                    reason=ev.reason,
                    request_id=ev.request_id,
                ),
            )
            if ev.hash != expected:
                return Verification(
                    ok=False,
                    events_checked=checked,
                    first_broken_seq=ev.seq,
                    reason=f"event {ev.seq} was altered: its content no longer matches its hash",
                )
            prev = ev.hash
            last_seq = ev.seq
            checked += 1
        session.expunge_all()
