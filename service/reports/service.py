"""Use cases of grantee reports: drafting, attachments, submission, the officer's decision.

Who sees what follows proposals: nobody signed in is 401, and an API key without the
`reports:write` scope, which never handles reports, 403; any other caller who may not read a
grant's reports is told the report (or the grant) does not exist (404). A caller who may read
a report but not act on it is refused with 403.

Lock order: a decision locks the grant (`lock_grant`), then the grant's tranches, then the report,
and only then records audit events, as every use case that moves a grant's tranches does. The
grantee's own use cases lock only the report.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
from sqlalchemy import delete
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts import permissions as p
from contracts import reports as c
from contracts.common import ValidationIssue
from contracts.enums import ApiScope, AttachmentKind, GrantStatus, ReportKind, ReportStatus
from contracts.lifecycles import allowed_next
from contracts.notifications import NotificationKind
from contracts.proposals import AttachmentRead
from contracts.webhooks import EventType
from service.attachments import attachment_read, remove_attachment, store_attachment
from service.audit.service import record, snapshot
from service.awards.conditions import lock_grant, refresh_grant
from service.awards.reads import grant_or_404
from service.changes import check_version, record_created
from service.context import RequestContext, utcnow
from service.i18n import i18n
from service.mapping import to_read
from service.notifications.service import notify_report
from service.pagination import keyset, split_page
from service.persistence.models import (
    ApiKey,
    Attachment,
    BudgetLine,
    Grant,
    Indicator,
    IndicatorValue,
    Organisation,
    Pcc,
    Proposal,
    Report,
    Tranche,
    TrancheActionPlanItem,
)
from service.problems import (
    Conflict,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    issue,
)
from service.storage import FileStore
from service.webhooks.events import emit

INDICATOR_LIMIT = Decimal(10) ** 14  # NUMERIC(18, 4)
INDICATOR_STEP = Decimal("0.0001")


# --- loading with permission ------------------------------------------------------------------


def _require_reports_access(ctx: RequestContext) -> None:
    """Nobody signed in: 401. An API key without `reports:write` never handles reports: 403."""
    actor = ctx.actor
    if actor.kind == "anonymous":
        raise NotAuthenticated("sign in, or use an API key with the reports:write scope")
    if actor.kind == "api_key" and ApiScope.WRITE_REPORTS not in actor.scopes:
        raise Forbidden("this API key lacks the reports:write scope")


def _sees_reports(ctx: RequestContext, organisation_id: uuid.UUID) -> bool:
    """Whether the caller may read the organisation's reports."""
    return ctx.actor.kind == "system" or p.can_read_report(ctx.actor, organisation_id).allowed


def _require_visible(ctx: RequestContext, organisation_id: uuid.UUID, what: str) -> None:
    """Pass when the caller may read the organisation's reports; 404 when it may not."""
    if _sees_reports(ctx, organisation_id):
        return
    raise NotFound(f"{what} does not exist or is not yours to see")


async def _report_or_404(
    session: AsyncSession, ctx: RequestContext, report_id: uuid.UUID, *, lock: bool = False
) -> tuple[Report, Grant]:
    _require_reports_access(ctx)
    row = await session.get(Report, report_id, with_for_update=lock)
    if row is None:
        raise NotFound(f"report {report_id} does not exist or is not yours to see")
    grant = await session.get_one(Grant, row.grant_id)
    _require_visible(ctx, grant.organisation_id, f"report {report_id}")
    return row, grant


def _require_editable(row: Report) -> None:
    if row.status not in c.EDITABLE_REPORT_STATUSES:
        raise IllegalTransition(
            f"only a draft or returned report can be changed; this report is {row.status}",
            allowed=[s.value for s in allowed_next(c.REPORT_TRANSITIONS, row.status)],
        )


async def _author_id(session: AsyncSession, ctx: RequestContext) -> uuid.UUID:
    """The person a row is written for: the signed-in user, or for a partner system the user who
    created its API key (the key itself is named in the audit event)."""
    actor = ctx.actor
    if actor.kind == "user" and actor.id is not None:
        return actor.id
    if actor.kind == "api_key" and actor.id is not None:
        key = await session.get(ApiKey, actor.id)
        if key is not None:
            return key.created_by
    raise Conflict("a report is written by a signed-in user or a partner system's API key")


# --- reading ----------------------------------------------------------------------------------


