"""Use cases of calls and windows (programme officers) and their public reading."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import msgspec
from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts import calls as c
from contracts import permissions as p
from contracts.common import ValidationIssue
from contracts.enums import CallStatus
from contracts.lifecycles import CALL_TRANSITIONS, allowed_next, can_move
from contracts.webhooks import EventType
from scoring.eligibility import RuleSet as EngineRuleSet
from scoring.eligibility import RuleSetError, parse_rules, rules_to_json
from scoring.selection import check_quotas
from service.audit.service import record, snapshot
from service.calls.queries import call_or_404, window_is_open

# re-exported until reviews, selection and documents import it from service.calls.queries
from service.calls.queries import window_or_404 as window_or_404
from service.changes import check_version, record_created, update_versioned
from service.context import RequestContext, utcnow
from service.i18n import i18n, i18n_dict
from service.mapping import to_read
from service.pagination import keyset, split_page
from service.persistence.models import (
    ActionPlanItem,
    Call,
    CallContribution,
    CallWindow,
    FundingSource,
    Proposal,
    RuleSet,
    Territory,
    WindowActionPlanItem,
    WindowAllocation,
    WindowTerritory,
)
from service.problems import Conflict, IllegalTransition, InvalidInput, issue
from service.webhooks.events import emit


def in_call_currency(amount: int, rate: Decimal) -> int:
    """A contribution converted to the call currency, rounded down: a window can never be given
    money the source has not put in. (Both sides are minor units of 2-decimal currencies.)"""
    return int((Decimal(amount) * rate).to_integral_value(rounding=ROUND_FLOOR))


# --- reading ----------------------------------------------------------------------------------


async def _window_reads(
    session: AsyncSession, windows: list[CallWindow], now: datetime
) -> dict[uuid.UUID, list[c.WindowRead]]:
    """Windows grouped by call, in a fixed number of queries."""
    ids = [w.id for w in windows]
    allocations: dict[uuid.UUID, list[c.AllocationRead]] = defaultdict(list)
    territories: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    items: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    rule_sets: dict[uuid.UUID, RuleSet] = {}
    if ids:
        for a in (
            await session.execute(
                select(WindowAllocation)
                .where(col(WindowAllocation.window_id).in_(ids))
                .order_by(col(WindowAllocation.funding_source_id))
            )
        ).scalars():
            allocations[a.window_id].append(to_read(c.AllocationRead, a))
        for wid, tid in await session.execute(
            select(WindowTerritory.window_id, WindowTerritory.territory_id)
            .where(col(WindowTerritory.window_id).in_(ids))
            .order_by(col(WindowTerritory.territory_id))
        ):
            territories[wid].append(tid)
        for wid, iid in await session.execute(
            select(WindowActionPlanItem.window_id, WindowActionPlanItem.action_plan_item_id)
            .where(col(WindowActionPlanItem.window_id).in_(ids))
            .order_by(col(WindowActionPlanItem.action_plan_item_id))
        ):
            items[wid].append(iid)
        rs_ids = [w.rule_set_id for w in windows if w.rule_set_id]
        if rs_ids:
            for found in (
                await session.execute(select(RuleSet).where(col(RuleSet.id).in_(rs_ids)))
            ).scalars():
                rule_sets[found.id] = found
    out: dict[uuid.UUID, list[c.WindowRead]] = defaultdict(list)
    for w in sorted(windows, key=lambda w: (w.position, w.code)):
        rs: RuleSet | None = rule_sets.get(w.rule_set_id) if w.rule_set_id else None
        out[w.call_id].append(
            to_read(
                c.WindowRead,
                w,
                title=i18n(w.title),
                description=i18n(w.description) if w.description else None,
                is_open=window_is_open(w, now),
                envelope=sum(a.amount for a in allocations[w.id]),
                allocations=allocations[w.id],
                territory_ids=territories[w.id],
                action_plan_item_ids=items[w.id],
                rule_set=to_read(c.RuleSetRead, rs) if rs else None,
            )
        )
    return out


async def _call_reads(session: AsyncSession, calls: list[Call]) -> list[c.CallRead]:
    now = utcnow()
    ids = [x.id for x in calls]
    contributions: dict[uuid.UUID, list[tuple[CallContribution, str]]] = defaultdict(list)
    windows: list[CallWindow] = []
    allocated: dict[tuple[uuid.UUID, uuid.UUID], int] = defaultdict(int)
    if ids:
        for contrib, name in await session.execute(
            select(CallContribution, FundingSource.name)
            .join(FundingSource, col(FundingSource.id) == col(CallContribution.funding_source_id))
            .where(col(CallContribution.call_id).in_(ids))
            .order_by(col(FundingSource.name))
        ):
            contributions[contrib.call_id].append((contrib, name))
        windows = list(
            (
                await session.execute(select(CallWindow).where(col(CallWindow.call_id).in_(ids)))
            ).scalars()
        )
        for call_id, source_id, total in await session.execute(
            select(
                CallWindow.call_id,
                WindowAllocation.funding_source_id,
                func.sum(WindowAllocation.amount),
            )
            .join(CallWindow, col(CallWindow.id) == col(WindowAllocation.window_id))
            .where(col(CallWindow.call_id).in_(ids))
            .group_by(col(CallWindow.call_id), col(WindowAllocation.funding_source_id))
        ):
            allocated[(call_id, source_id)] = int(total)
    window_reads = await _window_reads(session, windows, now)
    return [
        to_read(
            c.CallRead,
            x,
            title=i18n(x.title),
            description=i18n(x.description),
            contributions=[
                to_read(
                    c.ContributionRead,
                    k,
                    funding_source_name=name,
                    amount_in_call_currency=in_call_currency(k.amount, k.rate),
                    allocated=allocated[(x.id, k.funding_source_id)],
                )
                for k, name in contributions[x.id]
            ],
            windows=window_reads[x.id],
        )
        for x in calls
    ]


async def list_calls(
    session: AsyncSession,
    ctx: RequestContext,
    status: c.CallFilter | None,
    cursor: str | None,
    limit: int,
) -> c.CallPage:
    ctx.require(p.can_read_published_calls(ctx.actor))
    stmt = select(Call)
    staff = p.can_manage_calls(ctx.actor).allowed or p.sees_draft_calls(ctx.actor)
    if status == "open":
        now = utcnow()
        open_calls = select(CallWindow.call_id).where(
            col(CallWindow.status) == CallStatus.PUBLISHED,
            col(CallWindow.opens_at) <= now,
            col(CallWindow.closes_at) > now,
        )
        stmt = stmt.where(col(Call.status) == CallStatus.PUBLISHED, col(Call.id).in_(open_calls))
    elif status is not None:
        stmt = stmt.where(col(Call.status) == CallStatus(status))
    if not staff:
        stmt = stmt.where(col(Call.status) != CallStatus.DRAFT)
    rows = list(
        (await session.execute(keyset(stmt, Call.created_at, Call.id, cursor, limit))).scalars()
    )
    rows, next_cursor = split_page(rows, limit, lambda x: (x.created_at, x.id))
    return c.CallPage(items=await _call_reads(session, rows), next_cursor=next_cursor)


async def get_call(session: AsyncSession, ctx: RequestContext, call_id: uuid.UUID) -> c.CallRead:
    ctx.require(p.can_read_published_calls(ctx.actor))
    call = await call_or_404(session, ctx, call_id)
    return (await _call_reads(session, [call]))[0]


async def get_window(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID
) -> c.WindowRead:
    ctx.require(p.can_read_published_calls(ctx.actor))
    window, _ = await window_or_404(session, ctx, window_id)
    return (await _window_reads(session, [window], utcnow()))[window.call_id][0]


# --- calls ------------------------------------------------------------------------------------


async def _set_contributions(
    session: AsyncSession, call: Call, contributions: list[c.ContributionCreate]
) -> None:
    seen: set[uuid.UUID] = set()
    issues: list[ValidationIssue] = []
    sources: dict[uuid.UUID, FundingSource] = {}
    ids = [k.funding_source_id for k in contributions]
    if ids:
        for s in (
            await session.execute(select(FundingSource).where(col(FundingSource.id).in_(ids)))
        ).scalars():
            sources[s.id] = s
    for n, k in enumerate(contributions):
        if k.funding_source_id in seen:
            issues.append(issue(f"body.contributions[{n}]", "this source is listed twice"))
        seen.add(k.funding_source_id)
        if k.funding_source_id not in sources:
            issues.append(issue(f"body.contributions[{n}].funding_source_id", "unknown source"))
        if k.rate <= 0 or not k.rate.is_finite() or k.rate >= Decimal(10) ** 10:
            issues.append(issue(f"body.contributions[{n}].rate", "must be > 0 and finite"))
        elif (
            sources.get(k.funding_source_id)
            and sources[k.funding_source_id].currency == (call.currency)
            and k.rate != 1
        ):
            issues.append(
                issue(f"body.contributions[{n}].rate", "same currency as the call: rate is 1")
            )
    if issues:
        raise InvalidInput("the contributions are not valid", issues)
    await session.execute(delete(CallContribution).where(col(CallContribution.call_id) == call.id))
    for k in contributions:
        session.add(
            CallContribution(
                call_id=call.id,
                funding_source_id=k.funding_source_id,
                amount=k.amount,
                currency=sources[k.funding_source_id].currency,
                rate=k.rate,
            )
        )
    await session.flush()
    await _check_envelopes(session, call)


async def _check_envelopes(session: AsyncSession, call: Call) -> None:
    """The windows' allocations never exceed what each source contributes to the call."""
    contributions = {
        k.funding_source_id: in_call_currency(k.amount, k.rate)
        for k in (
            await session.execute(
                select(CallContribution).where(col(CallContribution.call_id) == call.id)
            )
        ).scalars()
    }
    allocated = dict(
        (
            await session.execute(
                select(WindowAllocation.funding_source_id, func.sum(WindowAllocation.amount))
                .join(CallWindow, col(CallWindow.id) == col(WindowAllocation.window_id))
                .where(col(CallWindow.call_id) == call.id)
                .group_by(col(WindowAllocation.funding_source_id))
            )
        ).all()
    )
    issues = []
    for source_id, total in allocated.items():
        available = contributions.get(source_id)
        if available is None:
            issues.append(
                issue("body.allocations", f"source {source_id} contributes nothing to this call")
            )
        elif int(total) > available:
            issues.append(
                issue(
                    "body.allocations",
                    f"source {source_id}: windows would get {int(total)} but it contributes "
                    f"{available} (in {call.currency} minor units)",
                )
            )
    if issues:
        raise InvalidInput("the windows' envelopes exceed the call's funding", issues)


