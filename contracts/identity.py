"""Authentication, users, organisations, API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from contracts.common import Cursor, Email, NameText, Password, Request, ShortText
from contracts.enums import (
    ApiKeyStatus,
    ApiScope,
    Language,
    MembershipRole,
    OrganisationKind,
    Role,
    TokenRestriction,
)

FoundedYear = Annotated[int, Meta(ge=1900, le=2100)]
RegistrationNumber = Annotated[str, Meta(min_length=1, max_length=64)]
Phone = Annotated[str, Meta(max_length=40)]
Address = Annotated[str, Meta(max_length=500)]
Description = Annotated[str, Meta(max_length=5000)]
TotpCode = Annotated[
    str, Meta(pattern=r"^[0-9]{6}$", description="The 6 digits the authenticator app shows now")
]
RecoveryCode = Annotated[
    str,
    Meta(
        min_length=16,
        max_length=40,
        pattern=r"^[A-Za-z2-7 -]+$",
        description="One of the recovery codes given at enrolment (`XXXX-XXXX-XXXX-XXXX`)",
    ),
]


class TokenCreate(Request, kw_only=True):
    """Sign in. When the account has a second factor on, give `otp` (or one `recovery_code`)
    too; without it the answer is 401 `second-factor-required` (the password was right)."""

    email: Email
    password: Annotated[str, Meta(min_length=1, max_length=200)]
    otp: TotpCode | None = None
    recovery_code: RecoveryCode | None = None


class TokenRead(msgspec.Struct, kw_only=True):
    access_token: str
    token_type: str = "bearer"  # noqa: S105  (the OAuth token type, not a secret)
    expires_at: datetime
    restriction: TokenRestriction | None = None
    """Not null: the token is limited to one task until it is done (see `TokenRestriction`)."""


class MembershipRead(msgspec.Struct, kw_only=True):
    organisation_id: uuid.UUID
    organisation_name: str
    role: MembershipRole


class UserRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    email: str
    full_name: str
    preferred_language: Language
    roles: list[Role]
    is_active: bool
    created_at: datetime


class MeRead(UserRead, kw_only=True):
    memberships: list[MembershipRead]
    totp_enabled: bool = False
    """The second factor (TOTP) is on: signing in needs a code."""
    recovery_codes_left: int = 0
    restriction: TokenRestriction | None = None
    """What the token of this request is limited to, if anything."""


class MeUpdate(Request, kw_only=True):
    full_name: ShortText | UnsetType = UNSET
    preferred_language: Language | UnsetType = UNSET


class UserCreate(Request, kw_only=True):
    email: Email
    password: Password
    full_name: ShortText
    roles: Annotated[list[Role], Meta(max_length=5)] = []
    preferred_language: Language = Language.EN


class UserUpdate(Request, kw_only=True):
    """An administrator changes someone's staff roles or deactivates / reactivates them.

    Deactivation revokes every token of theirs at once; nobody deactivates themselves."""

    roles: Annotated[list[Role], Meta(max_length=5)] | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET


class UserPage(msgspec.Struct, kw_only=True):
    items: list[UserRead]
    next_cursor: Cursor | None = None


class OrganisationCreate(Request, kw_only=True):
    name: NameText
    kind: OrganisationKind
    territory_id: uuid.UUID
    founded_year: FoundedYear
    registration_number: RegistrationNumber | None = None
    women_led: bool = False
    youth_led: bool = False
    email: Email | None = None
    phone: Phone | None = None
    address: Address | None = None
    description: Description | None = None


class OrganisationUpdate(Request, kw_only=True):
    """Partial update; `version` must be the version last read (optimistic locking)."""

    version: Annotated[int, Meta(ge=1)]
    name: NameText | UnsetType = UNSET
    kind: OrganisationKind | UnsetType = UNSET
    territory_id: uuid.UUID | UnsetType = UNSET
    founded_year: FoundedYear | UnsetType = UNSET
    registration_number: RegistrationNumber | UnsetType | None = UNSET
    women_led: bool | UnsetType = UNSET
    youth_led: bool | UnsetType = UNSET
    email: Email | UnsetType | None = UNSET
    phone: Phone | UnsetType | None = UNSET
    address: Address | UnsetType | None = UNSET
    description: Description | UnsetType | None = UNSET


class OrganisationRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    kind: OrganisationKind
    territory_id: uuid.UUID
    founded_year: int
    registration_number: str | None
    women_led: bool
    youth_led: bool
    email: str | None
    phone: str | None
    address: str | None
    description: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class OrganisationPage(msgspec.Struct, kw_only=True):
    items: list[OrganisationRead]
    next_cursor: Cursor | None = None


class RegistrationCreate(Request, kw_only=True):
    """Self-registration: a person and the organisation they apply for, in one step."""

    email: Email
    password: Password
    full_name: ShortText
    preferred_language: Language = Language.EN
    organisation: OrganisationCreate


class RegistrationRead(msgspec.Struct, kw_only=True):
    user: MeRead
    organisation: OrganisationRead


API_KEY_MAX_LIFETIME_DAYS = 730
"""A key's `expires_at` may be at most this many days (2 years) after it is set."""
API_KEY_OVERLAP_MAX_DAYS = 90
API_KEY_OVERLAP_DEFAULT_DAYS = 7

