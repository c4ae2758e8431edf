"""Users, roles, organisations, memberships, credentials and idempotency records."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from contracts.enums import (
    IdempotencyStatus,
    Language,
    MembershipRole,
    OrganisationKind,
    Role,
    TokenRestriction,
)
from service.persistence.base import (
    created_at_field,
    enum_field,
    fk_field,
    id_field,
    jsonb_field,
    text_field,
    timestamp_field,
)


class AppUser(SQLModel, table=True):
    """A person who signs in. (`user` is a reserved word in PostgreSQL, hence `app_user`.)"""

    __tablename__ = "app_user"
    __table_args__ = (
        sa.CheckConstraint("email = lower(email)", name="email_lowercase"),
        sa.CheckConstraint("position('@' in email) > 1", name="email_has_at"),
    )

    id: uuid.UUID = id_field()
    email: str = Field(sa_column=sa.Column(sa.String(254), nullable=False, unique=True))
    full_name: str = text_field(max_length=200)
    password_hash: str = text_field()
    preferred_language: Language = enum_field(Language, "language", default=Language.EN)
    is_active: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.true())
    )
    created_at: datetime = created_at_field()
    password_must_change: bool = Field(
        default=False,
        sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    """Set by an administrator's reset: the next sign-in gets a token that can only change it."""
    totp_secret: str | None = text_field(nullable=True, max_length=200)
    """The TOTP secret (base32), encrypted (`service.identity.totp.seal`); set at enrolment,
    never returned after it; NULL when no second factor is set up."""
    totp_enabled_at: datetime | None = timestamp_field(nullable=True)
    """When the enrolment was confirmed with a code; NULL while pending or off."""
    totp_last_step: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True)
    )
    """The 30-second step of the last code accepted: a code is never accepted twice."""


class UserRole(SQLModel, table=True):
    """A staff role held by a user. Applicants hold no row here: they act through memberships."""

    __tablename__ = "user_role"

    user_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(), sa.ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True
        )
    )
    role: Role = Field(
        sa_column=sa.Column(
            sa.Enum(
                Role,
                name="role",
                native_enum=False,
                create_constraint=True,
                length=40,
                values_callable=lambda e: [m.value for m in e],
            ),
            primary_key=True,
        )
    )
    granted_at: datetime = created_at_field()


class Organisation(SQLModel, table=True):
    __tablename__ = "organisation"
    __table_args__ = (
        sa.CheckConstraint("founded_year BETWEEN 1900 AND 2100", name="founded_year_plausible"),
        sa.CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
    )

    id: uuid.UUID = id_field()
    name: str = text_field(max_length=300)
    kind: OrganisationKind = enum_field(OrganisationKind, "organisation_kind")
    registration_number: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(64), nullable=True, unique=True)
    )
    territory_id: uuid.UUID = fk_field("territory.id")
    founded_year: int = Field(sa_column=sa.Column(sa.SmallInteger(), nullable=False))
    women_led: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    youth_led: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    email: str | None = text_field(nullable=True, max_length=254)
    phone: str | None = text_field(nullable=True, max_length=40)
    address: str | None = text_field(nullable=True, max_length=500)
    description: str | None = text_field(nullable=True)
    version: int = Field(
        default=1, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="1")
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class Membership(SQLModel, table=True):
    """A user belongs to an organisation and acts for it as an applicant."""

    __tablename__ = "membership"

    user_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(), sa.ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True
        )
    )
    organisation_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(),
            sa.ForeignKey("organisation.id", ondelete="CASCADE"),
            primary_key=True,
            index=True,
        )
    )
    role: MembershipRole = enum_field(
        MembershipRole, "membership_role", default=MembershipRole.MEMBER
    )
    created_at: datetime = created_at_field()


