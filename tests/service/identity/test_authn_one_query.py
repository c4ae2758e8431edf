"""Authentication is one statement per request, and nothing of its answer is kept: a revoked
token, a removed role or membership counts from the very next request (issue 16)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts.client import ApiError, GrantsClient
from contracts.enums import Role
from service.identity.authn import authenticate
from service.persistence.models import Membership, UserRole
from tests.conftest import MakeOrganisation, MakeUser, QueryCounter

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)


async def test_bearer_token_is_authenticated_in_one_statement(
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    session: AsyncSession,
    count_queries: QueryCounter,
) -> None:
    org_a, org_b = await make_organisation(), await make_organisation()
    person = await make_user(Role.REVIEWER, Role.AUDITOR, member_of=(org_a, org_b))
    before = count_queries.count

    actor, restriction = await authenticate(session, f"Bearer {person.token}", None)

    assert count_queries.count - before == 1
    assert (actor.id, actor.roles, actor.organisation_ids, restriction) == (
        person.id,
        frozenset({Role.REVIEWER, Role.AUDITOR}),
        frozenset({org_a.id, org_b.id}),
        None,
    )


async def test_user_without_roles_or_memberships_is_authenticated_with_none(
    make_user: MakeUser, session: AsyncSession
) -> None:
    person = await make_user()

    actor, _ = await authenticate(session, f"Bearer {person.token}", None)

    assert (actor.id, actor.roles, actor.organisation_ids) == (person.id, frozenset(), frozenset())


async def test_revoked_token_is_refused_on_the_very_next_request(
    make_user: MakeUser, client: GrantsClient
) -> None:
    person = await make_user(Role.AUDITOR)
    assert (await person.client.get_me()).id == person.id

    await person.client.delete_token()
    try:
        await person.client.get_me()
        status = 200
    except ApiError as exc:
        status = exc.status

    assert status == 401


async def _status(call: object) -> int:
    try:
        await call  # type: ignore[misc]  # an awaitable of the client
    except ApiError as exc:
        return exc.status
    return 200


async def test_removed_role_and_membership_count_from_the_next_request(
    make_user: MakeUser, make_organisation: MakeOrganisation, session: AsyncSession
) -> None:
    org = await make_organisation()
    person = await make_user(Role.AUDITOR)
    member = await make_user(member_of=(org,))
    assert await _status(person.client.list_audit_events()) == 200
    assert await _status(member.client.get_organisation(org.id)) == 200

    await session.execute(delete(UserRole).where(col(UserRole.user_id) == person.id))
    await session.execute(delete(Membership).where(col(Membership.user_id) == member.id))
    await session.flush()

    assert await _status(person.client.list_audit_events()) == 403
    assert await _status(member.client.get_organisation(org.id)) in {403, 404}
