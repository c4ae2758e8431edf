"""Idempotency-Key for unsafe requests (Stripe / IETF draft-ietf-httpapi-idempotency-key-header).

A client sends ``Idempotency-Key: <1-255 visible ASCII characters>`` with a POST. The first request
with a key claims it: an ``in_flight`` row in ``idempotency_record`` is inserted in the request's
own transaction, before the use case runs; the use case's response (status and body) is stored and
the record marked ``completed`` in that same transaction, so the claim, the work and the stored
answer commit together or not at all. A 4xx problem is stored and replayed too (the use case's
writes are rolled back to a savepoint first); a 5xx, a refusal of the caller (401, 403, 404) or a
crash at any point rolls the whole transaction back, claim included, so that the client may retry
and the retry runs the request afresh. Nothing is left to recover: a process killed mid-request
closes its connection and PostgreSQL rolls its transaction back (a crash of PostgreSQL itself
discards it in recovery), and the key is free again.

Later requests of the same principal with the same key:

- while the first is still running: PostgreSQL makes the claim's insert wait for the first
  transaction (at most ``CLAIM_WAIT``): when it commits, its answer is replayed; when it rolls back,
  this request runs. Still running after ``CLAIM_WAIT``: 409
  ``urn:pcc-grants:problem:idempotency-key-in-flight``;
- same request (method, path, canonical body) and completed: the stored status and body are
  replayed byte for byte, with ``Idempotent-Replayed: true``, and the use case does not run;
- a different request: 422 ``urn:pcc-grants:problem:idempotency-key-reused``.

An ``in_flight`` row that is committed can only have been left by an earlier version of this
module, which committed the claim apart from the work: the request that wrote it died and its work
was rolled back. A retry of the same request takes it over once it is ``ABANDONED_AFTER`` old.
The money stays safe however a request is repeated: the ledger's unique index pays a tranche once.

Keys are per principal (``kind:id`` of the authenticated actor): two callers never share one.
Records are kept at least 24 hours; :func:`purge_expired` deletes older ones (`grants serve` runs it
every hour, and ``grants idempotency purge`` on demand).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException
from sqlalchemy import String, bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts.common import Problem
from contracts.enums import IdempotencyStatus
from service.context import AFTER_COMMIT, AFTER_ROLLBACK, RequestContext, utcnow
from service.persistence.models import IdempotencyRecord
from service.problems import (
    PROBLEM_MEDIA_TYPE,
    ProblemError,
    handle_http,
    handle_integrity,
    handle_problem_error,
)

T = TypeVar("T")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
"""1-255 visible ASCII characters (no spaces, no control characters)."""
RETENTION = timedelta(hours=24)
"""Records are kept at least this long; a key may be reused only after it was purged."""

_KEY = re.compile(KEY_PATTERN)
NOT_STORED = frozenset({401, 403, 404})
"""Refusals of the caller: the use case never ran, so nothing is kept for the key."""
CLAIM_WAIT = "5s"
"""How long a request waits for another one holding the same key before answering 409."""
ABANDONED_AFTER = timedelta(minutes=1)
"""A committed in-flight record (left by a crashed request of an earlier version, which committed
its claim on its own) older than this is taken over by a retry."""
_LOCK_NOT_AVAILABLE = "55P03"
_SET_LOCK_TIMEOUT = text("SELECT set_config('lock_timeout', :value, true)")
_SWAP_LOCK_TIMEOUT = text(
    "SELECT current_setting('lock_timeout') AS previous, set_config('lock_timeout', :value, true)"
)
"""The setting before, and CLAIM_WAIT from now on (one round trip: the list is read in order)."""
_CLAIMED = (
    insert(IdempotencyRecord)
    .values(
        id=bindparam("id"),
        principal=bindparam("principal"),
        key=bindparam("key"),
        request_hash=bindparam("request_hash"),
        status=IdempotencyStatus.IN_FLIGHT,
        created_at=bindparam("created_at"),
    )
    .on_conflict_do_nothing(index_elements=["principal", "key"])
    .returning(col(IdempotencyRecord.id))
    .cte("claimed")
)
_CLAIM = select(
    select(_CLAIMED.c.id).scalar_subquery(),
    func.set_config("lock_timeout", bindparam("previous", type_=String()), True),
)
"""The claim's insert (waiting at most CLAIM_WAIT for a transaction holding the key) and the
lock timeout put back, in one statement: the first column runs the insert before the second
restores the setting. When the insert fails (lock timeout) the savepoint's rollback restores it."""
log = structlog.get_logger("service.idempotency")


class InvalidIdempotencyKey(ProblemError):
    status = 400
    slug = "invalid-idempotency-key"
    title = "The Idempotency-Key header is not valid"