class Affiliation(SQLModel, table=True):
    """A reviewer's declared tie to an organisation (used to detect conflicts of interest)."""

    __tablename__ = "affiliation"
    __table_args__ = (sa.UniqueConstraint("user_id", "organisation_id"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = fk_field("app_user.id", ondelete="CASCADE")
    organisation_id: uuid.UUID = fk_field("organisation.id", ondelete="CASCADE")
    description: str | None = text_field(nullable=True, max_length=1000)
    declared_at: datetime = created_at_field()


class AuthToken(SQLModel, table=True):
    """An opaque bearer token; only its SHA-256 is stored."""

    __tablename__ = "auth_token"
    __table_args__ = (sa.CheckConstraint("expires_at > created_at", name="expires_after_created"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = fk_field("app_user.id", ondelete="CASCADE")
    token_hash: str = Field(sa_column=sa.Column(sa.CHAR(64), nullable=False, unique=True))
    created_at: datetime = created_at_field()
    expires_at: datetime = timestamp_field()
    revoked_at: datetime | None = timestamp_field(nullable=True)
    restriction: TokenRestriction | None = enum_field(
        TokenRestriction, "token_restriction", nullable=True
    )
    """NULL: a full token. Else what it is limited to (`contracts.enums.TokenRestriction`)."""


class RecoveryCode(SQLModel, table=True):
    """A one-time recovery code of a person's second factor; only its SHA-256 is stored (the
    codes are 80 random bits, so a plain hash cannot be reversed by guessing)."""

    __tablename__ = "recovery_code"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = fk_field("app_user.id", ondelete="CASCADE")
    code_hash: str = Field(sa_column=sa.Column(sa.CHAR(64), nullable=False, unique=True))
    created_at: datetime = created_at_field()
    used_at: datetime | None = timestamp_field(nullable=True)


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins counted per key (`account:<sha256 of the e-mail>` or `ip:<address>`),
    shared by every worker through PostgreSQL (`service.identity.throttle`)."""

    __tablename__ = "sign_in_throttle"
    __table_args__ = (sa.CheckConstraint("failures >= 0", name="failures_not_negative"),)

    key: str = Field(sa_column=sa.Column(sa.String(80), primary_key=True))
    failures: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))
    last_failure_at: datetime = timestamp_field()
    blocked_until: datetime | None = timestamp_field(nullable=True)


class ApiKey(SQLModel, table=True):
    """A partner system's key: `<prefix>.<secret>`; the prefix finds the row, the hash proves it."""

    __tablename__ = "api_key"
    __table_args__ = (sa.CheckConstraint("rotated_from_id <> id", name="not_rotated_from_itself"),)

    id: uuid.UUID = id_field()
    name: str = text_field(max_length=200)
    prefix: str = Field(sa_column=sa.Column(sa.String(16), nullable=False, unique=True))
    key_hash: str = Field(sa_column=sa.Column(sa.CHAR(64), nullable=False))
    scopes: list[str] = Field(
        default_factory=list,
        sa_column=sa.Column(ARRAY(sa.String(40)), nullable=False, server_default="{}"),
    )
    organisation_id: uuid.UUID | None = fk_field("organisation.id", nullable=True)
    created_by: uuid.UUID = fk_field("app_user.id")
    created_at: datetime = created_at_field()
    expires_at: datetime | None = timestamp_field(nullable=True)
    revoked_at: datetime | None = timestamp_field(nullable=True)
    last_used_at: datetime | None = timestamp_field(nullable=True)
    """The latest authenticated use, to the minute: written at most once a minute per key, so
    it may lag the latest use by up to `service.identity.authn.LAST_USED_RESOLUTION`."""
    rotated_from_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Uuid(),
            sa.ForeignKey("api_key.id", ondelete="RESTRICT"),
            nullable=True,
            unique=True,
        ),
    )
    """The key this one replaced (`CreateApiKeyRotation`); at most one successor per key."""


class IdempotencyRecord(SQLModel, table=True):
    """The first result of a request made with an Idempotency-Key, replayed for the same key."""

    __tablename__ = "idempotency_record"
    __table_args__ = (sa.UniqueConstraint("principal", "key"),)

    id: uuid.UUID = id_field()
    principal: str = text_field(max_length=80)
    key: str = text_field(max_length=255)
    request_hash: str = Field(sa_column=sa.Column(sa.CHAR(64), nullable=False))
    status: IdempotencyStatus = enum_field(
        IdempotencyStatus, "idempotency_status", default=IdempotencyStatus.IN_FLIGHT
    )
    response_status: int | None = Field(
        default=None, sa_column=sa.Column(sa.SmallInteger(), nullable=True)
    )
    response_body: dict[str, Any] | None = jsonb_field(nullable=True, default_sql=None)
    created_at: datetime = created_at_field()
    completed_at: datetime | None = timestamp_field(nullable=True)
