"""The directory of organisations: names to choose partners by, nothing private."""

from __future__ import annotations

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.client import ApiError, GrantsClient
from contracts.enums import OrganisationKind
from service.persistence.models import Territory
from tests.conftest import MakeOrganisation, MakeUser

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)


async def test_the_directory_names_organisations_by_territory_and_name_and_nothing_more(
    client: GrantsClient,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    territory: Territory,
    session: AsyncSession,
) -> None:
    other_place = Territory(
        code="t-elsewhere",
        kind="city",
        name={"en": "Batken", "ru": "город Баткен", "ky": "Баткен шаары"},
        region={"en": "Batken", "ru": "Баткен", "ky": "Баткен"},
    )
    session.add(other_place)
    await session.flush()
    mine = await make_organisation(name="Ayalzat 50% women")
    partner = await make_organisation(
        name="Kelechek youth", kind=OrganisationKind.YOUTH_GROUP, phone="+996 555 000 111"
    )
    far = await make_organisation(name="Batken radio", territory_id=other_place.id)
    me = client.as_user((await make_user(member_of=(mine,))).token)

    here = await me.list_organisation_directory(territory_ids=[territory.id])
    assert [o.id for o in here.items] == [mine.id, partner.id]  # by name, any case
    both = await me.list_organisation_directory(territory_ids=[territory.id, other_place.id])
    assert {o.id for o in both.items} == {mine.id, partner.id, far.id}
    found = await me.list_organisation_directory(q="KELE")
    assert [o.id for o in found.items] == [partner.id]
    assert (await me.list_organisation_directory(q="50%")).items[0].id == mine.id
    assert (await me.list_organisation_directory(q="5_%")).items == []  # wildcards are text
    raw = msgspec.to_builtins(here)
    assert set(raw["items"][1]) == {"id", "name", "kind", "territory_id"}
    assert "+996 555 000 111" not in msgspec.json.encode(raw).decode()  # (ids may hold "555")


async def test_the_directory_is_for_signed_in_people(client: GrantsClient) -> None:
    with pytest.raises(ApiError) as refused:
        await client.list_organisation_directory()
    assert refused.value.status == 401
