"""Documents made in the background by a job (the window ranking report): status and the PDF.

The PDF is kept in the database (bytea), not on one host's disk, so any worker or host serves it.
"""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from contracts.documents import DocumentKind, DocumentStatus
from contracts.enums import Language
from service.persistence.base import (
    created_at_field,
    enum_field,
    fk_field,
    id_field,
    jsonb_field,
    text_field,
    timestamp_field,
)


class GeneratedDocument(SQLModel, table=True):
    __tablename__ = "generated_document"
    __table_args__ = (
        sa.CheckConstraint("(status = 'ready') = (content IS NOT NULL)", name="content_iff_ready"),
    )

    id: uuid.UUID = id_field()
    kind: DocumentKind = enum_field(DocumentKind, "document_kind")
    subject_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False, index=True))
    """What the document is about (a window for the ranking report)."""
    lang: Language = enum_field(Language, "document_language")
    params: dict[str, Any] = jsonb_field()
    status: DocumentStatus = enum_field(
        DocumentStatus, "document_status", default=DocumentStatus.QUEUED
    )
    filename: str = text_field(max_length=200)
    requested_by: uuid.UUID = fk_field("app_user.id")
    created_at: datetime = created_at_field()
    finished_at: datetime | None = timestamp_field(nullable=True)
    error: str | None = text_field(nullable=True)
    content: bytes | None = Field(
        default=None, sa_column=sa.Column(sa.LargeBinary(), nullable=True)
    )
