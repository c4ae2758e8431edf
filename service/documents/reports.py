"""Long documents made by a background job: the window ranking report.

`request_ranking_report` checks the caller may read the window's ranking, records a
`generated_document` (queued) and defers the job in the same transaction; the job
(`service/documents/tasks.py`) renders the PDF and stores it in the row (ready, or failed with
the reason). The requester, and staff who may read the ranking, read its status and download it.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts.documents import DocumentKind, DocumentRead, DocumentStatus
from contracts.enums import Language, SelectionRunStatus
from contracts.permissions import can_read_ranking
from service.audit.service import record
from service.calls.service import window_or_404
from service.context import RequestContext
from service.documents import format as f
from service.documents.render import RenderPool
from service.documents.service import Pdf, _base, _points, pick
from service.documents.texts import translator
from service.persistence.models import Call, CallWindow, GeneratedDocument, SelectionRun
from service.problems import Conflict, NotFound
from service.reviews.ranking import window_ranking
from service.selection.service import run_config, run_outputs


def _read(document: GeneratedDocument) -> DocumentRead:
    return DocumentRead(
        id=document.id,
        kind=document.kind,
        lang=document.lang,
        status=document.status,
        filename=document.filename,
        created_at=document.created_at,
        finished_at=document.finished_at,
        error=document.error,
        download_path=(
            f"documents/{document.id}/content" if document.status == DocumentStatus.READY else None
        ),
        window_id=(
            document.subject_id if document.kind == DocumentKind.WINDOW_RANKING_REPORT else None
        ),
    )


async def request_ranking_report(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID, lang: str
) -> DocumentRead:
    from service.documents.tasks import render_ranking_report
    from service.jobs import defer

    ctx.require(can_read_ranking(ctx.actor))
    window, _ = await window_or_404(session, ctx, window_id)
    if window.rubric_id is None:
        raise Conflict("the window has no rubric: there is no ranking to report")
    assert ctx.actor.id is not None  # a signed-in user (the route's security)
    document = GeneratedDocument(
        kind=DocumentKind.WINDOW_RANKING_REPORT,
        subject_id=window.id,
        lang=Language(lang),
        filename=f"ranking-report-{window.code}-{lang}.pdf",
        requested_by=ctx.actor.id,
    )
    session.add(document)
    await session.flush()
    await session.refresh(document)
    await record(
        session,
        ctx,
        action="generated_document.requested",
        entity="generated_document",
        entity_id=document.id,
        after={"kind": document.kind.value, "subject_id": str(window.id), "lang": lang},
    )
    await defer(session, render_ranking_report, document_id=str(document.id))
    return _read(document)


async def _document_or_404(
    session: AsyncSession, ctx: RequestContext, document_id: uuid.UUID
) -> GeneratedDocument:
    document = await session.get(GeneratedDocument, document_id)
    if document is None or not (
        document.requested_by == ctx.actor.id or can_read_ranking(ctx.actor).allowed
    ):
        raise NotFound(f"document {document_id} does not exist or is not yours to see")
    return document


async def get_document(
    session: AsyncSession, ctx: RequestContext, document_id: uuid.UUID
) -> DocumentRead:
    return _read(await _document_or_404(session, ctx, document_id))


async def document_content(
    session: AsyncSession, ctx: RequestContext, document_id: uuid.UUID
) -> Pdf:
    document = await _document_or_404(session, ctx, document_id)
    if document.status != DocumentStatus.READY or document.content is None:
        raise Conflict(f"the document is {document.status.value}, not ready")
    return Pdf(document.content, document.filename)


def _histogram(scores: list[float], lang: str) -> dict[str, Any]:
    """Counts of proposals per whole-point band of the score."""
    t = translator(lang)
    if not scores:
        return {"title": t("distribution"), "labels": [], "series": [[t("score"), []]]}
    low, high = int(min(scores)), int(max(scores))
    bands = Counter(int(s) for s in scores)
    labels = [f"{b}–{b + 1}" for b in range(low, high + 1)]
    return {
        "title": t("distribution"),
        "integer": True,
        "labels": labels,
        "series": [[t("proposal"), [bands.get(b, 0) for b in range(low, high + 1)]]],
    }


async def ranking_view(
    session: AsyncSession, window_id: uuid.UUID, lang: str, today: date
) -> dict[str, Any]:
    """Everything the report shows, read as the system (the requester's right was checked when
    the report was asked for)."""
    ctx = RequestContext.system("documents")
    t = translator(lang)
    board = await window_ranking(session, ctx, window_id)
    window = await session.get_one(CallWindow, window_id)
    call = await session.get_one(Call, window.call_id)
    run = (
        (
            await session.execute(
                select(SelectionRun)
                .where(col(SelectionRun.window_id) == window_id)
                .order_by(
                    (col(SelectionRun.status) == SelectionRunStatus.APPROVED).desc(),
                    col(SelectionRun.created_at).desc(),
                )
                .limit(1)
            )
        )
        .scalars()
        .first()
    )

    def money(minor: int) -> str:
        return f.money(minor, window.currency, lang)

    criteria = [
        {
            "code": c.code,
            "name": pick({"en": c.name.en, "ru": c.name.ru or "", "ky": c.name.ky or ""}, lang),
            "weight": f"{c.weight / 10:g} %",
            "scale": f"{_points(str(c.scale_min), lang)}–{_points(str(c.scale_max), lang)}",
            "threshold": _points(str(c.threshold), lang) if c.threshold is not None else "—",
            "alpha": f"{c.alpha}" if c.alpha is not None else "—",
        }
        for c in board.criteria
    ]
    entries = []
    for e in board.entries:
        flags = []
        if e.disagreement:
            flags.append(t("flag_disagreement"))
        if not e.passes_all:
            flags.append(t("flag_below_threshold"))
        if e.decided_by == "lottery":
            flags.append(t("flag_lottery"))
        entries.append(
            {
                "rank": e.rank or "—",
                "title": e.title,
                "raw": _points(e.raw_score, lang, tenths=False),
                "calibrated": _points(e.calibrated_score, lang, tenths=False),
                "reviews": e.reviews,
                "flags": flags,
            }
        )
    selection: dict[str, Any] | None = None
    outputs = run_outputs(run) if run is not None else None
    if run is not None and outputs is not None:
        config = run_config(run.config)
        by_id = {x.proposal_id: x for x in outputs.entries}
        funded = [x for x in outputs.entries if x.status == "funded"]
        selection = {
            "policy": t(f"policy_{config.policy.value}"),
            "budget": money(config.budget),
            "quotas": [
                f"{q.quota}: {q.achieved} / {q.required} ({t('yes') if q.met else t('no')})"
                for q in outputs.quota_checks
            ],
            "funded": [
                {
                    "receipt": x.receipt_number or x.proposal_id[:8],
                    "rank": x.rank or "—",
                    "amount": money(x.amount or 0),
                }
                for x in funded
            ],
            "funded_total": money(outputs.funded_total),
            "reserve": [
                {
                    "receipt": by_id[r].receipt_number or r[:8] if r in by_id else r[:8],
                    "rank": by_id[r].rank if r in by_id else "—",
                }
                for r in outputs.reserve
            ],
            "status": t(f"run_{run.status.value}"),
            "seed_hash": run.seed_hash or "—",
            "seed": run.seed or "—",
        }
    ranked = [
        e.calibrated_score if board.ranked_by == "calibrated" else e.raw_score
        for e in board.entries
    ]
    scores = [float(s) for s in ranked if s is not None]
    view = _base(lang, "ranking_report", window.code, today)
    view.update(
        {
            "window": pick(window.title, lang),
            "call": pick(call.title, lang),
            "criteria": criteria,
            "entries": entries,
            "alpha_line": t(
                "overall_alpha",
                alpha=f"{board.alpha}" if board.alpha is not None else "—",
                reviews=board.submitted_reviews,
            ),
            "ranked_line": t(
                "ranked_by",
                score=t(f"score_{board.ranked_by}"),
                aggregation=t(f"aggregation_{board.aggregation.value}"),
                tie_break=", ".join(board.tie_break) or "—",
            ),
            "selection": selection,
            "charts": {"distribution": _histogram(scores, lang)},
        }
    )
    return view


async def render_ranking_report(
    session: AsyncSession, pool: RenderPool, document: GeneratedDocument, today: date
) -> bytes:
    view = await ranking_view(session, document.subject_id, document.lang.value, today)
    return await pool.render("ranking_report.html", view)