async def create_call(session: AsyncSession, ctx: RequestContext, body: c.CallCreate) -> c.CallRead:
    ctx.require(p.can_manage_calls(ctx.actor))
    assert ctx.actor.id is not None
    call = Call(
        title=i18n_dict(body.title),
        description=i18n_dict(body.description),
        currency=body.currency,
        created_by=ctx.actor.id,
    )
    session.add(call)
    await session.flush()
    await _set_contributions(session, call, body.contributions)
    await session.refresh(call)
    await record_created(
        session, ctx, "call", call, extra={"contributions": msgspec.to_builtins(body.contributions)}
    )
    return (await _call_reads(session, [call]))[0]


def _require_draft(call: Call, what: str) -> None:
    if call.status != CallStatus.DRAFT:
        raise Conflict(f"{what} only while the call is a draft; it is {call.status}")


async def update_call(
    session: AsyncSession, ctx: RequestContext, call_id: uuid.UUID, body: c.CallUpdate
) -> c.CallRead:
    ctx.require(p.can_manage_calls(ctx.actor))
    call = await call_or_404(session, ctx, call_id, lock=True)
    check_version(call, body)
    contributions = body.contributions
    if contributions is not msgspec.UNSET:
        _require_draft(call, "contributions change")
        await _set_contributions(session, call, contributions)
        await record(
            session,
            ctx,
            action="call.contributions_replaced",
            entity="call",
            entity_id=call.id,
            after={"contributions": msgspec.to_builtins(contributions)},
        )
    texts = c.CallUpdate(version=body.version, title=body.title, description=body.description)
    changed = await update_versioned(session, ctx, call, texts, entity="call")
    if not changed and contributions is not msgspec.UNSET:
        call.version += 1
        await session.flush()
    return (await _call_reads(session, [call]))[0]


