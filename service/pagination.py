"""Keyset pagination: an opaque cursor holding the sort key of the last row of a page."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from litestar.params import QueryParameter
from sqlalchemy import and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from contracts.common import Cursor, ValidationIssue
from service.problems import InvalidInput

S = TypeVar("S", bound=Any)

DEFAULT_LIMIT = 50

CursorQ = Annotated[Cursor | None, QueryParameter(description="From next_cursor")]
"""The ``cursor`` query parameter of every list: the ``next_cursor`` of the previous page."""
LimitQ = Annotated[int, QueryParameter(ge=1, le=200)]
"""The ``limit`` query parameter of every list (the routes default it to ``DEFAULT_LIMIT``)."""


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, rid = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(created), uuid.UUID(rid)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise InvalidInput(
            "the cursor is not one this API gave out",
            [ValidationIssue(field="query.cursor", message="malformed cursor")],
        ) from exc


def keyset(
    stmt: S,
    created_col: InstrumentedAttribute[Any] | Any,
    id_col: InstrumentedAttribute[Any] | Any,
    cursor: str | None,
    limit: int,
) -> S:
    """Order by (created_at, id) ascending, start after the cursor, fetch one extra row."""
    if cursor:
        c_at, c_id = decode_cursor(cursor)
        stmt = stmt.where(or_(created_col > c_at, and_(created_col == c_at, id_col > c_id)))
    result: S = stmt.order_by(created_col, id_col).limit(limit + 1)
    return result


def split_page(rows: list[Any], limit: int, key: Any) -> tuple[list[Any], str | None]:
    """Drop the extra row; the cursor points after the last row kept."""
    if len(rows) <= limit:
        return rows, None
    kept = rows[:limit]
    created_at, row_id = key(kept[-1])
    return kept, encode_cursor(created_at, row_id)


def _tag(value: Any) -> list[Any]:
    if isinstance(value, datetime):
        return ["dt", value.isoformat()]
    if isinstance(value, date):
        return ["d", value.isoformat()]
    if isinstance(value, int):
        return ["int", value]
    return ["str", str(value)]


def _untag(tagged: list[Any]) -> Any:
    kind, raw = tagged
    if kind == "dt":
        return datetime.fromisoformat(raw)
    if kind == "d":
        return date.fromisoformat(raw)
    if kind == "int":
        return int(raw)
    if kind == "str":
        return str(raw)
    raise ValueError(kind)


def encode_sort_cursor(value: Any, row_id: uuid.UUID) -> str:
    raw = json.dumps([_tag(value), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def keyset_sorted(
    stmt: S,
    sort_col: Any,
    id_col: Any,
    *,
    descending: bool,
    cursor: str | None,
    limit: int,
) -> S:
    """Keyset over any (column, id) order, ascending or descending; fetch one extra row."""
    if cursor:
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            tagged, rid = json.loads(base64.urlsafe_b64decode(padded.encode()))
            value, c_id = _untag(tagged), uuid.UUID(rid)
        except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
            raise InvalidInput(
                "the cursor is not one this API gave out",
                [ValidationIssue(field="query.cursor", message="malformed cursor")],
            ) from exc
        if descending:
            stmt = stmt.where(or_(sort_col < value, and_(sort_col == value, id_col < c_id)))
        else:
            stmt = stmt.where(or_(sort_col > value, and_(sort_col == value, id_col > c_id)))
    order = (sort_col.desc(), id_col.desc()) if descending else (sort_col, id_col)
    result: S = stmt.order_by(*order).limit(limit + 1)
    return result


def split_sorted_page(rows: list[Any], limit: int, key: Any) -> tuple[list[Any], str | None]:
    if len(rows) <= limit:
        return rows, None
    kept = rows[:limit]
    value, row_id = key(kept[-1])
    return kept, encode_sort_cursor(value, row_id)
