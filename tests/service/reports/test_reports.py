"""Grantee reports: drafting, submission, the officer's decision (which may make tranches due),
indicators of the grant's action-plan items, expenditure against the budget, attachments, who may
do what."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts.client import ApiError, GrantsClient
from contracts.enums import (
    ApiScope,
    OrganisationKind,
    ProposalStatus,
    ReportKind,
    ReportStatus,
    Role,
    TrancheConditionKind,
    TrancheStatus,
)
from contracts.reports import (
    ExpenditureLine,
    IndicatorValueInput,
    ReportCreate,
    ReportDecisionCreate,
    ReportRead,
    ReportSubmit,
    ReportUpdate,
)
from service.context import utcnow
from service.identity.secrets import new_api_key
from service.persistence.models import (
    ActionPlan,
    ActionPlanItem,
    ApiKey,
    Attachment,
    AuditEvent,
    BudgetLine,
    CallWindow,
    Grant,
    Indicator,
    IndicatorValue,
    Organisation,
    Pcc,
    Proposal,
    Report,
    Territory,
    Tranche,
    TrancheActionPlanItem,
    TrancheCondition,
)
from service.persistence.models import Call as CallRow
from tests.conftest import MakeOrganisation, MakeUser, Person, QueryCounter

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class GrantWorld:
    org: Organisation
    other_org: Organisation
    grant: Grant
    other_grant: Grant
    """Organisation B's grant."""
    agreement: Tranche
    """Position 0: waits for the signed agreement (never met here)."""
    progress: Tranche
    """Position 1: waits for an accepted progress report and a value for `indicator`."""
    final: Tranche
    """Position 2: waits for an accepted financial report."""
    other_tranche: Tranche
    """Organisation B's grant's tranche."""
    indicator: Indicator
    """Of `item`, which `progress` pays for."""
    final_indicator: Indicator
    """Of `final_item`, which `final` pays for."""
    stray_indicator: Indicator
    """Of an item no tranche of the grant pays for."""
    venue: BudgetLine
    other_budget_line: BudgetLine
    """A line of organisation B's proposal."""
    applicant: Person
    outsider: Person
    officer: Person
    finance: Person
    key_creator: Person
    partner_key: str
    other_partner_key: str
    unscoped_key: str
    anonymous: GrantsClient


def _key(
    name: str, scopes: list[ApiScope], org: Organisation | None, by: Person
) -> tuple[str, Any]:
    key, prefix, key_hash = new_api_key()
    row = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=key_hash,
        scopes=[s.value for s in scopes],
        organisation_id=org.id if org else None,
        created_by=by.id,
    )
    return key, row