async def transition_call(
    session: AsyncSession, ctx: RequestContext, call_id: uuid.UUID, body: c.CallTransition
) -> c.CallRead:
    """draft → published → closed → archived; publishing checks the call is complete and
    publishes (freezes) its windows."""
    ctx.require(p.can_manage_calls(ctx.actor))
    call = await call_or_404(session, ctx, call_id, lock=True)
    check_version(call, body)
    if not can_move(CALL_TRANSITIONS, call.status, body.status):
        allowed = [s.value for s in allowed_next(CALL_TRANSITIONS, call.status)]
        raise IllegalTransition(
            f"a {call.status} call cannot become {body.status}", allowed=allowed
        )
    windows = list(
        (
            await session.execute(
                select(CallWindow)
                .where(col(CallWindow.call_id) == call.id)
                .order_by(col(CallWindow.id))
                .with_for_update()
            )
        ).scalars()
    )
    if body.status == CallStatus.PUBLISHED:
        problems = []
        if not windows:
            problems.append(issue("windows", "a call needs at least one window"))
        for w in windows:
            if w.rule_set_id is None:
                problems.append(issue(f"windows.{w.code}", "has no eligibility rules"))
            if not await _has_links(session, WindowTerritory, w.id):
                problems.append(issue(f"windows.{w.code}", "has no eligible territory"))
        if problems:
            raise InvalidInput("the call is not ready to publish", problems)
    before = snapshot(call)
    call.status = body.status
    call.version += 1
    if body.status == CallStatus.PUBLISHED:
        call.published_at = utcnow()
    for w in windows:
        w.status = body.status
        w.version += 1
    await session.flush()
    await record(
        session,
        ctx,
        action=f"call.{body.status.value}",
        entity="call",
        entity_id=call.id,
        before=before,
        after=snapshot(call),
    )
    if body.status == CallStatus.PUBLISHED:
        await emit(session, EventType.CALL_PUBLISHED, {"call_id": call.id})
    return (await _call_reads(session, [call]))[0]


