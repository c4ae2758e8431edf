"""The one cursor scheme of every list (issue 16): what it encodes comes back, earlier cursors
are still read, anything else is a 422."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.pagination import decode_cursor, encode_cursor
from service.problems import InvalidInput

VALUES = st.one_of(
    st.datetimes(timezones=st.just(UTC)),
    st.dates(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(max_size=300),
)


@given(value=VALUES, row_id=st.uuids())
def test_cursor_gives_back_its_value_and_id(value: Any, row_id: uuid.UUID) -> None:
    assert decode_cursor(encode_cursor(value, row_id)) == (value, row_id)


def _old(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


def test_cursors_of_the_earlier_schemes_are_still_read() -> None:
    at = datetime(2026, 12, 6, 5, 0, 1, 123456, tzinfo=UTC)
    rid = uuid.uuid4()

    assert decode_cursor(_old(at.isoformat(), str(rid))) == (at, rid)
    assert decode_cursor(_old("2026-12-06", str(rid))) == (date(2026, 12, 6), rid)
    assert decode_cursor(_old(["int", 5], str(rid))) == (5, rid)


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        _old(["dt", "x"], "y"),
        _old(["zz", 1], "6f1c2a3e-0d4b-4c5a-9e8f-7a6b5c4d3e2f"),
        "e30",
    ],
)
def test_a_cursor_not_given_out_is_invalid_input(cursor: str) -> None:
    with pytest.raises(InvalidInput):
        decode_cursor(cursor)
