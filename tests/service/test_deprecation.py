"""Deprecated operations (service/openapi.py `deprecated`, docs/partners.md "Versioning and
deprecation"): a deliberately deprecated test route answers with `Deprecation` and `Sunset`
(its errors too), the contract marks it with `deprecated: true` and `x-sunset`, which
tools/openapi_diff.py honours; the real API's deprecated operations, if any, all have a sunset."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import httpx
import pytest
from litestar import Litestar, get
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery

from service.app import openapi_document
from service.openapi import deprecated
from tools.openapi_diff import breaking_changes

SINCE = dt.date(2027, 1, 15)
SUNSET = dt.date(2027, 7, 31)


@get("/old", operation_id="GetOld", **deprecated(since=SINCE, sunset=SUNSET))
async def old(missing: FromQuery[bool] = False) -> dict[str, str]:
    """Replaced by `GET /new`."""
    if missing:
        raise NotFoundException("no such thing")
    return {"answer": "old"}


@get("/new", operation_id="GetNew")
async def new() -> dict[str, str]:
    return {"answer": "new"}


@pytest.fixture
async def http() -> Any:
    app = Litestar(route_handlers=[old, new])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        yield client


async def test_a_deprecated_operation_says_so_in_each_answer(http: httpx.AsyncClient) -> None:
    answer = await http.get("/old")
    assert answer.status_code == 200
    assert answer.json() == {"answer": "old"}
    # RFC 9745: the moment it was deprecated as a structured-field date (Unix seconds)
    assert answer.headers["deprecation"] == "@1799971200"
    assert dt.datetime.fromtimestamp(1799971200, dt.UTC) == dt.datetime(2027, 1, 15, tzinfo=dt.UTC)
    # RFC 8594: the sunset as an HTTP date
    assert answer.headers["sunset"] == "Sat, 31 Jul 2027 00:00:00 GMT"

    error = await http.get("/old", params={"missing": "true"})
    assert error.status_code == 404
    assert error.headers["deprecation"] == "@1799971200"
    assert error.headers["sunset"] == "Sat, 31 Jul 2027 00:00:00 GMT"

    current = await http.get("/new")
    assert current.status_code == 200
    assert "deprecation" not in current.headers
    assert "sunset" not in current.headers


def _contract() -> dict[str, Any]:
    schema: dict[str, Any] = Litestar(route_handlers=[old, new]).openapi_schema.to_schema()
    return schema


def test_the_contract_marks_it_with_its_sunset_and_the_diff_tool_honours_it() -> None:
    contract = _contract()
    operation = contract["paths"]["/old"]["get"]
    assert operation["deprecated"] is True
    assert operation["x-sunset"] == "2027-07-31"
    assert "x-sunset" not in contract["paths"]["/new"]["get"]
    assert not contract["paths"]["/new"]["get"].get("deprecated")

    without = copy.deepcopy(contract)
    del without["paths"]["/old"]
    breaking, allowed = breaking_changes(contract, without, today=dt.date(2027, 7, 30))
    assert breaking
    assert allowed == []
    breaking, allowed = breaking_changes(contract, without, today=SUNSET)
    assert (breaking, bool(allowed)) == ([], True)


@pytest.mark.parametrize(
    ("since", "sunset"),
    [
        (dt.date(2027, 1, 15), dt.date(2027, 7, 14)),
        (dt.date(2027, 8, 31), dt.date(2028, 2, 28)),
        (dt.date(2027, 1, 15), dt.date(2027, 1, 15)),
    ],
)
def test_a_sunset_less_than_six_months_on_is_refused(since: dt.date, sunset: dt.date) -> None:
    with pytest.raises(ValueError, match="six months"):
        deprecated(since=since, sunset=sunset)


def test_six_months_to_the_day_is_enough() -> None:
    assert deprecated(since=dt.date(2027, 1, 15), sunset=dt.date(2027, 7, 15))["deprecated"]
    assert deprecated(since=dt.date(2027, 8, 31), sunset=dt.date(2028, 2, 29))["deprecated"]


def test_every_deprecated_operation_of_the_api_has_a_sunset() -> None:
    operations = [
        (path, method, op)
        for path, item in openapi_document()["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and op.get("deprecated")
    ]
    assert [(p, m) for p, m, op in operations if "x-sunset" not in op] == []