async def _has_links(session: AsyncSession, model: Any, window_id: uuid.UUID) -> bool:
    return (
        await session.execute(select(model).where(model.window_id == window_id).limit(1))
    ).first() is not None


# --- windows ----------------------------------------------------------------------------------


async def _new_rule_set(
    session: AsyncSession, ctx: RequestContext, key: str, rules: list[dict[str, Any]]
) -> RuleSet:
    try:
        parsed: EngineRuleSet = parse_rules(rules)
    except RuleSetError as exc:
        raise InvalidInput(
            "the eligibility rules are not valid",
            [issue(f"body.{path}", msg) for path, msg in exc.problems],
        ) from exc
    latest = (
        await session.execute(select(func.max(RuleSet.version)).where(col(RuleSet.key) == key))
    ).scalar_one_or_none()
    if ctx.actor.id is None:
        raise Conflict("rule sets are created by a signed-in programme officer")
    rs = RuleSet(
        key=key,
        version=(latest or 0) + 1,
        rules=rules_to_json(parsed),
        created_by=ctx.actor.id,
    )
    session.add(rs)
    await session.flush()
    await session.refresh(rs)
    await record_created(session, ctx, "rule_set", rs)
    return rs


async def _check_ids(
    session: AsyncSession, model: Any, ids: Iterable[uuid.UUID], field: str
) -> None:
    wanted = set(ids)
    if not wanted:
        return
    found = set((await session.execute(select(model.id).where(model.id.in_(wanted)))).scalars())
    missing = wanted - found
    if missing:
        raise InvalidInput(
            f"unknown ids in {field}",
            [issue(field, f"unknown: {', '.join(sorted(str(m) for m in missing))}")],
        )


