"""Grants, their charges to funding sources, tranches, the disbursement ledger, reports, and the
outbox of messages to deliver."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from contracts.enums import (
    GrantStatus,
    LedgerEntryKind,
    ReportKind,
    ReportStatus,
    TrancheConditionKind,
    TrancheStatus,
)
from service.persistence.base import (
    created_at_field,
    currency_check,
    currency_field,
    enum_field,
    fk_field,
    id_field,
    jsonb_field,
    money_field,
    text_field,
    timestamp_field,
)


class Grant(SQLModel, table=True):
    """An award made on a selected proposal. (`grant` is a reserved word in PostgreSQL.) Its
    tranches sum exactly to `amount`; its charges to funding sources sum to `amount` too."""

    __tablename__ = "grant_award"
    __table_args__ = (
        sa.CheckConstraint("amount >= 0", name="amount_nonnegative"),
        sa.CheckConstraint(
            "disbursed_amount >= 0 AND disbursed_amount <= amount", name="disbursed_within_amount"
        ),
        sa.CheckConstraint("end_date >= start_date", name="period_ordered"),
        currency_check(),
    )

    id: uuid.UUID = id_field()
    proposal_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(),
            sa.ForeignKey("proposal.id", ondelete="RESTRICT"),
            nullable=False,
            unique=True,
        )
    )
    organisation_id: uuid.UUID = fk_field("organisation.id")
    window_id: uuid.UUID = fk_field("call_window.id")
    amount: int = money_field()
    currency: str = currency_field()
    start_date: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    end_date: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    agreement_reference: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(80), nullable=True, unique=True)
    )
    agreement_signed_at: datetime | None = timestamp_field(nullable=True)
    disbursed_amount: int = money_field(default=0)
    status: GrantStatus = enum_field(GrantStatus, "grant_status", default=GrantStatus.ACTIVE)
    version: int = Field(
        default=1, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="1")
    )
    created_by: uuid.UUID = fk_field("app_user.id")
    created_at: datetime = created_at_field()


class GrantCharge(SQLModel, table=True):
    """The part of a grant charged to one funding source: `amount` in the call's currency and
    `source_amount` in the source's currency, at `rate` (call units per source unit)."""

    __tablename__ = "grant_charge"
    __table_args__ = (
        sa.UniqueConstraint("grant_id", "funding_source_id"),
        sa.CheckConstraint("amount >= 0", name="amount_nonnegative"),
        sa.CheckConstraint("source_amount >= 0", name="source_amount_nonnegative"),
        sa.CheckConstraint("rate > 0", name="rate_positive"),
        currency_check(),
        currency_check("source_currency"),
    )

    id: uuid.UUID = id_field()
    grant_id: uuid.UUID = fk_field("grant_award.id", index=False)
    funding_source_id: uuid.UUID = fk_field("funding_source.id")
    amount: int = money_field()
    currency: str = currency_field()
    source_amount: int = money_field()
    source_currency: str = currency_field()
    rate: Decimal = Field(sa_column=sa.Column(sa.Numeric(18, 8), nullable=False))


class Tranche(SQLModel, table=True):
    """A scheduled payment of a grant, released when its conditions are met."""

    __tablename__ = "tranche"
    __table_args__ = (
        sa.UniqueConstraint("grant_id", "position", deferrable=True, initially="DEFERRED"),
        sa.CheckConstraint("position >= 0", name="position_nonnegative"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("(approved_by IS NULL) = (approved_at IS NULL)", name="approval_pair"),
        sa.CheckConstraint(
            "status NOT IN ('approved', 'disbursed') OR approved_at IS NOT NULL",
            name="approved_has_approval",
        ),
        sa.CheckConstraint(
            "status <> 'cancelled' OR cancelled_reason IS NOT NULL",
            name="cancelled_has_reason",
        ),
        sa.CheckConstraint(
            "(confirmed_by IS NULL) = (confirmed_at IS NULL)", name="confirmation_pair"
        ),
        sa.CheckConstraint(
            "confirmed_by IS NULL OR confirmed_by <> approved_by", name="confirmer_not_approver"
        ),
        currency_check(),
    )

    id: uuid.UUID = id_field()
    grant_id: uuid.UUID = fk_field("grant_award.id", index=False)
    position: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    amount: int = money_field()
    currency: str = currency_field()
    planned_date: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    status: TrancheStatus = enum_field(
        TrancheStatus, "tranche_status", default=TrancheStatus.PLANNED
    )
    approved_by: uuid.UUID | None = fk_field("app_user.id", nullable=True)
    approved_at: datetime | None = timestamp_field(nullable=True)
    confirmed_by: uuid.UUID | None = fk_field("app_user.id", nullable=True)
    confirmed_at: datetime | None = timestamp_field(nullable=True)
    cancelled_reason: str | None = text_field(nullable=True)
    version: int = Field(
        default=1, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="1")
    )
    created_at: datetime = created_at_field()