ApiKeyExpiry = Annotated[
    datetime,
    Meta(
        description="When the key stops working (an instant with its UTC offset): in the future"
        f" and at most {API_KEY_MAX_LIFETIME_DAYS} days (2 years) ahead. Omitted or null: it"
        " does not expire (rotate it at least once a year)"
    ),
]


class ApiKeyCreate(Request, kw_only=True):
    name: ShortText
    scopes: Annotated[list[ApiScope], Meta(min_length=1, max_length=10)]
    organisation_id: uuid.UUID | None = None
    expires_at: ApiKeyExpiry | None = None


class ApiKeyRotationCreate(Request, kw_only=True):
    """Issue a successor to a key; the old key keeps working for the overlap, then stops."""

    overlap_days: Annotated[
        int,
        Meta(
            ge=0,
            le=API_KEY_OVERLAP_MAX_DAYS,
            description="How long the old key keeps working beside the new one, in whole days"
            f" (24-hour periods from now), 0 to {API_KEY_OVERLAP_MAX_DAYS}; default"
            f" {API_KEY_OVERLAP_DEFAULT_DAYS}. 0 ends the old key at once (a leaked key). The"
            " old key's `expires_at` becomes the earlier of its own and now + the overlap",
        ),
    ] = API_KEY_OVERLAP_DEFAULT_DAYS
    expires_at: ApiKeyExpiry | None = None
    """The successor's expiry. Omitted: the old key's lifetime again (its `expires_at` minus its
    `created_at`, from now, at most 2 years), or none if the old key had none."""


class ApiKeyRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[ApiScope]
    organisation_id: uuid.UUID | None
    created_at: datetime
    expires_at: Annotated[
        datetime | None,
        Meta(
            description="When the key stops working (UTC); for a rotated key, the end of the"
            " overlap. Null: it does not expire"
        ),
    ]
    revoked_at: datetime | None
    last_used_at: Annotated[
        datetime | None,
        Meta(
            description="The latest request authenticated with the key (UTC), to the minute:"
            " it is written at most once a minute per key, so it may be up to 60 seconds older"
            " than the latest use. Null: never used"
        ),
    ]
    status: Annotated[
        ApiKeyStatus,
        Meta(
            description="Computed at the time of the answer: `active`, `rotated` (replaced,"
            " still accepted until `expires_at`), `expired` or `revoked`"
        ),
    ]
    rotated_from_id: Annotated[
        uuid.UUID | None,
        Meta(description="The key this one replaced (by a rotation); null for a new key"),
    ] = None
    replaced_by_id: Annotated[
        uuid.UUID | None,
        Meta(description="The successor issued by rotating this key; null if not rotated"),
    ] = None


class ApiKeyCreated(ApiKeyRead, kw_only=True):
    """Returned once, at creation: `key` is never shown again (only its hash is stored)."""

    key: str


class ApiKeyRotated(msgspec.Struct, kw_only=True):
    """A rotation's answer: the successor, whose `key` is shown this once only, and the old key
    as it now is (status `rotated`, `expires_at` the end of the overlap)."""

    key: ApiKeyCreated
    previous: ApiKeyRead


class ApiKeyPage(msgspec.Struct, kw_only=True):
    items: list[ApiKeyRead]
    next_cursor: Cursor | None = None


class PasswordChange(Request, kw_only=True):
    """Change one's own password: the current one proves it is you. Every other session (token)
    of the account is revoked; the one making the change stays signed in."""

    current_password: Annotated[str, Meta(min_length=1, max_length=200)]
    new_password: Password


class OrganisationBrief(msgspec.Struct, kw_only=True):
    """What any signed-in person may know of a registered organisation: enough to name it as a
    partner (co-applicant), nothing of its contacts or registration."""

    id: uuid.UUID
    name: str
    kind: OrganisationKind
    territory_id: uuid.UUID


class OrganisationDirectory(msgspec.Struct, kw_only=True):
    items: list[OrganisationBrief]


class PasswordResetCreate(Request, kw_only=True):
    """An administrator's reset of someone's password. Without `new_password` a temporary one is
    made and returned once. Either way every token of the account is revoked and the next
    sign-in may only change the password. `remove_second_factor`: also turn their TOTP off (a
    lost phone)."""

    new_password: Password | None = None
    remove_second_factor: bool = False


class PasswordResetRead(msgspec.Struct, kw_only=True):
    temporary_password: str | None
    """The password made for them (when none was given): in this answer only."""
    tokens_revoked: int


class TotpEnrolment(msgspec.Struct, kw_only=True):
    """A new TOTP secret, pending until confirmed with a code. Shown in this answer only."""

    secret: str
    """Base32, for typing into the authenticator app."""
    otpauth_uri: str
    qr_svg: str
    """The URI as a QR code: an SVG element, made by the server (no outside service)."""


class TotpConfirmation(Request, kw_only=True):
    code: TotpCode


class RecoveryCodes(msgspec.Struct, kw_only=True):
    """One-time codes that stand in for the app's code, each once. Shown in this answer only."""

    codes: list[str]


class TotpRemoval(Request, kw_only=True):
    password: Annotated[str, Meta(min_length=1, max_length=200)]


class RecoveryCodesCreate(Request, kw_only=True):
    password: Annotated[str, Meta(min_length=1, max_length=200)]
