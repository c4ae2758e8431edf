"""Territories, their Peacebuilding Coordination Councils, action plans, items and indicators."""

import uuid
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from contracts.enums import ActionPlanStatus, Pillar
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
    text_field,
)


class Territory(SQLModel, table=True):
    __tablename__ = "territory"

    id: uuid.UUID = id_field()
    code: str = Field(sa_column=sa.Column(sa.String(40), nullable=False, unique=True))
    kind: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    name: dict[str, str] = i18n_field()
    region: dict[str, str] = i18n_field()


class Pcc(SQLModel, table=True):
    """The Peacebuilding Coordination Council of one territory (1–1)."""

    __tablename__ = "pcc"

    id: uuid.UUID = id_field()
    territory_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(),
            sa.ForeignKey("territory.id", ondelete="RESTRICT"),
            nullable=False,
            unique=True,
        )
    )
    name: dict[str, str] = i18n_field()
    established_year: int | None = Field(
        default=None, sa_column=sa.Column(sa.SmallInteger(), nullable=True)
    )


class PccMember(SQLModel, table=True):
    """A member of a PCC from one of the three pillars; optionally linked to a user account."""

    __tablename__ = "pcc_member"

    id: uuid.UUID = id_field()
    pcc_id: uuid.UUID = fk_field("pcc.id", ondelete="CASCADE")
    full_name: str = text_field(max_length=200)
    pillar: Pillar = enum_field(Pillar, "pillar")
    position: str | None = text_field(nullable=True, max_length=300)
    user_id: uuid.UUID | None = fk_field("app_user.id", nullable=True, ondelete="SET NULL")


class ActionPlan(SQLModel, table=True):
    __tablename__ = "action_plan"
    __table_args__ = (sa.CheckConstraint("period_end >= period_start", name="period_ordered"),)

    id: uuid.UUID = id_field()
    pcc_id: uuid.UUID = fk_field("pcc.id")
    title: dict[str, str] = i18n_field()
    period_start: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    period_end: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    status: ActionPlanStatus = enum_field(
        ActionPlanStatus, "action_plan_status", default=ActionPlanStatus.DRAFT
    )
    version: int = Field(
        default=1, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="1")
    )
    created_at: datetime = created_at_field()


class ActionPlanItem(SQLModel, table=True):
    __tablename__ = "action_plan_item"
    __table_args__ = (
        sa.UniqueConstraint("action_plan_id", "code"),
        sa.CheckConstraint("budget_estimate >= 0", name="budget_estimate_nonnegative"),
        currency_check(),
    )

    id: uuid.UUID = id_field()
    action_plan_id: uuid.UUID = fk_field("action_plan.id", ondelete="CASCADE")
    code: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    objective: dict[str, str] = i18n_field()
    activities: str = text_field()
    budget_estimate: int = money_field()
    currency: str = currency_field()
    target_groups: list[str] = jsonb_field(default_sql="'[]'::jsonb")
    gender_responsive: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    conflict_sensitive: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    version: int = Field(
        default=1, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="1")
    )
    created_at: datetime = created_at_field()


class Indicator(SQLModel, table=True):
    """An indicator of an action-plan item: target and the actual value reported so far."""

    __tablename__ = "indicator"

    id: uuid.UUID = id_field()
    action_plan_item_id: uuid.UUID = fk_field("action_plan_item.id", ondelete="CASCADE")
    name: dict[str, str] = i18n_field()
    unit: str = text_field(max_length=40)
    baseline: Decimal | None = Field(
        default=None, sa_column=sa.Column(sa.Numeric(18, 4), nullable=True)
    )
    target: Decimal = Field(sa_column=sa.Column(sa.Numeric(18, 4), nullable=False))
    actual: Decimal | None = Field(
        default=None, sa_column=sa.Column(sa.Numeric(18, 4), nullable=True)
    )
