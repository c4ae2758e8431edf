"""keyset indexes: one per list order and per filter of a list (issue 16)

Every list pages by the row comparison `(sort, id) > ($1, $2)` ordered by `(sort, id)`; these
indexes (declared in `service/persistence/models/indexes.py`) let PostgreSQL answer a page with an
index scan that starts at the cursor: no sort, and the same cost at 100,000 rows as at 11.

Built CONCURRENTLY (outside the migration's transaction): a production table keeps taking writes
while its index is built.

Revision ID: 0009
Revises: 0011
Create Date: 2026-12-06 06:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("proposal", ("created_at", "id"), None),
    ("proposal", ("status", "created_at", "id"), None),
    ("proposal", ("window_id", "created_at", "id"), None),
    ("proposal", ("organisation_id", "created_at", "id"), None),
    ("proposal", ("requested_amount", "id"), None),
    ("proposal", ("title", "id"), None),
    ("app_user", ("created_at", "id"), None),
    ("organisation", ("created_at", "id"), None),
    ("api_key", ("created_at", "id"), None),
    ("funding_source", ("created_at", "id"), None),
    ("call", ("created_at", "id"), None),
    ("call", ("status", "created_at", "id"), None),
    ("action_plan", ("created_at", "id"), None),
    ("action_plan", ("pcc_id", "created_at", "id"), None),
    ("grant_award", ("created_at", "id"), None),
    ("grant_award", ("window_id", "created_at", "id"), None),
    ("grant_award", ("organisation_id", "created_at", "id"), None),
    ("grant_award", ("status", "created_at", "id"), None),
    ("ledger_entry", ("created_at", "id"), None),
    ("ledger_entry", ("grant_id", "created_at", "id"), None),
    ("ledger_entry", ("tranche_id", "created_at", "id"), None),
    ("report", ("grant_id", "created_at", "id"), None),
    ("report", ("submitted_at", "id"), "status <> 'draft'"),
    ("exchange_rate", ("valid_on", "id"), None),
    ("exchange_rate", ("currency", "valid_on", "id"), None),
    ("tranche", ("planned_date", "id"), None),
)


def _name(table: str, columns: tuple[str, ...]) -> str:
    return f"ix_{table}_keyset_{'_'.join(columns)}"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for table, columns, where in INDEXES:
            op.create_index(
                _name(table, columns),
                table,
                list(columns),
                postgresql_where=sa.text(where) if where else None,
                postgresql_concurrently=True,
                if_not_exists=True,
            )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for table, columns, _ in reversed(INDEXES):
            op.drop_index(
                _name(table, columns),
                table_name=table,
                postgresql_concurrently=True,
                if_exists=True,
            )
