"""Calls for proposals, their windows, funding envelopes, eligibility rule sets and rubrics."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from contracts.enums import AggregationMethod, CallStatus, SelectionPolicy
from service.persistence.base import (
    created_at_field,
    currency_check,
    currency_field,
    enum_field,
    fk_field,
    i18n_field,
    id_field,
    jsonb_field,
    money_field,
    timestamp_field,
)


class Call(SQLModel, table=True):
    """A call for proposals: the umbrella over its windows, in one currency."""

    __tablename__ = "call"
    __table_args__ = (currency_check(),)

    id: uuid.UUID = id_field()
    title: dict[str, str] = i18n_field()
    description: dict[str, str] = i18n_field()
    currency: str = currency_field()
    status: CallStatus = enum_field(CallStatus, "call_status", default=CallStatus.DRAFT)
    version: int = Field(
        default=1, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="1")
    )
    created_by: uuid.UUID = fk_field("app_user.id")
    created_at: datetime = created_at_field()
    published_at: datetime | None = timestamp_field(nullable=True)


class CallContribution(SQLModel, table=True):
    """What a funding source puts into a call: `amount` in the source's `currency`, converted to
    the call's currency at `rate` (call-currency units per source-currency unit)."""

    __tablename__ = "call_contribution"
    __table_args__ = (
        sa.UniqueConstraint("call_id", "funding_source_id"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("rate > 0", name="rate_positive"),
        currency_check(),
    )

    id: uuid.UUID = id_field()
    call_id: uuid.UUID = fk_field("call.id", ondelete="CASCADE", index=False)
    funding_source_id: uuid.UUID = fk_field("funding_source.id")
    amount: int = money_field()
    currency: str = currency_field()
    rate: Decimal = Field(sa_column=sa.Column(sa.Numeric(18, 8), nullable=False))


class RuleSet(SQLModel, table=True):
    """One version of an eligibility rule set. Rows are immutable: a change is a new version under
    the same `key`, so a proposal's verdict can always be traced to the rules that produced it."""

    __tablename__ = "rule_set"
    __table_args__ = (
        sa.UniqueConstraint("key", "version"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint("jsonb_typeof(rules) = 'array'", name="rules_is_array"),
    )

    id: uuid.UUID = id_field()
    key: str = Field(sa_column=sa.Column(sa.String(80), nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    rules: list[dict[str, Any]] = jsonb_field(default_sql="'[]'::jsonb")
    created_by: uuid.UUID = fk_field("app_user.id")
    created_at: datetime = created_at_field()


class Rubric(SQLModel, table=True):
    """One version of a scoring rubric. Scores and thresholds are integers in tenths of a point;
    `tie_break` is the ordered list of criterion codes that breaks equal totals."""

    __tablename__ = "rubric"
    __table_args__ = (
        sa.UniqueConstraint("key", "version"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint(
            "overall_threshold IS NULL OR overall_threshold >= 0",
            name="overall_threshold_nonnegative",
        ),
        sa.CheckConstraint("jsonb_typeof(tie_break) = 'array'", name="tie_break_is_array"),
    )

    id: uuid.UUID = id_field()
    key: str = Field(sa_column=sa.Column(sa.String(80), nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    name: dict[str, str] = i18n_field()
    overall_threshold: int | None = Field(
        default=None, sa_column=sa.Column(sa.Integer(), nullable=True)
    )
    tie_break: list[str] = jsonb_field(default_sql="'[]'::jsonb")
    aggregation: AggregationMethod = enum_field(
        AggregationMethod, "aggregation_method", default=AggregationMethod.MEAN
    )
    created_by: uuid.UUID = fk_field("app_user.id")
    created_at: datetime = created_at_field()


class Criterion(SQLModel, table=True):
    """A criterion of a rubric: weight in thousandths; scale and threshold in tenths of a point
    (0–5 in half points is min 0, max 50, step 5)."""

    __tablename__ = "criterion"
    __table_args__ = (
        sa.UniqueConstraint("rubric_id", "code"),
        sa.UniqueConstraint("rubric_id", "position", deferrable=True, initially="DEFERRED"),
        sa.CheckConstraint("position >= 0", name="position_nonnegative"),
        sa.CheckConstraint("weight > 0", name="weight_positive"),
        sa.CheckConstraint("scale_min >= 0", name="scale_min_nonnegative"),
        sa.CheckConstraint("scale_min < scale_max", name="scale_ordered"),
        sa.CheckConstraint("scale_step > 0", name="scale_step_positive"),
        sa.CheckConstraint(
            "(scale_max - scale_min) % scale_step = 0", name="scale_step_divides_range"
        ),
        sa.CheckConstraint("threshold BETWEEN scale_min AND scale_max", name="threshold_on_scale"),
    )

    id: uuid.UUID = id_field()
    rubric_id: uuid.UUID = fk_field("rubric.id", ondelete="CASCADE", index=False)
    code: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    position: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    name: dict[str, str] = i18n_field()
    guidance: dict[str, str] | None = i18n_field(nullable=True)
    weight: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    scale_min: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    scale_max: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    scale_step: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    threshold: int | None = Field(default=None, sa_column=sa.Column(sa.Integer(), nullable=True))
    na_allowed: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.true())
    )
    """Whether a reviewer may mark the criterion not applicable."""


class CallWindow(SQLModel, table=True):
    """A funding window of a call. (`window` is a reserved word in PostgreSQL.) Its envelope is
    the sum of its `window_allocation` rows; grant limits are in the call's currency."""

    __tablename__ = "call_window"
    __table_args__ = (
        sa.UniqueConstraint("call_id", "code"),
        sa.UniqueConstraint("call_id", "position", deferrable=True, initially="DEFERRED"),
        sa.CheckConstraint("position >= 0", name="position_nonnegative"),
        sa.CheckConstraint("closes_at > opens_at", name="closes_after_opens"),
        sa.CheckConstraint("min_grant > 0 AND min_grant <= max_grant", name="grant_limits"),
        sa.CheckConstraint("reviewers_per_proposal >= 1", name="reviewers_per_proposal_positive"),
        sa.CheckConstraint(
            "partial_funding_floor_pct BETWEEN 0 AND 100", name="partial_funding_floor_pct_range"
        ),
        sa.CheckConstraint("jsonb_typeof(quotas) = 'array'", name="quotas_is_array"),
        sa.CheckConstraint("jsonb_typeof(calibration) = 'object'", name="calibration_is_object"),
        sa.CheckConstraint(
            "(feedback_published_at IS NULL) = (feedback_published_by IS NULL)",
            name="feedback_publication_pair",
        ),
        currency_check(),
    )

    id: uuid.UUID = id_field()
    call_id: uuid.UUID = fk_field("call.id", ondelete="CASCADE", index=False)
    code: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    position: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    title: dict[str, str] = i18n_field()
    description: dict[str, str] | None = i18n_field(nullable=True)
    opens_at: datetime = timestamp_field()
    closes_at: datetime = timestamp_field()
    min_grant: int = money_field()
    max_grant: int = money_field()
    currency: str = currency_field()
    rule_set_id: uuid.UUID | None = fk_field("rule_set.id", nullable=True)
    rubric_id: uuid.UUID | None = fk_field("rubric.id", nullable=True)
    blind_review: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    reviewers_per_proposal: int = Field(
        default=2, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="2")
    )
    review_deadline: datetime | None = timestamp_field(nullable=True)
    """When the panel's reviews are due (shown to reviewers; nothing is refused after it)."""
    avoid_same_territory_reviewers: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    reviewers_see_panel_scores: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    """Whether reviewers read the panel's scores after submitting their own."""
    pcc_membership_is_conflict: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.true())
    )
    selection_policy: SelectionPolicy | None = enum_field(
        SelectionPolicy, "call_window_selection_policy", nullable=True
    )
    quotas: list[dict[str, Any]] = jsonb_field(default_sql="'[]'::jsonb")
    calibration: dict[str, Any] = jsonb_field()
    partial_funding_floor_pct: int | None = Field(
        default=None, sa_column=sa.Column(sa.SmallInteger(), nullable=True)
    )
    status: CallStatus = enum_field(CallStatus, "call_window_status", default=CallStatus.DRAFT)
    version: int = Field(
        default=1, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="1")
    )
    created_at: datetime = created_at_field()
    feedback_published_at: datetime | None = timestamp_field(nullable=True)
    """When a programme officer published the applicants' feedback (after the approval); until
    then applicants are told it is not published yet."""
    feedback_published_by: uuid.UUID | None = fk_field("app_user.id", nullable=True)


class WindowAllocation(SQLModel, table=True):
    """The part of a funding source's contribution set aside for one window, in the call's
    currency."""

    __tablename__ = "window_allocation"
    __table_args__ = (
        sa.UniqueConstraint("window_id", "funding_source_id"),
        sa.CheckConstraint("amount >= 0", name="amount_nonnegative"),
        currency_check(),
    )

    id: uuid.UUID = id_field()
    window_id: uuid.UUID = fk_field("call_window.id", ondelete="CASCADE", index=False)
    funding_source_id: uuid.UUID = fk_field("funding_source.id")
    amount: int = money_field()
    currency: str = currency_field()


class WindowTerritory(SQLModel, table=True):
    """A territory whose organisations may apply to the window."""

    __tablename__ = "window_territory"

    window_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(), sa.ForeignKey("call_window.id", ondelete="CASCADE"), primary_key=True
        )
    )
    territory_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(),
            sa.ForeignKey("territory.id", ondelete="RESTRICT"),
            primary_key=True,
            index=True,
        )
    )


class WindowActionPlanItem(SQLModel, table=True):
    """An action-plan item that proposals to the window may implement."""

    __tablename__ = "window_action_plan_item"

    window_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(), sa.ForeignKey("call_window.id", ondelete="CASCADE"), primary_key=True
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
