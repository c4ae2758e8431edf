"""HTTP routes of proposals and their attachments."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody, QueryParameter

from contracts import calls as cc
from contracts import proposals as c
from contracts.enums import AttachmentKind, OrganisationKind, ProposalStatus
from service.attachments import download
from service.dependencies import AppSettings, Ctx, Session
from service.edge import UPLOAD_BODY_LIMIT, IdempotencyKeyHeader
from service.idempotency import idempotent
from service.openapi import USER, problems
from service.pagination import CursorQ, LimitQ
from service.persistence.database import READ_ONLY
from service.proposals import service
from service.storage import FileStore


@dataclass
class AttachmentUpload:
    """multipart/form-data: the file and what it is."""

    file: UploadFile
    kind: AttachmentKind = AttachmentKind.OTHER


class WindowProposalController(Controller):
    """The routes of proposals under a window: the eligibility pre-check and a new draft."""

    path = "/windows"
    tags = ["calls"]

    @post(
        "/{window_id:uuid}/eligibility-check",
        operation_id="CreateEligibilityCheck",
        responses=problems(401, 404),
        status_code=200,
    )
    async def create_eligibility_check(
        self,
        window_id: FromPath[uuid.UUID],
        data: JSONBody[cc.EligibilityCheck],
        session: Session,
        ctx: Ctx,
    ) -> cc.EligibilityRead:
        """Every rule's verdict for a draft of yours, or for raw answers (no login needed)."""
        return await service.check_eligibility(session, ctx, window_id, data)

    @post(
        "/{window_id:uuid}/proposals",
        operation_id="CreateProposal",
        responses=problems(401, 403, 404, 409),
        security=USER,
    )
    async def create_proposal(
        self,
        window_id: FromPath[uuid.UUID],
        data: JSONBody[c.ProposalCreate],
        session: Session,
        ctx: Ctx,
    ) -> c.ProposalRead:
        """Start a draft for one of your organisations in a published, not yet closed window."""
        return await service.create_proposal(session, ctx, window_id, data)