@pytest.fixture
async def w(
    session: AsyncSession,
    territory: Territory,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    client: GrantsClient,
) -> GrantWorld:
    now = utcnow()
    org = await make_organisation(kind=OrganisationKind.CSO, name="Yntymak")
    other_org = await make_organisation(name="Other")
    applicant = await make_user(member_of=(org,))
    outsider = await make_user(member_of=(other_org,))
    officer = await make_user(Role.PROGRAMME_OFFICER)
    finance = await make_user(Role.FINANCE_OFFICER)
    key_creator = await make_user(Role.ADMIN)

    pcc = Pcc(territory_id=territory.id, name={"en": "PCC of Osh"})
    call = CallRow(
        title={"en": "Trust-building grants"},
        description={"en": "Small grants"},
        status="published",
        created_by=officer.id,
        published_at=now - timedelta(days=60),
    )
    partner_key, partner_row = _key("org A system", [ApiScope.WRITE_REPORTS], org, key_creator)
    other_key, other_row = _key("org B system", [ApiScope.WRITE_REPORTS], other_org, key_creator)
    unscoped_key, unscoped_row = _key("reader", [ApiScope.READ_AWARDS], org, key_creator)
    session.add_all([pcc, call, partner_row, other_row, unscoped_row])
    await session.flush()

    plan = ActionPlan(
        pcc_id=pcc.id,
        title={"en": "Plan 2026"},
        period_start=date(2026, 1, 1),
        period_end=date(2027, 12, 31),
        status="active",
    )
    window = CallWindow(
        call_id=call.id,
        code="W1",
        position=0,
        title={"en": "Window W1"},
        opens_at=now - timedelta(days=60),
        closes_at=now - timedelta(days=30),
        min_grant=1_000_000,
        max_grant=50_000_000,
        status="published",
    )
    session.add_all([plan, window])
    await session.flush()

    items = [
        ActionPlanItem(
            action_plan_id=plan.id,
            code=code,
            objective={"en": f"Objective {code}"},
            activities="x",
            budget_estimate=10_000_000,
        )
        for code in ("1.1", "1.2", "9.9")
    ]
    item, final_item, stray_item = items
    proposals = [
        Proposal(
            window_id=window.id,
            organisation_id=o.id,
            title=f"Proposal of {o.name}",
            summary="",
            requested_amount=10_000_000,
            status=ProposalStatus.AWARDED,
            snapshot={"title": o.name},
            receipt_number=f"TEST-{uuid.uuid4().hex[:10]}",
            submitted_at=now - timedelta(days=40),
            created_by=applicant.id,
        )
        for o in (org, other_org)
    ]
    session.add_all([*items, *proposals])
    await session.flush()

    indicator, final_indicator, stray_indicator = (
        Indicator(
            action_plan_item_id=i.id,
            name={"en": f"People reached ({i.code})", "ru": "Охват"},
            unit="people",
            baseline=Decimal("10"),
            target=Decimal("100"),
        )
        for i in items
    )
    venue = BudgetLine(
        proposal_id=proposals[0].id,
        position=0,
        category="venue",
        description="Hall",
        quantity=Decimal(4),
        unit_cost=1_500_000,
        total=6_000_000,
    )
    facilitation = BudgetLine(
        proposal_id=proposals[0].id,
        position=1,
        category="facilitation",
        description="Trainers",
        quantity=Decimal(2),
        unit_cost=2_000_000,
        total=4_000_000,
    )
    other_budget_line = BudgetLine(
        proposal_id=proposals[1].id,
        position=0,
        category="venue",
        description="Hall",
        quantity=Decimal(1),
        unit_cost=1_000_000,
        total=1_000_000,
    )
    grant, other_grant = (
        Grant(
            proposal_id=pr.id,
            organisation_id=pr.organisation_id,
            window_id=window.id,
            amount=10_000_000,
            start_date=date(2026, 1, 1),
            end_date=date(2026, 12, 31),
            created_by=officer.id,
        )
        for pr in proposals
    )
    session.add_all(
        [
            indicator,
            final_indicator,
            stray_indicator,
            venue,
            facilitation,
            other_budget_line,
            grant,
            other_grant,
        ]
    )
    await session.flush()

    agreement, progress, final = (
        Tranche(
            grant_id=grant.id,
            position=n,
            amount=amount,
            planned_date=date(2026, 1 + 4 * n, 1),
        )
        for n, amount in enumerate((4_000_000, 3_000_000, 3_000_000))
    )
    other_tranche = Tranche(
        grant_id=other_grant.id, position=0, amount=10_000_000, planned_date=date(2026, 1, 1)
    )
    session.add_all([agreement, progress, final, other_tranche])
    await session.flush()
    session.add_all(
        [
            TrancheActionPlanItem(tranche_id=agreement.id, action_plan_item_id=item.id),
            TrancheActionPlanItem(tranche_id=progress.id, action_plan_item_id=item.id),
            TrancheActionPlanItem(tranche_id=final.id, action_plan_item_id=final_item.id),
            TrancheActionPlanItem(tranche_id=other_tranche.id, action_plan_item_id=stray_item.id),
            TrancheCondition(
                tranche_id=agreement.id, kind=TrancheConditionKind.AGREEMENT_SIGNED, params={}
            ),
            TrancheCondition(
                tranche_id=progress.id,
                kind=TrancheConditionKind.PROGRESS_REPORT_ACCEPTED,
                params={"count": 1},
            ),
            TrancheCondition(
                tranche_id=progress.id,
                kind=TrancheConditionKind.INDICATOR_REPORTED,
                params={"indicator_id": str(indicator.id)},
            ),
            TrancheCondition(
                tranche_id=final.id,
                kind=TrancheConditionKind.FINANCIAL_REPORT_ACCEPTED,
                params={"count": 1},
            ),
        ]
    )
    await session.flush()
    return GrantWorld(
        org=org,
        other_org=other_org,
        grant=grant,
        other_grant=other_grant,
        agreement=agreement,
        progress=progress,
        final=final,
        other_tranche=other_tranche,
        indicator=indicator,
        final_indicator=final_indicator,
        stray_indicator=stray_indicator,
        venue=venue,
        other_budget_line=other_budget_line,
        applicant=applicant,
        outsider=outsider,
        officer=officer,
        finance=finance,
        key_creator=key_creator,
        partner_key=partner_key,
        other_partner_key=other_key,
        unscoped_key=unscoped_key,
        anonymous=client,
    )


