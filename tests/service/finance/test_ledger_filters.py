"""The names of the four eyes on tranches and ledger entries (who approved, confirmed, paid), and
ListLedgerEntries' filters: the grant's window, a PCC (through the tranches' action-plan items), a
funding source (through the entry's per-source parts) and the value date (from/to, inclusive);
through the typed client against a real database."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts.awards import ChargeInput, DisbursementCreate, TrancheTransition
from contracts.client import GrantsClient
from service.persistence.models import ActionPlan, ActionPlanItem
from tests.money_world import build_money_world, grant_body


async def test_ledger_filters_by_window_pcc_source_and_value_date(
    http: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await build_money_world(session, proposals=2, requested=4_000_000)
    po = GrantsClient(http, token=world.tokens["po"])
    fo = GrantsClient(http, token=world.tokens["fo1"])
    paid: dict[str, uuid.UUID] = {}
    for n, (source, day) in enumerate(
        ((world.kgs_source, date(2027, 1, 15)), (world.usd_source, date(2027, 2, 20)))
    ):
        grant = await po.create_grant(
            grant_body(
                world,
                world.proposals[n],
                [4_000_000],
                charges=[ChargeInput(funding_source_id=source, amount=4_000_000)],
            )
        )
        tranche = grant.tranches[0]
        approved = await po.approve_tranche(tranche.id, TrancheTransition(version=tranche.version))
        entry = await fo.create_disbursement(
            tranche.id,
            DisbursementCreate(
                amount=4_000_000,
                value_date=day,
                reference=f"F-{n}",
                rates={"USD": "88.0"},
            ),
            idempotency_key=str(uuid.uuid4()),
        )
        assert approved.status == "approved"
        # the four eyes by name: who approved the tranche, who paid it
        assert (approved.approved_by_name, approved.confirmed_by_name) == ("po", None)
        assert entry.created_by_name == "fo1"
        assert (await fo.get_ledger_entry(entry.id)).created_by_name == "fo1"
        paid[f"F-{n}"] = entry.id
    pcc_id = (
        await session.execute(
            select(col(ActionPlan.pcc_id))
            .join(ActionPlanItem, col(ActionPlanItem.action_plan_id) == ActionPlan.id)
            .where(col(ActionPlanItem.id) == world.item_id)
        )
    ).scalar_one()

    async def refs(**filters: object) -> list[str]:
        page = await fo.list_ledger_entries(**filters)  # type: ignore[arg-type]
        return sorted(e.reference for e in page.items)

    assert await refs(window_id=world.window_id) == ["F-0", "F-1"]
    assert await refs(window_id=uuid.uuid4()) == []
    assert await refs(pcc_id=pcc_id) == ["F-0", "F-1"]
    assert await refs(pcc_id=uuid.uuid4()) == []
    assert await refs(window_id=world.window_id, funding_source_id=world.kgs_source) == ["F-0"]
    assert await refs(window_id=world.window_id, funding_source_id=world.usd_source) == ["F-1"]
    assert await refs(window_id=world.window_id, date_from=date(2027, 2, 1)) == ["F-1"]
    assert await refs(window_id=world.window_id, date_to=date(2027, 1, 15)) == ["F-0"]
    assert (
        await refs(
            window_id=world.window_id, date_from=date(2027, 1, 16), date_to=date(2027, 2, 19)
        )
        == []
    )
    # keyset pages over a filtered list
    first = await fo.list_ledger_entries(window_id=world.window_id, limit=1)
    assert len(first.items) == 1
    assert first.next_cursor is not None
    second = await fo.list_ledger_entries(
        window_id=world.window_id, limit=1, cursor=first.next_cursor
    )
    assert {first.items[0].id, second.items[0].id} == set(paid.values())
