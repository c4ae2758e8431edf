"""The payment rules reach the awards use cases as one object, `ctx.payments` (a PaymentPolicy)."""

from __future__ import annotations

from service.context import PaymentPolicy, RequestContext
from service.settings import Settings
from tests.conftest import TEST_SETTINGS


def test_payment_policy_default_is_the_settings_default() -> None:
    default = Settings.model_fields["second_confirmation_above"].default
    assert PaymentPolicy().second_confirmation_above == default
    assert RequestContext.system().payments == PaymentPolicy(second_confirmation_above=default)


def test_payment_policy_from_settings_takes_the_threshold() -> None:
    policy = PaymentPolicy.from_settings(TEST_SETTINGS)
    assert policy.second_confirmation_above == TEST_SETTINGS.second_confirmation_above


def test_payment_policy_needs_confirmation_only_above_the_threshold() -> None:
    policy = PaymentPolicy(second_confirmation_above=1_000)
    assert not policy.needs_confirmation(999)
    assert not policy.needs_confirmation(1_000)
    assert policy.needs_confirmation(1_001)
