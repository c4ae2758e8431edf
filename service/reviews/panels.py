"""Panels and the conflicts of interest the system detects: who sits on a window's panel (and its
load caps), ties between reviewers and applicants, the window's conflicts."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts import permissions as p
from contracts import reviews as c
from contracts.enums import ConflictSource, Role
from service.audit.service import record
from service.calls.service import window_or_404
from service.changes import record_created
from service.context import RequestContext
from service.mapping import to_read
from service.persistence.models import (
    Affiliation,
    CallWindow,
    Conflict,
    Membership,
    Organisation,
    Panel,
    PanelMember,
    Pcc,
    PccMember,
    Proposal,
    ProposalCoApplicant,
    UserRole,
)
from service.problems import InvalidInput, issue

PANEL_NAME = "Review panel"


async def _panel(session: AsyncSession, window: CallWindow) -> Panel:
    panel = (
        (await session.execute(select(Panel).where(col(Panel.window_id) == window.id)))
        .scalars()
        .first()
    )
    if panel is None:
        panel = Panel(window_id=window.id, name=PANEL_NAME)
        session.add(panel)
        await session.flush()
    return panel


async def _panel_ids(session: AsyncSession, window_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        (
            await session.execute(
                select(PanelMember.user_id)
                .join(Panel, col(Panel.id) == col(PanelMember.panel_id))
                .where(col(Panel.window_id) == window_id)
                .order_by(col(PanelMember.user_id))
            )
        ).scalars()
    )


async def _panel_caps(session: AsyncSession, window_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """The stored load caps of the window's panel members (members without one left out)."""
    return {
        uid: cap
        for uid, cap in (
            await session.execute(
                select(PanelMember.user_id, PanelMember.load_cap)
                .join(Panel, col(Panel.id) == col(PanelMember.panel_id))
                .where(col(Panel.window_id) == window_id, col(PanelMember.load_cap).is_not(None))
            )
        ).all()
        if cap is not None
    }


def _caps_by_reviewer(caps: list[c.ReviewerCap]) -> dict[uuid.UUID, int]:
    """The request's load caps as a mapping; a reviewer named twice is refused."""
    by_reviewer: dict[uuid.UUID, int] = {}
    twice: set[str] = set()
    for entry in caps:
        if entry.reviewer_id in by_reviewer:
            twice.add(str(entry.reviewer_id))
        by_reviewer[entry.reviewer_id] = entry.cap
    if twice:
        raise InvalidInput(
            "a reviewer has one load cap",
            [issue("body.caps", f"reviewers named more than once: {sorted(twice)}")],
        )
    return by_reviewer


def _caps_read(caps: dict[uuid.UUID, int]) -> list[c.ReviewerCap]:
    return [
        c.ReviewerCap(reviewer_id=k, cap=v)
        for k, v in sorted(caps.items(), key=lambda kv: str(kv[0]))
    ]


async def replace_panel(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID, body: c.PanelReplace
) -> c.PanelRead:
    ctx.require(p.can_manage_reviews(ctx.actor))
    window, _ = await window_or_404(session, ctx, window_id, lock=True)
    wanted = set(body.reviewer_ids)
    reviewers = (
        set(
            (
                await session.execute(
                    select(UserRole.user_id).where(
                        col(UserRole.user_id).in_(wanted), col(UserRole.role) == Role.REVIEWER
                    )
                )
            ).scalars()
        )
        if wanted
        else set()
    )
    if wanted - reviewers:
        raise InvalidInput(
            "only reviewers sit on a panel",
            [issue("body.reviewer_ids", f"not reviewers: {sorted(map(str, wanted - reviewers))}")],
        )
    asked = None if body.caps is None else _caps_by_reviewer(body.caps)
    if asked is not None and (strangers := set(asked) - wanted):
        raise InvalidInput(
            "load caps are for the panel's members",
            [
                issue("body.caps", f"{k} is not a member of the panel")
                for k in sorted(strangers, key=str)
            ],
        )
    panel = await _panel(session, window)
    stored = await _panel_caps(session, window.id)
    caps = {k: v for k, v in stored.items() if k in wanted} if asked is None else asked
    before = {
        "reviewer_ids": sorted(map(str, await _panel_ids(session, window.id))),
        "caps": {str(k): v for k, v in sorted(stored.items(), key=lambda kv: str(kv[0]))},
    }
    await session.execute(delete(PanelMember).where(col(PanelMember.panel_id) == panel.id))
    for rid in sorted(wanted):
        session.add(PanelMember(panel_id=panel.id, user_id=rid, load_cap=caps.get(rid)))
    await session.flush()
    after = {
        "reviewer_ids": sorted(map(str, wanted)),
        "caps": {str(k): v for k, v in sorted(caps.items(), key=lambda kv: str(kv[0]))},
    }
    await record(
        session,
        ctx,
        action="panel.replaced",
        entity="window",
        entity_id=window.id,
        before=before,
        after=after,
    )
    return c.PanelRead(window_id=window.id, reviewer_ids=sorted(wanted), caps=_caps_read(caps))


