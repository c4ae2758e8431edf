"""Documents' background jobs (queue "documents"): the window ranking report."""

from __future__ import annotations

import uuid

from service.context import utcnow
from service.documents.render import default_pool
from service.jobs import JobContext, job_database, jobs
from service.persistence.database import Database

DOCUMENTS_QUEUE = "documents"


@jobs.task(name="documents.render_ranking_report", queue=DOCUMENTS_QUEUE, pass_context=True)
async def render_ranking_report(context: JobContext, *, document_id: str) -> None:
    """The job: make the queued document (see `make_document`)."""
    await make_document(job_database(context), uuid.UUID(document_id))


async def make_document(database: Database, document_id: uuid.UUID) -> None:
    """Render the report of a queued `generated_document` and store it (ready), or record why
    it failed (failed); a document no longer queued is left alone (a job run twice)."""
    from contracts.documents import DocumentStatus
    from service.documents import reports
    from service.documents.service import now_date
    from service.persistence.models import GeneratedDocument

    async with database.session() as session, session.begin():
        document = await session.get(GeneratedDocument, document_id, with_for_update=True)
        if document is None or document.status != DocumentStatus.QUEUED:
            return
        try:
            content = await reports.render_ranking_report(
                session, default_pool(), document, now_date(utcnow())
            )
        except Exception as error:  # recorded for the requester; the job itself succeeds
            document.status = DocumentStatus.FAILED
            document.error = f"{type(error).__name__}: {error}"[:500]
        else:
            document.status = DocumentStatus.READY
            document.content = content
        document.finished_at = utcnow()
