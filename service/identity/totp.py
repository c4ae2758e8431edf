"""The TOTP second factor (RFC 6238, pyotp) and its one-time recovery codes.

- Enrolment makes a new secret (160 random bits), stores it encrypted (AES-256-GCM under
  `GRANTS_TOTP_KEY`, the user's id as associated data) and returns it once, with its `otpauth://`
  URI and a QR code as inline SVG (segno, drawn here: no outside service sees the secret). It is
  pending until confirmed with a code from the app; confirming turns it on and returns ten
  recovery codes, once. The secret is never returned again.
- A code is accepted in the current 30-second step or the one before or after (clock drift),
  and never twice: the step of the last accepted code is stored, and a code of that step or an
  earlier one is refused.
- A recovery code (80 random bits, `XXXX-XXXX-XXXX-XXXX`) stands in for a code once; only its
  SHA-256 is stored.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts import identity as c
from contracts import permissions as p
from contracts.common import ValidationIssue
from contracts.enums import Role, TokenRestriction
from service import sealing
from service.audit.service import record
from service.context import RequestContext, utcnow
from service.identity.secrets import sha256_hex, verify_password_off_loop
from service.persistence.models import AppUser, AuthToken, RecoveryCode, UserRole
from service.problems import Conflict, InvalidInput
from service.settings import Settings

ISSUER = "PCC Grants"
STEP_SECONDS = 30
RECOVERY_CODES = 10

# --- the key and the sealed secret --------------------------------------------------------------


def resolve_key(settings: Settings) -> bytes:
    """`GRANTS_TOTP_KEY`; required in production; elsewhere made once in `data_dir/totp.key`
    (the same for every worker on this host)."""
    return sealing.host_key(
        settings.totp_key, settings, file_name="totp.key", variable="GRANTS_TOTP_KEY"
    )


def seal(key: bytes, user_id: uuid.UUID, secret: str) -> str:
    return sealing.seal(key, user_id, secret)


def unseal(key: bytes, user_id: uuid.UUID, stored: str) -> str:
    return sealing.unseal(
        key,
        user_id,
        stored,
        failure="the TOTP secret cannot be decrypted: is GRANTS_TOTP_KEY right?",
    )


# --- codes --------------------------------------------------------------------------------------


def accepted_step(secret: str, code: str, last_step: int | None, now: datetime) -> int | None:
    """The step `code` belongs to (now ± one step), if it is later than `last_step`."""
    code = code.strip().replace(" ", "")
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if pyotp.utils.strings_equal(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _normalised(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(10)).decode()  # 80 bits, 16 characters
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    return codes


def recovery_hash(code: str) -> str:
    return sha256_hex(_normalised(code))


def qr_svg(uri: str) -> str:
    """The URI as a QR code: an inline SVG element (no style attributes)."""
    return str(segno.make(uri, error="m").svg_inline(scale=4, title="otpauth QR code"))


# --- use at sign-in -----------------------------------------------------------------------------


async def use_second_factor(
    session: AsyncSession,
    user: AppUser,
    key: bytes,
    *,
    otp: str | None,
    recovery_code: str | None,
    now: datetime,
) -> str | None:
    """Check the code (or use up a recovery code) of a user whose second factor is on; what
    was used (`totp` / `recovery_code`), None when it was wrong."""
    assert user.totp_secret is not None
    if otp:
        step = accepted_step(unseal(key, user.id, user.totp_secret), otp, user.totp_last_step, now)
        if step is None:
            return None
        user.totp_last_step = step
        return "totp"
    if recovery_code:
        used = await session.execute(
            update(RecoveryCode)
            .where(
                col(RecoveryCode.user_id) == user.id,
                col(RecoveryCode.code_hash) == recovery_hash(recovery_code),
                col(RecoveryCode.used_at).is_(None),
            )
            .values(used_at=now)
            .returning(col(RecoveryCode.id))
        )
        return "recovery_code" if used.first() is not None else None
    return None


async def needs_enrolment(session: AsyncSession, user: AppUser, required: list[Role]) -> bool:
    """A holder of a required role without a second factor."""
    if user.totp_enabled_at is not None or not required:
        return False
    roles = await session.execute(
        select(UserRole.role).where(
            UserRole.user_id == user.id, col(UserRole.role).in_([r.value for r in required])
        )
    )
    return roles.first() is not None


# --- the use cases of one's own account ----------------------------------------------------------


async def _me_locked(session: AsyncSession, ctx: RequestContext) -> AppUser:
    ctx.require(p.can_update_me(ctx.actor))
    return await session.get_one(AppUser, ctx.actor.id, with_for_update=True)


async def enrol(session: AsyncSession, ctx: RequestContext, key: bytes) -> c.TotpEnrolment:
    user = await _me_locked(session, ctx)
    if user.totp_enabled_at is not None:
        raise Conflict("a second factor is already on; remove it first to set up another")
    secret = pyotp.random_base32(32)
    user.totp_secret = seal(key, user.id, secret)
    user.totp_last_step = None
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    await record(session, ctx, action="totp.enrolment_started", entity="user", entity_id=user.id)
    return c.TotpEnrolment(secret=secret, otpauth_uri=uri, qr_svg=qr_svg(uri))


async def _replace_recovery_codes(session: AsyncSession, user_id: uuid.UUID) -> list[str]:
    await session.execute(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))
    codes = new_recovery_codes()
    session.add_all([RecoveryCode(user_id=user_id, code_hash=recovery_hash(x)) for x in codes])
    await session.flush()
    return codes


async def confirm(
    session: AsyncSession,
    ctx: RequestContext,
    key: bytes,
    body: c.TotpConfirmation,
    authorization: str | None,
) -> c.RecoveryCodes:
    """Turn the pending second factor on with a code from the app; the token this request was
    made with loses its enrolment restriction."""
    user = await _me_locked(session, ctx)
    if user.totp_enabled_at is not None:
        raise Conflict("the second factor is already on")
    if user.totp_secret is None:
        raise Conflict("no enrolment is pending: start one first (CreateTotpEnrolment)")
    now = utcnow()
    step = accepted_step(unseal(key, user.id, user.totp_secret), body.code, None, now)
    if step is None:
        raise InvalidInput(
            "the code is wrong",
            [
                ValidationIssue(
                    field="body.code",
                    message="The code is wrong: enter the 6 digits your app shows now",
                )
            ],
        )
    user.totp_enabled_at = now
    user.totp_last_step = step
    codes = await _replace_recovery_codes(session, user.id)
    current = sha256_hex((authorization or "").partition(" ")[2].strip())
    await session.execute(
        update(AuthToken)
        .where(
            col(AuthToken.token_hash) == current,
            col(AuthToken.restriction) == TokenRestriction.ENROL_SECOND_FACTOR.value,
        )
        .values(restriction=None)
    )
    await record(session, ctx, action="totp.enabled", entity="user", entity_id=user.id)
    return c.RecoveryCodes(codes=codes)


async def _check_password(user: AppUser, password: str) -> None:
    if not await verify_password_off_loop(user.password_hash, password):
        raise InvalidInput(
            "the password is wrong",
            [ValidationIssue(field="body.password", message="The password is wrong")],
        )


async def remove(
    session: AsyncSession, ctx: RequestContext, body: c.TotpRemoval, required: list[Role]
) -> None:
    """Turn the second factor off (the password proves it is you). A holder of a required role
    is limited to enrolling again on every open session."""
    user = await _me_locked(session, ctx)
    await _check_password(user, body.password)
    if user.totp_secret is None:
        raise Conflict("no second factor is set up")
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    await session.execute(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user.id))
    if await needs_enrolment(session, user, required):
        await session.execute(
            update(AuthToken)
            .where(
                col(AuthToken.user_id) == user.id,
                col(AuthToken.revoked_at).is_(None),
                col(AuthToken.restriction).is_(None),
            )
            .values(restriction=TokenRestriction.ENROL_SECOND_FACTOR.value)
        )
    await record(session, ctx, action="totp.removed", entity="user", entity_id=user.id)


async def regenerate_recovery_codes(
    session: AsyncSession, ctx: RequestContext, body: c.RecoveryCodesCreate
) -> c.RecoveryCodes:
    """Ten new recovery codes; the old ones stop working."""
    user = await _me_locked(session, ctx)
    await _check_password(user, body.password)
    if user.totp_enabled_at is None:
        raise Conflict("no second factor is on")
    codes = await _replace_recovery_codes(session, user.id)
    await record(
        session, ctx, action="totp.recovery_codes_replaced", entity="user", entity_id=user.id
    )
    return c.RecoveryCodes(codes=codes)


async def recovery_codes_left(session: AsyncSession, user_id: uuid.UUID) -> int:
    rows = await session.execute(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user_id, col(RecoveryCode.used_at).is_(None)
        )
    )
    return len(rows.all())
