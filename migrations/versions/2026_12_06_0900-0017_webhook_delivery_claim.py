"""webhook deliveries claimed before the POST: `webhook_delivery.claim_id`

A worker claims a due delivery in a short transaction of its own (the claim's id, and
`next_attempt_at` moved on to the end of the claim's lease), commits, sends the POST holding no
lock and no connection, then records the result if the claim is still its own. A worker that
dies mid-POST leaves the claim behind; it expires with the lease and the delivery is due again.

Revision ID: 0017
Revises: 0009
Create Date: 2026-12-06 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("webhook_delivery", sa.Column("claim_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    op.drop_column("webhook_delivery", "claim_id")
