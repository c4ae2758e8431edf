"""Keyset pagination: an opaque cursor holding the sort key of the last row of a page."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from litestar.params import QueryParameter
from sqlalchemy import literal, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from contracts.common import Cursor, ValidationIssue
from service.problems import InvalidInput

S = TypeVar("S", bound=Any)

DEFAULT_LIMIT = 50

CursorQ = Annotated[Cursor | None, QueryParameter(description="From next_cursor")]
"""The ``cursor`` query parameter of every list: the ``next_cursor`` of the previous page."""
LimitQ = Annotated[int, QueryParameter(ge=1, le=200)]
"""The ``limit`` query parameter of every list (the routes default it to ``DEFAULT_LIMIT``)."""


# One cursor scheme for every list: base64url (unpadded) of the JSON ``[[tag, value], id]`` — the
# sort value of the page's last row, tagged with its type, and that row's id. Cursors of the older
# untagged form ``[iso-timestamp, id]`` (the created_at lists before issue 16) and the finance
# queue's ``[iso-date, id]`` are still read.


def _tag(value: Any) -> list[Any]:
    if isinstance(value, datetime):
        return ["dt", value.isoformat()]
    if isinstance(value, date):
        return ["d", value.isoformat()]
    if isinstance(value, int):
        return ["int", value]
    return ["str", str(value)]


def _untag(tagged: Any) -> Any:
    if isinstance(tagged, str):  # the untagged form of earlier cursors
        return datetime.fromisoformat(tagged) if "T" in tagged else date.fromisoformat(tagged)
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


def encode_cursor(value: Any, row_id: uuid.UUID) -> str:
    """The cursor pointing after the row whose sort value is ``value`` and id ``row_id``."""
    raw = json.dumps([_tag(value), str(row_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, uuid.UUID]:
    """(sort value, id) of a cursor this API gave out; 422 for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        tagged, rid = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return _untag(tagged), uuid.UUID(rid)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise InvalidInput(
            "the cursor is not one this API gave out",
            [ValidationIssue(field="query.cursor", message="malformed cursor")],
        ) from exc


def after(sort_col: Any, id_col: Any, cursor: str, *, descending: bool = False) -> Any:
    """The keyset predicate as a row comparison, ``(sort, id) > ($1, $2)`` (``<`` descending):
    PostgreSQL starts an index scan on ``(sort, id)`` right there. The equivalent
    ``sort > $1 OR (sort = $1 AND id > $2)`` cannot use that index and scanned the table."""
    value, row_id = decode_cursor(cursor)
    row, bound = tuple_(sort_col, id_col), tuple_(literal(value, sort_col.type), row_id)
    return row < bound if descending else row > bound


def keyset(
    stmt: S,
    sort_col: InstrumentedAttribute[Any] | Any,
    id_col: InstrumentedAttribute[Any] | Any,
    cursor: str | None,
    limit: int,
    *,
    descending: bool = False,
) -> S:
    """Order by (sort, id) — both ascending or both descending, so that one index on
    ``(sort, id)`` serves the order, forwards or backwards — start after the cursor, fetch one
    extra row (whether there is a next page)."""
    if cursor:
        stmt = stmt.where(after(sort_col, id_col, cursor, descending=descending))
    order = (sort_col.desc(), id_col.desc()) if descending else (sort_col, id_col)
    result: S = stmt.order_by(*order).limit(limit + 1)
    return result


def split_page(rows: list[Any], limit: int, key: Any) -> tuple[list[Any], str | None]:
    """Drop the extra row; the cursor points after the last row kept (``key(row)`` gives its
    sort value and id)."""
    if len(rows) <= limit:
        return rows, None
    kept = rows[:limit]
    value, row_id = key(kept[-1])
    return kept, encode_cursor(value, row_id)


def keyset_sorted(
    stmt: S,
    sort_col: Any,
    id_col: Any,
    *,
    descending: bool,
    cursor: str | None,
    limit: int,
) -> S:
    """`keyset` with the direction named (the lists that let the caller choose the order)."""
    return keyset(stmt, sort_col, id_col, cursor, limit, descending=descending)


split_sorted_page = split_page
encode_sort_cursor = encode_cursor
