"""Use cases of selection: runs (seed hash first, seed after), replay, approval, decisions,
the reserve moving up, and the applicant's feedback."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from anyio import to_thread
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts import permissions as p
from contracts import selection as c
from contracts.common import ValidationIssue
from contracts.enums import (
    CallStatus,
    DecisionChangeStatus,
    DecisionOutcome,
    DecisionReasonCode,
    ProposalStatus,
    ReviewStatus,
    SelectionPolicy,
    SelectionRunStatus,
)
from contracts.lifecycles import PROPOSAL_TRANSITIONS, allowed_next, can_move
from contracts.permissions import Actor
from contracts.webhooks import EventType
from scoring.ranking import seed_hash
from scoring.selection import InfeasibleQuotas, check_quotas
from service.audit.service import record
from service.calls.service import window_or_404
from service.changes import move_proposal
from service.context import RequestContext, utcnow
from service.i18n import i18n
from service.persistence.models import (
    AppUser,
    Call,
    CallWindow,
    Conflict,
    ConsensusScore,
    Criterion,
    Decision,
    DecisionChange,
    Organisation,
    Proposal,
    Review,
    ReviewAssignment,
    SelectionRun,
    Territory,
    WindowAllocation,
)
from service.problems import Conflict as ConflictProblem
from service.problems import FeedbackNotPublished, IllegalTransition, InvalidInput, NotFound
from service.selection.compute import (
    ConsensusInput,
    CriterionInput,
    ProposalInput,
    RubricInput,
    ScoreInput,
    SelectionInputs,
    compute,
    library_versions,
)
from service.selection.scores import counted_scores, window_rubric
from service.webhooks.events import emit

OUTCOME_STATUS = {
    "funded": ProposalStatus.SELECTED,
    "reserve": ProposalStatus.RESERVE,
    "not_funded": ProposalStatus.NOT_SELECTED,
    "ineligible": ProposalStatus.NOT_SELECTED,
}


async def _names(session: AsyncSession, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """Display names of the people behind these ids (staff: shown on the officers' pages)."""
    wanted = {x for x in ids if x is not None}
    if not wanted:
        return {}
    rows = await session.execute(
        select(AppUser.id, AppUser.full_name).where(col(AppUser.id).in_(wanted))
    )
    return {uid: name for uid, name in rows.all()}


async def _read(session: AsyncSession, run: SelectionRun) -> c.SelectionRunRead:
    revealed = run.status != SelectionRunStatus.PENDING
    names = await _names(session, (run.created_by, run.computed_by, run.approved_by))
    return c.SelectionRunRead(
        id=run.id,
        window_id=run.window_id,
        policy=run.policy,
        status=run.status,
        seed_hash=run.seed_hash or "",
        seed=run.seed if revealed else None,
        config=run_config(run.config),
        outputs=run_outputs(run),
        library_versions=dict(run.library_versions),
        created_at=run.created_at,
        approved_at=run.approved_at,
        created_by=run.created_by,
        created_by_name=names.get(run.created_by, ""),
        computed_by=run.computed_by,
        computed_by_name=names.get(run.computed_by) if run.computed_by else None,
        computed_at=run.computed_at,
        approved_by=run.approved_by,
        approved_by_name=names.get(run.approved_by) if run.approved_by else None,
    )


def run_config(stored: Mapping[str, Any]) -> c.SelectionRunConfig:
    """A run's configuration as stored (JSON), typed; quota values read as text, as entered."""
    data = dict(stored)
    data["quotas"] = [{**q, "value": str(q["value"])} for q in data.get("quotas") or []]
    if data.get("calibration") is None:
        data.pop("calibration", None)
    return msgspec.convert(data, c.SelectionRunConfig)


DECLINED_REASON = "declined by the applicant"
"""The decision's reason when an applicant declines without giving one (documents word it in
their language)."""


@dataclass(frozen=True, slots=True)
class ReasonWording:
    """What a decision's reason says, for wording it in any language (the feedback page, the
    feedback PDF). `code` None: the reason is a person's words, shown as written."""

    code: DecisionReasonCode | None
    place: int | None = None
    amount: int | None = None


async def reason_wording(session: AsyncSession, decision: Decision) -> ReasonWording:
    """A decision the selection run made (it names the run) says what the run's result says
    of the proposal: its outcome, reserve place and amount. So does a reserve proposal moved
    up when another declined, and a decline the applicant gave no reason for. Anything else
    is what an officer (or the applicant) typed."""
    run = await session.get(SelectionRun, decision.run_id) if decision.run_id else None
    outputs = run_outputs(run) if run is not None else None
    pid = str(decision.proposal_id)
    entries = outputs.entries if outputs is not None else []
    entry = next((e for e in entries if e.proposal_id == pid), None)
    if outputs is not None and entry is not None:
        place = outputs.reserve.index(pid) + 1 if pid in outputs.reserve else None
        if entry.status == "reserve" and place is not None:
            if decision.outcome == DecisionOutcome.SELECTED:
                return ReasonWording(DecisionReasonCode.MOVED_UP, place=place)
            return ReasonWording(DecisionReasonCode.RESERVE, place=place)
        if entry.status == "funded":
            return ReasonWording(DecisionReasonCode.FUNDED, amount=entry.amount)
        if entry.status in ("not_funded", "reserve"):
            return ReasonWording(DecisionReasonCode.NOT_FUNDED)
        return ReasonWording(DecisionReasonCode.INELIGIBLE)
    if decision.outcome == DecisionOutcome.NOT_SELECTED and decision.reason == DECLINED_REASON:
        return ReasonWording(DecisionReasonCode.DECLINED)
    return ReasonWording(None)


def run_outputs(run: SelectionRun) -> c.SelectionOutputs | None:
    """A computed run's outputs as stored (JSON), typed; None while pending."""
    return None if run.outputs is None else msgspec.convert(run.outputs, c.SelectionOutputs)


def run_inputs(run: SelectionRun) -> SelectionInputs:
    return msgspec.convert(run.inputs, SelectionInputs)


async def _run_or_404(
    session: AsyncSession, run_id: uuid.UUID, *, lock: bool = False
) -> SelectionRun:
    run = await session.get(SelectionRun, run_id, with_for_update=lock)
    if run is None:
        raise NotFound(f"selection run {run_id} does not exist")
    return run


async def create_run(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID, body: c.SelectionRunCreate
) -> c.SelectionRunRead:
    """Fix the configuration and commit to a secret seed: its hash is published now."""
    ctx.require(p.can_run_selection(ctx.actor))
    window, call = await window_or_404(session, ctx, window_id)
    if call.status == CallStatus.DRAFT:
        raise ConflictProblem("the call is not published")
    envelope = (
        await session.execute(
            select(func.coalesce(func.sum(WindowAllocation.amount), 0)).where(
                col(WindowAllocation.window_id) == window.id
            )
        )
    ).scalar_one()
    policy = body.policy or window.selection_policy or SelectionPolicy.OPTIMAL
    quotas = (
        [msgspec.to_builtins(q) for q in body.quotas]
        if body.quotas is not None
        else list(window.quotas)
    )
    bad = check_quotas(quotas)
    if bad:
        raise InvalidInput(
            "the quotas are not valid",
            [ValidationIssue(field="body.quotas", message=m) for m in bad],
        )
    config = {
        "policy": policy.value,
        "budget": body.budget if body.budget is not None else int(envelope),
        "quotas": quotas,
        "partial_funding_floor_pct": body.partial_funding_floor_pct
        if body.partial_funding_floor_pct is not None
        else window.partial_funding_floor_pct,
        "reserve_size": body.reserve_size,
        # the window says whether calibration applies; a run may ask for it explicitly
        "calibration": body.calibration
        if body.calibration is not None
        else str(window.calibration.get("method", "none")),
    }
    seed = secrets.token_hex(32)
    assert ctx.actor.id is not None
    run = SelectionRun(
        window_id=window.id,
        policy=policy,
        config=config,
        inputs={},
        seed=seed,
        seed_hash=seed_hash(seed.encode()),
        library_versions={},
        status=SelectionRunStatus.PENDING,
        created_by=ctx.actor.id,
    )
    await _add_recorded(
        session,
        ctx,
        run,
        action="selection_run.created",
        entity="selection_run",
        after={"config": config, "seed_hash": run.seed_hash},
    )
    return await _read(session, run)


async def _inputs(session: AsyncSession, window_id: uuid.UUID) -> SelectionInputs:
    """Everything the computation needs: stored with the run (JSON) for replay."""
    window = await session.get_one(CallWindow, window_id)
    rubric, criteria = await window_rubric(session, window)
    code_of = {x.id: x.code for x in criteria}
    proposals = list(
        (
            await session.execute(
                select(Proposal, Organisation, Territory.code)
                .join(Organisation, col(Organisation.id) == col(Proposal.organisation_id))
                .join(Territory, col(Territory.id) == col(Organisation.territory_id))
                .where(
                    col(Proposal.window_id) == window_id,
                    col(Proposal.status) == ProposalStatus.SCORED,
                )
                .order_by(col(Proposal.id))
            )
        ).all()
    )
    ids = [x.id for x, _, _ in proposals]
    scores = [
        ScoreInput(proposal=str(pid), reviewer=str(rid), criterion=code, value=value)
        for pid, rid, code, value in await counted_scores(session, ids, code_of)
    ]
    consensus = (
        [
            ConsensusInput(proposal=str(pid), criterion=code_of[crit], value=value)
            for pid, crit, value in (
                await session.execute(
                    select(
                        ConsensusScore.proposal_id,
                        ConsensusScore.criterion_id,
                        ConsensusScore.value,
                    )
                    .where(col(ConsensusScore.proposal_id).in_(ids))
                    .order_by(col(ConsensusScore.proposal_id), col(ConsensusScore.criterion_id))
                )
            ).all()
            if crit in code_of
        ]
        if ids
        else []
    )
    return SelectionInputs(
        currency=window.currency,
        rubric=RubricInput(
            id=str(rubric.id),
            version=rubric.version,
            aggregation=str(rubric.aggregation),
            overall_threshold=rubric.overall_threshold,
            tie_break=list(rubric.tie_break),
            criteria=[
                CriterionInput(
                    code=x.code,
                    weight=x.weight,
                    scale_min=x.scale_min,
                    scale_max=x.scale_max,
                    scale_step=x.scale_step,
                    threshold=x.threshold,
                )
                for x in criteria
            ],
        ),
        proposals=[
            ProposalInput(
                id=str(prop.id),
                cost=prop.requested_amount,
                organisation=str(org.id),
                territory=code,
                women_led=org.women_led,
                youth_led=org.youth_led,
                receipt_number=prop.receipt_number,
            )
            for prop, org, code in proposals
        ],
        scores=scores,
        consensus=consensus,
    )


async def compute_run(
    session: AsyncSession, ctx: RequestContext, run_id: uuid.UUID
) -> c.SelectionRunRead:
    """Draw: gather the inputs, compute, store everything, reveal the seed."""
    ctx.require(p.can_run_selection(ctx.actor))
    run = await _run_or_404(session, run_id, lock=True)
    if run.status != SelectionRunStatus.PENDING:
        raise IllegalTransition(
            f"the run is {run.status}; only a pending run is computed", allowed=[]
        )
    inputs = await _inputs(session, run.window_id)
    if not inputs.proposals:
        raise ConflictProblem("no scored proposal in this window yet")
    assert run.seed is not None
    # seconds of CPU for a large window: in a worker thread, so the server keeps answering
    config = run_config(run.config)
    try:
        outputs = await to_thread.run_sync(compute, inputs, config, run.seed.encode())
    except InfeasibleQuotas as exc:
        raise InvalidInput(
            f"the quotas cannot all be met: {exc.diagnosis}",
            [ValidationIssue(field="config.quotas", message=exc.quota.describe())],
        ) from exc
    run.inputs = msgspec.to_builtins(inputs)
    run.outputs = msgspec.to_builtins(outputs)
    run.library_versions = library_versions()
    run.status = SelectionRunStatus.COMPUTED
    run.computed_by = ctx.actor.id
    run.computed_at = utcnow()
    await session.flush()
    await record(
        session,
        ctx,
        action="selection_run.computed",
        entity="selection_run",
        entity_id=run.id,
        after={
            "seed": run.seed,
            "computed_by": str(run.computed_by),
            "funded_total": outputs.funded_total,
            "funded": [e.proposal_id for e in outputs.entries if e.status == "funded"],
        },
    )
    return await _read(session, run)


async def get_run(
    session: AsyncSession, ctx: RequestContext, run_id: uuid.UUID
) -> c.SelectionRunRead:
    ctx.require(p.can_read_selection(ctx.actor))
    return await _read(session, await _run_or_404(session, run_id))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


async def replay_run(session: AsyncSession, ctx: RequestContext, run_id: uuid.UUID) -> c.ReplayRead:
    """Recompute from the stored inputs, configuration and seed: must be identical."""
    ctx.require(p.can_read_selection(ctx.actor))
    run = await _run_or_404(session, run_id)
    if run.outputs is None or run.seed is None:
        raise ConflictProblem("the run has not been computed")
    again = await to_thread.run_sync(
        compute, run_inputs(run), run_config(run.config), run.seed.encode()
    )
    # JSONB reorders object keys: compare canonical JSON (sorted keys), not bytes as stored; the
    # stored outputs as the contract reads them (a field added since is its default there)
    stored = msgspec.to_builtins(run_outputs(run))
    identical = _canonical(msgspec.to_builtins(again)) == _canonical(stored)
    return c.ReplayRead(identical=identical, outputs=again)


async def _set_decision(
    session: AsyncSession,
    ctx: RequestContext,
    proposal: Proposal,
    outcome: DecisionOutcome,
    reason: str,
    run_id: uuid.UUID | None,
) -> Decision:
    current = (
        (
            await session.execute(
                select(Decision)
                .where(col(Decision.proposal_id) == proposal.id, col(Decision.is_current))
                .with_for_update()
            )
        )
        .scalars()
        .first()
    )
    if current is not None:
        current.is_current = False
        await session.flush()
    assert ctx.actor.id is not None
    row = Decision(
        proposal_id=proposal.id,
        outcome=outcome,
        reason=reason,
        run_id=run_id,
        actor_id=ctx.actor.id,
        is_current=True,
    )
    session.add(row)
    await session.flush()
    return row


async def _add_recorded(
    session: AsyncSession,
    ctx: RequestContext,
    row: SelectionRun | DecisionChange,
    *,
    action: str,
    entity: str,
    after: dict[str, Any],
    reason: str | None = None,
) -> None:
    """Store a new row (flushed, its server-made values read back) and audit its creation."""
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await record(
        session, ctx, action=action, entity=entity, entity_id=row.id, after=after, reason=reason
    )


async def approve_run(
    session: AsyncSession, ctx: RequestContext, run_id: uuid.UUID, body: c.SelectionRunTransition
) -> c.SelectionRunRead:
    """Proposals become selected / reserve / not selected, each with its reason."""
    ctx.require(p.can_run_selection(ctx.actor))
    run = await _run_or_404(session, run_id, lock=True)
    outputs = run_outputs(run)
    if run.status != SelectionRunStatus.COMPUTED or outputs is None:
        raise IllegalTransition(
            f"the run is {run.status}; only a computed run is approved", allowed=[]
        )
    # four eyes: a second programme officer, neither the run's creator nor its computer
    ctx.require(p.can_approve_selection_run(ctx.actor, run.created_by, run.computed_by))
    entries = {e.proposal_id: e for e in outputs.entries}
    rows = list(
        (
            await session.execute(
                select(Proposal)
                .where(col(Proposal.id).in_([uuid.UUID(i) for i in entries]))
                .order_by(col(Proposal.id))
                .with_for_update()
            )
        ).scalars()
    )
    stale = [str(x.id) for x in rows if x.status != ProposalStatus.SCORED]
    if stale or len(rows) != len(entries):
        raise ConflictProblem(
            "proposals changed since the run was computed; compute a new run "
            f"({', '.join(stale) or 'some were removed'})"
        )
    for proposal in rows:
        e = entries[str(proposal.id)]
        target = OUTCOME_STATUS[e.status]
        move_proposal(proposal, target)
        await _set_decision(session, ctx, proposal, DecisionOutcome(target.value), e.reason, run.id)
        await record(
            session,
            ctx,
            action=f"proposal.{target.value}",
            entity="proposal",
            entity_id=proposal.id,
            before={"status": "scored"},
            after={"status": target.value, "run_id": str(run.id), "amount": e.amount},
            reason=e.reason,
        )
    others = list(
        (
            await session.execute(
                select(SelectionRun).where(
                    col(SelectionRun.window_id) == run.window_id,
                    col(SelectionRun.id) != run.id,
                    col(SelectionRun.status).in_(
                        [SelectionRunStatus.PENDING, SelectionRunStatus.COMPUTED]
                    ),
                )
            )
        ).scalars()
    )
    for other in others:
        other.status = SelectionRunStatus.SUPERSEDED
    run.status = SelectionRunStatus.APPROVED
    run.approved_by = ctx.actor.id
    run.approved_at = utcnow()
    await session.flush()
    await record(
        session,
        ctx,
        action="selection_run.approved",
        entity="selection_run",
        entity_id=run.id,
        after={
            "status": "approved",
            "created_by": str(run.created_by),
            "computed_by": str(run.computed_by),
            "approved_by": str(run.approved_by),
        },
        reason=body.reason,
    )
    await emit(
        session, EventType.SELECTION_APPROVED, {"window_id": run.window_id, "run_id": run.id}
    )
    return await _read(session, run)


async def _proposal(session: AsyncSession, proposal_id: uuid.UUID) -> Proposal:
    # re-read under the lock: a row already in the session may be older than what it locked
    row = await session.get(Proposal, proposal_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise NotFound(f"proposal {proposal_id} does not exist")
    return row


def _decision_read(d: Decision) -> c.DecisionRead:
    return c.DecisionRead(
        id=d.id,
        proposal_id=d.proposal_id,
        outcome=d.outcome,
        reason=d.reason,
        run_id=d.run_id,
        created_at=d.created_at,
    )


async def _approved_run(session: AsyncSession, window_id: uuid.UUID) -> SelectionRun | None:
    return (
        (
            await session.execute(
                select(SelectionRun).where(
                    col(SelectionRun.window_id) == window_id,
                    col(SelectionRun.status) == SelectionRunStatus.APPROVED,
                )
            )
        )
        .scalars()
        .first()
    )


async def override_decision(
    session: AsyncSession, ctx: RequestContext, proposal_id: uuid.UUID, body: c.DecisionCreate
) -> c.DecisionRead:
    """A decision recorded directly, before the window's selection is approved: a reason is
    required and audited. After the approval a change needs a second officer
    (`propose_decision_change`)."""
    ctx.require(p.can_run_selection(ctx.actor))
    proposal = await _proposal(session, proposal_id)
    if await _approved_run(session, proposal.window_id) is not None:
        raise ConflictProblem(
            "four eyes: the window's selection is approved, so a change of decision needs a "
            "second programme officer; propose it with POST "
            f"/api/v1/proposals/{proposal_id}/decision-changes"
        )
    before = proposal.status
    move_proposal(proposal, ProposalStatus(body.outcome.value))
    decision = await _set_decision(session, ctx, proposal, body.outcome, body.reason, None)
    await session.refresh(decision)
    await record(
        session,
        ctx,
        action="decision.overridden",
        entity="proposal",
        entity_id=proposal.id,
        before={"status": before.value},
        after={"status": proposal.status.value},
        reason=body.reason,
    )
    return _decision_read(decision)


# --- changes of decision after the approval: four eyes -----------------------------------------


async def _change_reads(
    session: AsyncSession, changes: list[tuple[DecisionChange, Proposal]]
) -> list[c.DecisionChangeRead]:
    names = await _names(
        session,
        [
            x
            for change, _ in changes
            for x in (change.requested_by, change.confirmed_by, change.rejected_by)
        ],
    )
    return [
        c.DecisionChangeRead(
            id=change.id,
            proposal_id=change.proposal_id,
            proposal_title=proposal.title,
            window_id=proposal.window_id,
            from_status=change.from_status.value,
            outcome=change.outcome,
            reason=change.reason,
            status=change.status,
            requested_by=change.requested_by,
            requested_by_name=names.get(change.requested_by, ""),
            requested_at=change.requested_at,
            confirmed_by=change.confirmed_by,
            confirmed_by_name=names.get(change.confirmed_by) if change.confirmed_by else None,
            rejected_by=change.rejected_by,
            rejected_by_name=names.get(change.rejected_by) if change.rejected_by else None,
            rejection_reason=change.rejection_reason,
            decided_at=change.decided_at,
            decision_id=change.decision_id,
        )
        for change, proposal in changes
    ]


async def _change_or_404(
    session: AsyncSession, change_id: uuid.UUID, *, lock: bool = False
) -> DecisionChange:
    change = await session.get(
        DecisionChange, change_id, with_for_update=lock, populate_existing=lock
    )
    if change is None:
        raise NotFound(f"decision change {change_id} does not exist")
    return change


async def propose_decision_change(
    session: AsyncSession, ctx: RequestContext, proposal_id: uuid.UUID, body: c.DecisionCreate
) -> c.DecisionChangeRead:
    """One programme officer proposes a change of decision, with its reason: it waits for a
    second officer; nothing moves yet."""
    ctx.require(p.can_propose_decision_change(ctx.actor))
    proposal = await _proposal(session, proposal_id)  # locked: one pending change at a time
    target = ProposalStatus(body.outcome.value)
    if not can_move(PROPOSAL_TRANSITIONS, proposal.status, target):
        raise IllegalTransition(
            f"a {proposal.status} proposal cannot become {target}",
            allowed=[s.value for s in allowed_next(PROPOSAL_TRANSITIONS, proposal.status)],
        )
    pending = (
        await session.execute(
            select(DecisionChange.id).where(
                col(DecisionChange.proposal_id) == proposal.id,
                col(DecisionChange.status) == DecisionChangeStatus.PENDING,
            )
        )
    ).scalar_one_or_none()
    if pending is not None:
        raise ConflictProblem(
            f"a change of this proposal's decision is already pending ({pending}): "
            "confirm or reject it first"
        )
    run = await _approved_run(session, proposal.window_id)
    assert ctx.actor.id is not None
    change = DecisionChange(
        proposal_id=proposal.id,
        run_id=run.id if run is not None else None,
        from_status=proposal.status,
        outcome=body.outcome,
        reason=body.reason,
        status=DecisionChangeStatus.PENDING,
        requested_by=ctx.actor.id,
    )
    await _add_recorded(
        session,
        ctx,
        change,
        action="decision_change.requested",
        entity="decision_change",
        after={
            "proposal_id": str(proposal.id),
            "from_status": proposal.status.value,
            "outcome": body.outcome.value,
            "status": "pending",
        },
        reason=body.reason,
    )
    return (await _change_reads(session, [(change, proposal)]))[0]


async def _pending_change_for_update(
    session: AsyncSession, change_id: uuid.UUID
) -> tuple[DecisionChange, Proposal]:
    """The change and its proposal, both locked (proposal first, as proposing locks them), and
    still pending."""
    found = await _change_or_404(session, change_id)
    proposal = await _proposal(session, found.proposal_id)
    change = await _change_or_404(session, change_id, lock=True)  # re-read under the lock
    if change.status != DecisionChangeStatus.PENDING:
        raise ConflictProblem(f"the change of decision is already {change.status}")
    return change, proposal


async def confirm_decision_change(
    session: AsyncSession,
    ctx: RequestContext,
    change_id: uuid.UUID,
    body: c.DecisionChangeTransition,
) -> c.DecisionChangeRead:
    """A second programme officer confirms: the proposal moves and the decision is recorded
    (by the proposer, confirmed by this officer)."""
    ctx.require(p.can_propose_decision_change(ctx.actor))
    change, proposal = await _pending_change_for_update(session, change_id)
    ctx.require(p.can_confirm_decision_change(ctx.actor, change.requested_by))
    if proposal.status != change.from_status:
        raise ConflictProblem(
            f"the proposal moved since the change was proposed (it was {change.from_status}, "
            f"it is {proposal.status}): reject this change and propose a new one"
        )
    before = proposal.status
    move_proposal(proposal, ProposalStatus(change.outcome.value))
    proposer = RequestContext(
        actor=Actor(kind="user", id=change.requested_by, label="decision-change"),
        request_id=ctx.request_id,
    )
    decision = await _set_decision(session, proposer, proposal, change.outcome, change.reason, None)
    change.status = DecisionChangeStatus.CONFIRMED
    change.confirmed_by = ctx.actor.id
    change.decided_at = utcnow()
    change.decision_id = decision.id
    await session.flush()
    people = {"requested_by": str(change.requested_by), "confirmed_by": str(ctx.actor.id)}
    await record(
        session,
        ctx,
        action="decision_change.confirmed",
        entity="decision_change",
        entity_id=change.id,
        before={"status": "pending"},
        after={"status": "confirmed", "decision_id": str(decision.id), **people},
        reason=body.reason,
    )
    await record(
        session,
        ctx,
        action="decision.overridden",
        entity="proposal",
        entity_id=proposal.id,
        before={"status": before.value},
        after={"status": proposal.status.value, "decision_change_id": str(change.id), **people},
        reason=change.reason,
    )
    return (await _change_reads(session, [(change, proposal)]))[0]


async def reject_decision_change(
    session: AsyncSession,
    ctx: RequestContext,
    change_id: uuid.UUID,
    body: c.DecisionChangeTransition,
) -> c.DecisionChangeRead:
    """Any programme officer rejects a pending change (its proposer withdraws it so); nothing
    moves."""
    ctx.require(p.can_reject_decision_change(ctx.actor))
    change, proposal = await _pending_change_for_update(session, change_id)
    change.status = DecisionChangeStatus.REJECTED
    change.rejected_by = ctx.actor.id
    change.rejection_reason = body.reason
    change.decided_at = utcnow()
    await session.flush()
    await record(
        session,
        ctx,
        action="decision_change.rejected",
        entity="decision_change",
        entity_id=change.id,
        before={"status": "pending"},
        after={
            "status": "rejected",
            "requested_by": str(change.requested_by),
            "rejected_by": str(ctx.actor.id),
        },
        reason=body.reason,
    )
    return (await _change_reads(session, [(change, proposal)]))[0]


async def get_decision_change(
    session: AsyncSession, ctx: RequestContext, change_id: uuid.UUID
) -> c.DecisionChangeRead:
    ctx.require(p.can_read_selection(ctx.actor))
    change = await _change_or_404(session, change_id)
    proposal = await session.get_one(Proposal, change.proposal_id)
    return (await _change_reads(session, [(change, proposal)]))[0]


async def list_decision_changes(
    session: AsyncSession,
    ctx: RequestContext,
    window_id: uuid.UUID,
    status: DecisionChangeStatus | None,
) -> list[c.DecisionChangeRead]:
    """The window's changes of decision, newest first."""
    ctx.require(p.can_read_selection(ctx.actor))
    await window_or_404(session, ctx, window_id)
    query = (
        select(DecisionChange, Proposal)
        .join(Proposal, col(Proposal.id) == col(DecisionChange.proposal_id))
        .where(col(Proposal.window_id) == window_id)
        .order_by(col(DecisionChange.requested_at).desc(), col(DecisionChange.id))
    )
    if status is not None:
        query = query.where(col(DecisionChange.status) == status)
    rows = [(change, proposal) for change, proposal in (await session.execute(query)).all()]
    return await _change_reads(session, rows)


async def list_runs(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID
) -> list[c.SelectionRunSummary]:
    """The window's selection runs, newest first, with who created, computed and approved."""
    ctx.require(p.can_read_selection(ctx.actor))
    await window_or_404(session, ctx, window_id)
    runs = list(
        (
            await session.execute(
                select(SelectionRun)
                .where(col(SelectionRun.window_id) == window_id)
                .order_by(col(SelectionRun.created_at).desc(), col(SelectionRun.id))
            )
        ).scalars()
    )
    names = await _names(
        session, [x for r in runs for x in (r.created_by, r.computed_by, r.approved_by)]
    )
    out = []
    for run in runs:
        outputs = run_outputs(run)
        budget = run.config.get("budget")
        out.append(
            c.SelectionRunSummary(
                id=run.id,
                window_id=run.window_id,
                policy=run.policy,
                status=run.status,
                seed_hash=run.seed_hash or "",
                created_at=run.created_at,
                created_by=run.created_by,
                created_by_name=names.get(run.created_by, ""),
                computed_by=run.computed_by,
                computed_by_name=names.get(run.computed_by) if run.computed_by else None,
                computed_at=run.computed_at,
                approved_by=run.approved_by,
                approved_by_name=names.get(run.approved_by) if run.approved_by else None,
                approved_at=run.approved_at,
                budget=int(budget) if budget is not None else None,
                funded_count=(
                    sum(1 for e in outputs.entries if e.status == "funded")
                    if outputs is not None
                    else None
                ),
                funded_total=outputs.funded_total if outputs is not None else None,
            )
        )
    return out


async def decline_award(
    session: AsyncSession, ctx: RequestContext, proposal_id: uuid.UUID, body: c.DeclineCreate
) -> c.DecisionRead:
    """The applicant declines its selection; the first reserve proposal moves up."""
    ctx.require(p.can_list_proposals(ctx.actor))
    found = await session.get(Proposal, proposal_id)
    if found is None or not p.can_read_proposal(ctx.actor, found.organisation_id).allowed:
        raise NotFound(f"proposal {proposal_id} does not exist or is not yours to see")
    ctx.require(p.can_edit_proposal(ctx.actor, found.organisation_id))
    proposal = await _proposal(session, proposal_id)  # now locked
    if proposal.status != ProposalStatus.SELECTED:
        raise IllegalTransition(
            "only a selected proposal can be declined",
            allowed=[s.value for s in allowed_next(PROPOSAL_TRANSITIONS, proposal.status)],
        )
    move_proposal(proposal, ProposalStatus.NOT_SELECTED)
    decision = await _set_decision(
        session,
        ctx,
        proposal,
        DecisionOutcome.NOT_SELECTED,
        body.reason or DECLINED_REASON,
        None,
    )
    await session.refresh(decision)
    await record(
        session,
        ctx,
        action="proposal.declined",
        entity="proposal",
        entity_id=proposal.id,
        before={"status": "selected"},
        after={"status": "not_selected"},
        reason=body.reason,
    )
    run = await _approved_run(session, proposal.window_id)
    approved = None if run is None else run_outputs(run)
    if run is not None and approved is not None:
        for pid in approved.reserve:
            nxt = await session.get(Proposal, uuid.UUID(pid), with_for_update=True)
            if nxt is not None and nxt.status == ProposalStatus.RESERVE:
                move_proposal(nxt, ProposalStatus.SELECTED)
                system = RequestContext.system("reserve-list", ctx.request_id)
                declined = proposal.receipt_number or proposal.id
                reason = f"moved up from the reserve list when {declined} declined"
                # the decision is the approved run's, taken by the officer who approved it
                approver = RequestContext(
                    actor=Actor(kind="user", id=run.approved_by, label="reserve-list"),
                    request_id=ctx.request_id,
                )
                await _set_decision(
                    session, approver, nxt, DecisionOutcome.SELECTED, reason, run.id
                )
                await record(
                    session,
                    system,
                    action="proposal.selected",
                    entity="proposal",
                    entity_id=nxt.id,
                    before={"status": "reserve"},
                    after={"status": "selected"},
                    reason=reason,
                )
                break
    return _decision_read(decision)


async def _publication_read(session: AsyncSession, window: CallWindow) -> c.FeedbackPublicationRead:
    run = await _approved_run(session, window.id)
    pending = (
        await session.execute(
            select(func.count())
            .select_from(DecisionChange)
            .join(Proposal, col(Proposal.id) == col(DecisionChange.proposal_id))
            .where(
                col(Proposal.window_id) == window.id,
                col(DecisionChange.status) == DecisionChangeStatus.PENDING,
            )
        )
    ).scalar_one()
    decided = (
        await session.execute(
            select(func.count())
            .select_from(Proposal)
            .where(
                col(Proposal.window_id) == window.id,
                col(Proposal.status).in_(DECIDED),
            )
        )
    ).scalar_one()
    names = await _names(session, (window.feedback_published_by,))
    return c.FeedbackPublicationRead(
        window_id=window.id,
        published_at=window.feedback_published_at,
        published_by=window.feedback_published_by,
        published_by_name=(
            names.get(window.feedback_published_by) if window.feedback_published_by else None
        ),
        approved_run_id=run.id if run is not None else None,
        pending_decision_changes=int(pending),
        proposals=int(decided),
    )


async def get_feedback_publication(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID
) -> c.FeedbackPublicationRead:
    """Whether the window's feedback is published, by whom, and what publishing waits for."""
    ctx.require(p.can_read_selection(ctx.actor))
    window, _ = await window_or_404(session, ctx, window_id)
    return await _publication_read(session, window)


async def publish_feedback(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID
) -> c.FeedbackPublicationRead:
    """The window's applicants read their decision and the panel's feedback from now on. Only
    after the selection's approval and with no change of decision pending; once only (a second
    publication is refused with 409: the first one's time and officer stay)."""
    ctx.require(p.can_publish_feedback(ctx.actor))
    window, _ = await window_or_404(session, ctx, window_id, lock=True)
    state = await _publication_read(session, window)
    if state.published_at is not None:
        raise ConflictProblem(
            f"the feedback was already published on {state.published_at.isoformat()}"
            f" by {state.published_by_name or state.published_by}"
        )
    if state.approved_run_id is None:
        raise ConflictProblem(
            "the window has no approved selection run; feedback is published after the approval"
        )
    if state.pending_decision_changes:
        raise ConflictProblem(
            f"{state.pending_decision_changes} change(s) of decision await a second programme"
            " officer; confirm or reject them before publishing the feedback"
        )
    window.feedback_published_at = utcnow()
    window.feedback_published_by = ctx.actor.id
    await session.flush()
    await record(
        session,
        ctx,
        action="window.feedback_published",
        entity="window",
        entity_id=window.id,
        before={"feedback_published_at": None},
        after={
            "feedback_published_at": window.feedback_published_at.isoformat(),
            "feedback_published_by": str(window.feedback_published_by),
            "run_id": str(state.approved_run_id),
            "proposals": state.proposals,
        },
    )
    return await _publication_read(session, window)


DECIDED = (
    ProposalStatus.SELECTED,
    ProposalStatus.RESERVE,
    ProposalStatus.NOT_SELECTED,
    ProposalStatus.AWARDED,
)


async def feedback(
    session: AsyncSession, ctx: RequestContext, proposal_id: uuid.UUID
) -> c.FeedbackRead:
    """What the applicant learns: per-criterion scores, thresholds, rank band, comments. The
    applicant reads it once the window's feedback is published (409 before); staff any time."""
    ctx.require(p.can_list_proposals(ctx.actor))
    proposal = await session.get(Proposal, proposal_id)
    if proposal is None or not p.can_read_proposal(ctx.actor, proposal.organisation_id).allowed:
        raise NotFound(f"proposal {proposal_id} does not exist or is not yours to see")
    if not p.can_read_unpublished_feedback(ctx.actor).allowed:
        window = await session.get_one(CallWindow, proposal.window_id)
        if window.feedback_published_at is None:
            raise FeedbackNotPublished(
                "feedback not yet published: the programme officers publish the decisions and"
                " the panel's feedback of this window once the selection is final"
            )
    run = await _approved_run(session, proposal.window_id)
    entry = None
    total = 0
    outputs = None if run is None else run_outputs(run)
    if outputs is not None:
        total = sum(1 for e in outputs.entries if e.rank is not None)
        entry = next((e for e in outputs.entries if e.proposal_id == str(proposal.id)), None)
    rubric: dict[str, Criterion] = {}
    if run is not None:
        rubric_id = run.inputs.get("rubric", {}).get("id")
        if rubric_id:
            rubric = {
                crit.code: crit
                for crit in (
                    await session.execute(
                        select(Criterion).where(col(Criterion.rubric_id) == uuid.UUID(rubric_id))
                    )
                ).scalars()
            }
    decided = proposal.status in {
        ProposalStatus.SELECTED,
        ProposalStatus.RESERVE,
        ProposalStatus.NOT_SELECTED,
        ProposalStatus.AWARDED,
    }
    conflicted = set(
        (
            await session.execute(
                select(Conflict.reviewer_id).where(col(Conflict.proposal_id) == proposal.id)
            )
        ).scalars()
    )
    # the panel's comments reach the applicant with the decision, never before, and never
    # from a reviewer with a conflict of interest
    comments = (
        [
            text
            for text, reviewer in (
                await session.execute(
                    select(Review.comment, ReviewAssignment.reviewer_id)
                    .join(ReviewAssignment, col(ReviewAssignment.id) == col(Review.assignment_id))
                    .where(
                        col(ReviewAssignment.proposal_id) == proposal.id,
                        col(Review.status) == ReviewStatus.SUBMITTED,
                        col(Review.comment).is_not(None),
                    )
                    .order_by(col(Review.submitted_at))
                )
            ).all()
            if text and reviewer not in conflicted
        ]
        if decided
        else []
    )
    current = None
    if decided:
        current = (
            (
                await session.execute(
                    select(Decision).where(
                        col(Decision.proposal_id) == proposal.id, col(Decision.is_current)
                    )
                )
            )
            .scalars()
            .first()
        )
    decision = None
    if current is not None:
        wording = await reason_wording(session, current)
        currency = None
        if wording.amount is not None:
            window = await session.get_one(CallWindow, proposal.window_id)
            currency = (await session.get_one(Call, window.call_id)).currency
        decision = c.FeedbackDecision(
            outcome=current.outcome,
            reason=current.reason,
            decided_at=current.created_at,
            reason_code=wording.code,
            reserve_place=wording.place,
            funded_amount=wording.amount,
            currency=currency,
        )
    band = None
    if entry is not None and entry.rank is not None and total:
        quarter = (entry.rank - 1) * 4 // total
        band = ["top quarter", "second quarter", "third quarter", "bottom quarter"][quarter]
    return c.FeedbackRead(
        proposal_id=proposal.id,
        status=proposal.status.value,
        criteria=[
            _feedback_criterion(x, rubric.get(x.code)) for x in (entry.criteria if entry else [])
        ],
        score=entry.score if entry else None,
        passes_all=entry.passes_all if entry else None,
        rank_band=band,
        comments=comments,
        decision=decision,
    )


def _feedback_criterion(
    x: c.SelectionCriterionResult, crit: Criterion | None
) -> c.FeedbackCriterion:
    title = i18n(crit.name) if crit is not None else None
    return c.FeedbackCriterion(
        code=x.code,
        name=title.en if title is not None else x.code,
        value=x.value,
        threshold=x.threshold,
        passed=x.passed,
        title=title,
        scale_min=crit.scale_min if crit is not None else None,
        scale_max=crit.scale_max if crit is not None else None,
    )
