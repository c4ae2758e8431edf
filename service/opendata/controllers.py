"""Public open-data files of the awarded grants: IATI 2.03 XML, 360Giving JSON and CSV.

Anyone may read them. Each answer carries a strong `ETag` (a hash of the body), `Last-Modified`
and `Cache-Control: public`; a request whose `If-None-Match` names the current ETag gets 304."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from email.utils import format_datetime
from functools import partial
from typing import Any, cast

import msgspec
from anyio import to_thread
from litestar import Controller, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPI, OpenAPIType, Schema

from contracts import opendata as c
from contracts import permissions as p
from service.context import utcnow
from service.dependencies import AppSettings, Ctx, Session
from service.openapi import problems
from service.opendata import giving, iati
from service.opendata.service import OpenData, awarded_grants
from service.settings import Settings
from service.storage import content_disposition

XML_MEDIA_TYPE = "application/xml"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
MAX_AGE_SECONDS = 300

_RESPONSES: dict[int, ResponseSpec] = {
    **problems(),
    304: ResponseSpec(
        data_container=None, description="Not modified: the `If-None-Match` ETag is current"
    ),
}


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:40] + '"'


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def _cached(
    request: Request[Any, Any, Any],
    data: OpenData,
    body: bytes,
    media_type: str,
    filename: str | None = None,
) -> Response[bytes]:
    etag = _etag(body)
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={MAX_AGE_SECONDS}",
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if data.modified_at is not None:
        headers["Last-Modified"] = format_datetime(data.modified_at, usegmt=True)
    if filename:
        headers["Content-Disposition"] = content_disposition(filename, content_type=media_type)
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(content=b"", status_code=304, headers=headers, media_type=media_type)
    return Response(content=body, media_type=media_type, headers=headers)


# The files are built in a worker thread, off the event loop: a large export takes a while
# (bench/bench_opendata.py) and must not stall the other requests meanwhile.


def _giving_json(data: OpenData, settings: Settings) -> bytes:
    return giving.package_json(giving.package(data, settings, now=utcnow()))


def _giving_csv(data: OpenData, settings: Settings) -> bytes:
    return giving.package_csv(giving.package(data, settings, now=utcnow()))


class OpenDataController(Controller):
    path = "/open-data"
    tags = ["public"]

    @get(
        "/iati.xml",
        operation_id="GetIatiActivities",
        responses=_RESPONSES,
        media_type=XML_MEDIA_TYPE,
    )
    async def get_iati(
        self, request: Request[Any, Any, Any], session: Session, ctx: Ctx, settings: AppSettings
    ) -> Response[bytes]:
        """The awarded grants of decided windows as an IATI 2.03 activity file (XML): one
        activity per grant with the reporting and participating organisations, dates, status,
        recipient country KG, the territory as location, DAC sector 15220, yearly budgets,
        the commitment and every disbursement (a reversal as a negative one). Money is exact
        decimals in major units. No person is named. Public; `ETag` for conditional requests."""
        ctx.require(p.can_read_transparency(ctx.actor))
        data = await awarded_grants(session)
        body = await to_thread.run_sync(partial(iati.activities_xml, data, settings, now=utcnow()))
        return _cached(request, data, body, XML_MEDIA_TYPE)

    @get("/360giving.json", operation_id="GetGivingPackage", responses=_RESPONSES)
    async def get_giving_json(
        self, request: Request[Any, Any, Any], session: Session, ctx: Ctx, settings: AppSettings
    ) -> Response[c.GivingPackage]:
        """The awarded grants of decided windows as a 360Giving data package (schema 1.4):
        amounts are exact JSON numbers in major units. No person is named. Public; `ETag` for
        conditional requests."""
        ctx.require(p.can_read_transparency(ctx.actor))
        data = await awarded_grants(session)
        body = await to_thread.run_sync(partial(_giving_json, data, settings))
        # The body is already JSON (amounts as exact numbers, which Litestar's encoder would
        # write as strings); a bytes content is sent as it is.
        return cast(Response[c.GivingPackage], _cached(request, data, body, "application/json"))

    @get(
        "/360giving.csv",
        operation_id="GetGivingCsv",
        responses=_RESPONSES,
        media_type=CSV_MEDIA_TYPE,
    )
    async def get_giving_csv(
        self, request: Request[Any, Any, Any], session: Session, ctx: Ctx, settings: AppSettings
    ) -> Response[bytes]:
        """The same grants as a 360Giving CSV (UTF-8 with BOM; the standard's column titles;
        amounts as exact decimals). Public; `ETag` for conditional requests."""
        ctx.require(p.can_read_transparency(ctx.actor))
        data = await awarded_grants(session)
        body = await to_thread.run_sync(partial(_giving_csv, data, settings))
        return _cached(request, data, body, CSV_MEDIA_TYPE, "360giving-grants.csv")


def document_decimal_numbers(schema: OpenAPI) -> None:
    """The open-data structs' Decimal fields are written as exact JSON numbers (360Giving's
    schema asks for numbers); Litestar documents a Decimal as a string, so say `number`."""
    components = schema.components
    if components is None or components.schemas is None:
        return
    for cls in (c.GivingGrant, c.GivingTransaction):
        comp = components.schemas.get(cls.__name__)
        if comp is None or comp.properties is None:
            continue
        for f in msgspec.structs.fields(cls):
            if f.type is Decimal:
                comp.properties[f.encode_name] = Schema(
                    type=OpenAPIType.NUMBER,
                    description="Exact decimal in the currency's major unit",
                )
