"""The applicant's journey through the typed client: calls, windows, eligibility, proposals."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.calls import (
    CallCreate,
    CallTransition,
    ContributionCreate,
    EligibilityAnswers,
    EligibilityCheck,
    RulesReplace,
)
from contracts.client import ApiError
from contracts.common import I18nText
from contracts.enums import CallStatus, OrganisationKind, ProposalStatus
from contracts.proposals import (
    EligibilityOverride,
    ProposalCreate,
    ProposalSubmit,
    ProposalUpdate,
    ProposalWithdraw,
)
from service.context import Clock
from service.persistence.models import (
    Attachment,
    AuditEvent,
)
from tests.journey import (
    CLOSES,
    PDF,
    RULES,
    Programme,
    complete_draft,
    published_call,
    window_spec,
)

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)


async def test_full_journey_from_call_to_submission(
    programme: Programme, session: AsyncSession, frozen_clock: Clock
) -> None:
    w = programme
    call_id, w1, _ = await published_call(w)

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

    proposal_id = await complete_draft(w, w1)
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
    _, w1, _ = await published_call(w)
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
    _, w1, _ = await published_call(w)
    proposal_id = await complete_draft(w, w1)
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
    _, w1, _ = await published_call(w)
    first = await complete_draft(w, w1)
    second = await complete_draft(w, w1)
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
    _, w1, _ = await published_call(w)
    proposal_id = await complete_draft(w, w1)
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
    _, w1, _ = await published_call(w)
    proposal_id = await complete_draft(w, w1)
    attachment = (await w.applicant.get_proposal(proposal_id)).attachments[0]
    assert (attachment.content_type, attachment.original_name) == ("application/pdf", "Бюджет.pdf")
    content, headers = await w.applicant.get_attachment_content(attachment.id)
    assert content == PDF
    assert headers["content-disposition"].startswith("attachment;")
    assert headers["x-content-type-options"] == "nosniff"
    with pytest.raises(ApiError) as hidden:
        await w.young.get_attachment_content(attachment.id)
    assert hidden.value.status == 404


async def test_no_login_cannot_tell_an_existing_attachment_from_a_random_id(
    programme: Programme,
) -> None:
    """Without credentials, an existing attachment and a random id get the same 401 (it was 401
    for one and 404 for the other, confirming which ids exist)."""
    w = programme
    _, w1, _ = await published_call(w)
    proposal_id = await complete_draft(w, w1)
    attachment = (await w.applicant.get_proposal(proposal_id)).attachments[0]
    answers = []
    for attachment_id in (attachment.id, uuid.uuid4()):
        for method, path in (
            ("GET", f"attachments/{attachment_id}/content"),
            ("DELETE", f"attachments/{attachment_id}"),
        ):
            response = await w.applicant.http.request(method, path)
            problem = response.json()
            answers.append((response.status_code, problem["type"], problem["detail"]))
    assert len(set(answers)) == 1
    assert answers[0][:2] == (401, "urn:pcc-grants:problem:unauthenticated")


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
    _, w1, _ = await published_call(w)
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
    await w.officer.create_window(call.id, window_spec("A", 100, 1000, 6_000_000, w, RULES))
    with pytest.raises(ApiError) as over:
        await w.officer.create_window(call.id, window_spec("B", 100, 1000, 5_000_000, w, RULES))
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


async def test_receipt_numbers_stay_unique_when_two_calls_have_a_window_of_the_same_code(
    programme: Programme,
) -> None:
    """Window codes repeat from call to call ("W1" in each); receipts are unique across calls."""
    w = programme
    _, first_w1, _ = await published_call(w)
    _, second_w1, _ = await published_call(w)
    assert (await w.officer.get_window(first_w1)).code == (
        await w.officer.get_window(second_w1)
    ).code
    receipts = []
    for window_id in (first_w1, second_w1, first_w1):
        proposal_id = await complete_draft(w, window_id)
        current = await w.applicant.get_proposal(proposal_id)
        receipt = await w.applicant.create_submission(
            proposal_id, ProposalSubmit(version=current.version)
        )
        receipts.append(receipt.receipt_number)
    assert [r.rsplit("-", 1)[1] for r in receipts] == ["00001", "00002", "00003"]
    assert len(set(receipts)) == 3
    assert all(r.split("-")[1] == "W1" for r in receipts)


async def test_linked_items_and_co_applicants_are_replaced_and_unknown_ids_refused(
    programme: Programme,
) -> None:
    w = programme
    _, w1, _ = await published_call(w)
    draft = await w.applicant.create_proposal(
        w1, ProposalCreate(organisation_id=w.org.id, title="Dialogue")
    )
    linked = await w.applicant.update_proposal(
        draft.id,
        ProposalUpdate(
            version=draft.version,
            action_plan_item_ids=[w.item.id],
            co_applicant_ids=[w.young_org.id, w.org.id],  # the applicant itself is left out
        ),
    )
    assert linked.action_plan_item_ids == [w.item.id]
    assert linked.co_applicant_ids == [w.young_org.id]

    unknown = uuid.uuid4()
    for update, field, detail in (
        (
            ProposalUpdate(version=linked.version, action_plan_item_ids=[w.item.id, unknown]),
            "body.action_plan_item_ids",
            "unknown action-plan items",
        ),
        (
            ProposalUpdate(version=linked.version, co_applicant_ids=[unknown]),
            "body.co_applicant_ids",
            "unknown co-applicant organisations",
        ),
    ):
        with pytest.raises(ApiError) as refused:
            await w.applicant.update_proposal(draft.id, update)
        problem = refused.value.problem
        assert (problem.status, problem.detail) == (422, detail)
        assert [(e.field, e.message) for e in problem.errors or []] == [
            (field, f"unknown: {[str(unknown)]}")
        ]
    again = await w.applicant.get_proposal(draft.id)
    assert (again.version, again.action_plan_item_ids, again.co_applicant_ids) == (
        linked.version,
        [w.item.id],
        [w.young_org.id],
    )
