"""Bulk imports of PCC action plans and organisations from Excel (.xlsx) or CSV files.

Reading (`reader`), row validation (pure: `validate` in each format's module) and writing (`apply`:
all-or-nothing unless `skip_invalid`, or nothing at all on a `dry_run`) are separate steps, so the
CLI can show progress and the API can answer with a report or a problem. The formats are in
`docs/imports.md` and in the docstrings of `action_plans` and `organisations`.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import permissions as p
from contracts.common import ValidationIssue
from contracts.imports import ImportKind, ImportReport
from service.context import RequestContext
from service.imports import action_plans, base, organisations
from service.imports.base import Progress
from service.imports.reader import MAX_UPLOAD_BYTES, FileTooLarge, read_table
from service.problems import ProblemError


class ImportRejected(ProblemError):
    """Nothing was imported because rows are bad; `errors` lists every one (`row 7: budget`)."""

    status = 422
    slug = "import-rejected"
    title = "The file has invalid rows; nothing was imported"


def rejection(report: ImportReport) -> ImportRejected:
    bad_rows = len({e.row for e in report.errors})
    issues = [
        ValidationIssue(
            field=f"row {e.row}: {e.column}" if e.column else f"row {e.row}", message=e.message
        )
        for e in report.errors
    ]
    verb = "would be" if report.dry_run else "was"
    if any(e.row == 1 for e in report.errors):
        detail = f"the columns of the file are not right; nothing {verb} imported"
    else:
        detail = (
            f"{bad_rows} of {report.rows_read} rows have errors; nothing {verb} imported "
            "(fix them, or import the good rows alone with skip_invalid=true)"
        )
    return ImportRejected(detail, errors=issues)


async def import_file(
    session: AsyncSession,
    ctx: RequestContext,
    kind: ImportKind,
    data: bytes,
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
    max_bytes: int | None = MAX_UPLOAD_BYTES,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a file of this kind as this actor: the permission first, then the size, the format,
    every row; writes (flushes) unless nothing may be written. The caller commits."""
    if kind is ImportKind.ACTION_PLANS:
        ctx.require(p.can_import_action_plans(ctx.actor))
    else:
        ctx.require(p.can_import_organisations(ctx.actor))
    if max_bytes is not None and len(data) > max_bytes:
        raise FileTooLarge(
            f"the file has {len(data)} bytes; at most {max_bytes} bytes "
            f"({max_bytes // (1024 * 1024)} MB) are accepted"
        )
    if kind is ImportKind.ACTION_PLANS:
        return await base.run(
            session,
            ctx,
            await read_table(data, action_plans.COLUMNS),
            action_plans.load_territories,
            action_plans.validate,
            action_plans.apply,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            progress=progress,
        )
    return await base.run(
        session,
        ctx,
        await read_table(data, organisations.COLUMNS),
        organisations.load_territories,
        organisations.validate,
        organisations.apply,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        progress=progress,
    )


async def upload(
    session: AsyncSession,
    ctx: RequestContext,
    kind: ImportKind,
    data: bytes,
    *,
    dry_run: bool,
    skip_invalid: bool,
) -> ImportReport:
    """The API's import: the report (200), or a 422 problem listing the bad rows when they kept
    every row from being imported: any bad row without `skip_invalid`, or with it when no row
    was good (or the columns are wrong)."""
    report = await import_file(session, ctx, kind, data, dry_run=dry_run, skip_invalid=skip_invalid)
    if report.errors and (not skip_invalid or not imported_anything(report)):
        raise rejection(report)
    return report


def imported_anything(report: ImportReport) -> bool:
    """Whether some row was (or on a dry run would be) taken: created, updated or unchanged."""
    return bool(sum(report.created.values()) + sum(report.updated.values()) + report.unchanged)


__all__ = ["ImportRejected", "import_file", "imported_anything", "rejection", "upload"]