def _progress(w: GrantWorld, **fields: Any) -> ReportCreate:
    values: dict[str, Any] = {
        "kind": ReportKind.PROGRESS,
        "tranche_id": w.progress.id,
        "narrative": "Four dialogue sessions held in Osh schools.",
        "expenditure": [
            ExpenditureLine(
                category="venue",
                description="Hall rent, March",
                amount=1_500_000,
                budget_line_id=w.venue.id,
            ),
            ExpenditureLine(category="transport", description="Bus", amount=200_000),
        ],
        "indicators": [
            IndicatorValueInput(indicator_id=w.indicator.id, value=Decimal("42.5"), note="so far")
        ],
    }
    values.update(fields)
    return ReportCreate(**values)


def _financial(w: GrantWorld) -> ReportCreate:
    return ReportCreate(
        kind=ReportKind.FINANCIAL,
        tranche_id=w.final.id,
        expenditure=[
            ExpenditureLine(category="facilitation", description="Trainers", amount=3_900_000)
        ],
    )


async def _statuses(session: AsyncSession, *tranches: Tranche) -> list[TrancheStatus]:
    rows = (
        await session.execute(
            select(Tranche.id, Tranche.status).where(col(Tranche.id).in_([t.id for t in tranches]))
        )
    ).all()
    by_id = dict(rows)
    return [by_id[t.id] for t in tranches]


