"""job queue and documents: procrastinate's schema (PostgreSQL-backed jobs) and the documents
made in the background

Procrastinate's schema is applied from `migrations/sql/procrastinate-<version>-schema.sql`, a copy
of the `procrastinate/sql/schema.sql` of the pinned version (procrastinate documents applying its
SQL with the project's own migration tool). Upgrading procrastinate later means a new revision
that runs the package's `sql/migrations/*.sql` deltas between the two versions, in order.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-06 05:30:00+00:00
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.util import await_only

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROCRASTINATE_SCHEMA = (
    Path(__file__).resolve().parent.parent / "sql" / "procrastinate-3.10.0-schema.sql"
)


def _run_script(sql: str) -> None:
    """A multi-statement script (plpgsql bodies included) through asyncpg's simple protocol:
    SQLAlchemy's asyncpg dialect prepares statements, which allows one command only."""
    driver_connection = op.get_bind().connection.driver_connection
    await_only(driver_connection.execute(sql))


def upgrade() -> None:
    _run_script(PROCRASTINATE_SCHEMA.read_text(encoding="utf-8"))
    op.create_table(
        "generated_document",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "award_letter",
                "grant_agreement",
                "window_ranking_report",
                "grant_statement",
                "source_statement",
                "feedback_summary",
                name="document_kind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column(
            "lang",
            sa.Enum(
                "en",
                "ru",
                "ky",
                name="document_language",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "params",
            JSONB(none_as_null=True),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "ready",
                "failed",
                name="document_status",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint(
            "(status = 'ready') = (content IS NOT NULL)",
            name=op.f("ck_generated_document_content_iff_ready"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["app_user.id"],
            name=op.f("fk_generated_document_requested_by_app_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generated_document")),
    )
    op.create_index(
        op.f("ix_generated_document_requested_by"), "generated_document", ["requested_by"]
    )
    op.create_index(op.f("ix_generated_document_subject_id"), "generated_document", ["subject_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_generated_document_subject_id"), table_name="generated_document")
    op.drop_index(op.f("ix_generated_document_requested_by"), table_name="generated_document")
    op.drop_table("generated_document")
    _run_script(
        """
        DO $$
        DECLARE r record;
        BEGIN
            FOR r IN SELECT tablename FROM pg_tables
                     WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate\\_%'
            LOOP
                EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.tablename);
            END LOOP;
            FOR r IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                     JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%'
            LOOP
                EXECUTE format('DROP ROUTINE IF EXISTS %s CASCADE', r.signature);
            END LOOP;
            FOR r IN SELECT t.typname FROM pg_type t
                     JOIN pg_namespace n ON n.oid = t.typnamespace
                     WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate\\_%'
                       AND t.typtype IN ('e', 'c')
            LOOP
                EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
            END LOOP;
        END
        $$;
        """
    )
