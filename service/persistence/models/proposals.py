"""Proposals, their budget lines, linked action-plan items, co-applicants and attachments."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from contracts.enums import AttachmentKind, ProposalStatus
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


class Proposal(SQLModel, table=True):
    """An organisation's application to a window. Submitting freezes `snapshot` and issues the
    receipt number; `rule_set_id`/`rule_set_version` name the rules the verdict was judged by."""

    __tablename__ = "proposal"
    __table_args__ = (
        sa.CheckConstraint("requested_amount >= 0", name="requested_amount_nonnegative"),
        sa.CheckConstraint("co_funding_amount >= 0", name="co_funding_amount_nonnegative"),
        sa.CheckConstraint("gender_marker BETWEEN 0 AND 3", name="gender_marker_range"),
        sa.CheckConstraint(
            "status IN ('draft', 'withdrawn') OR (snapshot IS NOT NULL"
            " AND receipt_number IS NOT NULL AND submitted_at IS NOT NULL)",
            name="submitted_is_frozen",
        ),
        sa.CheckConstraint(
            "status <> 'withdrawn' OR withdrawn_at IS NOT NULL", name="withdrawn_has_date"
        ),
        sa.CheckConstraint(
            "(rule_set_id IS NULL) = (rule_set_version IS NULL)", name="rule_set_pair"
        ),
        sa.CheckConstraint("jsonb_typeof(target_groups) = 'array'", name="target_groups_is_array"),
        sa.CheckConstraint("jsonb_typeof(timeline) = 'array'", name="timeline_is_array"),
        currency_check(),
        sa.Index("ix_proposal_window_id_status", "window_id", "status"),
    )

    id: uuid.UUID = id_field()
    window_id: uuid.UUID = fk_field("call_window.id", index=False)
    organisation_id: uuid.UUID = fk_field("organisation.id")
    title: str = text_field(max_length=300)
    summary: str = text_field()
    problem_statement: str | None = text_field(nullable=True)
    activities: str | None = text_field(nullable=True)
    status: ProposalStatus = enum_field(
        ProposalStatus, "proposal_status", default=ProposalStatus.DRAFT
    )
    version: int = Field(
        default=1, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="1")
    )
    requested_amount: int = money_field(default=0)
    co_funding_amount: int = money_field(default=0)
    currency: str = currency_field()
    target_groups: list[str] = jsonb_field(default_sql="'[]'::jsonb")
    gender_marker: int | None = Field(
        default=None, sa_column=sa.Column(sa.SmallInteger(), nullable=True)
    )
    gender_justification: str | None = text_field(nullable=True)
    conflict_sensitivity: str | None = text_field(nullable=True)
    timeline: list[dict[str, Any]] = jsonb_field(default_sql="'[]'::jsonb")
    eligibility_verdict: dict[str, Any] | None = jsonb_field(nullable=True, default_sql=None)
    rule_set_id: uuid.UUID | None = fk_field("rule_set.id", nullable=True)
    rule_set_version: int | None = Field(
        default=None, sa_column=sa.Column(sa.Integer(), nullable=True)
    )
    eligibility_override: dict[str, Any] | None = jsonb_field(nullable=True, default_sql=None)
    snapshot: dict[str, Any] | None = jsonb_field(nullable=True, default_sql=None)
    receipt_number: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(40), nullable=True, unique=True)
    )
    submitted_at: datetime | None = timestamp_field(nullable=True)
    withdrawn_at: datetime | None = timestamp_field(nullable=True)
    created_by: uuid.UUID = fk_field("app_user.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class BudgetLine(SQLModel, table=True):
    """A line of a proposal's budget; the server computes `total` from quantity × unit cost."""

    __tablename__ = "budget_line"
    __table_args__ = (
        sa.UniqueConstraint("proposal_id", "position", deferrable=True, initially="DEFERRED"),
        sa.CheckConstraint("position >= 0", name="position_nonnegative"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("unit_cost >= 0", name="unit_cost_nonnegative"),
        sa.CheckConstraint("total >= 0", name="total_nonnegative"),
        currency_check(),
    )

    id: uuid.UUID = id_field()
    proposal_id: uuid.UUID = fk_field("proposal.id", ondelete="CASCADE", index=False)
    position: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    category: str = text_field(max_length=60)
    description: str = text_field(max_length=1000)
    quantity: Decimal = Field(sa_column=sa.Column(sa.Numeric(14, 3), nullable=False))
    unit_cost: int = money_field()
    total: int = money_field()
    currency: str = currency_field()


class ProposalActionPlanItem(SQLModel, table=True):
    """An action-plan item the proposal sets out to implement."""

    __tablename__ = "proposal_action_plan_item"

    proposal_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(), sa.ForeignKey("proposal.id", ondelete="CASCADE"), primary_key=True
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


class ProposalCoApplicant(SQLModel, table=True):
    """An organisation applying jointly with the lead applicant."""

    __tablename__ = "proposal_co_applicant"

    proposal_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(), sa.ForeignKey("proposal.id", ondelete="CASCADE"), primary_key=True
        )
    )
    organisation_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(),
            sa.ForeignKey("organisation.id", ondelete="RESTRICT"),
            primary_key=True,
            index=True,
        )
    )


class Attachment(SQLModel, table=True):
    """An uploaded file of a proposal or of a report (exactly one). The file is stored under the
    generated `storage_name`; the client's `original_name` is only shown, never used as a path."""

    __tablename__ = "attachment"
    __table_args__ = (
        sa.CheckConstraint("num_nonnulls(proposal_id, report_id) = 1", name="exactly_one_owner"),
        sa.CheckConstraint("size_bytes > 0", name="size_bytes_positive"),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
    )

    id: uuid.UUID = id_field()
    proposal_id: uuid.UUID | None = fk_field("proposal.id", nullable=True)
    report_id: uuid.UUID | None = fk_field("report.id", nullable=True)
    kind: AttachmentKind = enum_field(AttachmentKind, "attachment_kind")
    original_name: str = text_field(max_length=255)
    storage_name: str = Field(sa_column=sa.Column(sa.String(80), nullable=False, unique=True))
    content_type: str = text_field(max_length=255)
    size_bytes: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    sha256: str = Field(sa_column=sa.Column(sa.CHAR(64), nullable=False))
    uploaded_by: uuid.UUID = fk_field("app_user.id")
    created_at: datetime = created_at_field()
