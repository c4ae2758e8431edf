"""Use cases of proposals: drafting, budget, attachments, eligibility, submission, withdrawal."""

from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import msgspec
from sqlalchemy import (
    JSON,
    BigInteger,
    Integer,
    Select,
    Text,
    Uuid,
    bindparam,
    cast,
    delete,
    func,
    literal_column,
    tuple_,
    type_coerce,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts import calls as cc
from contracts import permissions as p
from contracts import proposals as c
from contracts.common import I18nText, ValidationIssue
from contracts.enums import AttachmentKind, CallStatus, GrantStatus, ProposalStatus
from contracts.lifecycles import PROPOSAL_TRANSITIONS, WITHDRAWABLE, allowed_next
from contracts.notifications import NotificationKind
from contracts.webhooks import EventType
from scoring.eligibility import (
    ApplicationFacts,
    BudgetLineFacts,
    Evaluation,
    RuleResult,
    WindowFacts,
    evaluate,
    parse_rules,
)
from service.attachments import attachment_read, remove_attachment, store_attachment
from service.audit.service import record, snapshot
from service.calls.queries import window_is_open, window_or_404
from service.changes import (
    apply_update,
    check_version,
    move_proposal,
    record_created,
    update_versioned,
)
from service.context import RequestContext, utcnow
from service.mapping import to_read
from service.notifications.service import notify_proposal
from service.pagination import decode_cursor, split_sorted_page
from service.persistence.compiled import CompiledQuery
from service.persistence.models import (
    ActionPlanItem,
    Attachment,
    BudgetLine,
    Call,
    CallWindow,
    Grant,
    Organisation,
    Proposal,
    ProposalActionPlanItem,
    ProposalCoApplicant,
    RuleSet,
    Territory,
    WindowActionPlanItem,
    WindowTerritory,
)
from service.problems import Conflict, IllegalTransition, InvalidInput, NotFound, issue
from service.storage import FileStore
from service.webhooks.events import emit

MINOR = Decimal(1)


# --- loading with permission ------------------------------------------------------------------


async def _proposal_or_404(
    session: AsyncSession, ctx: RequestContext, proposal_id: uuid.UUID, *, lock: bool = False
) -> Proposal:
    ctx.require(p.can_list_proposals(ctx.actor))
    row = await session.get(Proposal, proposal_id, with_for_update=lock)
    if row is None or not p.can_read_proposal(ctx.actor, row.organisation_id).allowed:
        raise NotFound(f"proposal {proposal_id} does not exist or is not yours to see")
    return row


def _require_draft(row: Proposal) -> None:
    if row.status != ProposalStatus.DRAFT:
        raise IllegalTransition(
            f"only a draft can be edited; this proposal is {row.status} (its submitted "
            "snapshot is final)",
            allowed=[s.value for s in allowed_next(PROPOSAL_TRANSITIONS, row.status)],
        )


# --- reading ----------------------------------------------------------------------------------


def _verdict_read(r: RuleResult) -> cc.RuleVerdictRead:
    return cc.RuleVerdictRead(
        rule_id=r.rule_id,
        kind=r.kind,
        verdict=str(r.verdict),
        reason=I18nText(en=r.reason["en"], ru=r.reason.get("ru"), ky=r.reason.get("ky")),
        children=[_verdict_read(ch) for ch in r.children],
    )


def eligibility_read(evaluation: Evaluation, rule_set: RuleSet | None) -> cc.EligibilityRead:
    return cc.EligibilityRead(
        verdict=str(evaluation.verdict),
        rule_set_id=rule_set.id if rule_set else None,
        rule_set_version=rule_set.version if rule_set else None,
        results=[_verdict_read(r) for r in evaluation.results],
        failed_rule_ids=evaluation.failed_rule_ids(),
    )


def _stored_eligibility(row: Proposal) -> cc.EligibilityRead | None:
    if row.eligibility_verdict is None:
        return None
    return msgspec.convert(row.eligibility_verdict, cc.EligibilityRead)


async def _reads(
    session: AsyncSession, ctx: RequestContext, rows: list[Proposal]
) -> list[c.ProposalRead]:
    ids = [r.id for r in rows]
    orgs: dict[uuid.UUID, Organisation] = {}
    windows: dict[uuid.UUID, CallWindow] = {}
    lines: dict[uuid.UUID, list[c.BudgetLineRead]] = defaultdict(list)
    items: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    co_apps: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    files: dict[uuid.UUID, list[c.AttachmentRead]] = defaultdict(list)
    if ids:
        org_ids = {r.organisation_id for r in rows}
        for o in (
            await session.execute(select(Organisation).where(col(Organisation.id).in_(org_ids)))
        ).scalars():
            orgs[o.id] = o
        for w in (
            await session.execute(
                select(CallWindow).where(col(CallWindow.id).in_({r.window_id for r in rows}))
            )
        ).scalars():
            windows[w.id] = w
        for b in (
            await session.execute(
                select(BudgetLine)
                .where(col(BudgetLine.proposal_id).in_(ids))
                .order_by(col(BudgetLine.proposal_id), col(BudgetLine.position))
            )
        ).scalars():
            lines[b.proposal_id].append(to_read(c.BudgetLineRead, b))
        for pid, iid in await session.execute(
            select(ProposalActionPlanItem.proposal_id, ProposalActionPlanItem.action_plan_item_id)
            .where(col(ProposalActionPlanItem.proposal_id).in_(ids))
            .order_by(col(ProposalActionPlanItem.action_plan_item_id))
        ):
            items[pid].append(iid)
        for pid, oid in await session.execute(
            select(ProposalCoApplicant.proposal_id, ProposalCoApplicant.organisation_id)
            .where(col(ProposalCoApplicant.proposal_id).in_(ids))
            .order_by(col(ProposalCoApplicant.organisation_id))
        ):
            co_apps[pid].append(oid)
        for a in (
            await session.execute(
                select(Attachment)
                .where(col(Attachment.proposal_id).in_(ids))
                .order_by(col(Attachment.created_at), col(Attachment.id))
            )
        ).scalars():
            assert a.proposal_id is not None
            files[a.proposal_id].append(attachment_read(a))
    now = utcnow()
    out = []
    for r in rows:
        org = orgs[r.organisation_id]
        window = windows[r.window_id]
        out.append(
            to_read(
                c.ProposalRead,
                r,
                call_id=window.call_id,
                organisation_name=org.name,
                organisation_kind=org.kind,
                territory_id=org.territory_id,
                budget_total=sum(b.total for b in lines[r.id]),
                action_plan_item_ids=items[r.id],
                co_applicant_ids=co_apps[r.id],
                budget_lines=lines[r.id],
                attachments=files[r.id],
                eligibility=_stored_eligibility(r),
                allowed_actions=_allowed_actions(ctx, r, window, now),
            )
        )
    return out


def _allowed_actions(
    ctx: RequestContext, row: Proposal, window: CallWindow, now: datetime
) -> list[str]:
    return _actions(
        ctx, row.organisation_id, row.status, window_is_open(window, now), window.closes_at, now
    )


def _actions(
    ctx: RequestContext,
    organisation_id: uuid.UUID,
    status: ProposalStatus,
    window_open: bool,
    closes_at: datetime,
    now: datetime,
) -> list[str]:
    actions: list[str] = []
    if p.can_edit_proposal(ctx.actor, organisation_id).allowed:
        if status == ProposalStatus.DRAFT:
            actions += ["update", "upload"]
            if window_open:
                actions.append("submit")
        if status in WITHDRAWABLE and now < closes_at:
            actions.append("withdraw")
    if p.can_override_eligibility(ctx.actor).allowed and status in {
        ProposalStatus.ELIGIBLE,
        ProposalStatus.INELIGIBLE,
    }:
        actions.append("override_eligibility")
    return actions


# --- the read of one proposal: one statement -------------------------------------------------

_LINE_FIELDS = ("position", "category", "description", "unit_cost", "total", "currency")
_FILE_FIELDS = ("id", "kind", "original_name", "content_type", "size_bytes", "sha256", "created_at")


def _json_list(obj: Any, order: Any, where: Any) -> Any:
    return type_coerce(
        func.coalesce(
            sa_select(func.json_agg(aggregate_order_by(obj, *order)))
            .where(where)
            .scalar_subquery(),
            literal_column("'[]'::json"),
        ),
        JSON(),
    )


def _id_array(column: Any, where: Any) -> Any:
    return func.array(sa_select(column).where(where).order_by(column).scalar_subquery())


_READ_COLUMNS = (
    "id",
    "window_id",
    "organisation_id",
    "title",
    "summary",
    "problem_statement",
    "activities",
    "status",
    "version",
    "requested_amount",
    "co_funding_amount",
    "currency",
    "gender_marker",
    "gender_justification",
    "conflict_sensitivity",
    "receipt_number",
    "submitted_at",
    "withdrawn_at",
    "created_at",
    "updated_at",
)
"""The proposal's columns `ProposalRead` shows as they are stored."""
_READ_JSON = ("target_groups", "timeline", "eligibility_verdict", "eligibility_override")
"""Its JSONB columns, as JSON text (decoded by msgspec into the contract's types)."""

_READ_ONE = (
    sa_select(
        *(getattr(Proposal, name) for name in _READ_COLUMNS),
        *(cast(getattr(Proposal, name), Text).label(name) for name in _READ_JSON),
        col(Organisation.name).label("organisation_name"),
        col(Organisation.kind).label("organisation_kind"),
        col(Organisation.territory_id),
        col(CallWindow.call_id),
        col(CallWindow.status).label("window_status"),
        col(CallWindow.opens_at),
        col(CallWindow.closes_at),
        cast(
            _json_list(
                func.json_build_object(
                    *(x for f in _LINE_FIELDS for x in (f, getattr(BudgetLine, f))),
                    "quantity",
                    cast(col(BudgetLine.quantity), Text),  # as written: 1.50 stays "1.50"
                ),
                (col(BudgetLine.position),),
                col(BudgetLine.proposal_id) == col(Proposal.id),
            ),
            Text,
        ).label("budget_lines"),
        _id_array(
            col(ProposalActionPlanItem.action_plan_item_id),
            col(ProposalActionPlanItem.proposal_id) == col(Proposal.id),
        ).label("action_plan_item_ids"),
        _id_array(
            col(ProposalCoApplicant.organisation_id),
            col(ProposalCoApplicant.proposal_id) == col(Proposal.id),
        ).label("co_applicant_ids"),
        cast(
            _json_list(
                func.json_build_object(
                    *(x for f in _FILE_FIELDS for x in (f, getattr(Attachment, f)))
                ),
                (col(Attachment.created_at), col(Attachment.id)),
                col(Attachment.proposal_id) == col(Proposal.id),
            ),
            Text,
        ).label("attachments"),
    )
    .join(Organisation, col(Organisation.id) == col(Proposal.organisation_id))
    .join(CallWindow, col(CallWindow.id) == col(Proposal.window_id))
    .where(col(Proposal.id) == bindparam("proposal_id"))
)
"""A proposal with its organisation, window, budget lines, action-plan items, co-applicants and
attachments in one statement of plain columns (no ORM entities), built and compiled once (the id a
bound parameter) and sent to asyncpg directly (`CompiledQuery`), where the ORM's loading took
seven statements and then three entities per row."""
_READ_ONE_QUERY = CompiledQuery.of(_READ_ONE)

_DECODE_LINES = msgspec.json.Decoder(list[c.BudgetLineRead])
_DECODE_FILES = msgspec.json.Decoder(list[c.AttachmentRead])
_DECODE_ELIGIBILITY = msgspec.json.Decoder(cc.EligibilityRead | None)
_DECODE_JSON = msgspec.json.Decoder()


async def get_proposal(
    session: AsyncSession, ctx: RequestContext, proposal_id: uuid.UUID
) -> c.ProposalRead:
    """One proposal: one statement (`_READ_ONE`), where loading it through the ORM took seven."""
    ctx.require(p.can_list_proposals(ctx.actor))
    found = await _READ_ONE_QUERY.fetchrow(session, {"proposal_id": proposal_id})
    if found is None or not p.can_read_proposal(ctx.actor, found["organisation_id"]).allowed:
        raise NotFound(f"proposal {proposal_id} does not exist or is not yours to see")
    fields = {name: found[name] for name in _READ_COLUMNS}
    budget = _DECODE_LINES.decode(found["budget_lines"])
    now = utcnow()
    status = ProposalStatus(found["status"])
    window_open = found["window_status"] == CallStatus.PUBLISHED and (
        found["opens_at"] <= now < found["closes_at"]
    )
    return msgspec.convert(
        {
            **fields,
            "call_id": found["call_id"],
            "organisation_name": found["organisation_name"],
            "organisation_kind": found["organisation_kind"],
            "territory_id": found["territory_id"],
            "target_groups": _DECODE_JSON.decode(found["target_groups"]),
            "timeline": _DECODE_JSON.decode(found["timeline"]),
            "eligibility_override": _json_or_none(found["eligibility_override"]),
            "budget_total": sum(b.total for b in budget),
            "action_plan_item_ids": found["action_plan_item_ids"],
            "co_applicant_ids": found["co_applicant_ids"],
            "budget_lines": budget,
            "attachments": _DECODE_FILES.decode(found["attachments"]),
            "eligibility": (
                None
                if found["eligibility_verdict"] is None
                else _DECODE_ELIGIBILITY.decode(found["eligibility_verdict"])
            ),
            "allowed_actions": _actions(
                ctx, found["organisation_id"], status, window_open, found["closes_at"], now
            ),
        },
        c.ProposalRead,
    )


def _json_or_none(text: str | None) -> Any:
    return None if text is None else _DECODE_JSON.decode(text)


_SORTS: dict[str, tuple[Any, bool]] = {
    "created_at": (Proposal.created_at, False),
    "-created_at": (Proposal.created_at, True),
    "requested_amount": (Proposal.requested_amount, False),
    "-requested_amount": (Proposal.requested_amount, True),
    "title": (Proposal.title, False),
    "-title": (Proposal.title, True),
}


_SUMMARY: Select[*tuple[Any, ...]] = sa_select(
    col(Proposal.id),
    col(Proposal.window_id),
    col(Proposal.organisation_id),
    col(Organisation.name).label("organisation_name"),
    col(Organisation.kind).label("organisation_kind"),
    col(Organisation.territory_id),
    col(Proposal.status),
    col(Proposal.title),
    col(Proposal.requested_amount),
    col(Proposal.currency),
    col(Proposal.receipt_number),
    col(Proposal.submitted_at),
    col(Proposal.created_at),
).join(Organisation, col(Organisation.id) == col(Proposal.organisation_id))
"""The summary's columns only (Core rows, no ORM objects): a page of 50 loaded 100 entities."""


@functools.cache
def _list_statement(
    own: bool,
    window: bool,
    status: bool,
    territory: bool,
    kind: bool,
    sort: str,
    after: bool,
) -> CompiledQuery:
    """ListProposals' statement for one combination of filters, sort and cursor, built and
    compiled once with bound parameters (``orgs``, ``window_id``, ``status``, ``territory_id``,
    ``organisation_kind``, ``after_value``/``after_id``, ``limit``) and sent to asyncpg directly
    (`CompiledQuery`). The keyset as in `service.pagination.keyset`: a row comparison after the
    cursor, ordered by (sort, id), one row more than the page."""
    stmt = _SUMMARY
    if own:
        orgs = bindparam("orgs", type_=ARRAY(Uuid()))
        stmt = stmt.where(col(Proposal.organisation_id) == func.any(orgs))
    if window:
        stmt = stmt.where(col(Proposal.window_id) == bindparam("window_id"))
    if status:
        stmt = stmt.where(col(Proposal.status) == bindparam("status"))
    if territory:
        stmt = stmt.where(col(Organisation.territory_id) == bindparam("territory_id"))
    if kind:
        stmt = stmt.where(col(Organisation.kind) == bindparam("organisation_kind"))
    sort_attr, descending = _SORTS[sort]
    sort_col: Any = col(sort_attr)
    id_col: Any = col(Proposal.id)
    if after:
        row = tuple_(sort_col, id_col)
        bound = tuple_(
            bindparam("after_value", type_=sort_col.type), bindparam("after_id", type_=id_col.type)
        )
        stmt = stmt.where(row < bound if descending else row > bound)
    order = (sort_col.desc(), id_col.desc()) if descending else (sort_col, id_col)
    return CompiledQuery.of(stmt.order_by(*order).limit(bindparam("limit", type_=Integer)))


async def list_proposals(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    window_id: uuid.UUID | None,
    status: ProposalStatus | None,
    territory_id: uuid.UUID | None,
    organisation_kind: Any,
    sort: str,
    cursor: str | None,
    limit: int,
) -> c.ProposalPage:
    ctx.require(p.can_list_proposals(ctx.actor))
    own = not p.sees_all_proposals(ctx.actor)
    query = _list_statement(
        own,
        window_id is not None,
        status is not None,
        territory_id is not None,
        organisation_kind is not None,
        sort,
        cursor is not None,
    )
    params: dict[str, Any] = {
        "orgs": list(ctx.actor.organisation_ids),
        "window_id": window_id,
        "status": status,
        "territory_id": territory_id,
        "organisation_kind": organisation_kind,
        "limit": limit + 1,
    }
    if cursor is not None:
        params["after_value"], params["after_id"] = decode_cursor(cursor)
    rows = await query.fetch(session, params)
    name = sort.lstrip("-")
    rows, next_cursor = split_sorted_page(rows, limit, lambda r: (r[name], r["id"]))
    return c.ProposalPage(
        items=msgspec.convert([dict(r) for r in rows], list[c.ProposalSummary]),
        next_cursor=next_cursor,
    )


# --- drafting ---------------------------------------------------------------------------------


_DRAFT_LINKS = ("organisation_id", "action_plan_item_ids", "co_applicant_ids", "budget_lines")
"""Fields of `ProposalCreate` that are not columns of the proposal (stored in rows of their own,
or set once)."""


async def create_proposal(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID, body: c.ProposalCreate
) -> c.ProposalRead:
    """A new draft, with as much of it as the caller sends (the fields of `UpdateProposal` and
    the budget of `UpdateBudgetLines`), validated as one: every invalid field is named in one
    422, and nothing is created."""
    ctx.require(p.can_create_proposal(ctx.actor, body.organisation_id))
    window, call = await window_or_404(session, ctx, window_id)
    now = utcnow()
    if call.status != "published" or now >= window.closes_at:
        raise Conflict("proposals are drafted for published windows that have not closed")
    issues = []
    if await session.get(Organisation, body.organisation_id) is None:
        issues.append(issue("body.organisation_id", "unknown"))
    if body.timeline is not msgspec.UNSET:
        issues += _timeline_issues(body.timeline)
    if body.action_plan_item_ids is not msgspec.UNSET:
        issues += await _unknown_ids(
            session, ActionPlanItem.id, set(body.action_plan_item_ids), "body.action_plan_item_ids"
        )
    co_applicants: set[uuid.UUID] = set()
    if body.co_applicant_ids is not msgspec.UNSET:
        co_applicants = set(body.co_applicant_ids) - {body.organisation_id}
        issues += await _unknown_ids(
            session, Organisation.id, co_applicants, "body.co_applicant_ids"
        )
    if body.budget_lines is not msgspec.UNSET:
        issues += _budget_issues(body.budget_lines, "body.budget_lines")
    if issues:
        raise InvalidInput("the draft is not valid", issues)
    assert ctx.actor.id is not None
    row = Proposal(
        window_id=window.id,
        organisation_id=body.organisation_id,
        title=body.title,
        summary=body.summary,
        currency=window.currency,
        created_by=ctx.actor.id,
    )
    apply_update(row, body, skip=_DRAFT_LINKS)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await record_created(session, ctx, "proposal", row)
    links: dict[str, Any] = {}
    if body.action_plan_item_ids is not msgspec.UNSET:
        links["action_plan_item_ids"] = _add_link_rows(
            session,
            row,
            ProposalActionPlanItem,
            "action_plan_item_id",
            set(body.action_plan_item_ids),
        )
    if body.co_applicant_ids is not msgspec.UNSET:
        links["co_applicant_ids"] = _add_link_rows(
            session, row, ProposalCoApplicant, "organisation_id", co_applicants
        )
    if links:
        await session.flush()
        await record(
            session,
            ctx,
            action="proposal.links_replaced",
            entity="proposal",
            entity_id=row.id,
            after=links,
        )
    if body.budget_lines is not msgspec.UNSET:
        totals = _add_budget_lines(session, row, body.budget_lines)
        await session.flush()
        await record(
            session,
            ctx,
            action="proposal.budget_replaced",
            entity="proposal",
            entity_id=row.id,
            after={"lines": msgspec.to_builtins(body.budget_lines), "totals": totals},
        )
    return (await _reads(session, ctx, [row]))[0]


def _timeline_issues(timeline: list[c.TimelineEntry]) -> list[ValidationIssue]:
    return [
        issue(f"body.timeline[{n}].end", "before start")
        for n, t in enumerate(timeline)
        if t.end < t.start
    ]


async def _unknown_ids(
    session: AsyncSession, known: Any, wanted: set[uuid.UUID], field: str
) -> list[ValidationIssue]:
    """An issue in ``field`` naming the ids of ``wanted`` that ``known`` does not find."""
    if not wanted:
        return []
    found = set((await session.execute(select(known).where(col(known).in_(wanted)))).scalars())
    if wanted - found:
        return [issue(field, f"unknown: {sorted(map(str, wanted - found))}")]
    return []


def _add_link_rows(
    session: AsyncSession,
    row: Proposal,
    link: type[ProposalActionPlanItem] | type[ProposalCoApplicant],
    column: str,
    wanted: set[uuid.UUID],
) -> list[str]:
    for linked in sorted(wanted):
        session.add(link(proposal_id=row.id, **{column: linked}))
    return sorted(map(str, wanted))


async def _replace_link_rows(
    session: AsyncSession,
    row: Proposal,
    link: type[ProposalActionPlanItem] | type[ProposalCoApplicant],
    column: str,
    wanted: set[uuid.UUID],
    known: Any,
    field: str,
    what: str,
) -> list[str]:
    """The proposal's rows of ``link`` become ``wanted`` (each an id ``known`` must find):
    422 naming the unknown ids in ``field``, else the ids as recorded in the audit."""
    unknown = await _unknown_ids(session, known, wanted, field)
    if unknown:
        raise InvalidInput(f"unknown {what}", unknown)
    await session.execute(delete(link).where(col(link.proposal_id) == row.id))
    return _add_link_rows(session, row, link, column, wanted)


async def _replace_links(
    session: AsyncSession, row: Proposal, body: c.ProposalUpdate
) -> dict[str, Any]:
    changed: dict[str, Any] = {}
    if body.action_plan_item_ids is not msgspec.UNSET:
        changed["action_plan_item_ids"] = await _replace_link_rows(
            session,
            row,
            ProposalActionPlanItem,
            "action_plan_item_id",
            set(body.action_plan_item_ids),
            ActionPlanItem.id,
            "body.action_plan_item_ids",
            "action-plan items",
        )
    if body.co_applicant_ids is not msgspec.UNSET:
        changed["co_applicant_ids"] = await _replace_link_rows(
            session,
            row,
            ProposalCoApplicant,
            "organisation_id",
            set(body.co_applicant_ids) - {row.organisation_id},
            Organisation.id,
            "body.co_applicant_ids",
            "co-applicant organisations",
        )
    await session.flush()
    return changed


async def update_proposal(
    session: AsyncSession, ctx: RequestContext, proposal_id: uuid.UUID, body: c.ProposalUpdate
) -> c.ProposalRead:
    row = await _proposal_or_404(session, ctx, proposal_id, lock=True)
    ctx.require(p.can_edit_proposal(ctx.actor, row.organisation_id))
    check_version(row, body)
    _require_draft(row)
    links = await _replace_links(session, row, body)
    plain = msgspec.structs.replace(
        body, action_plan_item_ids=msgspec.UNSET, co_applicant_ids=msgspec.UNSET
    )
    if plain.timeline is not msgspec.UNSET:
        bad = _timeline_issues(plain.timeline)
        if bad:
            raise InvalidInput("a timeline entry ends before it starts", bad)
    changed = await update_versioned(session, ctx, row, plain, entity="proposal")
    if links:
        if not changed:
            row.version += 1
            row.updated_at = utcnow()
            await session.flush()
        await record(
            session,
            ctx,
            action="proposal.links_replaced",
            entity="proposal",
            entity_id=row.id,
            after=links,
        )
    return (await _reads(session, ctx, [row]))[0]


def line_total(quantity: Decimal, unit_cost: int) -> int:
    """quantity × unit cost in minor units, rounded half to even (documented rule)."""
    return int((quantity * unit_cost).quantize(MINOR, rounding=ROUND_HALF_EVEN))


def _budget_issues(lines: list[c.BudgetLineCreate], field: str) -> list[ValidationIssue]:
    """What is wrong with the lines (``field`` names the list in the issues)."""
    issues = []
    for n, line in enumerate(lines):
        q = line.quantity
        if (
            not q.is_finite()
            or q <= 0
            or q >= Decimal(10) ** 11
            or q != q.quantize(Decimal("0.001"))
        ):
            issues.append(issue(f"{field}[{n}].quantity", "must be > 0 with ≤ 3 decimals"))
        elif line_total(q, line.unit_cost) > 10**15:
            issues.append(issue(f"{field}[{n}]", "the line total is too large"))
    return issues


def _add_budget_lines(
    session: AsyncSession, row: Proposal, lines: list[c.BudgetLineCreate]
) -> list[int]:
    """The lines added to the proposal in order, each with its total; the totals."""
    totals = []
    for n, line in enumerate(lines):
        total = line_total(line.quantity, line.unit_cost)
        totals.append(total)
        session.add(
            BudgetLine(
                proposal_id=row.id,
                position=n,
                category=line.category,
                description=line.description,
                quantity=line.quantity,
                unit_cost=line.unit_cost,
                total=total,
                currency=line.currency,
            )
        )
    return totals


async def replace_budget_lines(
    session: AsyncSession,
    ctx: RequestContext,
    proposal_id: uuid.UUID,
    body: c.BudgetLinesReplace,
) -> c.ProposalRead:
    row = await _proposal_or_404(session, ctx, proposal_id, lock=True)
    ctx.require(p.can_edit_proposal(ctx.actor, row.organisation_id))
    check_version(row, body)
    _require_draft(row)
    issues = _budget_issues(body.lines, "body.lines")
    if issues:
        raise InvalidInput("the budget lines are not valid", issues)
    await session.execute(delete(BudgetLine).where(col(BudgetLine.proposal_id) == row.id))
    totals = _add_budget_lines(session, row, body.lines)
    row.version += 1
    row.updated_at = utcnow()
    await session.flush()
    await record(
        session,
        ctx,
        action="proposal.budget_replaced",
        entity="proposal",
        entity_id=row.id,
        after={"lines": msgspec.to_builtins(body.lines), "totals": totals},
    )
    return (await _reads(session, ctx, [row]))[0]


# --- attachments ------------------------------------------------------------------------------


async def upload_attachment(
    session: AsyncSession,
    ctx: RequestContext,
    store: FileStore,
    proposal_id: uuid.UUID,
    kind: AttachmentKind,
    filename: str,
    data: bytes,
) -> c.AttachmentRead:
    row = await _proposal_or_404(session, ctx, proposal_id, lock=True)
    ctx.require(p.can_edit_proposal(ctx.actor, row.organisation_id))
    _require_draft(row)
    assert ctx.actor.id is not None
    a = await store_attachment(
        session,
        ctx,
        store,
        proposal_id=row.id,
        kind=kind,
        filename=filename,
        data=data,
        uploaded_by=ctx.actor.id,
    )
    return attachment_read(a)


async def _attachment_or_404(
    session: AsyncSession, ctx: RequestContext, attachment_id: uuid.UUID
) -> tuple[Attachment, Proposal]:
    a = await session.get(Attachment, attachment_id)
    if a is None or a.proposal_id is None:
        raise NotFound(f"attachment {attachment_id} does not exist")
    row = await _proposal_or_404(session, ctx, a.proposal_id)
    return a, row


async def attachment_for_download(
    session: AsyncSession, ctx: RequestContext, attachment_id: uuid.UUID
) -> Attachment:
    a, _ = await _attachment_or_404(session, ctx, attachment_id)
    return a


async def delete_attachment(
    session: AsyncSession, ctx: RequestContext, store: FileStore, attachment_id: uuid.UUID
) -> None:
    a, row = await _attachment_or_404(session, ctx, attachment_id)
    ctx.require(p.can_edit_proposal(ctx.actor, row.organisation_id))
    _require_draft(row)
    await remove_attachment(session, ctx, store, a)


# --- eligibility ------------------------------------------------------------------------------


async def _window_facts(session: AsyncSession, window: CallWindow) -> WindowFacts:
    eligible = set(
        (
            await session.execute(
                select(WindowTerritory.territory_id).where(
                    col(WindowTerritory.window_id) == window.id
                )
            )
        ).scalars()
    )
    every_territory = list((await session.execute(select(Territory))).scalars())
    items = set(
        (
            await session.execute(
                select(WindowActionPlanItem.action_plan_item_id).where(
                    col(WindowActionPlanItem.window_id) == window.id
                )
            )
        ).scalars()
    )
    return WindowFacts(
        currency=window.currency,
        min_grant=window.min_grant,
        max_grant=window.max_grant,
        territories=frozenset(t.code for t in every_territory if t.id in eligible),
        # names of every territory: an applicant from elsewhere reads where it is registered
        territory_names={t.code: dict(t.name) for t in every_territory},
        action_plan_items=frozenset(str(i) for i in items),
    )


async def _proposal_facts(session: AsyncSession, row: Proposal) -> ApplicationFacts:
    org = await session.get_one(Organisation, row.organisation_id)
    territory = await session.get_one(Territory, org.territory_id)
    items = set(
        (
            await session.execute(
                select(ProposalActionPlanItem.action_plan_item_id).where(
                    col(ProposalActionPlanItem.proposal_id) == row.id
                )
            )
        ).scalars()
    )
    kinds = set(
        (
            await session.execute(
                select(Attachment.kind).where(col(Attachment.proposal_id) == row.id)
            )
        ).scalars()
    )
    lines = list(
        (
            await session.execute(
                select(BudgetLine.currency, BudgetLine.total).where(
                    col(BudgetLine.proposal_id) == row.id
                )
            )
        ).all()
    )
    active = (
        await session.execute(
            select(func.count())
            .select_from(Grant)
            .where(col(Grant.organisation_id) == org.id, col(Grant.status) == GrantStatus.ACTIVE)
        )
    ).scalar_one()
    return ApplicationFacts(
        organisation_kind=str(org.kind),
        territory=territory.code,
        founded_year=org.founded_year,
        women_led=org.women_led,
        youth_led=org.youth_led,
        requested_amount=row.requested_amount,
        co_funding_amount=row.co_funding_amount,
        action_plan_items=frozenset(str(i) for i in items),
        attachment_kinds=frozenset(str(k) for k in kinds),
        active_grants=int(active),
        budget_lines=tuple(BudgetLineFacts(currency=cur, total=tot) for cur, tot in lines),
    )


async def _answers_facts(session: AsyncSession, a: cc.EligibilityAnswers) -> ApplicationFacts:
    territory = None
    if a.territory_id is not None:
        t = await session.get(Territory, a.territory_id)
        if t is None:
            raise InvalidInput(
                "no such territory", [issue("body.answers.territory_id", "unknown territory")]
            )
        territory = t.code
    return ApplicationFacts(
        organisation_kind=str(a.organisation_kind) if a.organisation_kind else None,
        territory=territory,
        founded_year=a.founded_year,
        women_led=a.women_led,
        youth_led=a.youth_led,
        requested_amount=a.requested_amount,
        co_funding_amount=a.co_funding_amount,
        action_plan_items=(
            frozenset(str(i) for i in a.action_plan_item_ids)
            if a.action_plan_item_ids is not None
            else None
        ),
        attachment_kinds=(
            frozenset(str(k) for k in a.attachment_kinds)
            if a.attachment_kinds is not None
            else None
        ),
        active_grants=a.active_grants,
        budget_lines=(
            tuple(BudgetLineFacts(currency=b.currency, total=b.total) for b in a.budget_lines)
            if a.budget_lines is not None
            else None
        ),
    )


async def _evaluate(
    session: AsyncSession, window: CallWindow, facts: ApplicationFacts
) -> tuple[Evaluation, RuleSet | None]:
    rule_set = await session.get(RuleSet, window.rule_set_id) if window.rule_set_id else None
    rules = parse_rules(rule_set.rules if rule_set else [])
    evaluation = evaluate(rules, facts, await _window_facts(session, window), utcnow().date())
    return evaluation, rule_set


async def check_eligibility(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID, body: cc.EligibilityCheck
) -> cc.EligibilityRead:
    ctx.require(p.can_check_eligibility(ctx.actor))
    window, _ = await window_or_404(session, ctx, window_id)
    if (body.proposal_id is None) == (body.answers is None):
        raise InvalidInput(
            "send either proposal_id or answers",
            [issue("body", "exactly one of proposal_id and answers is needed")],
        )
    if body.proposal_id is not None:
        row = await _proposal_or_404(session, ctx, body.proposal_id)
        if row.window_id != window.id:
            raise InvalidInput(
                "the proposal belongs to another window", [issue("body.proposal_id", "mismatch")]
            )
        facts = await _proposal_facts(session, row)
    else:
        assert body.answers is not None
        facts = await _answers_facts(session, body.answers)
    evaluation, rule_set = await _evaluate(session, window, facts)
    return eligibility_read(evaluation, rule_set)


# --- submission, withdrawal, override --------------------------------------------------------


async def _receipt_number(session: AsyncSession, window: CallWindow, call: Call) -> str:
    """`<year>-<window code>-<n>`, unique across every call: window codes repeat from call to call
    ("W1" in each), so n counts on from the highest number already given under the same
    `<year>-<code>-` prefix, under a transaction lock of that prefix (the window's own lock does
    not stop another call's window of the same code)."""
    year = (call.published_at or call.created_at).year
    prefix = f"{year}-{window.code}-"
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(prefix, 0))))
    suffix = func.substring(Proposal.receipt_number, len(prefix) + 1)
    highest = (
        await session.execute(
            select(func.max(func.cast(suffix, BigInteger))).where(
                col(Proposal.receipt_number).startswith(prefix, autoescape=True),
                suffix.regexp_match("^[0-9]+$"),
            )
        )
    ).scalar_one()
    return f"{prefix}{int(highest or 0) + 1:05d}"


