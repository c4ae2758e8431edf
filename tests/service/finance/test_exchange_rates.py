"""Exchange rates: entered by finance officers (one per currency pair and day, never changed),
read by the ledger's readers as a history, the newest day first, filtered by currency; refusals
as problems with nothing stored. Through the typed client against a real database."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.client import ApiError, GrantsClient
from contracts.finance import ExchangeRateCreate
from service.persistence.models import ExchangeRate
from tests.money_world import build_money_world

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)


async def _count(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(ExchangeRate))).scalar_one())


async def test_rates_entered_by_finance_and_read_as_history(
    http: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await build_money_world(session, proposals=1)
    fo = GrantsClient(http, token=world.tokens["fo1"])
    auditor = GrantsClient(http, token=world.tokens["auditor"])
    first = await fo.create_exchange_rate(
        ExchangeRateCreate(
            currency="USD", rate="87.5000", valid_on=date(2027, 1, 15), source="NBKR"
        )
    )
    assert (first.currency, first.quote_currency, first.rate, first.source) == (
        "USD",
        "KGS",
        "87.5",
        "NBKR",
    )
    assert first.created_by_name == "fo1"
    await fo.create_exchange_rate(
        ExchangeRateCreate(currency="USD", rate="88.1", valid_on=date(2027, 1, 16))
    )
    await fo.create_exchange_rate(
        ExchangeRateCreate(currency="EUR", rate="95.25", valid_on=date(2027, 1, 16))
    )
    history = (await auditor.list_exchange_rates(currency="USD")).items
    assert [(r.valid_on, r.rate, r.created_by_name) for r in history] == [
        (date(2027, 1, 16), "88.1", "fo1"),
        (date(2027, 1, 15), "87.5", "fo1"),
    ]
    page = await auditor.list_exchange_rates(limit=2)
    assert sorted((r.currency, r.valid_on) for r in page.items) == [
        ("EUR", date(2027, 1, 16)),
        ("USD", date(2027, 1, 16)),
    ]
    assert page.next_cursor is not None
    rest = await auditor.list_exchange_rates(limit=2, cursor=page.next_cursor)
    assert [(r.currency, r.rate) for r in rest.items] == [("USD", "87.5")]
    assert rest.next_cursor is None


async def test_rate_refusals_store_nothing(http: httpx.AsyncClient, session: AsyncSession) -> None:
    world = await build_money_world(session, proposals=1)
    fo = GrantsClient(http, token=world.tokens["fo1"])
    await fo.create_exchange_rate(
        ExchangeRateCreate(currency="USD", rate="87.5", valid_on=date(2027, 1, 15))
    )
    before = await _count(session)
    refusals = [
        (
            world.tokens["fo2"],
            ExchangeRateCreate(currency="USD", rate="90", valid_on=date(2027, 1, 15)),
            409,
        ),
        (
            world.tokens["fo1"],
            ExchangeRateCreate(currency="KGS", rate="1", valid_on=date(2027, 1, 15)),
            422,
        ),
        (
            world.tokens["fo1"],
            ExchangeRateCreate(currency="USD", rate="0", valid_on=date(2027, 1, 17)),
            422,
        ),
        (
            world.tokens["po"],
            ExchangeRateCreate(currency="USD", rate="88", valid_on=date(2027, 1, 18)),
            403,
        ),
    ]
    for token, body, status in refusals:
        with pytest.raises(ApiError) as refused:
            await GrantsClient(http, token=token).create_exchange_rate(body)
        assert refused.value.status == status
    assert await _count(session) == before
