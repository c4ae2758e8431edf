"""HTTP routes of the documents: PDFs in en/ru/ky, with the permissions of the data they show."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.documents import DocumentRead, DocumentRequest
from contracts.enums import Language
from service.context import RequestContext, utcnow
from service.dependencies import Ctx, Session
from service.documents import reports, statements
from service.documents import service as docs
from service.documents.render import RenderPool, default_pool
from service.openapi import USER, USER_OR_KEY, problems
from service.storage import download_headers

PDF = "application/pdf"
Lang = Annotated[Language, QueryParameter(description="The document's language: en, ru or ky")]
Start = Annotated[date, QueryParameter(description="First value date of the period")]
End = Annotated[date, QueryParameter(description="Last value date of the period")]


def _pdf(document: docs.Pdf) -> Response[bytes]:
    return Response(
        content=document.content, media_type=PDF, headers=download_headers(document.filename, PDF)
    )


async def _grant_pdf(
    session: AsyncSession, ctx: RequestContext, grant_id: uuid.UUID, kind: str, lang: Language
) -> Response[bytes]:
    """A grant's document of one kind (its template's name) rendered today."""
    return _pdf(
        await docs.grant_document(
            session, ctx, default_pool(), grant_id, kind, lang.value, docs.now_date(utcnow())
        )
    )


async def _statement_pdf(
    make: Callable[
        [AsyncSession, RequestContext, RenderPool, uuid.UUID, str, date, date, date],
        Awaitable[docs.Pdf],
    ],
    session: AsyncSession,
    ctx: RequestContext,
    owner_id: uuid.UUID,
    lang: Language,
    start: date,
    end: date,
) -> Response[bytes]:
    """A statement for a period (of a grant or a funding source) rendered today."""
    return _pdf(
        await make(
            session, ctx, default_pool(), owner_id, lang.value, start, end, docs.now_date(utcnow())
        )
    )


class GrantDocumentController(Controller):
    path = "/grants/{grant_id:uuid}"
    tags = ["documents"]
    security = USER_OR_KEY

    @get(
        "/award-letter",
        operation_id="GetAwardLetter",
        media_type=PDF,
        responses=problems(401, 403, 404, 503),
    )
    async def award_letter(
        self,
        grant_id: FromPath[uuid.UUID],
        session: Session,
        ctx: Ctx,
        lang: Lang = Language.EN,
    ) -> Response[bytes]:
        """The award letter of a grant as PDF: the amount in figures and words, the tranche
        schedule with its action-plan items and release conditions, the reporting obligations.
        For whoever may read the grant (its organisation's members, staff)."""
        return await _grant_pdf(session, ctx, grant_id, "award_letter", lang)

    @get(
        "/agreement",
        operation_id="GetGrantAgreement",
        media_type=PDF,
        responses=problems(401, 403, 404, 503),
    )
    async def agreement(
        self,
        grant_id: FromPath[uuid.UUID],
        session: Session,
        ctx: Ctx,
        lang: Lang = Language.EN,
    ) -> Response[bytes]:
        """The grant agreement as PDF: parties, purpose, amount (figures and words) and its
        funding sources, period, tranche schedule, reporting obligations, signature blocks."""
        return await _grant_pdf(session, ctx, grant_id, "grant_agreement", lang)

    @get(
        "/statement",
        operation_id="GetGrantStatement",
        media_type=PDF,
        responses=problems(401, 403, 404, 503),
    )
    async def statement(
        self,
        grant_id: FromPath[uuid.UUID],
        session: Session,
        ctx: Ctx,
        start: Start,
        end: End,
        lang: Lang = Language.EN,
    ) -> Response[bytes]:
        """The grant's disbursement statement for a period (value dates, inclusive): entries,
        committed vs disbursed before, in and by the end of the period, with a chart."""
        return await _statement_pdf(docs.grant_statement, session, ctx, grant_id, lang, start, end)


class SourceDocumentController(Controller):
    path = "/funding-sources/{source_id:uuid}"
    tags = ["documents"]
    security = USER

    @get(
        "/statement",
        operation_id="GetFundingSourceStatement",
        media_type=PDF,
        responses=problems(401, 403, 404, 503),
    )
    async def statement(
        self,
        source_id: FromPath[uuid.UUID],
        session: Session,
        ctx: Ctx,
        start: Start,
        end: End,
        lang: Lang = Language.EN,
    ) -> Response[bytes]:
        """A funding source's statement for a period: each grant charged to it, its share
        committed and disbursed before, in and by the end of the period; a chart (staff)."""
        return await _statement_pdf(
            statements.source_statement, session, ctx, source_id, lang, start, end
        )


class FeedbackDocumentController(Controller):
    path = "/proposals/{proposal_id:uuid}"
    tags = ["documents"]
    security = USER

    @get(
        "/feedback-summary",
        operation_id="GetFeedbackSummary",
        media_type=PDF,
        responses=problems(401, 403, 404, 409, 503),
    )
    async def feedback_summary(
        self,
        proposal_id: FromPath[uuid.UUID],
        session: Session,
        ctx: Ctx,
        lang: Lang = Language.EN,
    ) -> Response[bytes]:
        """The applicant's feedback as PDF: scores per criterion, thresholds, the panel's
        comments — never a reviewer's name. As GET /proposals/{id}/feedback: an applicant reads
        it once the window's feedback is published (409 before)."""
        return _pdf(
            await docs.feedback_summary(
                session, ctx, default_pool(), proposal_id, lang.value, docs.now_date(utcnow())
            )
        )


class RankingReportController(Controller):
    path = "/windows/{window_id:uuid}/ranking-report"
    tags = ["documents"]
    security = USER

    @post(
        "/",
        operation_id="CreateRankingReport",
        status_code=202,
        responses=problems(401, 403, 404, 409),
    )
    async def create(
        self,
        window_id: FromPath[uuid.UUID],
        data: JSONBody[DocumentRequest],
        session: Session,
        ctx: Ctx,
    ) -> DocumentRead:
        """Ask for the window's ranking report (rubric, ranked list, flags, agreement
        statistics, selection policy, quotas, funded and reserve lists, the lottery's seed hash
        and seed, the score distribution). Made by a background job: poll GetDocument until
        `status` is `ready`, then download from `download_path`."""
        return await reports.request_ranking_report(session, ctx, window_id, data.lang.value)


class DocumentController(Controller):
    path = "/documents/{document_id:uuid}"
    tags = ["documents"]
    security = USER

    @get("/", operation_id="GetDocument", responses=problems(401, 404))
    async def get_document(
        self, document_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> DocumentRead:
        """A background document's status (queued, ready, failed)."""
        return await reports.get_document(session, ctx, document_id)

    @get(
        "/content",
        operation_id="GetDocumentContent",
        media_type=PDF,
        responses=problems(401, 404, 409),
    )
    async def get_content(
        self, document_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> Response[bytes]:
        """The PDF of a ready background document (409 while it is queued or failed)."""
        return _pdf(await reports.document_content(session, ctx, document_id))


DOCUMENT_CONTROLLERS = [
    GrantDocumentController,
    SourceDocumentController,
    FeedbackDocumentController,
    RankingReportController,
    DocumentController,
]
