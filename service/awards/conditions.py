"""Release conditions of tranches, and the system's `planned → due` move when they are all met.

Lock order, everywhere money moves: the window row (grant creation and amendments), then the
grant row, then its tranches by position, and only then the audit chain's advisory lock (which
`record` takes). A use case that may change a grant's tranches calls :func:`lock_grant` before it
records anything, so two transactions never wait on each other in opposite orders.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts.enums import ReportKind, ReportStatus, TrancheConditionKind, TrancheStatus
from contracts.webhooks import EventType
from service.audit.service import record
from service.awards._common import grant_tranches
from service.context import RequestContext, utcnow
from service.persistence.models import (
    Grant,
    IndicatorValue,
    Report,
    Tranche,
    TrancheCondition,
)
from service.problems import NotFound
from service.webhooks.events import emit


async def lock_grant(session: AsyncSession, grant_id: uuid.UUID) -> Grant:
    """The grant, locked FOR UPDATE (404 when it does not exist)."""
    grant = (
        await session.execute(
            select(Grant)
            .where(col(Grant.id) == grant_id)
            .with_for_update()
            .execution_options(populate_existing=True)  # the locked row's values: no refresh
        )
    ).scalar_one_or_none()
    if grant is None:
        raise NotFound(f"grant {grant_id} does not exist")
    return grant


async def _accepted_reports(session: AsyncSession, grant_id: uuid.UUID) -> dict[ReportKind, int]:
    rows = await session.execute(
        select(col(Report.kind), func.count())
        .where(col(Report.grant_id) == grant_id, col(Report.status) == ReportStatus.ACCEPTED)
        .group_by(Report.kind)
    )
    return {ReportKind(k): int(n) for k, n in rows.all()}


async def _reported_indicators(session: AsyncSession, grant_id: uuid.UUID) -> set[str]:
    rows = await session.execute(
        select(col(IndicatorValue.indicator_id))
        .join(Report, col(Report.id) == IndicatorValue.report_id)
        .where(col(Report.grant_id) == grant_id, col(Report.status) == ReportStatus.ACCEPTED)
    )
    return {str(r) for r in rows.scalars()}


def condition_met(
    condition: TrancheCondition,
    *,
    agreement_signed_at: datetime | None,
    accepted: dict[ReportKind, int],
    indicators: set[str],
) -> bool:
    params = condition.params or {}
    match condition.kind:
        case TrancheConditionKind.AGREEMENT_SIGNED:
            return agreement_signed_at is not None
        case TrancheConditionKind.PROGRESS_REPORT_ACCEPTED:
            return accepted.get(ReportKind.PROGRESS, 0) >= int(params.get("count", 1))
        case TrancheConditionKind.FINANCIAL_REPORT_ACCEPTED:
            return accepted.get(ReportKind.FINANCIAL, 0) >= int(params.get("count", 1))
        case TrancheConditionKind.INDICATOR_REPORTED:
            return str(params.get("indicator_id")) in indicators
    return False  # pragma: no cover  (every kind is matched above)


async def refresh_grant(session: AsyncSession, ctx: RequestContext, grant: Grant) -> list[Tranche]:
    """Re-evaluate the conditions of the grant's planned tranches: record when each is met, and
    move a tranche whose conditions are all met to `due` (audited as the system's doing). The
    caller holds the grant's lock. Returns the tranches that became due."""
    tranches = await grant_tranches(session, grant.id, status=TrancheStatus.PLANNED, lock=True)
    if not tranches:
        return []
    conditions = list(
        (
            await session.execute(
                select(TrancheCondition).where(
                    col(TrancheCondition.tranche_id).in_([t.id for t in tranches])
                )
            )
        ).scalars()
    )
    accepted = await _accepted_reports(session, grant.id)
    indicators = await _reported_indicators(session, grant.id)
    now = utcnow()
    by_tranche: dict[uuid.UUID, list[TrancheCondition]] = {}
    for cond in conditions:
        by_tranche.setdefault(cond.tranche_id, []).append(cond)
        met = condition_met(
            cond,
            agreement_signed_at=grant.agreement_signed_at,
            accepted=accepted,
            indicators=indicators,
        )
        if met and cond.met_at is None:
            cond.met_at = now
        elif not met and cond.met_at is not None:
            cond.met_at = None  # e.g. an amendment added a second report to wait for
    became_due: list[Tranche] = []
    for tranche in tranches:
        if all(c.met_at is not None for c in by_tranche.get(tranche.id, [])):
            tranche.status = TrancheStatus.DUE
            tranche.version += 1
            became_due.append(tranche)
    await session.flush()
    for tranche in became_due:
        await record(
            session,
            ctx,
            action="tranche.due",
            entity="tranche",
            entity_id=tranche.id,
            before={"status": TrancheStatus.PLANNED.value},
            after={"status": TrancheStatus.DUE.value},
            reason="all release conditions are met",
        )
        await emit(session, EventType.TRANCHE_DUE, {"tranche_id": tranche.id, "grant_id": grant.id})
    return became_due