async def submit_proposal(
    session: AsyncSession, ctx: RequestContext, proposal_id: uuid.UUID, body: c.ProposalSubmit
) -> c.SubmissionReceipt:
    row = await _proposal_or_404(session, ctx, proposal_id, lock=True)
    ctx.require(p.can_edit_proposal(ctx.actor, row.organisation_id))
    check_version(row, body)
    _require_draft(row)
    # lock the window: receipt numbers are counted per window
    window, call = await window_or_404(session, ctx, row.window_id, lock=True)
    now = utcnow()
    if not window_is_open(window, now):
        if now >= window.closes_at:
            raise Conflict(
                f"the window closed at {window.closes_at.isoformat()} (server time); "
                "submissions are no longer accepted"
            )
        raise Conflict(f"the window opens at {window.opens_at.isoformat()} (server time)")
    if not row.title.strip() or row.requested_amount <= 0:
        raise InvalidInput(
            "the proposal is incomplete",
            [issue("requested_amount", "give a title and a requested amount before submitting")],
        )
    before = snapshot(row)
    evaluation, rule_set = await _evaluate(session, window, await _proposal_facts(session, row))
    verdict = eligibility_read(evaluation, rule_set)
    receipt_number = await _receipt_number(session, window, call)
    with session.no_autoflush:  # the row is complete only once its snapshot is set
        move_proposal(row, ProposalStatus.SUBMITTED)
        row.submitted_at = now
        row.receipt_number = receipt_number
        row.eligibility_verdict = msgspec.to_builtins(verdict)
        row.rule_set_id = rule_set.id if rule_set else None
        row.rule_set_version = rule_set.version if rule_set else None
        read = (await _reads(session, ctx, [row]))[0]
    row.snapshot = msgspec.to_builtins(msgspec.structs.replace(read, allowed_actions=[]))
    await _store_version(session, ctx, row, "proposal.submitted", before, now)
    # Ineligible proposals do not enter review; needs-information counts as not eligible.
    target = ProposalStatus.ELIGIBLE if verdict.verdict == "pass" else ProposalStatus.INELIGIBLE
    move_proposal(row, target)
    await session.flush()
    await record(
        session,
        ctx,
        action=f"proposal.{target.value}",
        entity="proposal",
        entity_id=row.id,
        before={"status": "submitted"},
        after={"status": target.value, "failed_rule_ids": verdict.failed_rule_ids},
    )
    await emit(
        session, EventType.PROPOSAL_SUBMITTED, {"proposal_id": row.id, "window_id": row.window_id}
    )
    await notify_proposal(session, NotificationKind.ELIGIBILITY_RESULT, row.id)
    final = (await _reads(session, ctx, [row]))[0]
    assert row.receipt_number is not None
    return c.SubmissionReceipt(proposal=final, receipt_number=row.receipt_number, submitted_at=now)


