"""The public transparency view (GetTransparency): only decided windows' grants, no personal data,
sums that add up; anyone may read it."""

from __future__ import annotations

from pathlib import Path

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.client import GrantsClient
from service.demo import load_demo_data
from service.persistence.models import (
    AppUser,
    Grant,
    Organisation,
    PccMember,
    Proposal,
    SelectionRun,
    Territory,
)
from tests.conftest import QueryCounter


def _strings(value: object) -> list[str]:
    """Every string (keys and values) of a JSON document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


async def test_transparency_shows_the_decided_windows_grants_and_nothing_personal(
    session: AsyncSession, client: GrantsClient, storage_dir: Path
) -> None:
    await load_demo_data(session, storage_dir)
    view = await client.get_transparency()  # the client carries no credentials: anonymous

    decided = set(
        (
            await session.execute(
                select(SelectionRun.window_id).where(col(SelectionRun.approved_at).is_not(None))
            )
        ).scalars()
    )
    assert decided  # the demo decided window 1
    assert {w.id for w in view.windows} == decided
    awarded = (
        await session.execute(select(Grant).where(col(Grant.window_id).in_(decided)))
    ).scalars()
    expected = {g.id: g for g in awarded}
    assert len(expected) == 3
    assert {g.id for g in view.grants} == set(expected)
    for g in view.grants:
        assert g.window_id in decided
        assert g.disbursed == expected[g.id].disbursed_amount
        assert 0 < g.committed <= expected[g.id].amount
        assert g.items, g.title  # every demo grant funds action-plan items
        org = await session.get(Organisation, expected[g.id].organisation_id)
        assert org is not None
        assert g.organisation_name == org.name
        territory = await session.get(Territory, org.territory_id)
        assert territory is not None
        assert g.territory_code == territory.code

    # sums: per territory (all seven listed) and per funding source add up to the grants
    assert len(view.by_territory) == 7
    assert sum(t.committed for t in view.by_territory) == view.committed
    assert sum(t.disbursed for t in view.by_territory) == view.disbursed
    assert view.committed == sum(g.committed for g in view.grants)
    assert view.disbursed == sum(g.disbursed for g in view.grants) > 0
    assert sum(s.committed for s in view.by_funding_source) == sum(
        expected[g.id].amount for g in view.grants
    )
    assert sum(s.disbursed for s in view.by_funding_source) == view.disbursed
    assert len(view.by_funding_source) >= 2

    # nothing of the undecided window: its proposals' titles are nowhere
    text = _strings(msgspec.to_builtins(view))
    blob = "\n".join(text)
    undecided_titles = (
        await session.execute(select(Proposal.title).where(col(Proposal.window_id).not_in(decided)))
    ).scalars()
    for title in undecided_titles:
        assert title not in blob, title
    # and no person: no user's name or e-mail, no PCC member's name
    people = [
        *(await session.execute(select(AppUser.full_name))).scalars(),
        *(await session.execute(select(AppUser.email))).scalars(),
        *(await session.execute(select(PccMember.full_name))).scalars(),
    ]
    assert len(people) > 10
    for who in people:
        assert who not in blob, who
    assert "@" not in blob


async def test_transparency_answers_in_a_fixed_number_of_queries(
    session: AsyncSession, client: GrantsClient, storage_dir: Path, count_queries: QueryCounter
) -> None:
    """No grant against the demo's three (with their items, charges and payments): the same
    number of queries."""
    count_queries.count = 0
    empty = await client.get_transparency()
    none = count_queries.count
    assert empty.grants == []
    await load_demo_data(session, storage_dir)
    count_queries.count = 0
    full = await client.get_transparency()
    assert len(full.grants) == 3
    assert count_queries.count == none