class ProposalController(Controller):
    path = "/proposals"
    tags = ["proposals"]
    security = USER

    @get("/", operation_id="ListProposals", responses=problems(401), opt=READ_ONLY)
    async def list_proposals(
        self,
        session: Session,
        ctx: Ctx,
        window_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
        status: Annotated[ProposalStatus | None, QueryParameter()] = None,
        territory_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
        organisation_kind: Annotated[OrganisationKind | None, QueryParameter()] = None,
        sort: Annotated[c.ProposalSort, QueryParameter()] = "created_at",
        cursor: CursorQ = None,
        limit: LimitQ = 50,
    ) -> c.ProposalPage:
        """Your organisations' proposals (programme staff: all), filtered and sorted."""
        return await service.list_proposals(
            session,
            ctx,
            window_id=window_id,
            status=status,
            territory_id=territory_id,
            organisation_kind=organisation_kind,
            sort=sort,
            cursor=cursor,
            limit=limit,
        )

    @get(
        "/{proposal_id:uuid}",
        operation_id="GetProposal",
        responses=problems(401, 404),
        opt=READ_ONLY,
    )
    async def get_proposal(
        self, proposal_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.ProposalRead:
        return await service.get_proposal(session, ctx, proposal_id)

    @patch(
        "/{proposal_id:uuid}",
        operation_id="UpdateProposal",
        responses=problems(401, 403, 404, 409),
    )
    async def update_proposal(
        self,
        proposal_id: FromPath[uuid.UUID],
        data: JSONBody[c.ProposalUpdate],
        session: Session,
        ctx: Ctx,
    ) -> c.ProposalRead:
        return await service.update_proposal(session, ctx, proposal_id, data)

    @put(
        "/{proposal_id:uuid}/budget-lines",
        operation_id="UpdateBudgetLines",
        responses=problems(401, 403, 404, 409),
    )
    async def update_budget_lines(
        self,
        proposal_id: FromPath[uuid.UUID],
        data: JSONBody[c.BudgetLinesReplace],
        session: Session,
        ctx: Ctx,
    ) -> c.ProposalRead:
        """Replace the budget; the server computes each line's total (half-even rounding)."""
        return await service.replace_budget_lines(session, ctx, proposal_id, data)

    @post(
        "/{proposal_id:uuid}/submission",
        operation_id="CreateSubmission",
        responses=problems(401, 403, 404, 409),
    )
    async def create_submission(
        self,
        request: Request[Any, Any, Any],
        proposal_id: FromPath[uuid.UUID],
        data: JSONBody[c.ProposalSubmit],
        session: Session,
        ctx: Ctx,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[c.SubmissionReceipt]:
        """Submit while the window is open (server time): eligibility is judged, the proposal
        frozen, a receipt number issued. With an `Idempotency-Key` a retry replays the first
        answer (`Idempotent-Replayed: true`) instead of submitting again."""

        async def submit() -> c.SubmissionReceipt:
            return await service.submit_proposal(session, ctx, proposal_id, data)

        return await idempotent(request, session, ctx, submit, key=idempotency_key)

    @post(
        "/{proposal_id:uuid}/withdrawal",
        operation_id="CreateWithdrawal",
        responses=problems(401, 403, 404, 409),
    )
    async def create_withdrawal(
        self,
        proposal_id: FromPath[uuid.UUID],
        data: JSONBody[c.ProposalWithdraw],
        session: Session,
        ctx: Ctx,
    ) -> c.ProposalRead:
        return await service.withdraw_proposal(session, ctx, proposal_id, data)

    @post(
        "/{proposal_id:uuid}/eligibility-override",
        operation_id="CreateEligibilityOverride",
        responses=problems(401, 403, 404, 409),
    )
    async def create_eligibility_override(
        self,
        proposal_id: FromPath[uuid.UUID],
        data: JSONBody[c.EligibilityOverride],
        session: Session,
        ctx: Ctx,
    ) -> c.ProposalRead:
        """A programme officer overrides the verdict; the reason is recorded and audited."""
        return await service.override_eligibility(session, ctx, proposal_id, data)

    @post(
        "/{proposal_id:uuid}/attachments",
        operation_id="CreateAttachment",
        responses=problems(401, 403, 404, 409, 413, 415),
        request_max_body_size=UPLOAD_BODY_LIMIT,
    )
    async def create_attachment(
        self,
        proposal_id: FromPath[uuid.UUID],
        data: Annotated[AttachmentUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        session: Session,
        ctx: Ctx,
        settings: AppSettings,
    ) -> c.AttachmentRead:
        """Upload a PDF, DOCX, XLSX, JPEG or PNG (checked by content, not by name)."""
        content = await data.file.read()
        return await service.upload_attachment(
            session,
            ctx,
            FileStore(settings.resolved_storage_dir),
            proposal_id,
            data.kind,
            data.file.filename or "file",
            content,
        )


class AttachmentController(Controller):
    path = "/attachments"
    tags = ["proposals"]
    security = USER

    @get(
        "/{attachment_id:uuid}/content",
        operation_id="GetAttachmentContent",
        responses=problems(401, 404),
        media_type="application/octet-stream",
    )
    async def get_attachment_content(
        self,
        attachment_id: FromPath[uuid.UUID],
        session: Session,
        ctx: Ctx,
        settings: AppSettings,
    ) -> Response[bytes]:
        """The file, always as a download (`Content-Disposition: attachment`)."""
        a = await service.attachment_for_download(session, ctx, attachment_id)
        return await download(settings.resolved_storage_dir, a)

    @delete(
        "/{attachment_id:uuid}",
        operation_id="DeleteAttachment",
        responses=problems(401, 403, 404, 409),
    )
    async def delete_attachment(
        self,
        attachment_id: FromPath[uuid.UUID],
        session: Session,
        ctx: Ctx,
        settings: AppSettings,
    ) -> None:
        await service.delete_attachment(
            session, ctx, FileStore(settings.resolved_storage_dir), attachment_id
        )
