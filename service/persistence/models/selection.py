"""Selection runs over a window and the decisions recorded on proposals."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from contracts.enums import (
    DecisionChangeStatus,
    DecisionOutcome,
    ProposalStatus,
    SelectionPolicy,
    SelectionRunStatus,
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


class SelectionRun(SQLModel, table=True):
    """One reproducible run of ranking and selection: the policy, its configuration, the exact
    inputs, the outputs, the lottery seed (committed by hash before it is revealed) and the
    versions of the libraries that computed it. At most one approved run per window."""

    __tablename__ = "selection_run"
    __table_args__ = (
        sa.CheckConstraint("seed_hash ~ '^[0-9a-f]{64}$'", name="seed_hash_hex"),
        sa.CheckConstraint("seed IS NULL OR seed_hash IS NOT NULL", name="seed_committed"),
        sa.CheckConstraint(
            "status NOT IN ('computed', 'approved') OR outputs IS NOT NULL",
            name="computed_has_outputs",
        ),
        sa.CheckConstraint("(approved_by IS NULL) = (approved_at IS NULL)", name="approval_pair"),
        sa.CheckConstraint(
            "status <> 'approved' OR approved_at IS NOT NULL", name="approved_has_approval"
        ),
        sa.CheckConstraint(
            "(computed_by IS NULL) = (computed_at IS NULL)", name="computation_pair"
        ),
        sa.CheckConstraint(
            "status NOT IN ('computed', 'approved') OR computed_by IS NOT NULL",
            name="computed_has_computer",
        ),
        # four eyes: neither the officer who created the run nor the one who computed it approves
        # it (NOT VALID in the migration: runs approved before the rule are kept as they were)
        sa.CheckConstraint(
            "approved_by IS NULL OR (approved_by <> created_by AND approved_by <> computed_by)",
            name="four_eyes_approval",
        ),
        sa.Index(
            "uq_selection_run_one_approved_per_window",
            "window_id",
            unique=True,
            postgresql_where=sa.text("status = 'approved'"),
        ),
    )

    id: uuid.UUID = id_field()
    window_id: uuid.UUID = fk_field("call_window.id")
    policy: SelectionPolicy = enum_field(SelectionPolicy, "selection_run_policy")
    config: dict[str, Any] = jsonb_field()
    inputs: dict[str, Any] = jsonb_field()
    outputs: dict[str, Any] | None = jsonb_field(nullable=True, default_sql=None)
    seed_hash: str | None = Field(default=None, sa_column=sa.Column(sa.CHAR(64), nullable=True))
    seed: str | None = text_field(nullable=True)
    library_versions: dict[str, str] = jsonb_field()
    status: SelectionRunStatus = enum_field(
        SelectionRunStatus, "selection_run_status", default=SelectionRunStatus.PENDING
    )
    created_by: uuid.UUID = fk_field("app_user.id")
    created_at: datetime = created_at_field()
    approved_by: uuid.UUID | None = fk_field("app_user.id", nullable=True)
    approved_at: datetime | None = timestamp_field(nullable=True)
    computed_by: uuid.UUID | None = fk_field("app_user.id", nullable=True)
    computed_at: datetime | None = timestamp_field(nullable=True)


class Decision(SQLModel, table=True):
    """A decision on a proposal with its reason. A new decision sets `is_current` false on the
    previous one; the history stays, and a proposal has at most one current decision."""

    __tablename__ = "decision"
    __table_args__ = (
        sa.CheckConstraint("length(btrim(reason)) > 0", name="reason_not_blank"),
        sa.Index(
            "uq_decision_one_current_per_proposal",
            "proposal_id",
            unique=True,
            postgresql_where=sa.text("is_current"),
        ),
    )

    id: uuid.UUID = id_field()
    proposal_id: uuid.UUID = fk_field("proposal.id")
    outcome: DecisionOutcome = enum_field(DecisionOutcome, "decision_outcome")
    reason: str = text_field()
    run_id: uuid.UUID | None = fk_field("selection_run.id", nullable=True)
    actor_id: uuid.UUID = fk_field("app_user.id")
    created_at: datetime = created_at_field()
    is_current: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.true())
    )


class DecisionChange(SQLModel, table=True):
    """A change of a proposal's decision after its window's selection was approved: proposed by
    one programme officer (`pending`, nothing moves), then confirmed by a different one (the
    proposal moves, `decision_id` is the decision recorded) or rejected. Four eyes is a CHECK on
    the row; a proposal has at most one pending change."""

    __tablename__ = "decision_change"
    __table_args__ = (
        sa.CheckConstraint("length(btrim(reason)) > 0", name="reason_not_blank"),
        sa.CheckConstraint(
            "confirmed_by IS NULL OR confirmed_by <> requested_by", name="four_eyes_confirmation"
        ),
        sa.CheckConstraint(
            "(status = 'pending' AND confirmed_by IS NULL AND rejected_by IS NULL"
            " AND decided_at IS NULL AND decision_id IS NULL)"
            " OR (status = 'confirmed' AND confirmed_by IS NOT NULL AND rejected_by IS NULL"
            " AND decided_at IS NOT NULL AND decision_id IS NOT NULL)"
            " OR (status = 'rejected' AND rejected_by IS NOT NULL AND confirmed_by IS NULL"
            " AND decided_at IS NOT NULL AND decision_id IS NULL)",
            name="status_matches_people",
        ),
        sa.Index(
            "uq_decision_change_one_pending_per_proposal",
            "proposal_id",
            unique=True,
            postgresql_where=sa.text("status = 'pending'"),
        ),
    )

    id: uuid.UUID = id_field()
    proposal_id: uuid.UUID = fk_field("proposal.id")
    run_id: uuid.UUID | None = fk_field("selection_run.id", nullable=True)
    """The approved run the change departs from."""
    from_status: ProposalStatus = enum_field(ProposalStatus, "decision_change_from_status")
    outcome: DecisionOutcome = enum_field(DecisionOutcome, "decision_change_outcome")
    reason: str = text_field()
    status: DecisionChangeStatus = enum_field(
        DecisionChangeStatus, "decision_change_status", default=DecisionChangeStatus.PENDING
    )
    requested_by: uuid.UUID = fk_field("app_user.id")
    requested_at: datetime = created_at_field()
    confirmed_by: uuid.UUID | None = fk_field("app_user.id", nullable=True)
    rejected_by: uuid.UUID | None = fk_field("app_user.id", nullable=True)
    rejection_reason: str | None = text_field(nullable=True)
    decided_at: datetime | None = timestamp_field(nullable=True)
    decision_id: uuid.UUID | None = fk_field("decision.id", nullable=True)