async def _set_links(
    session: AsyncSession, window: CallWindow, body: c.WindowCreate | c.WindowUpdate
) -> None:
    if body.territory_ids is not msgspec.UNSET:
        await _check_ids(session, Territory, body.territory_ids, "body.territory_ids")
        await session.execute(
            delete(WindowTerritory).where(col(WindowTerritory.window_id) == window.id)
        )
        for tid in sorted(set(body.territory_ids)):
            session.add(WindowTerritory(window_id=window.id, territory_id=tid))
    if body.action_plan_item_ids is not msgspec.UNSET:
        await _check_ids(
            session, ActionPlanItem, body.action_plan_item_ids, "body.action_plan_item_ids"
        )
        await session.execute(
            delete(WindowActionPlanItem).where(col(WindowActionPlanItem.window_id) == window.id)
        )
        for iid in sorted(set(body.action_plan_item_ids)):
            session.add(WindowActionPlanItem(window_id=window.id, action_plan_item_id=iid))
    if body.allocations is not msgspec.UNSET:
        sources = [a.funding_source_id for a in body.allocations]
        if len(sources) != len(set(sources)):
            raise InvalidInput(
                "a source is allocated twice", [issue("body.allocations", "duplicate source")]
            )
        await session.execute(
            delete(WindowAllocation).where(col(WindowAllocation.window_id) == window.id)
        )
        for a in body.allocations:
            session.add(
                WindowAllocation(
                    window_id=window.id,
                    funding_source_id=a.funding_source_id,
                    amount=a.amount,
                    currency=window.currency,
                )
            )
    await session.flush()


def _checked_quotas(quotas: list[Any]) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = [msgspec.to_builtins(q) for q in quotas]
    problems = check_quotas(data)
    if problems:
        raise InvalidInput(
            "the quotas are not valid", [issue("body.quotas", message) for message in problems]
        )
    return data


def _check_window(
    opens_at: datetime,
    closes_at: datetime,
    min_grant: int,
    max_grant: int,
    review_deadline: datetime | None = None,
) -> None:
    issues = []
    if closes_at <= opens_at:
        issues.append(issue("body.closes_at", "must be after opens_at"))
    if review_deadline is not None and review_deadline <= closes_at:
        issues.append(issue("body.review_deadline", "must be after closes_at"))
    if min_grant > max_grant:
        issues.append(issue("body.max_grant", "must be at least min_grant"))
    if issues:
        raise InvalidInput("the window is not valid", issues)


async def create_window(
    session: AsyncSession, ctx: RequestContext, call_id: uuid.UUID, body: c.WindowCreate
) -> c.WindowRead:
    ctx.require(p.can_manage_calls(ctx.actor))
    call = await call_or_404(session, ctx, call_id, lock=True)
    _require_draft(call, "windows are added")
    _check_window(
        body.opens_at, body.closes_at, body.min_grant, body.max_grant, body.review_deadline
    )
    taken = (
        await session.execute(
            select(CallWindow.id).where(
                col(CallWindow.call_id) == call.id, col(CallWindow.code) == body.code
            )
        )
    ).first()
    if taken:
        raise Conflict(f"this call already has a window {body.code}")
    position = (
        await session.execute(
            select(func.count()).select_from(CallWindow).where(col(CallWindow.call_id) == call.id)
        )
    ).scalar_one()
    window = CallWindow(
        call_id=call.id,
        code=body.code,
        position=int(position),
        title=i18n_dict(body.title),
        description=i18n_dict(body.description) if body.description else None,
        opens_at=body.opens_at.astimezone(UTC),
        closes_at=body.closes_at.astimezone(UTC),
        min_grant=body.min_grant,
        max_grant=body.max_grant,
        currency=call.currency,
        blind_review=body.blind_review,
        reviewers_per_proposal=body.reviewers_per_proposal,
        review_deadline=body.review_deadline.astimezone(UTC) if body.review_deadline else None,
        avoid_same_territory_reviewers=body.avoid_same_territory_reviewers,
        reviewers_see_panel_scores=body.reviewers_see_panel_scores,
        selection_policy=body.selection_policy,
        quotas=_checked_quotas(body.quotas),
        calibration={"method": body.calibration},
        partial_funding_floor_pct=body.partial_funding_floor_pct,
    )
    session.add(window)
    await session.flush()
    if body.rules:
        rs = await _new_rule_set(session, ctx, f"window:{window.id}", body.rules)
        window.rule_set_id = rs.id
    await _set_links(session, window, body)
    await _check_envelopes(session, call)
    await session.refresh(window)
    await record_created(session, ctx, "window", window)
    return (await _window_reads(session, [window], utcnow()))[call.id][0]


