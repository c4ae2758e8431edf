"""The complete draft in the create call: what took a create, an update and a budget replacement
is one call, validated as one (every invalid field in one problem, nothing created)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.client import ApiError
from contracts.proposals import (
    BudgetLineCreate,
    BudgetLinesReplace,
    ProposalCreate,
    ProposalSubmit,
    ProposalUpdate,
    TimelineEntry,
)
from service.persistence.models import (
    AuditEvent,
    BudgetLine,
    Proposal,
    ProposalActionPlanItem,
    ProposalCoApplicant,
)
from tests.journey import PDF, Programme, published_call

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)

LINES = [
    BudgetLineCreate(
        category="venue", description="Hall", quantity=Decimal("4"), unit_cost=1_500_000
    ),
    BudgetLineCreate(
        category="facilitation",
        description="Trainers",
        quantity=Decimal("2.5"),
        unit_cost=1_600_000,
    ),
]
TIMELINE = [TimelineEntry(activity="Dialogues", start=date(2026, 9, 1), end=date(2026, 11, 30))]


async def _counts(session: AsyncSession) -> dict[str, int]:
    tables = (Proposal, BudgetLine, ProposalActionPlanItem, ProposalCoApplicant, AuditEvent)
    return {
        t.__name__: int((await session.execute(select(func.count()).select_from(t))).scalar_one())
        for t in tables
    }


async def test_one_call_makes_the_draft_three_calls_made(
    programme: Programme, session: AsyncSession
) -> None:
    w = programme
    _, w1, _ = await published_call(w)
    fields = {
        "problem_statement": "Young people of two districts never meet",
        "activities": "Monthly dialogues",
        "requested_amount": 10_000_000,
        "co_funding_amount": 500_000,
        "target_groups": ["youth", "women"],
        "gender_marker": 2,
        "gender_justification": "Half the facilitators are women",
        "conflict_sensitivity": "Mixed groups, neutral venues",
        "timeline": TIMELINE,
        "action_plan_item_ids": [w.item.id],
        "co_applicant_ids": [w.young_org.id],
    }
    one = await w.applicant.create_proposal(
        w1,
        ProposalCreate(
            organisation_id=w.org.id, title="Youth dialogue", budget_lines=LINES, **fields
        ),
    )

    # the same draft the old way: create, update, replace the budget
    three = await w.applicant.create_proposal(
        w1, ProposalCreate(organisation_id=w.org.id, title="Youth dialogue")
    )
    three = await w.applicant.update_proposal(
        three.id, ProposalUpdate(version=three.version, **fields)
    )
    three = await w.applicant.update_budget_lines(
        three.id, BudgetLinesReplace(version=three.version, lines=LINES)
    )

    compared = [
        "title",
        "problem_statement",
        "activities",
        "requested_amount",
        "co_funding_amount",
        "target_groups",
        "gender_marker",
        "gender_justification",
        "conflict_sensitivity",
        "timeline",
        "action_plan_item_ids",
        "co_applicant_ids",
        "budget_lines",
        "budget_total",
        "status",
        "allowed_actions",
    ]
    assert {k: getattr(one, k) for k in compared} == {k: getattr(three, k) for k in compared}
    assert [line.total for line in one.budget_lines] == [6_000_000, 4_000_000]
    assert one.budget_total == 10_000_000
    assert one.version == 1
    assert one.timeline == [{"activity": "Dialogues", "start": "2026-09-01", "end": "2026-11-30"}]
    actions = list(
        (
            await session.execute(
                select(AuditEvent.action)
                .where(col(AuditEvent.entity_id) == str(one.id))
                .order_by(col(AuditEvent.seq))
            )
        ).scalars()
    )
    assert actions == ["proposal.created", "proposal.links_replaced", "proposal.budget_replaced"]

    # the draft of one call is complete: with its budget file it submits as is
    await w.applicant.create_attachment(one.id, PDF, "budget.pdf", kind="budget")
    receipt = await w.applicant.create_submission(one.id, ProposalSubmit(version=one.version))
    assert receipt.proposal.eligibility is not None
    assert receipt.proposal.eligibility.verdict == "pass"


async def test_every_invalid_part_is_named_in_one_problem_and_nothing_is_created(
    programme: Programme, session: AsyncSession
) -> None:
    w = programme
    _, w1, _ = await published_call(w)
    before = await _counts(session)
    with pytest.raises(ApiError) as refused:
        await w.applicant.create_proposal(
            w1,
            ProposalCreate(
                organisation_id=w.org.id,
                title="Youth dialogue",
                requested_amount=10_000_000,
                timeline=[
                    *TIMELINE,
                    TimelineEntry(activity="Back", start=date(2026, 12, 1), end=date(2026, 1, 1)),
                ],
                action_plan_item_ids=[w.item.id, uuid.uuid4()],
                co_applicant_ids=[uuid.uuid4()],
                budget_lines=[
                    LINES[0],
                    BudgetLineCreate(
                        category="x", description="y", quantity=Decimal("0"), unit_cost=1
                    ),
                    BudgetLineCreate(
                        category="x", description="y", quantity=Decimal("1.0001"), unit_cost=1
                    ),
                ],
            ),
        )
    assert refused.value.status == 422
    assert refused.value.type == "urn:pcc-grants:problem:invalid-input"
    fields = sorted(e.field for e in refused.value.problem.errors or [])
    assert fields == [
        "body.action_plan_item_ids",
        "body.budget_lines[1].quantity",
        "body.budget_lines[2].quantity",
        "body.co_applicant_ids",
        "body.timeline[1].end",
    ]
    assert await _counts(session) == before


@pytest.mark.parametrize("part", ["timeline", "action_plan_item_ids", "budget_lines"])
async def test_one_bad_part_alone_creates_nothing(
    programme: Programme, session: AsyncSession, part: str
) -> None:
    w = programme
    _, w1, _ = await published_call(w)
    bad: dict[str, object] = {
        "timeline": [TimelineEntry(activity="x", start=date(2026, 2, 2), end=date(2026, 2, 1))],
        "action_plan_item_ids": [uuid.uuid4()],
        "budget_lines": [
            LINES[0],
            BudgetLineCreate(category="x", description="y", quantity=Decimal("-1"), unit_cost=1),
        ],
    }
    good: dict[str, object] = {
        "timeline": TIMELINE,
        "action_plan_item_ids": [w.item.id],
        "budget_lines": LINES,
    }
    before = await _counts(session)
    with pytest.raises(ApiError) as refused:
        await w.applicant.create_proposal(
            w1,
            ProposalCreate(
                organisation_id=w.org.id,
                title="Youth dialogue",
                **{**good, part: bad[part]},  # type: ignore[arg-type]  (the parts' own types)
            ),
        )
    assert refused.value.status == 422
    assert [e.field.split("[")[0] for e in refused.value.problem.errors or []] == [f"body.{part}"]
    assert await _counts(session) == before
