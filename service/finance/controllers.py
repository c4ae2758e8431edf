"""HTTP routes of funding sources."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from contracts import finance as c
from contracts.currencies import Iso4217Code
from service.dependencies import Ctx, Session
from service.finance import rates, service
from service.openapi import USER, problems
from service.pagination import CursorQ, LimitQ


class FundingSourceController(Controller):
    path = "/funding-sources"
    tags = ["finance"]
    security = USER

    @get("/", operation_id="ListFundingSources", responses=problems(401, 403))
    async def list_funding_sources(
        self, session: Session, ctx: Ctx, cursor: CursorQ = None, limit: LimitQ = 50
    ) -> c.FundingSourcePage:
        return await service.list_sources(session, ctx, cursor, limit)

    @post("/", operation_id="CreateFundingSource", responses=problems(401, 403, 409))
    async def create_funding_source(
        self, data: JSONBody[c.FundingSourceCreate], session: Session, ctx: Ctx
    ) -> c.FundingSourceRead:
        return await service.create_source(session, ctx, data)

    @get("/{source_id:uuid}", operation_id="GetFundingSource", responses=problems(401, 403, 404))
    async def get_funding_source(
        self, source_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.FundingSourceRead:
        return await service.get_source(session, ctx, source_id)

    @patch(
        "/{source_id:uuid}",
        operation_id="UpdateFundingSource",
        responses=problems(401, 403, 404, 409),
    )
    async def update_funding_source(
        self,
        source_id: FromPath[uuid.UUID],
        data: JSONBody[c.FundingSourceUpdate],
        session: Session,
        ctx: Ctx,
    ) -> c.FundingSourceRead:
        return await service.update_source(session, ctx, source_id, data)

    @delete(
        "/{source_id:uuid}",
        operation_id="DeleteFundingSource",
        responses=problems(401, 403, 404, 409),
    )
    async def delete_funding_source(
        self, source_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> None:
        await service.delete_source(session, ctx, source_id)


class ExchangeRateController(Controller):
    path = "/exchange-rates"
    tags = ["finance"]
    security = USER

    @get("/", operation_id="ListExchangeRates", responses=problems(401, 403))
    async def list_exchange_rates(
        self,
        session: Session,
        ctx: Ctx,
        currency: Annotated[
            Iso4217Code | None,
            QueryParameter(description="Only rates of this ISO 4217 code (one CLDR knows)"),
        ] = None,
        cursor: CursorQ = None,
        limit: LimitQ = 50,
    ) -> c.ExchangeRatePage:
        """The rates of the day entered so far, the newest day first."""
        return await rates.list_rates(session, ctx, currency=currency, cursor=cursor, limit=limit)

    @post("/", operation_id="CreateExchangeRate", responses=problems(401, 403, 409))
    async def create_exchange_rate(
        self, data: JSONBody[c.ExchangeRateCreate], session: Session, ctx: Ctx
    ) -> c.ExchangeRateRead:
        """Record a rate of the day (finance officers); one per currency pair and day."""
        return await rates.create_rate(session, ctx, data)
