"""Use cases of exchange rates: the rates of the day, entered by finance officers, kept as a
history (the newest day first); one per currency pair and day, never changed."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts import finance as c
from contracts import permissions as p
from contracts.common import ValidationIssue
from service.changes import record_created
from service.context import RequestContext
from service.mapping import to_read
from service.pagination import keyset_sorted, split_sorted_page
from service.persistence.models import AppUser, ExchangeRate
from service.problems import Conflict, InvalidInput


def _rate_text(rate: Decimal) -> str:
    text = format(rate.normalize(), "f")
    return text if "." in text else f"{text}.0"


def _read(row: ExchangeRate, name: str | None) -> c.ExchangeRateRead:
    return to_read(c.ExchangeRateRead, row, rate=_rate_text(row.rate), created_by_name=name)


async def list_rates(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    currency: str | None,
    cursor: str | None,
    limit: int,
) -> c.ExchangeRatePage:
    ctx.require(p.can_read_ledger(ctx.actor))
    stmt = select(ExchangeRate, col(AppUser.full_name)).join(
        AppUser, col(AppUser.id) == ExchangeRate.created_by
    )
    if currency is not None:
        stmt = stmt.where(col(ExchangeRate.currency) == currency)
    stmt = keyset_sorted(
        stmt,
        col(ExchangeRate.valid_on),
        col(ExchangeRate.id),
        descending=True,
        cursor=cursor,
        limit=limit,
    )
    rows = list((await session.execute(stmt)).all())
    rows, next_cursor = split_sorted_page(rows, limit, lambda r: (r[0].valid_on, r[0].id))
    return c.ExchangeRatePage(
        items=[_read(row, name) for row, name in rows], next_cursor=next_cursor
    )


async def create_rate(
    session: AsyncSession, ctx: RequestContext, body: c.ExchangeRateCreate
) -> c.ExchangeRateRead:
    ctx.require(p.can_manage_funding_sources(ctx.actor))
    assert ctx.actor.id is not None
    if body.currency == body.quote_currency:
        raise InvalidInput(
            "a rate is between two different currencies",
            [ValidationIssue(field="body.currency", message="the same as the quote currency")],
        )
    rate = Decimal(body.rate)
    if rate <= 0:
        raise InvalidInput(
            "a rate must be > 0", [ValidationIssue(field="body.rate", message="must be > 0")]
        )
    taken = (
        await session.execute(
            select(col(ExchangeRate.id)).where(
                col(ExchangeRate.currency) == body.currency,
                col(ExchangeRate.quote_currency) == body.quote_currency,
                col(ExchangeRate.valid_on) == body.valid_on,
            )
        )
    ).first()
    if taken is not None:
        raise Conflict(
            f"a {body.currency}/{body.quote_currency} rate for {body.valid_on} is already recorded"
        )
    row = ExchangeRate(
        currency=body.currency,
        quote_currency=body.quote_currency,
        rate=rate,
        valid_on=body.valid_on,
        source=body.source,
        created_by=ctx.actor.id,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await record_created(session, ctx, "exchange_rate", row)
    person = await session.get(AppUser, ctx.actor.id)
    return _read(row, person.full_name if person else None)