async def _count(session: AsyncSession, model: Any, *where: Any) -> int:
    return int(
        (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()
    )


async def _actions(session: AsyncSession, entity_id: uuid.UUID) -> list[str]:
    rows = await session.execute(
        select(AuditEvent.action)
        .where(col(AuditEvent.entity_id) == str(entity_id))
        .order_by(col(AuditEvent.seq))
    )
    return list(rows.scalars())


async def _submitted(w: GrantWorld, body: ReportCreate) -> ReportRead:
    c = w.applicant.client
    report = await c.create_report(w.grant.id, body)
    return await c.submit_report(report.id, ReportSubmit(version=report.version))


# --- the whole way ------------------------------------------------------------------------------


async def test_report_draft_update_submit_accept_makes_its_tranche_due(
    w: GrantWorld, session: AsyncSession
) -> None:
    c = w.applicant.client
    draft = await c.create_report(w.grant.id, _progress(w))
    assert (draft.status, draft.version, draft.kind) == (ReportStatus.DRAFT, 1, ReportKind.PROGRESS)
    assert (draft.grant_id, draft.tranche_id, draft.organisation_id) == (
        w.grant.id,
        w.progress.id,
        w.org.id,
    )
    assert draft.created_by == w.applicant.id
    assert draft.expenditure_total == 1_700_000
    assert [(x.category, x.amount, x.budget_line_id) for x in draft.expenditure] == [
        ("venue", 1_500_000, w.venue.id),
        ("transport", 200_000, None),
    ]
    assert [(x.category, x.budgeted, x.reported, x.remaining) for x in draft.budget_comparison] == [
        ("venue", 6_000_000, 1_500_000, 4_500_000),
        ("facilitation", 4_000_000, 0, 4_000_000),
        ("transport", 0, 200_000, -200_000),
    ]
    [value] = draft.indicators
    assert (value.indicator_id, value.name.en, value.name.ru, value.unit) == (
        w.indicator.id,
        "People reached (1.1)",
        "Охват",
        "people",
    )
    assert (value.baseline, value.target, value.value, value.note) == (
        Decimal("10"),
        Decimal("100"),
        Decimal("42.5"),
        "so far",
    )
    assert draft.allowed_actions == ["update", "upload", "submit"]
    assert draft.submitted_at is None

    updated = await c.update_report(
        draft.id,
        ReportUpdate(
            version=1,
            narrative="Five dialogue sessions held.",
            indicators=[IndicatorValueInput(indicator_id=w.indicator.id, value=Decimal("55"))],
        ),
    )
    assert (updated.version, updated.narrative) == (2, "Five dialogue sessions held.")
    assert [(x.value, x.note) for x in updated.indicators] == [(Decimal("55"), None)]
    assert updated.expenditure_total == 1_700_000  # not sent, not changed

    submitted = await c.submit_report(draft.id, ReportSubmit(version=2))
    assert (submitted.status, submitted.version) == (ReportStatus.SUBMITTED, 3)
    assert submitted.submitted_at is not None
    assert submitted.allowed_actions == []
    seen_by_officer = await w.officer.client.get_report(draft.id)
    assert seen_by_officer.allowed_actions == ["decide"]

    accepted = await w.officer.client.create_report_decision(
        draft.id, ReportDecisionCreate(version=3, outcome="accept", comment="Well documented")
    )
    assert (accepted.status, accepted.version) == (ReportStatus.ACCEPTED, 4)
    assert (accepted.decided_by, accepted.review_comment) == (w.officer.id, "Well documented")
    assert accepted.decided_at is not None
    # the progress tranche's conditions are all met now; the others still wait
    assert await _statuses(session, w.agreement, w.progress, w.final) == [
        TrancheStatus.PLANNED,
        TrancheStatus.DUE,
        TrancheStatus.PLANNED,
    ]
    assert await _actions(session, draft.id) == [
        "report.created",
        "report.updated",
        "report.submitted",
        "report.accepted",
    ]
    assert await _actions(session, w.progress.id) == ["tranche.due"]
    assert await _actions(session, w.final.id) == []


async def test_report_accepted_without_the_tranche_indicator_leaves_the_tranche_planned(
    w: GrantWorld, session: AsyncSession
) -> None:
    report = await _submitted(w, _progress(w, indicators=[]))
    await w.officer.client.create_report_decision(
        report.id, ReportDecisionCreate(version=report.version, outcome="accept")
    )
    assert await _statuses(session, w.progress) == [TrancheStatus.PLANNED]
    met = (
        await session.execute(
            select(TrancheCondition.kind, TrancheCondition.met_at).where(
                col(TrancheCondition.tranche_id) == w.progress.id
            )
        )
    ).all()
    assert {kind: at is not None for kind, at in met} == {
        TrancheConditionKind.PROGRESS_REPORT_ACCEPTED: True,
        TrancheConditionKind.INDICATOR_REPORTED: False,
    }


async def test_report_returned_with_a_comment_is_corrected_and_submitted_again(
    w: GrantWorld, session: AsyncSession
) -> None:
    report = await _submitted(w, _financial(w))
    officer = w.officer.client
    with pytest.raises(ApiError) as no_comment:
        await officer.create_report_decision(
            report.id, ReportDecisionCreate(version=report.version, outcome="return")
        )
    assert no_comment.value.status == 422
    with pytest.raises(ApiError) as blank_comment:
        await officer.create_report_decision(
            report.id, ReportDecisionCreate(version=report.version, outcome="return", comment="   ")
        )
    assert blank_comment.value.status == 422

    returned = await officer.create_report_decision(
        report.id,
        ReportDecisionCreate(version=report.version, outcome="return", comment="Add receipts"),
    )
    assert (returned.status, returned.review_comment) == (ReportStatus.RETURNED, "Add receipts")
    assert returned.decided_by == w.officer.id
    assert await _statuses(session, w.final) == [TrancheStatus.PLANNED]

    c = w.applicant.client
    fixed = await c.update_report(
        report.id,
        ReportUpdate(
            version=returned.version,
            expenditure=[
                ExpenditureLine(category="facilitation", description="Trainers", amount=3_000_000),
                ExpenditureLine(category="venue", description="Hall", amount=900_000),
            ],
        ),
    )
    assert fixed.status == ReportStatus.RETURNED
    assert fixed.expenditure_total == 3_900_000
    again = await c.submit_report(report.id, ReportSubmit(version=fixed.version))
    assert again.status == ReportStatus.SUBMITTED
    assert report.submitted_at is not None
    assert again.submitted_at is not None
    assert again.submitted_at >= report.submitted_at

    accepted = await officer.create_report_decision(
        report.id, ReportDecisionCreate(version=again.version, outcome="accept")
    )
    assert (accepted.status, accepted.review_comment) == (ReportStatus.ACCEPTED, None)
    assert await _statuses(session, w.final, w.progress) == [
        TrancheStatus.DUE,
        TrancheStatus.PLANNED,
    ]
    assert await _actions(session, report.id) == [
        "report.created",
        "report.submitted",
        "report.returned",
        "report.updated",
        "report.submitted",
        "report.accepted",
    ]


# --- what is refused ----------------------------------------------------------------------------


async def test_report_with_an_indicator_of_another_item_is_422_and_writes_nothing(
    w: GrantWorld, session: AsyncSession
) -> None:
    counts = [
        await _count(session, Report),
        await _count(session, IndicatorValue),
        await _count(session, AuditEvent),
    ]
    body = _progress(
        w,
        indicators=[
            IndicatorValueInput(indicator_id=w.indicator.id, value=Decimal(1)),
            IndicatorValueInput(indicator_id=w.stray_indicator.id, value=Decimal(2)),
        ],
    )
    with pytest.raises(ApiError) as refused:
        await w.applicant.client.create_report(w.grant.id, body)
    assert refused.value.status == 422
    assert str(w.stray_indicator.id) in (refused.value.problem.detail or "")
    assert [e.field for e in refused.value.problem.errors or []] == [
        "body.indicators[1].indicator_id"
    ]
    assert [
        await _count(session, Report),
        await _count(session, IndicatorValue),
        await _count(session, AuditEvent),
    ] == counts


async def test_report_indicator_of_a_later_tranche_is_accepted(w: GrantWorld) -> None:
    report = await w.applicant.client.create_report(
        w.grant.id,
        _progress(
            w, indicators=[IndicatorValueInput(indicator_id=w.final_indicator.id, value=Decimal(3))]
        ),
    )
    assert [x.indicator_id for x in report.indicators] == [w.final_indicator.id]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"currency": "USD"}, "body.expenditure[0].currency"),
        ({"budget_line_id": "other"}, "body.expenditure[0].budget_line_id"),
        ({"category": "catering", "budget_line_id": "venue"}, "body.expenditure[0].category"),
    ],
)
async def test_report_expenditure_outside_the_grant_is_422(
    w: GrantWorld, session: AsyncSession, fields: dict[str, Any], field: str
) -> None:
    lines = {"venue": w.venue.id, "other": w.other_budget_line.id}
    if "budget_line_id" in fields:
        fields = {**fields, "budget_line_id": lines[fields["budget_line_id"]]}
    line = ExpenditureLine(
        **{"category": "venue", "description": "Hall", "amount": 1_000, **fields}
    )
    before = await _count(session, Report)
    with pytest.raises(ApiError) as refused:
        await w.applicant.client.create_report(w.grant.id, _progress(w, expenditure=[line]))
    assert refused.value.status == 422
    assert [e.field for e in refused.value.problem.errors or []] == [field]
    assert await _count(session, Report) == before


