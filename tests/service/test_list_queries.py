"""List endpoints answer in a fixed number of queries, however many items they return."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.client import GrantsClient
from contracts.enums import FundingSourceKind, Role
from service.identity.secrets import new_api_key
from service.persistence.models import (
    ActionPlan,
    ActionPlanItem,
    ApiKey,
    BudgetLine,
    CallWindow,
    FundingSource,
    Indicator,
    Pcc,
    PccMember,
    Proposal,
    ProposalCoApplicant,
    Territory,
)
from service.persistence.models import Call as CallRow
from tests.conftest import MakeOrganisation, MakeUser, Person, QueryCounter

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)

Arrange = Callable[[AsyncSession, int, dict[str, Any]], Awaitable[None]]
Call = Callable[[GrantsClient, dict[str, Any]], Awaitable[Any]]


async def _orgs(session: AsyncSession, n: int, ctx: dict[str, Any]) -> None:
    for _ in range(n):
        await ctx["make_organisation"]()


async def _users(session: AsyncSession, n: int, ctx: dict[str, Any]) -> None:
    for _ in range(n):
        await ctx["make_user"](Role.REVIEWER, Role.AUDITOR)


async def _sources(session: AsyncSession, n: int, ctx: dict[str, Any]) -> None:
    for _ in range(n):
        code = uuid.uuid4().hex[:8]
        session.add(FundingSource(code=code, name=code, kind=FundingSourceKind.DONOR))
    await session.flush()


async def _keys(session: AsyncSession, n: int, ctx: dict[str, Any]) -> None:
    for _ in range(n):
        _, prefix, key_hash = new_api_key()
        session.add(
            ApiKey(
                name="k",
                prefix=prefix,
                key_hash=key_hash,
                scopes=["pcc:read"],
                created_by=ctx["actor"].id,
            )
        )
    await session.flush()


async def _pcc(session: AsyncSession, ctx: dict[str, Any]) -> Pcc:
    if "pcc" not in ctx:
        pcc = Pcc(territory_id=ctx["territory"].id, name={"en": "PCC"})
        session.add(pcc)
        await session.flush()
        ctx["pcc"] = pcc
    pcc_: Pcc = ctx["pcc"]
    return pcc_


async def _plans(session: AsyncSession, n: int, ctx: dict[str, Any]) -> None:
    pcc = await _pcc(session, ctx)
    for i in range(n):
        plan = ActionPlan(
            pcc_id=pcc.id,
            title={"en": f"Plan {i}"},
            period_start=date(2026, 1, 1),
            period_end=date(2026, 12, 31),
        )
        session.add(plan)
        await session.flush()
        session.add(
            ActionPlanItem(
                action_plan_id=plan.id,
                code="A",
                objective={"en": "o"},
                activities="a",
                budget_estimate=100,
            )
        )
    await session.flush()


async def _items(session: AsyncSession, n: int, ctx: dict[str, Any]) -> None:
    pcc = await _pcc(session, ctx)
    plan = ActionPlan(
        pcc_id=pcc.id,
        title={"en": "Plan"},
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    session.add(plan)
    await session.flush()
    ctx["plan_id"] = plan.id
    for i in range(n):
        item = ActionPlanItem(
            action_plan_id=plan.id,
            code=f"I{i}",
            objective={"en": "o"},
            activities="a",
            budget_estimate=100,
        )
        session.add(item)
        await session.flush()
        for j in range(2):
            session.add(
                Indicator(action_plan_item_id=item.id, name={"en": "x"}, unit=f"u{j}", target=1)
            )
    await session.flush()


async def _pccs(session: AsyncSession, n: int, ctx: dict[str, Any]) -> None:
    for i in range(n):
        t = Territory(
            code=f"t{uuid.uuid4().hex[:8]}", kind="city", name={"en": f"T{i}"}, region={"en": "R"}
        )
        session.add(t)
        await session.flush()
        pcc = Pcc(territory_id=t.id, name={"en": f"PCC {i}"})
        session.add(pcc)
        await session.flush()
        session.add(PccMember(pcc_id=pcc.id, full_name="M", pillar="media"))
    await session.flush()


async def _events(session: AsyncSession, n: int, ctx: dict[str, Any]) -> None:
    await _sources(session, n, ctx)
    from contracts.permissions import Actor
    from service.audit.service import record
    from service.context import RequestContext

    for i in range(n):
        await record(
            session,
            RequestContext(actor=Actor(kind="system")),
            action="x.created",
            entity="x",
            entity_id=str(i),
        )


async def _window(session: AsyncSession, ctx: dict[str, Any]) -> CallWindow:
    if "window" not in ctx:
        call = CallRow(
            title={"en": "Call"},
            description={"en": "d"},
            created_by=ctx["actor"].id,
            status="published",
        )
        session.add(call)
        await session.flush()
        window = CallWindow(
            call_id=call.id,
            code="W1",
            position=0,
            title={"en": "W1"},
            opens_at=datetime(2026, 1, 1, tzinfo=UTC),
            closes_at=datetime(2026, 12, 31, tzinfo=UTC),
            min_grant=1,
            max_grant=100,
            status="published",
        )
        session.add(window)
        await session.flush()
        ctx["window"] = window
    w: CallWindow = ctx["window"]
    return w


async def _calls(session: AsyncSession, n: int, ctx: dict[str, Any]) -> None:
    for i in range(n):
        call = CallRow(
            title={"en": f"C{i}"},
            description={"en": "d"},
            created_by=ctx["actor"].id,
            status="published",
        )
        session.add(call)
        await session.flush()
        session.add(
            CallWindow(
                call_id=call.id,
                code="W1",
                position=0,
                title={"en": "W1"},
                opens_at=datetime(2026, 1, 1, tzinfo=UTC),
                closes_at=datetime(2026, 12, 31, tzinfo=UTC),
                min_grant=1,
                max_grant=100,
                status="published",
            )
        )
    await session.flush()


async def _proposals(session: AsyncSession, n: int, ctx: dict[str, Any]) -> None:
    window = await _window(session, ctx)
    for i in range(n):
        org = await ctx["make_organisation"]()
        session.add(
            Proposal(
                window_id=window.id,
                organisation_id=org.id,
                title=f"P{i}",
                summary="s",
                created_by=ctx["actor"].id,
            )
        )
    await session.flush()


CASES: dict[str, tuple[Role, Arrange, Call]] = {
    "ListCalls": (Role.PROGRAMME_OFFICER, _calls, lambda c, x: c.list_calls()),
    "ListProposals": (Role.PROGRAMME_OFFICER, _proposals, lambda c, x: c.list_proposals()),
    "ListOrganisations": (Role.PROGRAMME_OFFICER, _orgs, lambda c, x: c.list_organisations()),
    "ListUsers": (Role.ADMIN, _users, lambda c, x: c.list_users()),
    "ListFundingSources": (Role.FINANCE_OFFICER, _sources, lambda c, x: c.list_funding_sources()),
    "ListApiKeys": (Role.ADMIN, _keys, lambda c, x: c.list_api_keys()),
    "ListActionPlans": (Role.PROGRAMME_OFFICER, _plans, lambda c, x: c.list_action_plans()),
    "ListActionPlanItems": (
        Role.PROGRAMME_OFFICER,
        _items,
        lambda c, x: c.list_action_plan_items(x["plan_id"]),
    ),
    "ListPccs": (Role.AUDITOR, _pccs, lambda c, x: c.list_pccs()),
    "ListTerritories": (Role.AUDITOR, _pccs, lambda c, x: c.list_territories()),
    "ListAuditEvents": (Role.AUDITOR, _events, lambda c, x: c.list_audit_events()),
}


async def _queries_for(
    n: int,
    role: Role,
    arrange: Arrange,
    call: Call,
    session: AsyncSession,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    territory: Territory,
    counter: QueryCounter,
    ctx: dict[str, Any],
) -> tuple[int, int]:
    actor: Person = await make_user(role)
    ctx.update(
        make_user=make_user, make_organisation=make_organisation, actor=actor, territory=territory
    )
    await arrange(session, n, ctx)
    counter.count = 0
    result = await call(actor.client, ctx)
    items = result if isinstance(result, list) else result.items
    return counter.count, len(items)


@pytest.mark.parametrize("operation", sorted(CASES))
async def test_list_query_count_does_not_grow_with_items(
    operation: str,
    session: AsyncSession,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    territory: Territory,
    count_queries: QueryCounter,
) -> None:
    role, arrange, call = CASES[operation]
    shared: dict[str, Any] = {}
    one, n_one = await _queries_for(
        1,
        role,
        arrange,
        call,
        session,
        make_user,
        make_organisation,
        territory,
        count_queries,
        shared,
    )
    three, n_three = await _queries_for(
        2,
        role,
        arrange,
        call,
        session,
        make_user,
        make_organisation,
        territory,
        count_queries,
        shared,
    )
    assert n_three > n_one  # the second call really returned more items
    assert three == one


async def test_reading_a_proposal_is_one_statement_whatever_it_holds(
    session: AsyncSession,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    territory: Territory,
    count_queries: QueryCounter,
) -> None:
    """GetProposal: the caller's authentication and one statement for the proposal with its
    organisation, window, budget lines, action-plan items, co-applicants and attachments."""
    officer = await make_user(Role.PROGRAMME_OFFICER)
    ctx: dict[str, Any] = {"actor": officer, "make_organisation": make_organisation}
    await _proposals(session, 2, ctx)
    bare, full = (
        await session.execute(select(Proposal).where(col(Proposal.window_id) == ctx["window"].id))
    ).scalars()
    for position in range(3):
        session.add(
            BudgetLine(
                proposal_id=full.id,
                position=position,
                category="activities",
                description=f"line {position}",
                quantity=Decimal("1.50"),
                unit_cost=1000,
                total=1500,
                currency="KGS",
            )
        )
    session.add(ProposalCoApplicant(proposal_id=full.id, organisation_id=bare.organisation_id))
    await session.flush()

    counts, reads = [], []
    for row in (bare, full):
        count_queries.count = 0
        reads.append(await officer.client.get_proposal(row.id))
        counts.append(count_queries.count)

    # the request's SAVEPOINT and RELEASE (tests roll back), its authentication, the read
    assert counts == [4, 4]
    assert [(len(r.budget_lines), r.budget_total, r.co_applicant_ids) for r in reads] == [
        (0, 0, []),
        (3, 4500, [bare.organisation_id]),
    ]
    assert [str(b.quantity) for b in reads[1].budget_lines] == ["1.500", "1.500", "1.500"]
