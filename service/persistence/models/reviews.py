"""Review panels, assignments, conflicts of interest, reviews and their scores."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from contracts.enums import AssignmentStatus, ConflictSource, Recommendation, ReviewStatus
from service.persistence.base import (
    created_at_field,
    enum_field,
    fk_field,
    id_field,
    text_field,
    timestamp_field,
)


class ReviewAssignment(SQLModel, table=True):
    """A proposal given to a reviewer to score."""

    __tablename__ = "review_assignment"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "reviewer_id"),)

    id: uuid.UUID = id_field()
    proposal_id: uuid.UUID = fk_field("proposal.id", index=False)
    reviewer_id: uuid.UUID = fk_field("app_user.id")
    status: AssignmentStatus = enum_field(
        AssignmentStatus, "assignment_status", default=AssignmentStatus.ASSIGNED
    )
    assigned_by: uuid.UUID | None = fk_field("app_user.id", nullable=True)
    no_conflict_declared_at: datetime | None = timestamp_field(nullable=True)
    """When the reviewer declared having no conflict of interest: the proposal is shown to the
    reviewer only after that (or the reviewer declares a conflict and steps back)."""
    created_at: datetime = created_at_field()


class Conflict(SQLModel, table=True):
    """A conflict of interest between a reviewer and a proposal, declared by the reviewer or
    detected by the system (affiliation, territory, PCC membership)."""

    __tablename__ = "conflict"
    __table_args__ = (
        sa.UniqueConstraint("proposal_id", "reviewer_id", "source"),
        sa.CheckConstraint("length(btrim(reason)) > 0", name="reason_not_blank"),
    )

    id: uuid.UUID = id_field()
    proposal_id: uuid.UUID = fk_field("proposal.id", index=False)
    reviewer_id: uuid.UUID = fk_field("app_user.id")
    source: ConflictSource = enum_field(ConflictSource, "conflict_source")
    reason: str = text_field()
    created_at: datetime = created_at_field()


class Review(SQLModel, table=True):
    """A reviewer's review under one assignment; one score row per rubric criterion."""

    __tablename__ = "review"
    __table_args__ = (
        sa.CheckConstraint(
            "status <> 'submitted' OR submitted_at IS NOT NULL", name="submitted_has_date"
        ),
        sa.CheckConstraint(
            "status <> 'reopened' OR reopened_reason IS NOT NULL", name="reopened_has_reason"
        ),
    )

    id: uuid.UUID = id_field()
    assignment_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(),
            sa.ForeignKey("review_assignment.id", ondelete="RESTRICT"),
            nullable=False,
            unique=True,
        )
    )
    status: ReviewStatus = enum_field(ReviewStatus, "review_status", default=ReviewStatus.DRAFT)
    recommendation: Recommendation | None = enum_field(
        Recommendation, "recommendation", nullable=True
    )
    comment: str | None = text_field(nullable=True)
    submitted_at: datetime | None = timestamp_field(nullable=True)
    reopened_reason: str | None = text_field(nullable=True)
    version: int = Field(
        default=1, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="1")
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class CriterionScore(SQLModel, table=True):
    """A review's score on one criterion, in tenths of a point; NULL means "not applicable" and
    leaves the criterion out of the aggregate (it is not a zero)."""

    __tablename__ = "criterion_score"
    __table_args__ = (
        sa.UniqueConstraint("review_id", "criterion_id"),
        sa.CheckConstraint("value >= 0", name="value_nonnegative"),
    )

    id: uuid.UUID = id_field()
    review_id: uuid.UUID = fk_field("review.id", ondelete="CASCADE", index=False)
    criterion_id: uuid.UUID = fk_field("criterion.id")
    value: int | None = Field(default=None, sa_column=sa.Column(sa.SmallInteger(), nullable=True))
    comment: str | None = text_field(nullable=True)


class ConsensusScore(SQLModel, table=True):
    """A panel's agreed score on one criterion of a proposal, replacing the reviewers' aggregate
    for that criterion, with the reason recorded."""

    __tablename__ = "consensus_score"
    __table_args__ = (
        sa.UniqueConstraint("proposal_id", "criterion_id"),
        sa.CheckConstraint("value >= 0", name="value_nonnegative"),
        sa.CheckConstraint("length(btrim(reason)) > 0", name="reason_not_blank"),
    )

    id: uuid.UUID = id_field()
    proposal_id: uuid.UUID = fk_field("proposal.id", index=False)
    criterion_id: uuid.UUID = fk_field("criterion.id")
    value: int = Field(sa_column=sa.Column(sa.SmallInteger(), nullable=False))
    reason: str = text_field()
    recorded_by: uuid.UUID = fk_field("app_user.id")
    created_at: datetime = created_at_field()


class Panel(SQLModel, table=True):
    """A review panel of a window."""

    __tablename__ = "panel"
    __table_args__ = (sa.UniqueConstraint("window_id", "name"),)

    id: uuid.UUID = id_field()
    window_id: uuid.UUID = fk_field("call_window.id", ondelete="CASCADE", index=False)
    name: str = text_field(max_length=200)
    created_at: datetime = created_at_field()


class PanelMember(SQLModel, table=True):
    __tablename__ = "panel_member"
    __table_args__ = (sa.CheckConstraint("load_cap >= 0", name="load_cap_nonnegative"),)

    panel_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(), sa.ForeignKey("panel.id", ondelete="CASCADE"), primary_key=True
        )
    )
    user_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(),
            sa.ForeignKey("app_user.id", ondelete="CASCADE"),
            primary_key=True,
            index=True,
        )
    )
    load_cap: int | None = Field(default=None, sa_column=sa.Column(sa.Integer(), nullable=True))
    """At most this many assignments in the window (automatic assignment); none: no cap."""