@pytest.mark.parametrize("value", ["NaN", "1.23456", "100000000000000"])
async def test_report_indicator_value_that_cannot_be_stored_is_422(
    w: GrantWorld, value: str
) -> None:
    body = _progress(
        w, indicators=[IndicatorValueInput(indicator_id=w.indicator.id, value=Decimal(value))]
    )
    with pytest.raises(ApiError) as refused:
        await w.applicant.client.create_report(w.grant.id, body)
    assert refused.value.status == 422
    assert [e.field for e in refused.value.problem.errors or []] == ["body.indicators[0].value"]


async def test_report_for_a_tranche_of_another_grant_is_422(w: GrantWorld) -> None:
    with pytest.raises(ApiError) as refused:
        await w.applicant.client.create_report(
            w.grant.id, _progress(w, tranche_id=w.other_tranche.id, indicators=[])
        )
    assert refused.value.status == 422
    assert [e.field for e in refused.value.problem.errors or []] == ["body.tranche_id"]


async def test_report_stale_version_is_409_with_the_current_version(w: GrantWorld) -> None:
    c = w.applicant.client
    report = await c.create_report(w.grant.id, _progress(w))
    await c.update_report(report.id, ReportUpdate(version=1, narrative="First edit"))
    with pytest.raises(ApiError) as stale:
        await c.update_report(report.id, ReportUpdate(version=1, narrative="Lost edit"))
    assert (stale.value.status, stale.value.problem.current_version) == (409, 2)
    assert stale.value.type.endswith("stale-version")
    assert (await c.get_report(report.id)).narrative == "First edit"


async def test_report_unchanged_update_writes_nothing(w: GrantWorld, session: AsyncSession) -> None:
    c = w.applicant.client
    report = await c.create_report(w.grant.id, _progress(w))
    same = await c.update_report(
        report.id,
        ReportUpdate(
            version=1,
            narrative=report.narrative,
            indicators=[
                IndicatorValueInput(
                    indicator_id=w.indicator.id, value=Decimal("42.50"), note="so far"
                )
            ],
        ),
    )
    assert same.version == 1
    assert await _actions(session, report.id) == ["report.created"]


async def test_report_submitted_cannot_be_edited_and_names_what_may_follow(w: GrantWorld) -> None:
    report = await _submitted(w, _progress(w))
    with pytest.raises(ApiError) as refused:
        await w.applicant.client.update_report(
            report.id, ReportUpdate(version=report.version, narrative="Too late")
        )
    assert refused.value.status == 409
    assert refused.value.type.endswith("illegal-transition")
    assert refused.value.problem.allowed == ["accepted", "returned"]
    with pytest.raises(ApiError) as twice:
        await w.applicant.client.submit_report(report.id, ReportSubmit(version=report.version))
    assert twice.value.status == 409


async def test_report_accepted_cannot_be_decided_again(w: GrantWorld) -> None:
    report = await _submitted(w, _progress(w))
    officer = w.officer.client
    accepted = await officer.create_report_decision(
        report.id, ReportDecisionCreate(version=report.version, outcome="accept")
    )
    with pytest.raises(ApiError) as again:
        await officer.create_report_decision(
            report.id,
            ReportDecisionCreate(version=accepted.version, outcome="return", comment="Oops"),
        )
    assert (again.value.status, again.value.problem.allowed) == (409, [])


