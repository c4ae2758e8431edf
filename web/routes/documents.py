"""The documents' PDFs for the web: each link on a page (one per language) points here, and the
route fetches the PDF through the typed client as the signed-in person and hands it over as a
download. The browser never calls the API itself (the API takes bearer tokens, the web a session
cookie); the API decides who may have which document (another organisation's grant is a 404).

- `/documents/grants/{id}/award-letter.pdf?lang=`, `…/agreement.pdf`, `…/statement.pdf?start=&end=`
- `/documents/funding-sources/{id}/statement.pdf?lang=&start=&end=`
- `/documents/proposals/{id}/feedback-summary.pdf?lang=`
- `POST /documents/windows/{id}/ranking-report` (form `lang`) → `/documents/{id}`: the report's
  status, then its PDF at `/documents/{id}/report.pdf`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response

from contracts.client import ApiError
from web.i18n import BISHKEK
from web.render import page, redirect
from web.routes.account import require_user
from web.session import client_for

LANGS = ("en", "ru", "ky")


def _lang(value: str | None) -> str:
    return value if value in LANGS else "en"


def _pdf(content: bytes, headers: httpx.Headers) -> Response[bytes]:
    """The API's PDF with its file name; saved, never rendered inline, never cached."""
    return Response(
        content=content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": headers.get("content-disposition", "attachment"),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


def year_to_date(now: datetime) -> tuple[date, date]:
    """A statement's default period: the year to date, in Bishkek (from midnight to 6:00 there
    the machine's UTC day is still yesterday, and on 1 January still last year)."""
    today = now.astimezone(BISHKEK).date()
    return date(today.year, 1, 1), today


@get(
    "/documents/grants/{grant_id:uuid}/{name:str}",
    name="grant_document",
    include_in_schema=False,
)
async def grant_document(
    request: Request[Any, Any, Any],
    grant_id: FromPath[uuid.UUID],
    name: FromPath[str],
    lang: FromQuery[str | None] = None,
    start: FromQuery[date | None] = None,
    end: FromQuery[date | None] = None,
) -> Response[bytes]:
    require_user(request)
    client = client_for(request)
    if name == "award-letter.pdf":
        return _pdf(*await client.get_award_letter(grant_id, _lang(lang)))
    if name == "agreement.pdf":
        return _pdf(*await client.get_grant_agreement(grant_id, _lang(lang)))
    if name == "statement.pdf":
        first, today = year_to_date(datetime.now(UTC))
        return _pdf(
            *await client.get_grant_statement(grant_id, start or first, end or today, _lang(lang))
        )
    raise NotFoundException()


@get(
    "/documents/funding-sources/{source_id:uuid}/statement.pdf",
    name="source_document",
    include_in_schema=False,
)
async def source_document(
    request: Request[Any, Any, Any],
    source_id: FromPath[uuid.UUID],
    lang: FromQuery[str | None] = None,
    start: FromQuery[date | None] = None,
    end: FromQuery[date | None] = None,
) -> Response[bytes]:
    """A funding source's statement; the period defaults to the current year to date."""
    require_user(request)
    first, today = year_to_date(datetime.now(UTC))
    return _pdf(
        *await client_for(request).get_funding_source_statement(
            source_id, start or first, end or today, _lang(lang)
        )
    )


@get(
    "/documents/proposals/{proposal_id:uuid}/feedback-summary.pdf",
    name="feedback_document",
    include_in_schema=False,
)
async def feedback_document(
    request: Request[Any, Any, Any],
    proposal_id: FromPath[uuid.UUID],
    lang: FromQuery[str | None] = None,
) -> Response[bytes]:
    require_user(request)
    return _pdf(*await client_for(request).get_feedback_summary(proposal_id, _lang(lang)))


@post(
    "/documents/windows/{window_id:uuid}/ranking-report",
    name="ranking_report_request",
    include_in_schema=False,
)
async def ranking_report_request(
    request: Request[Any, Any, Any], window_id: FromPath[uuid.UUID]
) -> Any:
    require_user(request)
    form = await request.form()
    document = await client_for(request).create_ranking_report(
        window_id, _lang(str(form.get("lang") or ""))
    )
    return redirect(request, f"/documents/{document.id}")


@get("/documents/{document_id:uuid}", name="document_status", include_in_schema=False)
async def document_status(request: Request[Any, Any, Any], document_id: FromPath[uuid.UUID]) -> Any:
    require_user(request)
    client = client_for(request)
    document = await client.get_document(document_id)
    # a ranking report links back to its window (the window's nav, as on the selection page)
    window = None
    if document.window_id:
        try:
            window = await client.get_window(document.window_id)
        except ApiError:  # a window the person may not read: the status page without the way back
            window = None
    return page(
        request,
        "documents/status.html",
        {"document": document, "window": window, "section": "selection"},
    )


@get("/documents/{document_id:uuid}/report.pdf", name="document_pdf", include_in_schema=False)
async def document_pdf(
    request: Request[Any, Any, Any], document_id: FromPath[uuid.UUID]
) -> Response[bytes]:
    require_user(request)
    return _pdf(*await client_for(request).get_document_content(document_id))


ROUTES: list[Any] = [
    grant_document,
    source_document,
    feedback_document,
    ranking_report_request,
    document_status,
    document_pdf,
]
