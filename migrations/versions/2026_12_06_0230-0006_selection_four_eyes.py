"""four eyes on the selection: who computed a run, a second officer approves it; changes of a
decision after approval are proposed by one officer and confirmed by another

`selection_run` gains `computed_by` / `computed_at`; a CHECK keeps the approver different from the
officer who created the run and the one who computed it. Runs computed before this migration get
their creator as computer (the only officer who could have computed them was known only as the
creator) and their creation time; runs approved before the rule by the same officer are kept as
they were: the four-eyes CHECK is added NOT VALID, so it holds for every row written from now on.

`decision_change`: a change of decision pending until a second programme officer confirms it
(CHECK `confirmed_by <> requested_by`) or someone rejects it; one pending change per proposal.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 02:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOUR_EYES = "approved_by IS NULL OR (approved_by <> created_by AND approved_by <> computed_by)"
PROPOSAL_STATUSES = (
    "draft",
    "submitted",
    "eligible",
    "ineligible",
    "in_review",
    "scored",
    "selected",
    "reserve",
    "not_selected",
    "awarded",
    "withdrawn",
)


def upgrade() -> None:
    op.add_column("selection_run", sa.Column("computed_by", sa.Uuid(), nullable=True))
    op.add_column(
        "selection_run", sa.Column("computed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        op.f("ix_selection_run_computed_by"), "selection_run", ["computed_by"], unique=False
    )
    op.create_foreign_key(
        op.f("fk_selection_run_computed_by_app_user"),
        "selection_run",
        "app_user",
        ["computed_by"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.execute(
        "UPDATE selection_run SET computed_by = created_by, computed_at = created_at"
        " WHERE outputs IS NOT NULL"
    )
    op.create_check_constraint(
        op.f("ck_selection_run_computation_pair"),
        "selection_run",
        "(computed_by IS NULL) = (computed_at IS NULL)",
    )
    op.create_check_constraint(
        op.f("ck_selection_run_computed_has_computer"),
        "selection_run",
        "status NOT IN ('computed', 'approved') OR computed_by IS NOT NULL",
    )
    op.execute(
        "ALTER TABLE selection_run ADD CONSTRAINT ck_selection_run_four_eyes_approval"
        f" CHECK ({FOUR_EYES}) NOT VALID"
    )

    op.create_table(
        "decision_change",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("proposal_id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column(
            "from_status",
            sa.Enum(
                *PROPOSAL_STATUSES,
                name="decision_change_from_status",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "outcome",
            sa.Enum(
                "selected",
                "reserve",
                "not_selected",
                name="decision_change_outcome",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "confirmed",
                "rejected",
                name="decision_change_status",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column(
            "requested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("confirmed_by", sa.Uuid(), nullable=True),
        sa.Column("rejected_by", sa.Uuid(), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "length(btrim(reason)) > 0", name=op.f("ck_decision_change_reason_not_blank")
        ),
        sa.CheckConstraint(
            "confirmed_by IS NULL OR confirmed_by <> requested_by",
            name=op.f("ck_decision_change_four_eyes_confirmation"),
        ),
        sa.CheckConstraint(
            "(status = 'pending' AND confirmed_by IS NULL AND rejected_by IS NULL"
            " AND decided_at IS NULL AND decision_id IS NULL)"
            " OR (status = 'confirmed' AND confirmed_by IS NOT NULL AND rejected_by IS NULL"
            " AND decided_at IS NOT NULL AND decision_id IS NOT NULL)"
            " OR (status = 'rejected' AND rejected_by IS NOT NULL AND confirmed_by IS NULL"
            " AND decided_at IS NOT NULL AND decision_id IS NULL)",
            name=op.f("ck_decision_change_status_matches_people"),
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposal.id"],
            name=op.f("fk_decision_change_proposal_id_proposal"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["selection_run.id"],
            name=op.f("fk_decision_change_run_id_selection_run"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["app_user.id"],
            name=op.f("fk_decision_change_requested_by_app_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by"],
            ["app_user.id"],
            name=op.f("fk_decision_change_confirmed_by_app_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["rejected_by"],
            ["app_user.id"],
            name=op.f("fk_decision_change_rejected_by_app_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decision.id"],
            name=op.f("fk_decision_change_decision_id_decision"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_change")),
    )
    for column in ("proposal_id", "run_id", "requested_by", "confirmed_by", "rejected_by"):
        op.create_index(
            op.f(f"ix_decision_change_{column}"), "decision_change", [column], unique=False
        )
    op.create_index(op.f("ix_decision_change_decision_id"), "decision_change", ["decision_id"])
    op.create_index(
        "uq_decision_change_one_pending_per_proposal",
        "decision_change",
        ["proposal_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_table("decision_change")
    op.drop_constraint(op.f("ck_selection_run_four_eyes_approval"), "selection_run", type_="check")
    op.drop_constraint(
        op.f("ck_selection_run_computed_has_computer"), "selection_run", type_="check"
    )
    op.drop_constraint(op.f("ck_selection_run_computation_pair"), "selection_run", type_="check")
    op.drop_constraint(
        op.f("fk_selection_run_computed_by_app_user"), "selection_run", type_="foreignkey"
    )
    op.drop_index(op.f("ix_selection_run_computed_by"), table_name="selection_run")
    op.drop_column("selection_run", "computed_at")
    op.drop_column("selection_run", "computed_by")
