"""Subscription secrets sealed at rest (service/webhooks/sealing.py): they open with the key and
the subscription's id only; a value from before sealing still opens; production needs the key."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.webhooks import sealing, signing
from tests.conftest import TEST_SETTINGS

KEY = bytes(range(32))


@given(sub_id=st.uuids(), secret=st.text(min_size=1, max_size=120))
def test_a_sealed_secret_opens_with_its_key_and_subscription_only(
    sub_id: uuid.UUID, secret: str
) -> None:
    stored = sealing.seal(KEY, sub_id, secret)
    assert stored.startswith(sealing.SEALED)
    assert sealing.unseal(KEY, sub_id, stored) == secret
    with pytest.raises(RuntimeError, match="GRANTS_WEBHOOK_SECRET_KEY"):
        sealing.unseal(bytes(32), sub_id, stored)  # another key
    other = uuid.UUID(int=sub_id.int ^ 1)
    with pytest.raises(RuntimeError):
        sealing.unseal(KEY, other, stored)  # copied onto another subscription


def test_every_seal_differs_and_a_real_secret_fits_its_column() -> None:
    sub_id = uuid.uuid4()
    secret = signing.new_secret()
    first, second = sealing.seal(KEY, sub_id, secret), sealing.seal(KEY, sub_id, secret)
    assert first != second  # a fresh nonce each time
    assert secret not in first
    assert secret.removeprefix("whsec_") not in first
    assert len(first) <= 200  # webhook_subscription.secret's length


def test_a_secret_stored_before_sealing_still_opens() -> None:
    secret = signing.new_secret()
    assert sealing.unseal(KEY, uuid.uuid4(), secret) == secret


def test_the_key_comes_from_settings_or_a_file_made_once(tmp_path: Path) -> None:
    given_key = secrets.token_hex(32)
    assert sealing.resolve_key(
        TEST_SETTINGS.model_copy(update={"webhook_secret_key": given_key})
    ) == bytes.fromhex(given_key)
    local = TEST_SETTINGS.model_copy(update={"data_dir": tmp_path, "webhook_secret_key": None})
    made = sealing.resolve_key(local)
    assert len(made) == 32
    assert (tmp_path / "webhook-secret.key").read_text().strip() == made.hex()
    assert (tmp_path / "webhook-secret.key").stat().st_mode & 0o077 == 0
    assert sealing.resolve_key(local) == made
    production = local.model_copy(update={"environment": "production"})
    with pytest.raises(RuntimeError, match="GRANTS_WEBHOOK_SECRET_KEY"):
        sealing.resolve_key(production)
