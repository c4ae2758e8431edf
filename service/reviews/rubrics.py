"""Rubrics: a window's versioned rubric and its criteria, frozen once proposals are submitted."""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts import permissions as p
from contracts import reviews as c
from contracts.common import ValidationIssue
from contracts.enums import CallStatus
from service.audit.service import record
from service.calls.service import window_or_404
from service.changes import check_version, record_created
from service.context import RequestContext
from service.i18n import i18n, i18n_dict
from service.mapping import to_read
from service.persistence.models import Call, CallWindow, Criterion, Proposal, Rubric
from service.problems import Conflict as ConflictProblem
from service.problems import InvalidInput, NotFound, issue


async def rubric_read(session: AsyncSession, rubric: Rubric) -> c.RubricRead:
    criteria = list(
        (
            await session.execute(
                select(Criterion)
                .where(col(Criterion.rubric_id) == rubric.id)
                .order_by(col(Criterion.position))
            )
        ).scalars()
    )
    return to_read(
        c.RubricRead,
        rubric,
        name=i18n(rubric.name),
        criteria=[
            to_read(
                c.CriterionRead,
                x,
                name=i18n(x.name),
                guidance=i18n(x.guidance) if x.guidance else None,
            )
            for x in criteria
        ],
    )


def _validate_rubric(body: c.RubricCreate) -> None:
    issues: list[ValidationIssue] = []
    codes = [x.code for x in body.criteria]
    for n, x in enumerate(body.criteria):
        at = f"body.criteria[{n}]"
        if codes.count(x.code) > 1:
            issues.append(issue(f"{at}.code", f"{x.code} is used twice"))
        if x.scale_min >= x.scale_max:
            issues.append(issue(f"{at}.scale_max", "must be above scale_min"))
        elif (x.scale_max - x.scale_min) % x.scale_step:
            issues.append(issue(f"{at}.scale_step", "must divide the scale's range"))
        if x.threshold is not None and not x.scale_min <= x.threshold <= x.scale_max:
            issues.append(issue(f"{at}.threshold", "must lie on the scale"))
    top = max((x.scale_max for x in body.criteria), default=0)
    if body.overall_threshold is not None and body.overall_threshold > top:
        issues.append(issue("body.overall_threshold", "above every criterion's maximum"))
    for n, code in enumerate(body.tie_break):
        if code not in codes:
            issues.append(issue(f"body.tie_break[{n}]", f"no criterion {code}"))
    if len(set(body.tie_break)) != len(body.tie_break):
        issues.append(issue("body.tie_break", "a criterion is listed twice"))
    if issues:
        raise InvalidInput("the rubric is not valid", issues)


async def _submitted_count(session: AsyncSession, window_id: uuid.UUID) -> int:
    return int(
        (
            await session.execute(
                select(func.count())
                .select_from(Proposal)
                .where(
                    col(Proposal.window_id) == window_id, col(Proposal.submitted_at).is_not(None)
                )
            )
        ).scalar_one()
    )


async def set_window_rubric(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID, body: c.RubricCreate
) -> c.RubricRead:
    """A new rubric version for the window; refused once proposals were submitted to it."""
    ctx.require(p.can_manage_reviews(ctx.actor))
    window, _ = await window_or_404(session, ctx, window_id, lock=True)
    check_version(window, body)
    _validate_rubric(body)
    if submitted := await _submitted_count(session, window.id):
        raise ConflictProblem(
            f"{submitted} proposal(s) were submitted to this window: its rubric is frozen"
        )
    key = f"window:{window.id}"
    latest = (
        await session.execute(select(func.max(Rubric.version)).where(col(Rubric.key) == key))
    ).scalar_one_or_none()
    assert ctx.actor.id is not None
    rubric = Rubric(
        key=key,
        version=(latest or 0) + 1,
        name=i18n_dict(body.name),
        overall_threshold=body.overall_threshold,
        tie_break=list(body.tie_break),
        aggregation=body.aggregation,
        created_by=ctx.actor.id,
    )
    session.add(rubric)
    await session.flush()
    for n, x in enumerate(body.criteria):
        session.add(
            Criterion(
                rubric_id=rubric.id,
                code=x.code,
                position=n,
                name=i18n_dict(x.name),
                guidance=i18n_dict(x.guidance) if x.guidance else None,
                weight=x.weight,
                scale_min=x.scale_min,
                scale_max=x.scale_max,
                scale_step=x.scale_step,
                threshold=x.threshold,
                na_allowed=x.na_allowed,
            )
        )
    await session.flush()
    await session.refresh(rubric)
    await record_created(
        session, ctx, "rubric", rubric, extra={"criteria": msgspec.to_builtins(body.criteria)}
    )
    before = {"rubric_id": str(window.rubric_id) if window.rubric_id else None}
    window.rubric_id = rubric.id
    window.version += 1
    await session.flush()
    await record(
        session,
        ctx,
        action="window.rubric_replaced",
        entity="window",
        entity_id=window.id,
        before=before,
        after={"rubric_id": str(rubric.id), "rubric_version": rubric.version},
    )
    return await rubric_read(session, rubric)


async def get_rubric(
    session: AsyncSession, ctx: RequestContext, rubric_id: uuid.UUID
) -> c.RubricRead:
    ctx.require(p.can_read_published_calls(ctx.actor))
    rubric = await session.get(Rubric, rubric_id)
    call_status = (
        (
            await session.execute(
                select(Call.status)
                .join(CallWindow, col(CallWindow.call_id) == col(Call.id))
                .where(col(CallWindow.rubric_id) == rubric_id)
            )
        )
        .scalars()
        .first()
    )
    hidden = call_status in (None, CallStatus.DRAFT) and not p.sees_draft_calls(ctx.actor)
    if rubric is None or hidden:
        raise NotFound(f"rubric {rubric_id} does not exist")
    return await rubric_read(session, rubric)
