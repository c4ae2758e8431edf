"""Demo data: real for the place, every role can sign in, re-running it is harmless."""

from __future__ import annotations

from collections import Counter
from importlib import resources
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.client import GrantsClient
from contracts.enums import (
    LedgerEntryKind,
    OrganisationKind,
    ProposalStatus,
    SelectionRunStatus,
    TrancheStatus,
)
from service.audit.service import verify
from service.demo import DEMO_PASSWORD, load_demo_data
from service.demo.spec import CallSpec, DemoDataError, People, check, decode, world
from service.persistence.models import (
    ActionPlanItem,
    AppUser,
    AuditEvent,
    GrantCharge,
    LedgerEntry,
    Organisation,
    Proposal,
    SelectionRun,
    Territory,
    Tranche,
)

TERRITORIES = {"alamedin", "sokuluk", "osh", "uzgen", "jalal-abad", "batken", "razzakov"}


async def _count(session: AsyncSession, model: type) -> int:
    return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_demo_data_is_complete_and_idempotent(
    session: AsyncSession, client: GrantsClient, storage_dir: Path
) -> None:
    first = await load_demo_data(session, storage_dir)
    events_after_first = await _count(session, AuditEvent)
    second = await load_demo_data(session, storage_dir)

    assert sum(first.created.values()) > 0
    assert first.created["call"] == 1
    assert set(second.created.values()) == {0}
    assert await _count(session, AuditEvent) == events_after_first
    assert second.logins == first.logins
    assert (await verify(session)).ok

    codes = set((await session.execute(select(Territory.code))).scalars())
    assert codes == TERRITORIES
    for t in (await session.execute(select(Territory))).scalars():
        assert set(t.name) == {"en", "ru", "ky"}, t.code

    kinds = set((await session.execute(select(Organisation.kind))).scalars())
    assert kinds == set(OrganisationKind)
    flags = Counter(
        (g, c)
        for g, c in await session.execute(
            select(ActionPlanItem.gender_responsive, ActionPlanItem.conflict_sensitive)
        )
    )
    assert sum(n for (g, _), n in flags.items() if g) > 0
    assert sum(n for (_, c), n in flags.items() if c) > 0

    roles = {login.role.split(" ")[0] for login in first.logins}
    assert {"admin", "programme_officer", "finance_officer", "reviewer", "auditor"} <= roles
    assert any(login.role.startswith("applicant") for login in first.logins)

    # the published two-window call, with proposals at every stage reachable so far
    calls = await client.list_calls(status="open")
    assert [c.title.en for c in calls.items] == ["Trust-building small grants 2026"]
    assert [w.code for w in calls.items[0].windows] == ["W1", "W2"]
    statuses = Counter((await session.execute(select(Proposal.status))).scalars())
    # every status; window 1's selected proposals are all grants now
    assert set(statuses) == set(ProposalStatus) - {
        ProposalStatus.SUBMITTED,  # transient: judged eligible or not at once
        ProposalStatus.SELECTED,
    }
    # grants with tranches in every state, charged partly to the USD source, and a payment
    # reversed and made again
    assert first.created["grant"] == statuses[ProposalStatus.AWARDED] == 3
    tranche_states = set((await session.execute(select(Tranche.status))).scalars())
    assert tranche_states == set(TrancheStatus)
    charge_currencies = set((await session.execute(select(GrantCharge.source_currency))).scalars())
    assert charge_currencies == {"KGS", "USD"}
    ledger = Counter((await session.execute(select(LedgerEntry.kind))).scalars())
    assert ledger == {LedgerEntryKind.DISBURSEMENT: 2, LedgerEntryKind.REVERSAL: 1}
    overridden = (
        await session.execute(
            select(Proposal).where(col(Proposal.eligibility_override).is_not(None))
        )
    ).scalar_one()
    assert overridden.status == ProposalStatus.IN_REVIEW  # eligible by override, now reviewed

    # window 1 was reviewed by the panel, ranked (a lottery ordered the exact tie), selected
    # with a women-led quota, and the decision approved; its applicants read their feedback
    run = (
        await session.execute(
            select(SelectionRun).where(col(SelectionRun.status) == SelectionRunStatus.APPROVED)
        )
    ).scalar_one()
    assert run.outputs is not None
    assert "lottery" in [e["decided_by"] for e in run.outputs["entries"]]
    # four eyes: the first officer created and computed it, the second approved it
    people = {
        u.id: u.email
        for u in (
            await session.execute(
                select(AppUser).where(
                    col(AppUser.id).in_([run.created_by, run.computed_by, run.approved_by])
                )
            )
        ).scalars()
    }
    assert [people.get(x) for x in (run.created_by, run.computed_by, run.approved_by)] == [
        "officer@demo.pcc-grants.kg",
        "officer@demo.pcc-grants.kg",
        "officer2@demo.pcc-grants.kg",
    ]
    assert [q["met"] for q in run.outputs["quota_checks"]] == [True]
    yntymak = (
        await session.execute(
            select(Proposal).where(col(Proposal.title) == "Village mediation circles in Alamedin")
        )
    ).scalar_one()
    token = await client.create_token("applicant.yntymak@demo.pcc-grants.kg", DEMO_PASSWORD)
    feedback = await client.as_user(token.access_token).get_feedback(yntymak.id)
    assert [x.code for x in feedback.criteria] == ["relevance", "feasibility", "gender"]
    assert feedback.rank_band is not None
    assert feedback.comments
    assert [p for p in storage_dir.rglob("*.pdf")]  # noqa: ASYNC240  (a tmp dir)

    # every printed login works
    for login in first.logins:
        token = await client.create_token(login.email, DEMO_PASSWORD)
        me = await client.as_user(token.access_token).get_me()
        assert me.email == login.email