def _lines(row: Report) -> list[c.ExpenditureLineRead]:
    return [
        c.ExpenditureLineRead(
            position=n,
            category=str(line["category"]),
            description=str(line["description"]),
            amount=int(line["amount"]),
            currency=str(line["currency"]),
            budget_line_id=uuid.UUID(line["budget_line_id"])
            if line.get("budget_line_id")
            else None,
        )
        for n, line in enumerate(row.expenditure or [])
    ]


def _total(row: Report) -> int:
    return sum(int(line["amount"]) for line in row.expenditure or [])


async def _budget_comparison(
    session: AsyncSession, grant: Grant, lines: list[c.ExpenditureLineRead]
) -> list[c.CategoryTotalRead]:
    """Per category: the proposal's budget (in the grant's currency) against this report."""
    budgeted: dict[str, int] = {}
    for category, total in await session.execute(
        select(BudgetLine.category, BudgetLine.total)
        .where(
            col(BudgetLine.proposal_id) == grant.proposal_id,
            col(BudgetLine.currency) == grant.currency,
        )
        .order_by(col(BudgetLine.position))
    ):
        budgeted[category] = budgeted.get(category, 0) + int(total)
    reported: dict[str, int] = defaultdict(int)
    for line in lines:
        reported[line.category] += line.amount
    categories = list(budgeted) + sorted(set(reported) - set(budgeted))
    return [
        c.CategoryTotalRead(
            category=cat,
            budgeted=budgeted.get(cat, 0),
            reported=reported.get(cat, 0),
            remaining=budgeted.get(cat, 0) - reported.get(cat, 0),
            currency=grant.currency,
        )
        for cat in categories
    ]


def _allowed_actions(ctx: RequestContext, row: Report, grant: Grant) -> list[str]:
    actions: list[str] = []
    if (
        p.can_write_report(ctx.actor, grant.organisation_id).allowed
        and row.status in c.EDITABLE_REPORT_STATUSES
    ):
        actions += ["update", "upload", "submit"]
    if p.can_decide_report(ctx.actor).allowed and row.status == ReportStatus.SUBMITTED:
        actions.append("decide")
    return actions


async def _read(
    session: AsyncSession, ctx: RequestContext, row: Report, grant: Grant
) -> c.ReportRead:
    values = [
        to_read(
            c.IndicatorValueRead,
            ind,
            indicator_id=ind.id,
            name=i18n(ind.name),
            value=v.value,
            note=v.note,
        )
        for v, ind in await session.execute(
            select(IndicatorValue, Indicator)
            .join(Indicator, col(Indicator.id) == col(IndicatorValue.indicator_id))
            .where(col(IndicatorValue.report_id) == row.id)
            .order_by(col(Indicator.action_plan_item_id), col(Indicator.id))
        )
    ]
    files = [
        attachment_read(a)
        for a in (
            await session.execute(
                select(Attachment)
                .where(col(Attachment.report_id) == row.id)
                .order_by(col(Attachment.created_at), col(Attachment.id))
            )
        ).scalars()
    ]
    lines = _lines(row)
    return to_read(
        c.ReportRead,
        row,
        organisation_id=grant.organisation_id,
        currency=grant.currency,
        expenditure=lines,
        expenditure_total=sum(line.amount for line in lines),
        budget_comparison=await _budget_comparison(session, grant, lines),
        indicators=values,
        attachments=files,
        allowed_actions=_allowed_actions(ctx, row, grant),
    )


async def get_report(
    session: AsyncSession, ctx: RequestContext, report_id: uuid.UUID
) -> c.ReportRead:
    row, grant = await _report_or_404(session, ctx, report_id)
    return await _read(session, ctx, row, grant)


async def list_reports(
    session: AsyncSession,
    ctx: RequestContext,
    grant_id: uuid.UUID,
    *,
    status: ReportStatus | None,
    kind: ReportKind | None,
    cursor: str | None,
    limit: int,
) -> c.ReportPage:
    _require_reports_access(ctx)
    grant = await grant_or_404(session, ctx, grant_id, visible=_sees_reports)
    stmt = select(Report).where(col(Report.grant_id) == grant.id)
    if status is not None:
        stmt = stmt.where(col(Report.status) == status)
    if kind is not None:
        stmt = stmt.where(col(Report.kind) == kind)
    stmt = keyset(stmt, col(Report.created_at), col(Report.id), cursor, limit)
    rows = list((await session.execute(stmt)).scalars())
    rows, next_cursor = split_page(rows, limit, lambda r: (r.created_at, r.id))
    return c.ReportPage(
        items=[
            c.ReportSummary(
                id=r.id,
                grant_id=r.grant_id,
                tranche_id=r.tranche_id,
                kind=r.kind,
                status=r.status,
                currency=grant.currency,
                expenditure_total=_total(r),
                submitted_at=r.submitted_at,
                decided_at=r.decided_at,
                version=r.version,
                created_at=r.created_at,
            )
            for r in rows
        ],
        next_cursor=next_cursor,
    )


