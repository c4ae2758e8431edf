"""Documents: the PDFs the service issues (award letter, grant agreement, window ranking report,
disbursement statements, applicant feedback) and the status of those made in the background."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import msgspec

from contracts.common import Request
from contracts.enums import Language


class DocumentKind(StrEnum):
    AWARD_LETTER = "award_letter"
    GRANT_AGREEMENT = "grant_agreement"
    WINDOW_RANKING_REPORT = "window_ranking_report"
    GRANT_STATEMENT = "grant_statement"
    SOURCE_STATEMENT = "source_statement"
    FEEDBACK_SUMMARY = "feedback_summary"


class DocumentStatus(StrEnum):
    """A background document: `queued` (a job waits or runs), `ready` (downloadable), `failed`."""

    QUEUED = "queued"
    READY = "ready"
    FAILED = "failed"


class DocumentRequest(Request, kw_only=True):
    """Ask for a long document (the window ranking report) to be made by a background job."""

    lang: Language = Language.EN


class DocumentRead(msgspec.Struct, kw_only=True):
    """A document made in the background. `download_path` (relative to the API root) is set
    once `status` is `ready`; the PDF stays downloadable by whoever may see its data.
    `window_id`: the window of a window ranking report (null for other kinds)."""

    id: uuid.UUID
    kind: DocumentKind
    lang: Language
    status: DocumentStatus
    filename: str
    created_at: datetime
    finished_at: datetime | None = None
    error: str | None = None
    download_path: str | None = None
    window_id: uuid.UUID | None = None
    """The window a ranking report is about (none for other kinds)."""


__all__ = [
    "DocumentKind",
    "DocumentRead",
    "DocumentRequest",
    "DocumentStatus",
]
