"""HTTP routes of grants, tranches and the disbursement ledger."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from contracts import awards as c
from contracts.enums import GrantStatus
from service import awards
from service.dependencies import Ctx, Session
from service.edge import IdempotencyKeyHeader, RequiredIdempotencyKey
from service.idempotency import idempotent
from service.openapi import USER, USER_OR_KEY, problems
from service.pagination import CursorQ, LimitQ


class GrantController(Controller):
    path = "/grants"
    tags = ["grants"]
    security = USER_OR_KEY

    @post("/", operation_id="CreateGrant", security=USER, responses=problems(401, 403, 404, 409))
    async def create_grant(
        self, data: JSONBody[c.GrantCreate], session: Session, ctx: Ctx
    ) -> c.GrantRead:
        """Turn a selected proposal into a grant with its tranche schedule, charged to the
        window's funding sources; refused when the window's envelope or a source would be
        over-committed."""
        return await awards.create_grant(session, ctx, data)

    @get("/", operation_id="ListGrants", responses=problems(401, 403))
    async def list_grants(
        self,
        session: Session,
        ctx: Ctx,
        window_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
        organisation_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
        status: Annotated[GrantStatus | None, QueryParameter()] = None,
        cursor: CursorQ = None,
        limit: LimitQ = 50,
    ) -> c.GrantPage:
        return await awards.list_grants(
            session,
            ctx,
            window_id=window_id,
            organisation_id=organisation_id,
            status=status,
            cursor=cursor,
            limit=limit,
        )

    @get("/{grant_id:uuid}", operation_id="GetGrant", responses=problems(401, 403, 404))
    async def get_grant(
        self, grant_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.GrantRead:
        return await awards.get_grant(session, ctx, grant_id)

    @post(
        "/{grant_id:uuid}/amendments",
        operation_id="CreateAmendment",
        security=USER,
        responses=problems(401, 403, 404, 409),
    )
    async def create_amendment(
        self,
        grant_id: FromPath[uuid.UUID],
        data: JSONBody[c.AmendmentCreate],
        session: Session,
        ctx: Ctx,
    ) -> c.GrantRead:
        """A new version of the terms; paid tranches are never edited."""
        return await awards.amend_grant(session, ctx, grant_id, data)

    @get(
        "/{grant_id:uuid}/versions",
        operation_id="ListGrantVersions",
        responses=problems(401, 403, 404),
    )
    async def list_grant_versions(
        self, grant_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> list[c.GrantVersionRead]:
        return await awards.list_versions(session, ctx, grant_id)

    @post(
        "/{grant_id:uuid}/signature",
        operation_id="CreateAgreementSignature",
        security=USER,
        responses=problems(401, 403, 404, 409),
    )
    async def create_agreement_signature(
        self,
        grant_id: FromPath[uuid.UUID],
        data: JSONBody[c.AgreementSignature],
        session: Session,
        ctx: Ctx,
    ) -> c.GrantRead:
        """Record the signed agreement; tranches waiting only for it become due."""
        return await awards.sign_agreement(session, ctx, grant_id, data)


class TrancheController(Controller):
    path = "/tranches"
    tags = ["grants"]
    security = USER_OR_KEY

    @get("/{tranche_id:uuid}", operation_id="GetTranche", responses=problems(401, 403, 404))
    async def get_tranche(
        self, tranche_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.TrancheRead:
        return await awards.get_tranche(session, ctx, tranche_id)

    @post(
        "/{tranche_id:uuid}/approval",
        operation_id="ApproveTranche",
        security=USER,
        status_code=200,
        responses=problems(401, 403, 404, 409),
    )
    async def approve_tranche(
        self,
        tranche_id: FromPath[uuid.UUID],
        data: JSONBody[c.TrancheTransition],
        session: Session,
        ctx: Ctx,
    ) -> c.TrancheRead:
        """A programme officer releases a due tranche for payment."""
        return await awards.approve_tranche(session, ctx, tranche_id, data)

    @post(
        "/{tranche_id:uuid}/confirmation",
        operation_id="CreateTrancheConfirmation",
        security=USER,
        status_code=200,
        responses=problems(401, 403, 404, 409),
    )
    async def create_tranche_confirmation(
        self,
        tranche_id: FromPath[uuid.UUID],
        data: JSONBody[c.TrancheTransition],
        session: Session,
        ctx: Ctx,
    ) -> c.TrancheRead:
        """A second finance officer confirms a payment above the four-eyes threshold; then
        another finance officer pays it."""
        return await awards.confirm_tranche(session, ctx, tranche_id, data)

    @post(
        "/{tranche_id:uuid}/cancellation",
        operation_id="CreateTrancheCancellation",
        security=USER,
        status_code=200,
        responses=problems(401, 403, 404, 409),
    )
    async def create_tranche_cancellation(
        self,
        tranche_id: FromPath[uuid.UUID],
        data: JSONBody[c.TrancheCancellation],
        session: Session,
        ctx: Ctx,
    ) -> c.TrancheRead:
        """Cancel an unpaid tranche: its money returns to the window's envelope."""
        return await awards.cancel_tranche(session, ctx, tranche_id, data)

    @post(
        "/{tranche_id:uuid}/disbursements",
        operation_id="CreateDisbursement",
        security=USER,
        responses=problems(400, 401, 403, 404, 409),
    )
    async def create_disbursement(
        self,
        request: Request[Any, Any, Any],
        tranche_id: FromPath[uuid.UUID],
        data: JSONBody[c.DisbursementCreate],
        session: Session,
        ctx: Ctx,
        idempotency_key: RequiredIdempotencyKey,
    ) -> Response[c.LedgerEntryRead]:
        """Record the payment of an approved tranche, exactly once. The `Idempotency-Key` header
        is required: a retry with the same key replays the first answer
        (`Idempotent-Replayed: true`)."""

        async def pay() -> c.LedgerEntryRead:
            return await awards.disburse(session, ctx, tranche_id, data)

        return await idempotent(request, session, ctx, pay, key=idempotency_key)