async def _store_version(
    session: AsyncSession,
    ctx: RequestContext,
    row: Proposal,
    action: str,
    before: dict[str, Any] | None,
    now: datetime,
    reason: str | None = None,
) -> None:
    """The proposal's next version stored and audited against its snapshot before the change."""
    row.version += 1
    row.updated_at = now
    await session.flush()
    await record(
        session,
        ctx,
        action=action,
        entity="proposal",
        entity_id=row.id,
        before=before,
        after=snapshot(row, exclude=("snapshot",)),
        reason=reason,
    )


async def withdraw_proposal(
    session: AsyncSession, ctx: RequestContext, proposal_id: uuid.UUID, body: c.ProposalWithdraw
) -> c.ProposalRead:
    row = await _proposal_or_404(session, ctx, proposal_id, lock=True)
    ctx.require(p.can_edit_proposal(ctx.actor, row.organisation_id))
    check_version(row, body)
    window, _ = await window_or_404(session, ctx, row.window_id)
    now = utcnow()
    if now >= window.closes_at:
        raise Conflict("the window has closed: proposals can no longer be withdrawn")
    before = snapshot(row, exclude=("snapshot",))
    move_proposal(row, ProposalStatus.WITHDRAWN)
    row.withdrawn_at = now
    await _store_version(session, ctx, row, "proposal.withdrawn", before, now, body.reason)
    return (await _reads(session, ctx, [row]))[0]


