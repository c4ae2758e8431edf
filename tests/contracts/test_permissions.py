"""The pure permission predicates (the matrix test covers them through the API)."""

from __future__ import annotations

import uuid

import pytest

from contracts import permissions as p
from contracts.enums import ActionPlanStatus, ApiScope, Role

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)

ORG = uuid.uuid4()
USER = p.Actor(kind="user", id=uuid.uuid4(), organisation_ids=frozenset({ORG}))
OFFICER = p.Actor(kind="user", id=uuid.uuid4(), roles=frozenset({Role.PROGRAMME_OFFICER}))
KEY = p.Actor(kind="api_key", id=uuid.uuid4(), scopes=frozenset({ApiScope.READ_PCC}))


def test_a_decision_cannot_be_used_as_a_boolean() -> None:
    with pytest.raises(TypeError, match="allowed"):
        bool(p.deny("no"))
    with pytest.raises(TypeError, match="allowed"):
        _ = p.deny("no") or p.allow("yes")


@pytest.mark.parametrize(
    ("predicate", "actor", "allowed"),
    [
        (p.can_read_me, p.ANONYMOUS, False),
        (p.can_read_me, KEY, False),
        (p.can_read_me, USER, True),
        (p.can_update_me, p.ANONYMOUS, False),
        (p.can_list_organisations, KEY, False),
        (p.can_list_organisations, USER, True),
        (p.can_read_action_plans, p.ANONYMOUS, False),
        (p.can_read_action_plans, KEY, True),
        (p.can_read_action_plans, USER, True),
        (p.can_register, KEY, False),
        (p.can_register, p.ANONYMOUS, True),
    ],
)
def test_signed_in_rules(predicate: object, actor: p.Actor, allowed: bool) -> None:
    decision = predicate(actor)  # type: ignore[operator]  # the predicates share this shape
    assert decision.allowed is allowed
    assert decision.reason


def test_drafts_are_for_programme_staff() -> None:
    assert p.can_read_action_plan(OFFICER, ActionPlanStatus.DRAFT).allowed is True
    assert p.can_read_action_plan(USER, ActionPlanStatus.DRAFT).allowed is False
    assert p.can_read_action_plan(USER, ActionPlanStatus.ACTIVE).allowed is True
    assert p.can_read_action_plan(KEY, ActionPlanStatus.DRAFT).allowed is False


def test_organisation_rules_look_at_the_row() -> None:
    assert p.can_read_organisation(USER, ORG).allowed is True
    assert p.can_read_organisation(USER, uuid.uuid4()).allowed is False
    assert p.can_update_organisation(OFFICER, ORG).allowed is False
    assert p.can_read_organisation(OFFICER, ORG).allowed is True
