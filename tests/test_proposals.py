"""The applicant's journey through the typed client: calls, windows, eligibility, proposals."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.calls import (
    AllocationCreate,
    CallCreate,
    CallTransition,
    ContributionCreate,
    EligibilityAnswers,
    EligibilityCheck,
    RulesReplace,
    WindowCreate,
)
from contracts.client import ApiError, GrantsClient
from contracts.common import I18nText
from contracts.enums import CallStatus, FundingSourceKind, OrganisationKind, ProposalStatus, Role
from contracts.proposals import (
    BudgetLineCreate,
    BudgetLinesReplace,
    EligibilityOverride,
    ProposalCreate,
    ProposalSubmit,
    ProposalUpdate,
    ProposalWithdraw,
)
from service.context import Clock
from service.persistence.models import (
    ActionPlan,
    ActionPlanItem,
    Attachment,
    AuditEvent,
    FundingSource,
    Organisation,
    Pcc,
    Territory,
)
from tests.conftest import MakeOrganisation, MakeUser

BISHKEK = ZoneInfo("Asia/Bishkek")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=BISHKEK)
CLOSES = datetime(2026, 12, 1, 18, 0, tzinfo=BISHKEK)  # 18:00 in Bishkek = 12:00 UTC
MONTHS = timedelta(days=90)  # tokens outlive the clock's jumps to the deadline
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

RULES = [
    {"id": "kind", "kind": "organisation_kind_in", "kinds": ["cso", "initiative_group"]},
    {"id": "place", "kind": "territory_in_window"},
    {"id": "age", "kind": "min_years_since_founding", "years": 2},
    {"id": "amount", "kind": "requested_amount_within_window"},
    {"id": "item", "kind": "linked_to_eligible_item", "min": 1},
    {"id": "docs", "kind": "attachments_present", "kinds": ["budget"]},
    {"id": "budget", "kind": "budget_lines_consistent"},
]


@dataclass
class Programme:
    officer: GrantsClient
    applicant: GrantsClient
    young: GrantsClient
    anonymous: GrantsClient
    org: Organisation
    young_org: Organisation
    osh: Territory
    item: ActionPlanItem
    source: FundingSource


@pytest.fixture
async def programme(
    session: AsyncSession,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    client: GrantsClient,
    frozen_clock: Clock,
) -> Programme:
    frozen_clock.frozen = NOW
    osh = Territory(
        code=f"osh-{uuid.uuid4().hex[:4]}",
        kind="city",
        name={"en": "Osh", "ru": "город Ош", "ky": "Ош шаары"},
        region={"en": "Osh"},
    )
    batken = Territory(
        code=f"batken-{uuid.uuid4().hex[:4]}",
        kind="city",
        name={"en": "Batken", "ru": "город Баткен", "ky": "Баткен шаары"},
        region={"en": "B"},
    )
    session.add_all([osh, batken])
    await session.flush()
    pcc = Pcc(territory_id=osh.id, name={"en": "PCC of Osh"})
    session.add(pcc)
    await session.flush()
    plan = ActionPlan(
        pcc_id=pcc.id,
        title={"en": "Plan"},
        period_start=date(2026, 1, 1),
        period_end=date(2027, 12, 31),
        status="active",
    )
    session.add(plan)
    await session.flush()
    item = ActionPlanItem(
        action_plan_id=plan.id,
        code="OSH-1",
        objective={"en": "Dialogue"},
        activities="x",
        budget_estimate=100_000_000,
    )
    source = FundingSource(
        code=f"PBF-{uuid.uuid4().hex[:4]}", name="PBF", kind=FundingSourceKind.UN_AGENCY
    )
    session.add_all([item, source])
    await session.flush()
    org = await make_organisation(
        territory_id=osh.id, kind=OrganisationKind.CSO, founded_year=2015, name="Yntymak"
    )
    young_org = await make_organisation(
        territory_id=batken.id,
        kind=OrganisationKind.YOUTH_GROUP,
        founded_year=2026,
        name="New Youth",
    )
    return Programme(
        officer=(await make_user(Role.PROGRAMME_OFFICER, token_expires_in=MONTHS)).client,
        applicant=(await make_user(member_of=(org,), token_expires_in=MONTHS)).client,
        young=(await make_user(member_of=(young_org,), token_expires_in=MONTHS)).client,
        anonymous=client,
        org=org,
        young_org=young_org,
        osh=osh,
        item=item,
        source=source,
    )


def _window(
    code: str, lo: int, hi: int, alloc: int, w: Programme, rules: list[dict]
) -> WindowCreate:  # type: ignore[type-arg]  # JSON rules
    return WindowCreate(
        code=code,
        title=I18nText(en=f"Window {code}", ru=f"Окно {code}", ky=f"{code}-терезе"),
        opens_at=NOW - timedelta(days=10),
        closes_at=CLOSES,
        min_grant=lo,
        max_grant=hi,
        allocations=[AllocationCreate(funding_source_id=w.source.id, amount=alloc)],
        territory_ids=[w.osh.id],
        action_plan_item_ids=[w.item.id],
        rules=rules,
    )


async def _published_call(w: Programme) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    call = await w.officer.create_call(
        CallCreate(
            title=I18nText(en="Trust-building grants 2026", ru="Гранты 2026", ky="Гранттар 2026"),
            description=I18nText(en="Two windows"),
            contributions=[ContributionCreate(funding_source_id=w.source.id, amount=100_000_000)],
        )
    )
    w1 = await w.officer.create_window(
        call.id, _window("W1", 5_000_000, 30_000_000, 40_000_000, w, RULES)
    )
    w2 = await w.officer.create_window(
        call.id, _window("W2", 30_000_000, 100_000_000, 60_000_000, w, RULES)
    )
    published = await w.officer.create_call_transition(
        call.id, CallTransition(version=call.version, status=CallStatus.PUBLISHED)
    )
    assert published.status == CallStatus.PUBLISHED
    assert [x.envelope for x in published.windows] == [40_000_000, 60_000_000]
    assert [x.status for x in published.windows] == [CallStatus.PUBLISHED] * 2
    return call.id, w1.id, w2.id


async def _complete_draft(w: Programme, window_id: uuid.UUID) -> uuid.UUID:
    draft = await w.applicant.create_proposal(
        window_id, ProposalCreate(organisation_id=w.org.id, title="Youth dialogue in Osh")
    )
    draft = await w.applicant.update_proposal(
        draft.id,
        ProposalUpdate(
            version=draft.version,
            requested_amount=10_000_000,
            action_plan_item_ids=[w.item.id],
            gender_marker=2,
            gender_justification="Half the facilitators are women",
        ),
    )
    draft = await w.applicant.update_budget_lines(
        draft.id,
        BudgetLinesReplace(
            version=draft.version,
            lines=[
                BudgetLineCreate(
                    category="venue",
                    description="Hall",
                    quantity=Decimal("4"),
                    unit_cost=1_500_000,
                ),
                BudgetLineCreate(
                    category="facilitation",
                    description="Trainers",
                    quantity=Decimal("2.5"),
                    unit_cost=1_600_000,
                ),
            ],
        ),
    )
    assert [line.total for line in draft.budget_lines] == [6_000_000, 4_000_000]
    assert draft.budget_total == 10_000_000
    await w.applicant.create_attachment(draft.id, PDF, "Бюджет.pdf", kind="budget")
    return draft.id


async def test_full_journey_from_call_to_submission(
    programme: Programme, session: AsyncSession, frozen_clock: Clock
) -> None:
    w = programme
    call_id, w1, _ = await _published_call(w)

    # the public sees the open call without signing in
    open_calls = await w.anonymous.list_calls(status="open")
    assert [c.id for c in open_calls.items] == [call_id]

    # an anonymous pre-check with raw answers: every rule's verdict, with reasons
    check = await w.anonymous.create_eligibility_check(
        w1,
        EligibilityCheck(
            answers=EligibilityAnswers(
                organisation_kind=OrganisationKind.CSO, territory_id=w.osh.id, founded_year=2025
            )
        ),
    )
    verdicts = {r.rule_id: r.verdict for r in check.results}
    assert verdicts["kind"] == "pass"
    assert verdicts["place"] == "pass"
    assert verdicts["age"] == "fail"
    assert verdicts["amount"] == "needs_information"
    assert check.verdict == "fail"
    assert check.failed_rule_ids == ["age"]
    age = next(r for r in check.results if r.rule_id == "age")
    assert "2025" in age.reason.en
    assert "2025" in (age.reason.ru or "")
    assert "2025" in (age.reason.ky or "")

    proposal_id = await _complete_draft(w, w1)
    pre = await w.applicant.create_eligibility_check(w1, EligibilityCheck(proposal_id=proposal_id))
    assert pre.verdict == "pass", [(r.rule_id, r.reason.en) for r in pre.results]

    current = await w.applicant.get_proposal(proposal_id)
    assert "submit" in current.allowed_actions
    receipt = await w.applicant.create_submission(
        proposal_id, ProposalSubmit(version=current.version)
    )
    assert receipt.receipt_number.endswith("-W1-00001")
    assert receipt.proposal.status == ProposalStatus.ELIGIBLE
    assert receipt.proposal.eligibility is not None
    assert receipt.proposal.eligibility.rule_set_version == 1
    assert receipt.proposal.eligibility.verdict == "pass"

    # the snapshot is frozen: no more edits
    with pytest.raises(ApiError) as frozen:
        await w.applicant.update_proposal(
            proposal_id, ProposalUpdate(version=receipt.proposal.version, title="Changed")
        )
    assert frozen.value.status == 409
    # and the rules of a window that judged a proposal cannot change any more
    window = await w.officer.get_window(w1)
    with pytest.raises(ApiError) as rules_locked:
        await w.officer.update_window_rules(w1, RulesReplace(version=window.version, rules=RULES))
    assert rules_locked.value.status == 409

    events = set(
        (
            await session.execute(
                select(AuditEvent.action).where(col(AuditEvent.entity_id) == str(proposal_id))
            )
        ).scalars()
    )
    assert {"proposal.created", "proposal.submitted", "proposal.eligible"} <= events


async def test_ineligible_proposal_is_stopped_with_its_reasons_and_can_be_overridden(
    programme: Programme, session: AsyncSession
) -> None:
    w = programme
    _, w1, _ = await _published_call(w)
    draft = await w.young.create_proposal(
        w1, ProposalCreate(organisation_id=w.young_org.id, title="Youth media")
    )
    draft = await w.young.update_proposal(
        draft.id, ProposalUpdate(version=draft.version, requested_amount=1_000_000)
    )
    receipt = await w.young.create_submission(draft.id, ProposalSubmit(version=draft.version))
    p = receipt.proposal
    assert p.status == ProposalStatus.INELIGIBLE
    assert p.eligibility is not None
    assert p.eligibility.failed_rule_ids == [
        "kind",
        "place",
        "age",
        "amount",
        "item",
        "docs",
        "budget",
    ]
    reasons = {r.rule_id: r.reason for r in p.eligibility.results}
    assert "2026" in reasons["age"].en

    with pytest.raises(ApiError) as short:
        await w.officer.create_eligibility_override(
            p.id, EligibilityOverride(version=p.version, eligible=True, reason="ok")
        )
    assert short.value.status == 422
    overridden = await w.officer.create_eligibility_override(
        p.id,
        EligibilityOverride(
            version=p.version,
            eligible=True,
            reason="Registered in 2026 as the successor of a 2019 initiative group",
        ),
    )
    assert overridden.status == ProposalStatus.ELIGIBLE
    assert overridden.eligibility_override is not None
    event = (
        await session.execute(
            select(AuditEvent).where(col(AuditEvent.action) == "proposal.eligibility_overridden")
        )
    ).scalar_one()
    assert event.reason == "Registered in 2026 as the successor of a 2019 initiative group"
    # the applicant cannot override
    with pytest.raises(ApiError) as refused:
        await w.young.create_eligibility_override(
            p.id, EligibilityOverride(version=overridden.version, eligible=False, reason="x" * 12)
        )
    assert refused.value.status == 403


@pytest.mark.parametrize(
    ("offset", "accepted"), [(timedelta(seconds=-1), True), (timedelta(seconds=1), False)]
)
async def test_submission_deadline_is_judged_by_server_time(
    programme: Programme, frozen_clock: Clock, offset: timedelta, accepted: bool
) -> None:
    w = programme
    _, w1, _ = await _published_call(w)
    proposal_id = await _complete_draft(w, w1)
    current = await w.applicant.get_proposal(proposal_id)
    frozen_clock.frozen = CLOSES + offset  # one second before / after 18:00 in Bishkek
    if accepted:
        receipt = await w.applicant.create_submission(
            proposal_id, ProposalSubmit(version=current.version)
        )
        assert receipt.submitted_at == CLOSES + offset
    else:
        with pytest.raises(ApiError) as late:
            await w.applicant.create_submission(
                proposal_id, ProposalSubmit(version=current.version)
            )
        assert late.value.status == 409
        assert "closed" in (late.value.problem.detail or "")
        assert (await w.applicant.get_proposal(proposal_id)).status == ProposalStatus.DRAFT


async def test_withdrawal_before_close_only(programme: Programme, frozen_clock: Clock) -> None:
    w = programme
    _, w1, _ = await _published_call(w)
    first = await _complete_draft(w, w1)
    second = await _complete_draft(w, w1)
    p1 = await w.applicant.get_proposal(first)
    withdrawn = await w.applicant.create_withdrawal(
        first, ProposalWithdraw(version=p1.version, reason="merged with another")
    )
    assert withdrawn.status == ProposalStatus.WITHDRAWN
    p2 = await w.applicant.get_proposal(second)
    frozen_clock.frozen = CLOSES
    with pytest.raises(ApiError) as late:
        await w.applicant.create_withdrawal(second, ProposalWithdraw(version=p2.version))
    assert late.value.status == 409


async def test_other_organisations_cannot_see_or_touch_a_proposal(programme: Programme) -> None:
    w = programme
    _, w1, _ = await _published_call(w)
    proposal_id = await _complete_draft(w, w1)
    for call in (
        w.young.get_proposal(proposal_id),
        w.young.update_proposal(proposal_id, ProposalUpdate(version=1, title="mine")),
        w.young.create_attachment(proposal_id, PDF, "x.pdf"),
    ):
        with pytest.raises(ApiError) as hidden:
            await call
        assert hidden.value.status == 404
    listed = await w.young.list_proposals()
    assert listed.items == []
    with pytest.raises(ApiError) as foreign:
        await w.young.create_proposal(w1, ProposalCreate(organisation_id=w.org.id, title="x"))
    assert foreign.value.status == 403
    staff = await w.officer.list_proposals(window_id=w1)
    assert [p.id for p in staff.items] == [proposal_id]


async def test_attachment_download_is_private_and_a_download(programme: Programme) -> None:
    w = programme
    _, w1, _ = await _published_call(w)
    proposal_id = await _complete_draft(w, w1)
    attachment = (await w.applicant.get_proposal(proposal_id)).attachments[0]
    assert (attachment.content_type, attachment.original_name) == ("application/pdf", "Бюджет.pdf")
    content, headers = await w.applicant.get_attachment_content(attachment.id)
    assert content == PDF
    assert headers["content-disposition"].startswith("attachment;")
    assert headers["x-content-type-options"] == "nosniff"
    with pytest.raises(ApiError) as hidden:
        await w.young.get_attachment_content(attachment.id)
    assert hidden.value.status == 404


@pytest.mark.parametrize(
    ("data", "name", "status"),
    [
        (b"MZ\x90\x00 not really a pdf", "budget.pdf", 415),
        (b"", "empty.pdf", 422),
        (b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024), "huge.pdf", 413),
        (PDF, "../../etc/passwd.pdf", 422),
        (PDF, "..\\..\\budget.pdf", 422),
    ],
)
async def test_bad_uploads_store_nothing(
    programme: Programme,
    session: AsyncSession,
    storage_dir: Path,
    data: bytes,
    name: str,
    status: int,
) -> None:
    w = programme
    _, w1, _ = await _published_call(w)
    draft = await w.applicant.create_proposal(
        w1, ProposalCreate(organisation_id=w.org.id, title="Uploads")
    )
    with pytest.raises(ApiError) as refused:
        await w.applicant.create_attachment(draft.id, data, name, kind="budget")
    assert refused.value.status == status
    stored = [p for p in storage_dir.rglob("*") if p.is_file()]  # noqa: ASYNC240  (a tmp dir)
    assert stored == []
    rows = (
        await session.execute(
            select(func.count())
            .select_from(Attachment)
            .where(col(Attachment.proposal_id) == draft.id)
        )
    ).scalar_one()
    assert rows == 0


async def test_envelopes_never_exceed_contributions(programme: Programme) -> None:
    w = programme
    call = await w.officer.create_call(
        CallCreate(
            title=I18nText(en="Small"),
            description=I18nText(en="d"),
            contributions=[ContributionCreate(funding_source_id=w.source.id, amount=10_000_000)],
        )
    )
    await w.officer.create_window(call.id, _window("A", 100, 1000, 6_000_000, w, RULES))
    with pytest.raises(ApiError) as over:
        await w.officer.create_window(call.id, _window("B", 100, 1000, 5_000_000, w, RULES))
    assert over.value.status == 422
    again = await w.officer.get_call(call.id)
    assert [x.code for x in again.windows] == ["A"]
    assert again.contributions[0].allocated == 6_000_000


async def test_draft_calls_are_hidden_from_the_public(programme: Programme) -> None:
    w = programme
    call = await w.officer.create_call(
        CallCreate(title=I18nText(en="Draft"), description=I18nText(en="d"))
    )
    with pytest.raises(ApiError) as hidden:
        await w.anonymous.get_call(call.id)
    assert hidden.value.status == 404
    assert (await w.anonymous.list_calls()).items == []
    with pytest.raises(ApiError) as illegal:
        await w.officer.create_call_transition(
            call.id, CallTransition(version=call.version, status=CallStatus.ARCHIVED)
        )
    assert illegal.value.status == 409
    assert illegal.value.problem.allowed == ["published"]
