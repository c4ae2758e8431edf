"""HTTP routes of grantee reports and their attachments."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody, QueryParameter

from contracts import reports as c
from contracts.enums import AttachmentKind, ReportKind, ReportStatus
from contracts.proposals import AttachmentRead
from service.attachments import download
from service.dependencies import AppSettings, Ctx, Session
from service.edge import UPLOAD_BODY_LIMIT, IdempotencyKeyHeader
from service.idempotency import idempotent
from service.openapi import USER, USER_OR_KEY, problems
from service.pagination import CursorQ, LimitQ
from service.reports import service
from service.storage import FileStore


@dataclass
class ReportAttachmentUpload:
    """multipart/form-data: the file and what it is."""

    file: UploadFile
    kind: AttachmentKind = AttachmentKind.REPORT


class GrantReportController(Controller):
    path = "/grants/{grant_id:uuid}/reports"
    tags = ["reports"]
    security = USER_OR_KEY

    @post("/", operation_id="CreateReport", responses=problems(401, 403, 404, 409))
    async def create_report(
        self,
        request: Request[Any, Any, Any],
        grant_id: FromPath[uuid.UUID],
        data: JSONBody[c.ReportCreate],
        session: Session,
        ctx: Ctx,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[c.ReportRead]:
        """Draft a progress or financial report: the grantee's members, or its partner system
        (an API key with `reports:write`). Indicators must be those of the action-plan items the
        grant's tranches pay for; expenditure is in the grant's currency. With an
        `Idempotency-Key`, a retry replays the first answer instead of drafting another."""

        async def create() -> c.ReportRead:
            return await service.create_report(session, ctx, grant_id, data)

        return await idempotent(request, session, ctx, create, key=idempotency_key)

    @get("/", operation_id="ListReports", responses=problems(401, 403, 404))
    async def list_reports(
        self,
        grant_id: FromPath[uuid.UUID],
        session: Session,
        ctx: Ctx,
        status: Annotated[ReportStatus | None, QueryParameter()] = None,
        kind: Annotated[ReportKind | None, QueryParameter()] = None,
        cursor: CursorQ = None,
        limit: LimitQ = 50,
    ) -> c.ReportPage:
        """The grant's reports, oldest first."""
        return await service.list_reports(
            session, ctx, grant_id, status=status, kind=kind, cursor=cursor, limit=limit
        )


class ReportController(Controller):
    path = "/reports"
    tags = ["reports"]
    security = USER_OR_KEY

    @get("/", operation_id="ListReportQueue", responses=problems(401, 403), security=USER)
    async def list_report_queue(
        self,
        session: Session,
        ctx: Ctx,
        status: Annotated[ReportStatus | None, QueryParameter()] = None,
        kind: Annotated[ReportKind | None, QueryParameter()] = None,
        territory_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
        cursor: CursorQ = None,
        limit: LimitQ = 50,
    ) -> c.ReportQueuePage:
        """Programme and finance staff: every grantee's submitted, accepted and returned
        reports, oldest submission first, with the grant, organisation, territory and PCC
        (drafts are not listed; `status=draft` finds none)."""
        return await service.list_report_queue(
            session,
            ctx,
            status=status,
            kind=kind,
            territory_id=territory_id,
            cursor=cursor,
            limit=limit,
        )

    @get("/{report_id:uuid}", operation_id="GetReport", responses=problems(401, 403, 404))
    async def get_report(
        self, report_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.ReportRead:
        """The report: expenditure against the budget, indicators against their targets."""
        return await service.get_report(session, ctx, report_id)

    @patch("/{report_id:uuid}", operation_id="UpdateReport", responses=problems(401, 403, 404, 409))
    async def update_report(
        self,
        report_id: FromPath[uuid.UUID],
        data: JSONBody[c.ReportUpdate],
        session: Session,
        ctx: Ctx,
    ) -> c.ReportRead:
        """Change a draft or returned report; `expenditure` and `indicators` replace all."""
        return await service.update_report(session, ctx, report_id, data)

    @post(
        "/{report_id:uuid}/submission",
        operation_id="SubmitReport",
        responses=problems(401, 403, 404, 409),
    )
    async def submit_report(
        self,
        request: Request[Any, Any, Any],
        report_id: FromPath[uuid.UUID],
        data: JSONBody[c.ReportSubmit],
        session: Session,
        ctx: Ctx,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[c.ReportRead]:
        """Submit a draft or returned report for the programme officer's decision. A progress
        report needs a narrative, a financial report at least one expenditure line."""

        async def submit() -> c.ReportRead:
            return await service.submit_report(session, ctx, report_id, data)

        return await idempotent(request, session, ctx, submit, key=idempotency_key)

    @post(
        "/{report_id:uuid}/decision",
        operation_id="CreateReportDecision",
        responses=problems(401, 403, 404, 409),
        security=USER,
    )
    async def create_report_decision(
        self,
        report_id: FromPath[uuid.UUID],
        data: JSONBody[c.ReportDecisionCreate],
        session: Session,
        ctx: Ctx,
    ) -> c.ReportRead:
        """A programme officer accepts a submitted report, or returns it with a comment.
        Accepting may make tranches whose conditions are now all met `due`."""
        return await service.decide_report(session, ctx, report_id, data)

    @post(
        "/{report_id:uuid}/attachments",
        operation_id="CreateReportAttachment",
        responses=problems(401, 403, 404, 409, 413, 415),
        request_max_body_size=UPLOAD_BODY_LIMIT,
    )
    async def create_report_attachment(
        self,
        report_id: FromPath[uuid.UUID],
        data: Annotated[ReportAttachmentUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        session: Session,
        ctx: Ctx,
        settings: AppSettings,
    ) -> AttachmentRead:
        """Upload a PDF, DOCX, XLSX, JPEG or PNG (checked by content, not by name) to a draft or
        returned report."""
        content = await data.file.read()
        return await service.upload_attachment(
            session,
            ctx,
            FileStore(settings.resolved_storage_dir),
            report_id,
            data.kind,
            data.file.filename or "file",
            content,
        )

    @get(
        "/{report_id:uuid}/attachments/{attachment_id:uuid}",
        operation_id="GetReportAttachment",
        responses=problems(401, 403, 404),
        media_type="application/octet-stream",
    )
    async def get_report_attachment(
        self,
        report_id: FromPath[uuid.UUID],
        attachment_id: FromPath[uuid.UUID],
        session: Session,
        ctx: Ctx,
        settings: AppSettings,
    ) -> Response[bytes]:
        """The file, always as a download (`Content-Disposition: attachment`)."""
        a = await service.attachment_for_download(session, ctx, report_id, attachment_id)
        return await download(settings.resolved_storage_dir, a)

    @delete(
        "/{report_id:uuid}/attachments/{attachment_id:uuid}",
        operation_id="DeleteReportAttachment",
        responses=problems(401, 403, 404, 409),
    )
    async def delete_report_attachment(
        self,
        report_id: FromPath[uuid.UUID],
        attachment_id: FromPath[uuid.UUID],
        session: Session,
        ctx: Ctx,
        settings: AppSettings,
    ) -> None:
        await service.delete_attachment(
            session, ctx, FileStore(settings.resolved_storage_dir), report_id, attachment_id
        )