@pytest.mark.parametrize(
    ("kind", "field"), [(ReportKind.PROGRESS, "narrative"), (ReportKind.FINANCIAL, "expenditure")]
)
async def test_report_incomplete_cannot_be_submitted(
    w: GrantWorld, kind: ReportKind, field: str
) -> None:
    c = w.applicant.client
    report = await c.create_report(w.grant.id, ReportCreate(kind=kind, narrative="  "))
    with pytest.raises(ApiError) as refused:
        await c.submit_report(report.id, ReportSubmit(version=1))
    assert refused.value.status == 422
    assert [e.field for e in refused.value.problem.errors or []] == [field]
    assert (await c.get_report(report.id)).status == ReportStatus.DRAFT


async def test_report_decision_by_anyone_but_a_programme_officer_is_403(
    w: GrantWorld, session: AsyncSession
) -> None:
    report = await _submitted(w, _progress(w))
    for person in (w.applicant, w.finance):
        with pytest.raises(ApiError) as refused:
            await person.client.create_report_decision(
                report.id, ReportDecisionCreate(version=report.version, outcome="accept")
            )
        assert refused.value.status == 403
    assert (await w.officer.client.get_report(report.id)).status == ReportStatus.SUBMITTED
    assert await _statuses(session, w.progress) == [TrancheStatus.PLANNED]


async def test_report_programme_officer_cannot_write_reports(w: GrantWorld) -> None:
    with pytest.raises(ApiError) as refused:
        await w.officer.client.create_report(w.grant.id, _progress(w))
    assert refused.value.status == 403


async def test_report_of_another_organisation_is_hidden(w: GrantWorld) -> None:
    report = await w.applicant.client.create_report(w.grant.id, _progress(w))
    outsider = w.outsider.client
    with pytest.raises(ApiError) as read:
        await outsider.get_report(report.id)
    assert read.value.status == 404
    with pytest.raises(ApiError) as listed:
        await outsider.list_reports(w.grant.id)
    assert listed.value.status == 404
    with pytest.raises(ApiError) as written:
        await outsider.update_report(report.id, ReportUpdate(version=1, narrative="Mine now"))
    assert written.value.status == 404
    with pytest.raises(ApiError) as created:
        await outsider.create_report(w.grant.id, _progress(w))
    assert created.value.status == 404
    # staff read every report
    assert (await w.finance.client.get_report(report.id)).id == report.id


async def test_report_anonymous_is_401(w: GrantWorld) -> None:
    report = await w.applicant.client.create_report(w.grant.id, _progress(w))
    with pytest.raises(ApiError) as read:
        await w.anonymous.get_report(report.id)
    assert read.value.status == 401
    with pytest.raises(ApiError) as listed:
        await w.anonymous.list_reports(w.grant.id)
    assert listed.value.status == 401


# --- partner systems ----------------------------------------------------------------------------


async def test_report_partner_key_pushes_reports_for_its_own_organisation_only(
    w: GrantWorld, session: AsyncSession
) -> None:
    partner = w.anonymous.as_partner(w.partner_key)
    report = await partner.create_report(w.grant.id, _progress(w))
    assert report.created_by == w.key_creator.id  # the key's owner stands for the system
    assert report.allowed_actions == ["update", "upload", "submit"]
    submitted = await partner.submit_report(report.id, ReportSubmit(version=report.version))
    assert submitted.status == ReportStatus.SUBMITTED
    actors = (
        await session.execute(
            select(AuditEvent.actor, AuditEvent.actor_id).where(
                col(AuditEvent.entity_id) == str(report.id)
            )
        )
    ).all()
    assert len(actors) == 2
    assert all(actor.startswith("api_key:") and actor_id is None for actor, actor_id in actors)
    assert [r.id for r in (await partner.list_reports(w.grant.id)).items] == [report.id]

    other = w.anonymous.as_partner(w.other_partner_key)
    before = await _count(session, Report)
    with pytest.raises(ApiError) as foreign:
        await other.create_report(w.grant.id, _progress(w))
    assert foreign.value.status == 404
    with pytest.raises(ApiError) as foreign_read:
        await other.get_report(report.id)
    assert foreign_read.value.status == 404
    assert await _count(session, Report) == before
    # the other key does push for its own organisation's grant
    own = await other.create_report(
        w.other_grant.id, ReportCreate(kind=ReportKind.PROGRESS, narrative="Done")
    )
    assert own.organisation_id == w.other_org.id

    unscoped = w.anonymous.as_partner(w.unscoped_key)
    with pytest.raises(ApiError) as no_scope:
        await unscoped.create_report(w.grant.id, _progress(w))
    assert no_scope.value.status == 403
    with pytest.raises(ApiError) as no_scope_read:
        await unscoped.get_report(report.id)
    assert no_scope_read.value.status == 403


