"""An administrator's account changes (UpdateUser, ListUsers' search) and the audit log's
filters (actor, action, period, newest first), against real PostgreSQL (issue 14)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

import pytest

from contracts.client import ApiError
from contracts.enums import Role
from contracts.identity import UserCreate, UserUpdate
from tests.conftest import MakeUser

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)

PASSWORD = "quiet orange lantern harbour"


async def refused(call: Awaitable[object]) -> ApiError:
    with pytest.raises(ApiError) as info:
        await call
    return info.value


async def test_deactivation_revokes_tokens_and_reactivation_lets_them_sign_in_again(
    make_user: MakeUser,
) -> None:
    admin = await make_user(Role.ADMIN)
    auditor = await make_user(Role.AUDITOR)
    assert (await auditor.client.get_me()).is_active

    done = await admin.client.update_user(auditor.user.id, UserUpdate(is_active=False))
    assert done.is_active is False
    assert (await refused(auditor.client.get_me())).status == 401

    events = await admin.client.list_audit_events(
        entity="user", entity_id=str(auditor.user.id), action="user.deactivated"
    )
    assert len(events.items) == 1
    event = events.items[0]
    assert event.before == {"roles": ["auditor"], "is_active": True}
    assert event.after == {"roles": ["auditor"], "is_active": False, "tokens_revoked": 1}

    again = await admin.client.update_user(auditor.user.id, UserUpdate(is_active=True))
    assert again.is_active is True
    # the old token stays revoked: reactivation does not bring tokens back
    assert (await refused(auditor.client.get_me())).status == 401


async def test_roles_are_replaced_and_recorded(make_user: MakeUser) -> None:
    admin = await make_user(Role.ADMIN)
    person = await make_user(Role.REVIEWER)
    done = await admin.client.update_user(
        person.user.id, UserUpdate(roles=[Role.AUDITOR, Role.FINANCE_OFFICER])
    )
    assert done.roles == [Role.AUDITOR, Role.FINANCE_OFFICER]
    assert (await person.client.get_me()).roles == [Role.AUDITOR, Role.FINANCE_OFFICER]
    event = (
        await admin.client.list_audit_events(entity_id=str(person.user.id), action="user.updated")
    ).items[0]
    assert event.before == {"roles": ["reviewer"], "is_active": True}
    assert event.after == {"roles": ["auditor", "finance_officer"], "is_active": True}


async def test_an_administrator_may_not_deactivate_or_demote_themselves(
    make_user: MakeUser,
) -> None:
    admin = await make_user(Role.ADMIN)
    gone = await refused(admin.client.update_user(admin.user.id, UserUpdate(is_active=False)))
    assert gone.status == 422
    assert [e.field for e in gone.problem.errors or []] == ["body.is_active"]
    demoted = await refused(
        admin.client.update_user(admin.user.id, UserUpdate(roles=[Role.AUDITOR]))
    )
    assert demoted.status == 422
    assert [e.field for e in demoted.problem.errors or []] == ["body.roles"]
    me = await admin.client.get_me()
    assert me.is_active
    assert me.roles == [Role.ADMIN]


async def test_update_of_an_unknown_user_is_404(make_user: MakeUser) -> None:
    admin = await make_user(Role.ADMIN)
    missing = await refused(admin.client.update_user(uuid.uuid4(), UserUpdate(is_active=False)))
    assert missing.status == 404
    assert (await refused(admin.client.get_user(uuid.uuid4()))).status == 404


async def test_one_user_is_read_with_roles_and_state(make_user: MakeUser) -> None:
    admin = await make_user(Role.ADMIN)
    auditor = await make_user(Role.AUDITOR)
    person = await make_user(Role.REVIEWER, Role.FINANCE_OFFICER)
    await admin.client.update_user(person.user.id, UserUpdate(is_active=False))
    read = await auditor.client.get_user(person.user.id)
    assert read.email == person.user.email
    assert read.roles == [Role.FINANCE_OFFICER, Role.REVIEWER]
    assert read.is_active is False


async def test_users_are_searched_by_part_of_name_or_email(make_user: MakeUser) -> None:
    admin = await make_user(Role.ADMIN)
    tag = uuid.uuid4().hex[:8]
    made = await admin.client.create_user(
        UserCreate(
            email=f"clerk-{tag}@test.example",
            password=PASSWORD,
            full_name=f"Aida Clerk_{tag}",
            roles=[Role.AUDITOR],
        )
    )
    by_mail = await admin.client.list_users(q=f"CLERK-{tag}")
    assert [u.id for u in by_mail.items] == [made.id]
    by_name = await admin.client.list_users(q=f"clerk_{tag}")
    assert [u.id for u in by_name.items] == [made.id]
    # `_` and `%` are letters here, not wildcards
    assert (await admin.client.list_users(q=f"clerk%{tag}")).items == []


async def test_audit_events_filtered_by_actor_action_and_period(make_user: MakeUser) -> None:
    admin = await make_user(Role.ADMIN)
    auditor = await make_user(Role.AUDITOR)
    person = await make_user(Role.REVIEWER)
    await admin.client.update_user(person.user.id, UserUpdate(roles=[Role.AUDITOR]))
    await admin.client.update_user(person.user.id, UserUpdate(is_active=False))

    mine = await auditor.client.list_audit_events(actor=admin.user.email.upper())
    assert {e.action for e in mine.items} == {"user.updated", "user.deactivated"}
    assert all(admin.user.email in e.actor for e in mine.items)

    now = datetime.now(UTC)
    recent = await auditor.client.list_audit_events(
        action="user.deactivated", since=now - timedelta(hours=1), until=now + timedelta(hours=1)
    )
    assert str(person.user.id) in {e.entity_id for e in recent.items}
    old = await auditor.client.list_audit_events(
        action="user.deactivated", until=now - timedelta(hours=1)
    )
    assert str(person.user.id) not in {e.entity_id for e in old.items}

    await admin.client.update_user(person.user.id, UserUpdate(is_active=True))
    newest = await auditor.client.list_audit_events(newest_first=True, limit=2)
    assert newest.items[0].action == "user.reactivated"
    assert newest.items[0].seq > newest.items[1].seq
    assert newest.next_cursor == str(newest.items[1].seq)
    following = await auditor.client.list_audit_events(
        newest_first=True, cursor=newest.next_cursor, limit=1
    )
    assert following.items[0].seq < newest.items[1].seq

    backwards = await refused(
        auditor.client.list_audit_events(since=now, until=now - timedelta(minutes=1))
    )
    assert backwards.status == 422
    assert [e.field for e in backwards.problem.errors or []] == ["query.until"]