async def _detected_conflicts(
    session: AsyncSession,
    window: CallWindow,
    proposals: list[Proposal],
    reviewer_ids: list[uuid.UUID],
) -> dict[tuple[uuid.UUID, uuid.UUID], str]:
    """(proposal, reviewer) → reason, for ties the system can see."""
    if not proposals or not reviewer_ids:
        return {}
    pids = [x.id for x in proposals]
    orgs_of: dict[uuid.UUID, set[uuid.UUID]] = {x.id: {x.organisation_id} for x in proposals}
    for pid, oid in await session.execute(
        select(ProposalCoApplicant.proposal_id, ProposalCoApplicant.organisation_id).where(
            col(ProposalCoApplicant.proposal_id).in_(pids)
        )
    ):
        orgs_of[pid].add(oid)
    ties: dict[uuid.UUID, dict[uuid.UUID, str]] = defaultdict(dict)
    for uid, oid in await session.execute(
        select(Membership.user_id, Membership.organisation_id).where(
            col(Membership.user_id).in_(reviewer_ids)
        )
    ):
        ties[uid][oid] = "is a member of"
    for uid, oid in await session.execute(
        select(Affiliation.user_id, Affiliation.organisation_id).where(
            col(Affiliation.user_id).in_(reviewer_ids)
        )
    ):
        ties[uid].setdefault(oid, "declared an affiliation with")
    territory_of = dict(
        (
            await session.execute(
                select(Organisation.id, Organisation.territory_id).where(
                    col(Organisation.id).in_({x.organisation_id for x in proposals})
                )
            )
        ).all()
    )
    pcc_territories: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    if window.pcc_membership_is_conflict:
        for uid, tid in await session.execute(
            select(PccMember.user_id, Pcc.territory_id)
            .join(Pcc, col(Pcc.id) == col(PccMember.pcc_id))
            .where(col(PccMember.user_id).in_(reviewer_ids))
        ):
            if uid is not None:
                pcc_territories[uid].add(tid)
    names = dict(
        (
            await session.execute(
                select(Organisation.id, Organisation.name).where(
                    col(Organisation.id).in_(set().union(*orgs_of.values()))
                )
            )
        ).all()
    )
    found: dict[tuple[uuid.UUID, uuid.UUID], str] = {}
    for proposal in proposals:
        for rid in reviewer_ids:
            for oid in sorted(orgs_of[proposal.id] & set(ties[rid])):
                found[(proposal.id, rid)] = f"the reviewer {ties[rid][oid]} {names.get(oid, oid)}"
                break
            else:
                if territory_of[proposal.organisation_id] in pcc_territories[rid]:
                    found[(proposal.id, rid)] = (
                        "the reviewer sits on the PCC of the applicant's territory"
                    )
    return found


async def _record_detected(
    session: AsyncSession, ctx: RequestContext, found: dict[tuple[uuid.UUID, uuid.UUID], str]
) -> None:
    if not found:
        return
    existing = set(
        (
            await session.execute(
                select(Conflict.proposal_id, Conflict.reviewer_id).where(
                    col(Conflict.source) == ConflictSource.DETECTED,
                    col(Conflict.proposal_id).in_({pid for pid, _ in found}),
                )
            )
        ).all()
    )
    for (pid, rid), reason in sorted(found.items()):
        if (pid, rid) in existing:
            continue
        row = Conflict(
            proposal_id=pid, reviewer_id=rid, source=ConflictSource.DETECTED, reason=reason
        )
        session.add(row)
        await session.flush()
        await record_created(session, ctx, "conflict", row)


async def list_conflicts(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID
) -> c.ConflictList:
    ctx.require(p.can_read_conflicts(ctx.actor))
    await window_or_404(session, ctx, window_id)
    rows = (
        await session.execute(
            select(Conflict)
            .join(Proposal, col(Proposal.id) == col(Conflict.proposal_id))
            .where(col(Proposal.window_id) == window_id)
            .order_by(col(Conflict.created_at), col(Conflict.id))
        )
    ).scalars()
    return c.ConflictList(items=[to_read(c.ConflictRead, x) for x in rows])