async def update_window(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID, body: c.WindowUpdate
) -> c.WindowRead:
    ctx.require(p.can_manage_calls(ctx.actor))
    window, call = await window_or_404(session, ctx, window_id, lock=True)
    check_version(window, body)
    frozen_fields = [
        f
        for f in body.__struct_fields__
        if f
        not in {"version", "title", "description", "review_deadline", "reviewers_see_panel_scores"}
        and getattr(body, f) is not msgspec.UNSET
    ]
    if frozen_fields and call.status != CallStatus.DRAFT:
        raise Conflict(
            f"the call is {call.status}: only title, description, review deadline and whether "
            "reviewers see the panel's scores may change "
            f"(not {', '.join(frozen_fields)})"
        )
    if body.quotas is not msgspec.UNSET:
        _checked_quotas(body.quotas)
    if body.opens_at is not msgspec.UNSET:
        body.opens_at = body.opens_at.astimezone(UTC)
    if body.closes_at is not msgspec.UNSET:
        body.closes_at = body.closes_at.astimezone(UTC)
    if isinstance(body.review_deadline, datetime):
        body.review_deadline = body.review_deadline.astimezone(UTC)
    await _set_links(session, window, body)
    plain = msgspec.structs.replace(
        body,
        allocations=msgspec.UNSET,
        territory_ids=msgspec.UNSET,
        action_plan_item_ids=msgspec.UNSET,
    )
    changed = await update_versioned(
        session,
        ctx,
        window,
        plain,
        entity="window",
        validate=lambda w: _check_window(
            w.opens_at, w.closes_at, w.min_grant, w.max_grant, w.review_deadline
        ),
    )
    links_sent = any(
        getattr(body, f) is not msgspec.UNSET
        for f in ("allocations", "territory_ids", "action_plan_item_ids")
    )
    if links_sent:
        await _check_envelopes(session, call)
        if not changed:
            window.version += 1
        await record(
            session,
            ctx,
            action="window.links_replaced",
            entity="window",
            entity_id=window.id,
            after={
                f: msgspec.to_builtins(getattr(body, f))
                for f in ("allocations", "territory_ids", "action_plan_item_ids")
                if getattr(body, f) is not msgspec.UNSET
            },
        )
        await session.flush()
    return (await _window_reads(session, [window], utcnow()))[call.id][0]


async def replace_rules(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID, body: c.RulesReplace
) -> c.WindowRead:
    """A new version of the window's rules; refused once any proposal was submitted to it."""
    ctx.require(p.can_manage_calls(ctx.actor))
    window, call = await window_or_404(session, ctx, window_id, lock=True)
    check_version(window, body)
    submitted = (
        await session.execute(
            select(func.count())
            .select_from(Proposal)
            .where(
                col(Proposal.window_id) == window.id,
                col(Proposal.submitted_at).is_not(None),
            )
        )
    ).scalar_one()
    if submitted:
        raise Conflict(
            f"{submitted} proposal(s) were already judged by these rules: they cannot change now"
        )
    before = {"rule_set_id": str(window.rule_set_id) if window.rule_set_id else None}
    rs = await _new_rule_set(session, ctx, f"window:{window.id}", body.rules)
    window.rule_set_id = rs.id
    window.version += 1
    await session.flush()
    await record(
        session,
        ctx,
        action="window.rules_replaced",
        entity="window",
        entity_id=window.id,
        before=before,
        after={"rule_set_id": str(rs.id), "rule_set_version": rs.version},
    )
    return (await _window_reads(session, [window], utcnow()))[call.id][0]