async def override_eligibility(
    session: AsyncSession,
    ctx: RequestContext,
    proposal_id: uuid.UUID,
    body: c.EligibilityOverride,
) -> c.ProposalRead:
    ctx.require(p.can_override_eligibility(ctx.actor))
    row = await _proposal_or_404(session, ctx, proposal_id, lock=True)
    check_version(row, body)
    target = ProposalStatus.ELIGIBLE if body.eligible else ProposalStatus.INELIGIBLE
    if row.status not in {ProposalStatus.ELIGIBLE, ProposalStatus.INELIGIBLE}:
        raise IllegalTransition(
            f"only a judged proposal's verdict can be overridden; this one is {row.status}",
            allowed=[s.value for s in allowed_next(PROPOSAL_TRANSITIONS, row.status)],
        )
    if row.status == target:
        raise Conflict(f"the proposal is already {target}")
    before = snapshot(row, exclude=("snapshot",))
    move_proposal(row, target)
    row.eligibility_override = {
        "eligible": body.eligible,
        "reason": body.reason,
        "by": str(ctx.actor.id),
        "at": utcnow().isoformat(),
    }
    await _store_version(
        session, ctx, row, "proposal.eligibility_overridden", before, utcnow(), body.reason
    )
    await notify_proposal(session, NotificationKind.ELIGIBILITY_RESULT, row.id)
    return (await _reads(session, ctx, [row]))[0]