class IdempotencyKeyReused(ProblemError):
    status = 422
    slug = "idempotency-key-reused"
    title = "The Idempotency-Key was used for a different request"


class IdempotencyKeyInFlight(ProblemError):
    status = 409
    slug = "idempotency-key-in-flight"
    title = "A request with this Idempotency-Key is still being processed"


def principal_of(ctx: RequestContext) -> str:
    """Whose keys these are: the actor's kind and id (stable, and short enough for the column),
    or its label when it has no id."""
    actor = ctx.actor
    return f"{actor.kind}:{actor.id}" if actor.id is not None else actor.label


def canonical_body(raw: bytes) -> bytes:
    """JSON re-encoded with sorted keys and no insignificant whitespace; other bodies as sent."""
    if not raw.strip():
        return b""
    try:
        return msgspec.json.encode(msgspec.json.decode(raw), order="sorted")
    except msgspec.DecodeError:
        return raw


def request_hash(method: str, path: str, body: bytes) -> str:
    """SHA-256 (hex) over the method, the path and the canonical body."""
    digest = hashlib.sha256()
    digest.update(method.upper().encode())
    digest.update(b"\n")
    digest.update(path.encode())
    digest.update(b"\n")
    digest.update(canonical_body(body))
    return digest.hexdigest()


def _json(content: Any) -> bytes:
    # Sorted keys: a JSONB round trip reorders keys, so the original response and its replays
    # are encoded the same way and are identical byte for byte.
    return msgspec.json.encode(content, order="sorted")


def _replay(record: IdempotencyRecord) -> Response[bytes]:
    status = record.response_status or 200
    return Response(
        content=_json(record.response_body),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE if status >= 400 else "application/json",
        headers={REPLAYED_HEADER: "true"},
    )


async def _claim(
    session: AsyncSession, principal: str, key: str, digest: str
) -> uuid.UUID | IdempotencyRecord:
    """Insert the in-flight record in the request's own transaction (its id), or return the
    committed record already there.

    A request holding the key has not committed its record: PostgreSQL makes the insert wait for
    that transaction to end (at most CLAIM_WAIT; then 409). When the holder commits, its record
    is read and replayed; when it rolls back or its connection dies, this insert goes through.

    No savepoint: a lock timeout fails the request's transaction, and the 409 it answers rolls
    the whole transaction back (the claim is the request's first write; its SET with it)."""
    now = utcnow()
    try:
        previous = (await session.execute(_SWAP_LOCK_TIMEOUT, {"value": CLAIM_WAIT})).scalar_one()
        new_id = (
            await session.execute(
                _CLAIM,
                {
                    "id": uuid.uuid4(),
                    "principal": principal,
                    "key": key,
                    "request_hash": digest,
                    "created_at": now,
                    "previous": previous,
                },
            )
        ).scalar_one_or_none()
        if new_id is not None:
            return uuid.UUID(str(new_id))
        existing = (
            await session.execute(
                select(IdempotencyRecord).where(
                    col(IdempotencyRecord.principal) == principal,
                    col(IdempotencyRecord.key) == key,
                )
            )
        ).scalar_one()
        if (
            existing.status == IdempotencyStatus.IN_FLIGHT
            and existing.request_hash == digest
            and existing.created_at < now - ABANDONED_AFTER
        ):
            # committed in flight: left by a request that died under an earlier version,
            # which committed its claim apart from its work (that work was rolled back)
            await session.execute(_SET_LOCK_TIMEOUT, {"value": CLAIM_WAIT})
            taken = (
                await session.execute(
                    update(IdempotencyRecord)
                    .where(
                        col(IdempotencyRecord.id) == existing.id,
                        col(IdempotencyRecord.status) == IdempotencyStatus.IN_FLIGHT,
                    )
                    .values(created_at=now)
                    .returning(col(IdempotencyRecord.id))
                )
            ).scalar_one_or_none()
            await session.execute(_SET_LOCK_TIMEOUT, {"value": previous})
            if taken is not None:
                log.warning("idempotency_claim_recovered", record_id=str(taken))
                return taken
            await session.refresh(existing)  # another retry took it over and finished
        return existing
    except DBAPIError as exc:
        orig = exc.orig
        cause = getattr(orig, "__cause__", None)
        sqlstate = getattr(orig, "sqlstate", None) or getattr(cause, "sqlstate", None)
        if sqlstate == _LOCK_NOT_AVAILABLE:
            raise IdempotencyKeyInFlight(
                "the first request with this Idempotency-Key is still being processed; "
                "retry shortly"
            ) from None
        raise


def _problem_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem] | None:
    """The response an expected error renders to (None for an unexpected one)."""
    if isinstance(exc, ProblemError):
        return handle_problem_error(request, exc)
    if isinstance(exc, HTTPException):
        return handle_http(request, exc)
    if isinstance(exc, IntegrityError):
        return handle_integrity(request, exc)
    return None