class TrancheActionPlanItem(SQLModel, table=True):
    """An action-plan item a tranche pays for."""

    __tablename__ = "tranche_action_plan_item"

    tranche_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(), sa.ForeignKey("tranche.id", ondelete="CASCADE"), primary_key=True
        )
    )
    action_plan_item_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(),
            sa.ForeignKey("action_plan_item.id", ondelete="RESTRICT"),
            primary_key=True,
            index=True,
        )
    )


class TrancheCondition(SQLModel, table=True):
    """A condition a tranche waits on (e.g. a report accepted); `met_at` records when it was met."""

    __tablename__ = "tranche_condition"

    id: uuid.UUID = id_field()
    tranche_id: uuid.UUID = fk_field("tranche.id", ondelete="CASCADE")
    kind: TrancheConditionKind = enum_field(TrancheConditionKind, "tranche_condition_kind")
    params: dict[str, Any] = jsonb_field()
    met_at: datetime | None = timestamp_field(nullable=True)


class LedgerEntry(SQLModel, table=True):
    """The append-only disbursement ledger: never updated or deleted. A mistaken disbursement is
    undone by a reversal entry pointing at it; each disbursement is reversed at most once. A
    tranche has at most one disbursement per `attempt` (the number of reversals of that tranche
    before it), so it is paid at most once at any time. `amount` is in the grant's currency;
    `source_amount` in the currency actually paid, at `rate` (grant units per paid unit). The
    people are copied from the tranche so the four-eyes rule is a CHECK on the row itself."""

    __tablename__ = "ledger_entry"
    # server defaults (created_at…) come back in the INSERT's RETURNING: no refresh afterwards
    __mapper_args__ = {"eager_defaults": True}
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("source_amount > 0", name="source_amount_positive"),
        sa.CheckConstraint("rate > 0", name="rate_positive"),
        sa.CheckConstraint(
            "(kind = 'reversal') = (reverses_id IS NOT NULL)", name="reversal_has_target"
        ),
        sa.CheckConstraint(
            "kind <> 'reversal' OR (reason IS NOT NULL AND length(btrim(reason)) > 0)",
            name="reversal_has_reason",
        ),
        sa.CheckConstraint("reverses_id <> id", name="not_self_reversal"),
        sa.CheckConstraint("attempt >= 0", name="attempt_nonnegative"),
        sa.CheckConstraint(
            "kind <> 'disbursement' OR (approved_by IS NOT NULL AND approved_by <> created_by)",
            name="four_eyes_approval",
        ),
        sa.CheckConstraint(
            "confirmed_by IS NULL OR confirmed_by <> created_by", name="four_eyes_confirmation"
        ),
        currency_check(),
        currency_check("source_currency"),
        sa.Index(
            "uq_ledger_entry_one_disbursement_per_attempt",
            "tranche_id",
            "attempt",
            unique=True,
            postgresql_where=sa.text("kind = 'disbursement'"),
        ),
    )

    id: uuid.UUID = id_field()
    tranche_id: uuid.UUID = fk_field("tranche.id")
    grant_id: uuid.UUID = fk_field("grant_award.id")
    kind: LedgerEntryKind = enum_field(LedgerEntryKind, "ledger_entry_kind")
    amount: int = money_field()
    currency: str = currency_field()
    source_amount: int = money_field()
    source_currency: str = currency_field()
    rate: Decimal = Field(sa_column=sa.Column(sa.Numeric(18, 8), nullable=False))
    value_date: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    reference: str = text_field(max_length=120)
    bank_details: dict[str, Any] = jsonb_field()
    reverses_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Uuid(),
            sa.ForeignKey("ledger_entry.id", ondelete="RESTRICT"),
            nullable=True,
            unique=True,
        ),
    )
    reason: str | None = text_field(nullable=True)
    attempt: int = Field(
        default=0, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="0")
    )
    approved_by: uuid.UUID | None = fk_field("app_user.id", nullable=True, index=False)
    confirmed_by: uuid.UUID | None = fk_field("app_user.id", nullable=True, index=False)
    created_by: uuid.UUID = fk_field("app_user.id")
    created_at: datetime = created_at_field()