class LedgerController(Controller):
    path = "/ledger-entries"
    tags = ["grants"]
    security = USER

    @get("/", operation_id="ListLedgerEntries", responses=problems(401, 403))
    async def list_ledger_entries(
        self,
        session: Session,
        ctx: Ctx,
        grant_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
        tranche_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
        window_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
        pcc_id: Annotated[
            uuid.UUID | None,
            QueryParameter(description="Entries of tranches financing an item of this PCC"),
        ] = None,
        funding_source_id: Annotated[
            uuid.UUID | None,
            QueryParameter(description="Entries with a part charged to this funding source"),
        ] = None,
        date_from: Annotated[
            date | None, QueryParameter(name="from", description="Value date on or after")
        ] = None,
        date_to: Annotated[
            date | None, QueryParameter(name="to", description="Value date on or before")
        ] = None,
        cursor: CursorQ = None,
        limit: LimitQ = 50,
    ) -> c.LedgerPage:
        """The ledger's entries (oldest first, keyset pages), with their per-source parts."""
        return await awards.list_ledger(
            session,
            ctx,
            grant_id=grant_id,
            tranche_id=tranche_id,
            window_id=window_id,
            pcc_id=pcc_id,
            funding_source_id=funding_source_id,
            date_from=date_from,
            date_to=date_to,
            cursor=cursor,
            limit=limit,
        )

    @get("/{entry_id:uuid}", operation_id="GetLedgerEntry", responses=problems(401, 403, 404))
    async def get_ledger_entry(
        self, entry_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.LedgerEntryRead:
        return await awards.get_ledger_entry(session, ctx, entry_id)

    @post(
        "/{entry_id:uuid}/reversal",
        operation_id="CreateReversal",
        responses=problems(401, 403, 404, 409),
    )
    async def create_reversal(
        self,
        request: Request[Any, Any, Any],
        entry_id: FromPath[uuid.UUID],
        data: JSONBody[c.ReversalCreate],
        session: Session,
        ctx: Ctx,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[c.LedgerEntryRead]:
        """Correct a mistaken payment with a reversal entry referencing it (with a reason); the
        tranche returns to `due` for a fresh approval."""

        async def undo() -> c.LedgerEntryRead:
            return await awards.reverse(session, ctx, entry_id, data)

        return await idempotent(request, session, ctx, undo, key=idempotency_key)
