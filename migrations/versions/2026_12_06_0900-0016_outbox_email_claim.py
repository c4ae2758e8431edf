"""e-mails claimed before the SMTP conversation: `outbox.claim_id`

A worker claims a due e-mail in a short transaction of its own (the claim's id, the attempt
counted, `available_at` moved on to the end of the claim's lease), commits, talks to the SMTP
server holding no lock and no connection, then records the result. A worker that dies mid-send
leaves the claim behind; it expires with the lease and the e-mail is due again.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("claim_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "claim_id")