class LedgerSplit(SQLModel, table=True):
    """The part of a ledger entry paid from one funding source (append-only, like the ledger).
    `amount` is in the grant's currency; `source_amount` is what that is in the source's currency
    at the payment's `rate` (grant units per source unit), and `committed_source_amount` what it
    was at the rate recorded when the grant was committed: their difference is the exchange gain
    or loss, reported and never rounded away."""

    __tablename__ = "ledger_split"
    __table_args__ = (
        sa.UniqueConstraint("ledger_entry_id", "funding_source_id"),
        sa.CheckConstraint("amount >= 0", name="amount_nonnegative"),
        sa.CheckConstraint("source_amount >= 0", name="source_amount_nonnegative"),
        sa.CheckConstraint(
            "committed_source_amount >= 0", name="committed_source_amount_nonnegative"
        ),
        sa.CheckConstraint("rate > 0", name="rate_positive"),
        currency_check(),
        currency_check("source_currency"),
    )

    id: uuid.UUID = id_field()
    ledger_entry_id: uuid.UUID = fk_field("ledger_entry.id", index=False)
    funding_source_id: uuid.UUID = fk_field("funding_source.id")
    amount: int = money_field()
    currency: str = currency_field()
    source_amount: int = money_field()
    committed_source_amount: int = money_field()
    source_currency: str = currency_field()
    rate: Decimal = Field(sa_column=sa.Column(sa.Numeric(18, 8), nullable=False))


class GrantVersion(SQLModel, table=True):
    """A version of a grant's terms (append-only): version 1 when it is made, one more per
    amendment or cancelled tranche, each with the whole schedule and charges as they then stood."""

    __tablename__ = "grant_version"
    __table_args__ = (
        sa.UniqueConstraint("grant_id", "version"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint("amount >= 0", name="amount_nonnegative"),
        sa.CheckConstraint("jsonb_typeof(terms) = 'object'", name="terms_is_object"),
    )

    id: uuid.UUID = id_field()
    grant_id: uuid.UUID = fk_field("grant_award.id", index=False)
    version: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    amount: int = money_field()
    terms: dict[str, Any] = jsonb_field()
    reason: str = text_field()
    created_by: uuid.UUID = fk_field("app_user.id")
    created_at: datetime = created_at_field()


class Report(SQLModel, table=True):
    """A grantee's progress or financial report, optionally tied to the tranche it unlocks."""

    __tablename__ = "report"
    __table_args__ = (
        sa.CheckConstraint(
            "status = 'draft' OR submitted_at IS NOT NULL", name="submitted_has_date"
        ),
        sa.CheckConstraint(
            "status NOT IN ('accepted', 'returned')"
            " OR (decided_at IS NOT NULL AND decided_by IS NOT NULL)",
            name="decided_has_decision",
        ),
        sa.CheckConstraint("jsonb_typeof(expenditure) = 'array'", name="expenditure_is_array"),
    )

    id: uuid.UUID = id_field()
    grant_id: uuid.UUID = fk_field("grant_award.id")
    tranche_id: uuid.UUID | None = fk_field("tranche.id", nullable=True)
    kind: ReportKind = enum_field(ReportKind, "report_kind")
    status: ReportStatus = enum_field(ReportStatus, "report_status", default=ReportStatus.DRAFT)
    narrative: str | None = text_field(nullable=True)
    expenditure: list[dict[str, Any]] = jsonb_field(default_sql="'[]'::jsonb")
    review_comment: str | None = text_field(nullable=True)
    submitted_at: datetime | None = timestamp_field(nullable=True)
    decided_at: datetime | None = timestamp_field(nullable=True)
    decided_by: uuid.UUID | None = fk_field("app_user.id", nullable=True)
    version: int = Field(
        default=1, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="1")
    )
    created_by: uuid.UUID = fk_field("app_user.id")
    created_at: datetime = created_at_field()


class IndicatorValue(SQLModel, table=True):
    """A value a report gives for one indicator of the grant's action-plan items."""

    __tablename__ = "indicator_value"
    __table_args__ = (sa.UniqueConstraint("report_id", "indicator_id"),)

    id: uuid.UUID = id_field()
    report_id: uuid.UUID = fk_field("report.id", ondelete="CASCADE", index=False)
    indicator_id: uuid.UUID = fk_field("indicator.id")
    value: Decimal = Field(sa_column=sa.Column(sa.Numeric(18, 4), nullable=False))
    note: str | None = text_field(nullable=True)


class OutboxMessage(SQLModel, table=True):
    """A message (webhook, e-mail) written in the same transaction as the change it announces and
    delivered afterwards by a worker, retried with back-off through `available_at`."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
        sa.Index(
            "ix_outbox_pending",
            "available_at",
            postgresql_where=sa.text("delivered_at IS NULL"),
        ),
    )

    id: uuid.UUID = id_field()
    topic: str = text_field(max_length=120)
    payload: dict[str, Any] = jsonb_field()
    created_at: datetime = created_at_field()
    available_at: datetime = created_at_field()
    attempts: int = Field(
        default=0, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="0")
    )
    delivered_at: datetime | None = timestamp_field(nullable=True)
    last_error: str | None = text_field(nullable=True)
    claim_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid(), nullable=True))
    """An e-mail's send under way (set by the claim, which also moves `available_at` to the end
    of its lease; cleared when its result is recorded): a failure is recorded only by the worker
    whose claim it still is."""
    dedupe_key: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(200), nullable=True, unique=True)
    )
    """Set when the same message must never be written twice (e.g. one review reminder per
    assignment): a second insert with the key is skipped."""
