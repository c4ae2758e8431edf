"""HTTP routes of the finance views: the summary, tranches awaiting payment, the ledger export."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from litestar import Controller, Response, get
from litestar.params import QueryParameter

from contracts import finance as c
from service.dependencies import Ctx, Session
from service.edge import CurrencyQ
from service.finance import views
from service.openapi import USER, problems
from service.pagination import CursorQ, LimitQ
from service.storage import download_headers


class FinanceViewController(Controller):
    path = "/"
    tags = ["finance"]
    security = USER

    @get("/finance/summary", operation_id="GetFinanceSummary", responses=problems(401, 403))
    async def get_finance_summary(
        self,
        session: Session,
        ctx: Ctx,
        by: Annotated[c.FinanceDimension, QueryParameter(description="What to group by")],
        call_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
        window_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
        currency: CurrencyQ = "KGS",
    ) -> c.FinanceSummaryRead:
        """Envelope, committed, disbursed, remaining and available money by call, window,
        territory, PCC, action-plan item, funding source or organisation kind, with totals."""
        return await views.finance_summary(
            session, ctx, by=by, call_id=call_id, window_id=window_id, currency=currency
        )

    @get(
        "/finance/upcoming-tranches",
        operation_id="ListUpcomingTranches",
        responses=problems(401, 403),
    )
    async def list_upcoming_tranches(
        self,
        session: Session,
        ctx: Ctx,
        within_days: Annotated[int, QueryParameter(ge=0, le=3660)] = 60,
        status: Annotated[c.UpcomingTrancheStatus | None, QueryParameter()] = None,
        cursor: CursorQ = None,
        limit: LimitQ = 50,
    ) -> c.UpcomingTranchePage:
        """Tranches awaiting payment (due, approved) and planned ones whose date falls within
        `within_days` days (overdue ones too), by planned date."""
        return await views.list_upcoming_tranches(
            session, ctx, within_days=within_days, status=status, cursor=cursor, limit=limit
        )

    @get(
        "/ledger-entries/export",
        operation_id="GetLedgerExport",
        responses=problems(401, 403),
        media_type="application/octet-stream",
    )
    async def get_ledger_export(
        self,
        session: Session,
        ctx: Ctx,
        file_format: Annotated[
            c.LedgerExportFormat, QueryParameter(name="format", description="csv or xlsx")
        ] = "csv",
        date_from: Annotated[
            date | None, QueryParameter(name="from", description="Value date on or after")
        ] = None,
        date_to: Annotated[
            date | None, QueryParameter(name="to", description="Value date on or before")
        ] = None,
    ) -> Response[bytes]:
        """The whole disbursement ledger (each entry followed by its per-source splits) as a
        download: CSV (UTF-8 with BOM) or an Excel workbook."""
        export = await views.export_ledger(
            session, ctx, file_format=file_format, date_from=date_from, date_to=date_to
        )
        return Response(
            content=export.content,
            media_type=export.media_type,
            headers=download_headers(export.filename, export.media_type),
        )