async def test_report_partner_retry_with_idempotency_key_drafts_once(
    w: GrantWorld, session: AsyncSession
) -> None:
    partner = w.anonymous.as_partner(w.partner_key)
    first = await partner.create_report(w.grant.id, _progress(w), idempotency_key="push-0001")
    again = await partner.create_report(w.grant.id, _progress(w), idempotency_key="push-0001")
    assert again.id == first.id
    assert await _count(session, Report, col(Report.grant_id) == w.grant.id) == 1


# --- attachments --------------------------------------------------------------------------------


async def test_report_attachments_upload_download_delete(
    w: GrantWorld, session: AsyncSession
) -> None:
    c = w.applicant.client
    report = await c.create_report(w.grant.id, _progress(w))
    a = await c.create_report_attachment(report.id, PDF, "Отчёт.pdf")
    assert (a.kind, a.content_type, a.size_bytes) == ("report", "application/pdf", len(PDF))
    assert [x.id for x in (await c.get_report(report.id)).attachments] == [a.id]

    content, headers = await w.officer.client.get_report_attachment(report.id, a.id)
    assert content == PDF
    assert headers["content-disposition"].startswith("attachment;")
    assert headers["x-content-type-options"] == "nosniff"

    # the attachment is reached only through its own report
    other = await c.create_report(w.grant.id, _financial(w))
    with pytest.raises(ApiError) as elsewhere:
        await c.get_report_attachment(other.id, a.id)
    assert elsewhere.value.status == 404
    with pytest.raises(ApiError) as outsider:
        await w.outsider.client.get_report_attachment(report.id, a.id)
    assert outsider.value.status == 404

    before = await _count(session, Attachment)
    with pytest.raises(ApiError) as bad:
        await c.create_report_attachment(report.id, b"just text, not a PDF\n", "receipts.pdf")
    assert bad.value.status == 415
    assert await _count(session, Attachment) == before

    await c.delete_report_attachment(report.id, a.id)
    with pytest.raises(ApiError) as gone:
        await c.get_report_attachment(report.id, a.id)
    assert gone.value.status == 404
    assert await _actions(session, a.id) == ["attachment.created", "attachment.deleted"]


async def test_report_attachments_are_frozen_once_submitted(
    w: GrantWorld, session: AsyncSession
) -> None:
    c = w.applicant.client
    report = await c.create_report(w.grant.id, _progress(w))
    a = await c.create_report_attachment(report.id, PDF, "photo-report.pdf")
    await c.submit_report(report.id, ReportSubmit(version=report.version))
    with pytest.raises(ApiError) as upload:
        await c.create_report_attachment(report.id, PDF, "late.pdf")
    assert upload.value.status == 409
    with pytest.raises(ApiError) as removal:
        await c.delete_report_attachment(report.id, a.id)
    assert removal.value.status == 409
    assert await _count(session, Attachment, col(Attachment.report_id) == report.id) == 1
    with pytest.raises(ApiError) as by_officer:
        await w.officer.client.delete_report_attachment(report.id, a.id)
    assert by_officer.value.status == 403


# --- the list ------------------------------------------------------------------------------------


async def test_report_list_pages_and_filters(w: GrantWorld) -> None:
    c = w.applicant.client
    made = [await c.create_report(w.grant.id, _progress(w)) for _ in range(3)]
    await c.submit_report(made[1].id, ReportSubmit(version=1))
    first = await c.list_reports(w.grant.id, limit=2)
    assert first.next_cursor is not None
    second = await c.list_reports(w.grant.id, limit=2, cursor=first.next_cursor)
    assert second.next_cursor is None
    assert sorted(r.id for r in [*first.items, *second.items]) == sorted(r.id for r in made)
    assert [r.expenditure_total for r in first.items] == [1_700_000, 1_700_000]
    submitted = await c.list_reports(w.grant.id, status="submitted")
    assert [r.id for r in submitted.items] == [made[1].id]
    assert (await c.list_reports(w.grant.id, kind="financial")).items == []


async def test_report_list_query_count_does_not_grow(
    w: GrantWorld, count_queries: QueryCounter
) -> None:
    c = w.applicant.client
    await c.create_report(w.grant.id, _progress(w))
    count_queries.count = 0
    one = await c.list_reports(w.grant.id)
    n_one = count_queries.count
    for _ in range(2):
        await c.create_report(w.grant.id, _progress(w))
    count_queries.count = 0
    three = await c.list_reports(w.grant.id)
    assert (len(one.items), len(three.items)) == (1, 3)
    assert count_queries.count == n_one


# --- the staff's queue ---------------------------------------------------------------------------