_COMPLETE = (
    update(IdempotencyRecord)
    .where(col(IdempotencyRecord.id) == bindparam("record_id"))
    .values(
        status=IdempotencyStatus.COMPLETED,
        response_status=bindparam("response_status"),
        response_body=bindparam("response_body"),
        completed_at=bindparam("completed_at"),
    )
)
"""The answer stored (built once)."""


async def _complete(session: AsyncSession, record_id: uuid.UUID, status: int, body: Any) -> None:
    await session.execute(
        _COMPLETE,
        {
            "record_id": record_id,
            "response_status": status,
            "response_body": body,
            "completed_at": utcnow(),
        },
    )


def _hook_marks(session: AsyncSession) -> dict[str, int]:
    return {kind: len(session.info.get(kind, [])) for kind in (AFTER_COMMIT, AFTER_ROLLBACK)}


def _roll_back_hooks_since(session: AsyncSession, marks: dict[str, int]) -> None:
    """The use case's writes were rolled back to a savepoint: run the rollback hooks it
    registered and forget its commit hooks; the request's transaction itself goes on."""
    added: dict[str, list[Callable[[], None]]] = {}
    for kind, mark in marks.items():
        hooks: list[Callable[[], None]] = session.info.get(kind, [])
        added[kind] = hooks[mark:]
        del hooks[mark:]
    for hook in added[AFTER_ROLLBACK]:
        try:
            hook()
        except Exception:  # a failed clean-up must not turn the stored answer into an error
            log.exception("rollback_hook_failed")


async def idempotent(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    ctx: RequestContext,
    handler: Callable[[], Awaitable[T]],
    *,
    key: str | None = None,
    encode: Callable[[T], Any] = msgspec.to_builtins,
    status_code: int | None = None,
) -> Response[Any]:
    """Run ``handler`` at most once per (principal, Idempotency-Key); see the module docstring.

    ``key`` defaults to the request's ``Idempotency-Key`` header; without one (or for an anonymous
    caller, who is refused by the use case anyway) the handler simply runs. ``encode`` turns the
    handler's result into JSON-able builtins; ``status_code`` defaults to the route's own."""
    if key is None:
        key = request.headers.get(HEADER)
    success_status = status_code or request.route_handler.status_code or 200
    if key is None or ctx.actor.kind == "anonymous":
        result = await handler()
        return Response(content=encode(result), status_code=success_status)
    if not _KEY.fullmatch(key):
        raise InvalidIdempotencyKey(
            f"{HEADER} must be 1 to 255 visible ASCII characters (no spaces)"
        )
    principal = principal_of(ctx)
    digest = request_hash(request.method, request.url.path, await request.body())

    claimed = await _claim(session, principal, key, digest)
    if isinstance(claimed, IdempotencyRecord):
        if claimed.request_hash != digest:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used for a different request; "
                "use a new key for a new request"
            )
        if claimed.status != IdempotencyStatus.COMPLETED:
            raise IdempotencyKeyInFlight(
                "the first request with this Idempotency-Key is still being processed; "
                "retry shortly"
            )
        return _replay(claimed)

    record_id = claimed
    marks = _hook_marks(session)
    try:
        async with session.begin_nested():  # a 4xx rolls the use case back to here
            result = await handler()
    except Exception as exc:
        rendered = _problem_response(request, exc)
        status = rendered.status_code if rendered is not None else None
        if rendered is None or status is None or status >= 500 or status in NOT_STORED:
            raise  # the request's transaction, the claim with it, is rolled back
        _roll_back_hooks_since(session, marks)
        problem_body = msgspec.to_builtins(rendered.content)
        await _complete(session, record_id, status, problem_body)
        return Response(
            content=_json(problem_body),
            status_code=status,
            media_type=PROBLEM_MEDIA_TYPE,
            headers=dict(rendered.headers),
        )
    body = encode(result)
    await _complete(session, record_id, success_status, body)
    return Response(content=_json(body), status_code=success_status, media_type="application/json")


async def purge_expired(session: AsyncSession, older_than: timedelta = RETENTION) -> int:
    """Delete the records created more than ``older_than`` ago (at least 24 hours in production),
    completed or abandoned in flight; returns how many. The caller commits."""
    result = await session.execute(
        delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < utcnow() - older_than)
    )
    return int(getattr(result, "rowcount", 0) or 0)


__all__ = [
    "HEADER",
    "KEY_PATTERN",
    "REPLAYED_HEADER",
    "RETENTION",
    "IdempotencyKeyInFlight",
    "IdempotencyKeyReused",
    "InvalidIdempotencyKey",
    "canonical_body",
    "idempotent",
    "principal_of",
    "purge_expired",
    "request_hash",
]