# --- the data files ---------------------------------------------------------------------------


def _data(name: str) -> str:
    return resources.files("service.demo").joinpath("data", name).read_text(encoding="utf-8")


def test_the_packaged_data_files_are_whole_and_consistent() -> None:
    loaded = world()
    assert {t.code for t in loaded.places.territories} == TERRITORIES
    assert len(loaded.people.organisations) == 11
    assert check(loaded) is loaded


def test_a_misspelt_key_is_refused_naming_the_file_and_the_key() -> None:
    text = _data("people.yaml").replace("  founded_year: 2009", "  founded_yaer: 2009", 1)
    with pytest.raises(DemoDataError) as refused:
        decode("people.yaml", text, People)
    assert str(refused.value) == (
        "people.yaml: Object contains unknown field `founded_yaer` - at `$.organisations[0]`"
    )


def test_a_value_of_the_wrong_type_is_refused_naming_the_file_and_the_key() -> None:
    text = _data("people.yaml").replace("  founded_year: 2009", "  founded_year: long ago", 1)
    with pytest.raises(DemoDataError) as refused:
        decode("people.yaml", text, People)
    assert str(refused.value) == (
        "people.yaml: Expected `int`, got `str` - at `$.organisations[0].founded_year`"
    )


def test_an_unknown_enum_value_is_refused() -> None:
    text = _data("call.yaml").replace(
        "  - registration_certificate\n  end:", "  - registration\n  end:", 1
    )
    with pytest.raises(DemoDataError) as refused:
        decode("call.yaml", text, CallSpec)
    assert str(refused.value).startswith("call.yaml: Invalid enum value 'registration' - at ")
    assert "`$.proposals[8].attachments[1]`" in str(refused.value)


def test_a_reference_to_nothing_is_refused_naming_the_file_and_the_key() -> None:
    loaded = world()
    applicants = list(loaded.people.applicants)
    applicants[2] = msgspec.structs.replace(applicants[2], organisation="ayalzatt")
    broken = msgspec.structs.replace(
        loaded, people=msgspec.structs.replace(loaded.people, applicants=tuple(applicants))
    )
    with pytest.raises(DemoDataError) as refused:
        check(broken)
    assert str(refused.value).startswith(
        "people.yaml: 'ayalzatt' at `$.applicants[2].organisation` is not an organisation (known: "
    )


def test_a_proposal_scored_on_criteria_the_rubric_lacks_is_refused() -> None:
    loaded = world()
    scores = dict(loaded.call.w1_scores)
    scores["yntymak"] = {"relevance": 45, "feasibility": 40}
    broken = msgspec.structs.replace(
        loaded, call=msgspec.structs.replace(loaded.call, w1_scores=scores)
    )
    with pytest.raises(DemoDataError, match=r"call.yaml: `\$.w1_scores.yntymak` scores"):
        check(broken)


def test_broken_yaml_is_refused_naming_the_file() -> None:
    with pytest.raises(DemoDataError, match=r"^grants.yaml: "):
        decode("grants.yaml", "rates: [USD: 1\n", CallSpec)