async def test_report_queue_lists_submitted_reports_of_every_grant_with_their_context(
    w: GrantWorld, session: AsyncSession
) -> None:
    mine = await _submitted(w, _progress(w))
    await w.applicant.client.create_report(w.grant.id, _progress(w))  # a draft: not queued
    other = await w.outsider.client.create_report(
        w.other_grant.id, ReportCreate(kind=ReportKind.PROGRESS, narrative="Three dialogues held")
    )
    other = await w.outsider.client.submit_report(other.id, ReportSubmit(version=other.version))
    pcc_id = (
        await session.execute(select(Pcc.id).where(col(Pcc.territory_id) == w.org.territory_id))
    ).scalar_one()

    queue = await w.officer.client.list_report_queue()
    assert {r.id for r in queue.items} == {mine.id, other.id}
    assert [(r.submitted_at, r.id) for r in queue.items] == sorted(
        (r.submitted_at, r.id) for r in queue.items
    )
    row = next(r for r in queue.items if r.id == mine.id)
    assert (row.grant_id, row.organisation_id, row.organisation_name) == (
        w.grant.id,
        w.org.id,
        "Yntymak",
    )
    assert (row.territory_id, row.pcc_id, row.kind, row.status) == (
        w.org.territory_id,
        pcc_id,
        ReportKind.PROGRESS,
        ReportStatus.SUBMITTED,
    )
    assert (row.tranche_id, row.tranche_position, row.tranche_planned_date) == (
        w.progress.id,
        1,
        w.progress.planned_date,
    )
    assert (row.grant_start, row.grant_end, row.expenditure_total) == (
        date(2026, 1, 1),
        date(2026, 12, 31),
        1_700_000,
    )
    assert row.proposal_title == (await session.get_one(Proposal, w.grant.proposal_id)).title

    # pages, filters; a decided report stays listed under its new status
    first = await w.finance.client.list_report_queue(limit=1)
    assert first.next_cursor is not None
    second = await w.finance.client.list_report_queue(limit=1, cursor=first.next_cursor)
    assert [*(r.id for r in first.items), *(r.id for r in second.items)] == [
        r.id for r in queue.items
    ]
    await w.officer.client.create_report_decision(
        mine.id, ReportDecisionCreate(version=mine.version, outcome="accept")
    )
    submitted = await w.officer.client.list_report_queue(status="submitted")
    assert [r.id for r in submitted.items] == [other.id]
    accepted = await w.officer.client.list_report_queue(status="accepted")
    assert [(r.id, r.status) for r in accepted.items] == [(mine.id, ReportStatus.ACCEPTED)]
    assert (await w.officer.client.list_report_queue(kind="financial")).items == []
    assert (await w.officer.client.list_report_queue(status="draft")).items == []
    elsewhere = await w.officer.client.list_report_queue(territory_id=uuid.uuid4())
    assert elsewhere.items == []
    here = await w.officer.client.list_report_queue(territory_id=w.org.territory_id)
    assert {r.id for r in here.items} == {mine.id, other.id}


async def test_indicator_with_reported_values_cannot_be_deleted(w: GrantWorld) -> None:
    await w.applicant.client.create_report(w.grant.id, _progress(w))
    with pytest.raises(ApiError) as refused:
        await w.officer.client.delete_indicator(w.indicator.action_plan_item_id, w.indicator.id)
    assert refused.value.status == 409
    item = await w.officer.client.get_action_plan_item(w.indicator.action_plan_item_id)
    assert w.indicator.id in [i.id for i in item.indicators]


async def test_report_queue_is_for_staff_only(w: GrantWorld) -> None:
    await _submitted(w, _progress(w))
    with pytest.raises(ApiError) as refused:
        await w.applicant.client.list_report_queue()
    assert refused.value.status == 403
    with pytest.raises(ApiError) as nobody:
        await w.anonymous.list_report_queue()
    assert nobody.value.status == 401


async def test_report_queue_query_count_does_not_grow(
    w: GrantWorld, count_queries: QueryCounter
) -> None:
    await _submitted(w, _progress(w))
    count_queries.count = 0
    one = await w.officer.client.list_report_queue()
    n_one = count_queries.count
    for _ in range(2):
        await _submitted(w, _progress(w))
    count_queries.count = 0
    three = await w.officer.client.list_report_queue()
    assert (len(one.items), len(three.items)) == (1, 3)
    assert count_queries.count == n_one


async def test_report_read_over_http_is_json_with_decimals_as_strings(
    w: GrantWorld, http: httpx.AsyncClient
) -> None:
    report = await w.applicant.client.create_report(w.grant.id, _progress(w))
    resp = await http.get(
        f"reports/{report.id}", headers={"authorization": f"Bearer {w.applicant.token}"}
    )
    assert resp.status_code == 200
    [value] = resp.json()["indicators"]
    assert (value["value"], value["target"]) == ("42.5000", "100.0000")