async def list_report_queue(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    status: ReportStatus | None,
    kind: ReportKind | None,
    territory_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> c.ReportQueuePage:
    """Every grantee's reports that were ever submitted (drafts are the grantee's own business),
    oldest submission first, with their grant, organisation, territory and PCC. One query."""
    ctx.require(p.can_list_report_queue(ctx.actor))
    stmt = (
        sa_select(Report, Grant, col(Proposal.title), Organisation, col(Pcc.id), Tranche)
        .join(Grant, col(Grant.id) == col(Report.grant_id))
        .join(Proposal, col(Proposal.id) == col(Grant.proposal_id))
        .join(Organisation, col(Organisation.id) == col(Grant.organisation_id))
        .outerjoin(Pcc, col(Pcc.territory_id) == col(Organisation.territory_id))
        .outerjoin(Tranche, col(Tranche.id) == col(Report.tranche_id))
        .where(col(Report.status) != ReportStatus.DRAFT)
    )
    if status is not None:
        stmt = stmt.where(col(Report.status) == status)
    if kind is not None:
        stmt = stmt.where(col(Report.kind) == kind)
    if territory_id is not None:
        stmt = stmt.where(col(Organisation.territory_id) == territory_id)
    stmt = keyset(stmt, col(Report.submitted_at), col(Report.id), cursor, limit)
    rows = list((await session.execute(stmt)).all())
    rows, next_cursor = split_page(rows, limit, lambda r: (r[0].submitted_at, r[0].id))
    items: list[c.ReportQueueItem] = []
    for report, grant, title, org, pcc_id, tranche in rows:
        assert report.submitted_at is not None  # not a draft (a CHECK holds it)
        items.append(
            c.ReportQueueItem(
                id=report.id,
                kind=report.kind,
                status=report.status,
                grant_id=grant.id,
                agreement_reference=grant.agreement_reference,
                proposal_title=title,
                organisation_id=org.id,
                organisation_name=org.name,
                territory_id=org.territory_id,
                pcc_id=pcc_id,
                grant_start=grant.start_date,
                grant_end=grant.end_date,
                tranche_id=report.tranche_id,
                tranche_position=tranche.position if tranche is not None else None,
                tranche_planned_date=tranche.planned_date if tranche is not None else None,
                currency=grant.currency,
                expenditure_total=_total(report),
                submitted_at=report.submitted_at,
                decided_at=report.decided_at,
                version=report.version,
            )
        )
    return c.ReportQueuePage(items=items, next_cursor=next_cursor)


# --- checking what the grantee sends -----------------------------------------------------------


async def _check_tranche(
    session: AsyncSession, grant: Grant, tranche_id: uuid.UUID | None, field: str
) -> None:
    if tranche_id is None:
        return
    tranche = await session.get(Tranche, tranche_id)
    if tranche is None or tranche.grant_id != grant.id:
        raise InvalidInput(
            f"tranche {tranche_id} is not a tranche of this grant",
            [issue(field, "not a tranche of this grant")],
        )


async def _check_expenditure(
    session: AsyncSession, grant: Grant, lines: list[c.ExpenditureLine], field: str
) -> list[dict[str, Any]]:
    """The lines as stored (JSON), or 422 listing every bad line."""
    wanted = {line.budget_line_id for line in lines if line.budget_line_id is not None}
    budget = (
        {
            b.id: b
            for b in (
                await session.execute(
                    select(BudgetLine).where(
                        col(BudgetLine.proposal_id) == grant.proposal_id,
                        col(BudgetLine.id).in_(wanted),
                    )
                )
            ).scalars()
        }
        if wanted
        else {}
    )
    issues: list[ValidationIssue] = []
    for n, line in enumerate(lines):
        if line.currency != grant.currency:
            issues.append(
                issue(
                    f"{field}[{n}].currency",
                    f"{line.currency} is not the grant's currency {grant.currency}",
                )
            )
        if line.budget_line_id is not None:
            b = budget.get(line.budget_line_id)
            if b is None:
                issues.append(
                    issue(
                        f"{field}[{n}].budget_line_id",
                        f"{line.budget_line_id} is not a line of the grant's proposal budget",
                    )
                )
            elif b.category != line.category:
                issues.append(
                    issue(
                        f"{field}[{n}].category",
                        f"budget line {b.id} is of the category '{b.category}'",
                    )
                )
    if issues:
        raise InvalidInput("some expenditure lines are not valid", issues)
    return [
        {
            "category": line.category,
            "description": line.description,
            "amount": line.amount,
            "currency": line.currency,
            "budget_line_id": str(line.budget_line_id) if line.budget_line_id else None,
        }
        for line in lines
    ]


def _bad_number(value: Decimal) -> str | None:
    try:
        if not value.is_finite() or abs(value) >= INDICATOR_LIMIT:
            return "must be a finite number below 10^14"
        if value != value.quantize(INDICATOR_STEP):
            return "at most 4 decimals"
    except InvalidOperation:
        return "not a usable number"
    return None


async def _check_indicators(
    session: AsyncSession, grant: Grant, values: list[c.IndicatorValueInput], field: str
) -> None:
    """Each indicator once, of an action-plan item one of the grant's tranches pays for."""
    if not values:
        return
    ids = {v.indicator_id for v in values}
    linked = set(
        (
            await session.execute(
                select(Indicator.id)
                .join(
                    TrancheActionPlanItem,
                    col(TrancheActionPlanItem.action_plan_item_id)
                    == col(Indicator.action_plan_item_id),
                )
                .join(Tranche, col(Tranche.id) == col(TrancheActionPlanItem.tranche_id))
                .where(col(Tranche.grant_id) == grant.id, col(Indicator.id).in_(ids))
                .distinct()
            )
        ).scalars()
    )
    issues: list[ValidationIssue] = []
    unlinked: list[str] = []
    seen: set[uuid.UUID] = set()
    for n, v in enumerate(values):
        where = f"{field}[{n}]"
        if v.indicator_id not in linked:
            unlinked.append(str(v.indicator_id))
            issues.append(
                issue(
                    f"{where}.indicator_id",
                    f"indicator {v.indicator_id} is not an indicator of the action-plan items "
                    "this grant's tranches pay for",
                )
            )
        elif v.indicator_id in seen:
            issues.append(issue(f"{where}.indicator_id", f"{v.indicator_id} is given twice"))
        seen.add(v.indicator_id)
        if (problem := _bad_number(v.value)) is not None:
            issues.append(issue(f"{where}.value", f"{v.value}: {problem}"))
    if unlinked:
        raise InvalidInput(
            f"indicator {', '.join(unlinked)} is not linked to this grant's tranches", issues
        )
    if issues:
        raise InvalidInput("some indicator values are not valid", issues)


def _indicator_rows(
    report_id: uuid.UUID, values: list[c.IndicatorValueInput]
) -> list[IndicatorValue]:
    return [
        IndicatorValue(report_id=report_id, indicator_id=v.indicator_id, value=v.value, note=v.note)
        for v in values
    ]


async def _indicator_snapshot(session: AsyncSession, report_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(
            col(IndicatorValue.indicator_id), col(IndicatorValue.value), col(IndicatorValue.note)
        )
        .where(col(IndicatorValue.report_id) == report_id)
        .order_by(col(IndicatorValue.indicator_id))
    )
    return [{"indicator_id": str(i), "value": str(v), "note": n} for i, v, n in rows.all()]


# --- drafting ---------------------------------------------------------------------------------


async def create_report(
    session: AsyncSession, ctx: RequestContext, grant_id: uuid.UUID, body: c.ReportCreate
) -> c.ReportRead:
    _require_reports_access(ctx)
    grant = await grant_or_404(session, ctx, grant_id, visible=_sees_reports)
    ctx.require(p.can_write_report(ctx.actor, grant.organisation_id))
    if grant.status != GrantStatus.ACTIVE:
        raise Conflict(f"reports are written for active grants; this grant is {grant.status}")
    await _check_tranche(session, grant, body.tranche_id, "body.tranche_id")
    expenditure = await _check_expenditure(session, grant, body.expenditure, "body.expenditure")
    await _check_indicators(session, grant, body.indicators, "body.indicators")
    row = Report(
        grant_id=grant.id,
        tranche_id=body.tranche_id,
        kind=body.kind,
        narrative=body.narrative,
        expenditure=expenditure,
        created_by=await _author_id(session, ctx),
    )
    session.add(row)
    await session.flush()
    session.add_all(_indicator_rows(row.id, body.indicators))
    await session.flush()
    await session.refresh(row)
    await record_created(
        session,
        ctx,
        "report",
        row,
        extra={"indicators": await _indicator_snapshot(session, row.id)},
    )
    return await _read(session, ctx, row, grant)


async def update_report(
    session: AsyncSession, ctx: RequestContext, report_id: uuid.UUID, body: c.ReportUpdate
) -> c.ReportRead:
    """A versioned partial update; nothing sent that differs: nothing written, no event."""
    row, grant = await _report_or_404(session, ctx, report_id, lock=True)
    ctx.require(p.can_write_report(ctx.actor, grant.organisation_id))
    check_version(row, body)
    _require_editable(row)
    before = {**(snapshot(row) or {}), "indicators": await _indicator_snapshot(session, row.id)}
    changed = False
    if body.tranche_id is not msgspec.UNSET and body.tranche_id != row.tranche_id:
        await _check_tranche(session, grant, body.tranche_id, "body.tranche_id")
        row.tranche_id = body.tranche_id
        changed = True
    if body.narrative is not msgspec.UNSET and body.narrative != row.narrative:
        row.narrative = body.narrative
        changed = True
    if body.expenditure is not msgspec.UNSET:
        lines = await _check_expenditure(session, grant, body.expenditure, "body.expenditure")
        if lines != row.expenditure:
            row.expenditure = lines
            changed = True
    if body.indicators is not msgspec.UNSET:
        await _check_indicators(session, grant, body.indicators, "body.indicators")
        wanted = sorted(
            (
                {"indicator_id": str(v.indicator_id), "value": str(v.value), "note": v.note}
                for v in body.indicators
            ),
            key=lambda d: str(d["indicator_id"]),
        )
        if not _same_values(wanted, before["indicators"]):
            await session.execute(
                delete(IndicatorValue).where(col(IndicatorValue.report_id) == row.id)
            )
            session.add_all(_indicator_rows(row.id, body.indicators))
            changed = True
    if changed:
        row.version += 1
        await session.flush()
        await record(
            session,
            ctx,
            action="report.updated",
            entity="report",
            entity_id=row.id,
            before=before,
            after={
                **(snapshot(row) or {}),
                "indicators": await _indicator_snapshot(session, row.id),
            },
        )
    return await _read(session, ctx, row, grant)


def _same_values(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    """The same indicator values, numerically (`12.5` equals the stored `12.5000`)."""
    return len(a) == len(b) and all(
        x["indicator_id"] == y["indicator_id"]
        and Decimal(x["value"]) == Decimal(y["value"])
        and x["note"] == y["note"]
        for x, y in zip(a, b, strict=True)
    )


# --- submission and decision ------------------------------------------------------------------


async def submit_report(
    session: AsyncSession, ctx: RequestContext, report_id: uuid.UUID, body: c.ReportSubmit
) -> c.ReportRead:
    row, grant = await _report_or_404(session, ctx, report_id, lock=True)
    ctx.require(p.can_write_report(ctx.actor, grant.organisation_id))
    check_version(row, body)
    _require_editable(row)
    if row.kind == ReportKind.PROGRESS and not (row.narrative or "").strip():
        raise InvalidInput(
            "a progress report needs a narrative before it is submitted",
            [issue("narrative", "write what was done before submitting")],
        )
    if row.kind == ReportKind.FINANCIAL and not row.expenditure:
        raise InvalidInput(
            "a financial report needs at least one expenditure line before it is submitted",
            [issue("expenditure", "add the money spent before submitting")],
        )
    before = snapshot(row)
    row.status = ReportStatus.SUBMITTED
    row.submitted_at = utcnow()
    row.version += 1
    await session.flush()
    await record(
        session,
        ctx,
        action="report.submitted",
        entity="report",
        entity_id=row.id,
        before=before,
        after=snapshot(row),
    )
    return await _read(session, ctx, row, grant)


async def decide_report(
    session: AsyncSession, ctx: RequestContext, report_id: uuid.UUID, body: c.ReportDecisionCreate
) -> c.ReportRead:
    """Accept or return a submitted report. Accepting re-evaluates the grant's planned tranches:
    those whose conditions are now all met become `due`."""
    row, _ = await _report_or_404(session, ctx, report_id)
    ctx.require(p.can_decide_report(ctx.actor))
    comment = body.comment.strip() if body.comment is not None else None
    if body.outcome == "return" and (comment is None or len(comment) < 3):
        raise InvalidInput(
            "say what to correct when returning a report",
            [issue("body.comment", "required (at least 3 characters) to return a report")],
        )
    # the grant first (before any write or audit event), then its tranches, then the report
    grant = await lock_grant(session, row.grant_id)
    if body.outcome == "accept":
        await session.execute(
            select(Tranche.id)
            .where(col(Tranche.grant_id) == grant.id)
            .order_by(col(Tranche.position))
            .with_for_update()
        )
    locked = await session.get(Report, report_id, with_for_update=True, populate_existing=True)
    assert locked is not None  # reports are never deleted
    row = locked
    check_version(row, body)
    if row.status != ReportStatus.SUBMITTED:
        raise IllegalTransition(
            f"only a submitted report can be accepted or returned; this report is {row.status}",
            allowed=[s.value for s in allowed_next(c.REPORT_TRANSITIONS, row.status)],
        )
    assert ctx.actor.id is not None  # a programme officer is a user
    before = snapshot(row)
    row.status = ReportStatus.ACCEPTED if body.outcome == "accept" else ReportStatus.RETURNED
    row.review_comment = comment or None
    row.decided_at = utcnow()
    row.decided_by = ctx.actor.id
    row.version += 1
    await session.flush()
    await record(
        session,
        ctx,
        action=f"report.{row.status.value}",
        entity="report",
        entity_id=row.id,
        before=before,
        after=snapshot(row),
        reason=comment,
    )
    if row.status == ReportStatus.ACCEPTED:
        await emit(
            session, EventType.REPORT_ACCEPTED, {"report_id": row.id, "grant_id": row.grant_id}
        )
    else:
        await notify_report(session, NotificationKind.REPORT_RETURNED, row.id)
    if row.status == ReportStatus.ACCEPTED:
        await refresh_grant(session, ctx, grant)
    return await _read(session, ctx, row, grant)


# --- attachments ------------------------------------------------------------------------------


async def upload_attachment(
    session: AsyncSession,
    ctx: RequestContext,
    store: FileStore,
    report_id: uuid.UUID,
    kind: AttachmentKind,
    filename: str,
    data: bytes,
) -> AttachmentRead:
    """Same rules as a proposal's files (`FileStore`: type by content, size limits), only while
    the report is a draft or returned."""
    row, grant = await _report_or_404(session, ctx, report_id, lock=True)
    ctx.require(p.can_write_report(ctx.actor, grant.organisation_id))
    _require_editable(row)
    a = await store_attachment(
        session,
        ctx,
        store,
        report_id=row.id,
        kind=kind,
        filename=filename,
        data=data,
        uploaded_by=await _author_id(session, ctx),
    )
    return attachment_read(a)


async def _attachment_or_404(
    session: AsyncSession,
    ctx: RequestContext,
    report_id: uuid.UUID,
    attachment_id: uuid.UUID,
    *,
    lock: bool = False,
) -> tuple[Attachment, Report, Grant]:
    row, grant = await _report_or_404(session, ctx, report_id, lock=lock)
    a = await session.get(Attachment, attachment_id)
    if a is None or a.report_id != row.id:
        raise NotFound(f"report {report_id} has no attachment {attachment_id}")
    return a, row, grant


async def attachment_for_download(
    session: AsyncSession, ctx: RequestContext, report_id: uuid.UUID, attachment_id: uuid.UUID
) -> Attachment:
    a, _, _ = await _attachment_or_404(session, ctx, report_id, attachment_id)
    return a


async def delete_attachment(
    session: AsyncSession,
    ctx: RequestContext,
    store: FileStore,
    report_id: uuid.UUID,
    attachment_id: uuid.UUID,
) -> None:
    a, row, grant = await _attachment_or_404(session, ctx, report_id, attachment_id, lock=True)
    ctx.require(p.can_write_report(ctx.actor, grant.organisation_id))
    _require_editable(row)
    await remove_attachment(session, ctx, store, a)
