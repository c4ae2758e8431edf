"""What the public may know of the awards: the grants of windows whose selection was approved,
the organisation (name and kind, never a person), its territory and PCC, the action-plan items
the tranches fund, money committed and disbursed; sums by territory and by funding source; and
every PCC's published (non-draft) action plans with their progress (service/pcc/progress.py's
money and latest values, without reports or people).

A fixed number of queries whatever the number of grants. Nothing of undecided windows, and no
field of a person (names, e-mails, phones of members or staff) is ever selected here."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts import permissions as p
from contracts import transparency as c
from contracts.common import I18nText
from contracts.enums import LedgerEntryKind, TrancheStatus
from service.context import RequestContext
from service.i18n import i18n
from service.pcc.progress import public_plan_progress
from service.persistence.models import (
    ActionPlanItem,
    Call,
    CallWindow,
    FundingSource,
    Grant,
    GrantCharge,
    LedgerEntry,
    LedgerSplit,
    Organisation,
    Pcc,
    Proposal,
    SelectionRun,
    Territory,
    Tranche,
    TrancheActionPlanItem,
)
from service.timezones import BISHKEK


def _signed(kind: Any, value: Any) -> Any:
    return case((kind == LedgerEntryKind.REVERSAL, -value), else_=value)


async def get_transparency(
    session: AsyncSession, ctx: RequestContext, *, currency: str
) -> c.TransparencyRead:
    ctx.require(p.can_read_transparency(ctx.actor))
    decided_at = func.min(col(SelectionRun.approved_at))
    windows = list(
        (
            await session.execute(
                sa_select(
                    col(CallWindow.id),
                    col(CallWindow.call_id),
                    col(CallWindow.code),
                    col(CallWindow.title),
                    col(Call.title),
                    decided_at,
                )
                .join(SelectionRun, col(SelectionRun.window_id) == col(CallWindow.id))
                .join(Call, col(Call.id) == col(CallWindow.call_id))
                .where(col(SelectionRun.approved_at).is_not(None))
                .group_by(col(CallWindow.id), col(Call.id))
                .order_by(decided_at, col(CallWindow.code))
            )
        ).all()
    )
    window_ids = [w[0] for w in windows]
    grant_rows = list(
        (
            await session.execute(
                sa_select(
                    col(Grant.id),
                    col(Grant.window_id),
                    col(Proposal.title),
                    col(Organisation.name),
                    col(Organisation.kind),
                    col(Territory.id),
                    col(Pcc.id),
                    col(Pcc.name),
                    col(Grant.start_date),
                    col(Grant.end_date),
                    col(Grant.disbursed_amount),
                )
                .join(Proposal, col(Proposal.id) == col(Grant.proposal_id))
                .join(Organisation, col(Organisation.id) == col(Grant.organisation_id))
                .join(Territory, col(Territory.id) == col(Organisation.territory_id))
                .outerjoin(Pcc, col(Pcc.territory_id) == col(Territory.id))
                .where(col(Grant.window_id).in_(window_ids), col(Grant.currency) == currency)
                .order_by(col(Territory.code), col(Organisation.name), col(Grant.id))
            )
        ).all()
    )
    grant_ids = [g[0] for g in grant_rows]
    committed: dict[uuid.UUID, int] = {
        gid: int(total or 0)
        for gid, total in await session.execute(
            sa_select(col(Tranche.grant_id), func.sum(col(Tranche.amount)))
            .where(
                col(Tranche.grant_id).in_(grant_ids),
                col(Tranche.status) != TrancheStatus.CANCELLED,
            )
            .group_by(col(Tranche.grant_id))
        )
    }
    items: dict[uuid.UUID, list[c.PublicPlanItemRead]] = defaultdict(list)
    for gid, item_id, code, objective in await session.execute(
        sa_select(
            col(Tranche.grant_id),
            col(ActionPlanItem.id),
            col(ActionPlanItem.code),
            col(ActionPlanItem.objective),
        )
        .distinct()
        .join(TrancheActionPlanItem, col(TrancheActionPlanItem.tranche_id) == col(Tranche.id))
        .join(
            ActionPlanItem, col(ActionPlanItem.id) == col(TrancheActionPlanItem.action_plan_item_id)
        )
        .where(col(Tranche.grant_id).in_(grant_ids), col(Tranche.status) != TrancheStatus.CANCELLED)
        .order_by(col(Tranche.grant_id), col(ActionPlanItem.code), col(ActionPlanItem.id))
    ):
        items[gid].append(c.PublicPlanItemRead(id=item_id, code=code, objective=i18n(objective)))
    territories = list(
        (
            await session.execute(
                sa_select(col(Territory.id), col(Territory.code), col(Territory.name)).order_by(
                    col(Territory.code)
                )
            )
        ).all()
    )
    territory_by_id = {t[0]: t for t in territories}
    grants = [
        c.PublicGrantRead(
            id=gid,
            window_id=wid,
            title=title,
            organisation_name=org_name,
            organisation_kind=kind,
            territory_code=territory_by_id[tid][1],
            territory_name=i18n(territory_by_id[tid][2]),
            pcc_id=pcc_id,
            pcc_name=i18n(pcc_name) if pcc_id is not None else None,
            items=items.get(gid, []),
            currency=currency,
            committed=committed.get(gid, 0),
            disbursed=int(disbursed or 0),
            start_date=start,
            end_date=end,
        )
        for (gid, wid, title, org_name, kind, tid, pcc_id, pcc_name, start, end, disbursed) in (
            grant_rows
        )
    ]
    by_territory = []
    for tid, code, name in territories:
        mine = [g for g, row in zip(grants, grant_rows, strict=True) if row[5] == tid]
        by_territory.append(
            c.PublicMoneyRow(
                key=str(tid),
                code=code,
                name=i18n(name),
                grants=len(mine),
                committed=sum(g.committed for g in mine),
                disbursed=sum(g.disbursed for g in mine),
            )
        )
    charged = {
        sid: (int(n or 0), int(amount or 0))
        for sid, n, amount in await session.execute(
            sa_select(
                col(GrantCharge.funding_source_id),
                func.count(func.distinct(col(GrantCharge.grant_id))),
                func.sum(col(GrantCharge.amount)),
            )
            .where(col(GrantCharge.grant_id).in_(grant_ids))
            .group_by(col(GrantCharge.funding_source_id))
        )
    }
    paid = {
        sid: int(amount or 0)
        for sid, amount in await session.execute(
            sa_select(
                col(LedgerSplit.funding_source_id),
                func.sum(_signed(col(LedgerEntry.kind), col(LedgerSplit.amount))),
            )
            .join(LedgerEntry, col(LedgerEntry.id) == col(LedgerSplit.ledger_entry_id))
            .where(col(LedgerEntry.grant_id).in_(grant_ids))
            .group_by(col(LedgerSplit.funding_source_id))
        )
    }
    sources = list(
        (
            await session.execute(
                sa_select(col(FundingSource.id), col(FundingSource.code), col(FundingSource.name))
                .where(col(FundingSource.id).in_(set(charged) | set(paid)))
                .order_by(col(FundingSource.name), col(FundingSource.code))
            )
        ).all()
    )
    by_source = [
        c.PublicMoneyRow(
            key=str(sid),
            code=code,
            name=I18nText(en=name),
            grants=charged.get(sid, (0, 0))[0],
            committed=charged.get(sid, (0, 0))[1],
            disbursed=paid.get(sid, 0),
        )
        for sid, code, name in sources
    ]
    return c.TransparencyRead(
        currency=currency,
        windows=[
            c.PublicWindowRead(
                id=wid,
                call_id=call_id,
                code=code,
                call_title=i18n(call_title),
                title=i18n(title),
                decided_on=at.astimezone(BISHKEK).date(),  # approved_at IS NOT NULL
            )
            for wid, call_id, code, title, call_title, at in windows
            if at is not None
        ],
        grants=grants,
        by_territory=by_territory,
        by_funding_source=by_source,
        committed=sum(g.committed for g in grants),
        disbursed=sum(g.disbursed for g in grants),
        plans=await public_plan_progress(session),
    )
