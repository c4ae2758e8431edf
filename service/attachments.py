"""Attachment rows and their stored files, for every owner (a proposal or a report).

The row and the file live or die together: a file saved for a row that is then not written is
deleted at once (or on rollback), and a deleted row's file goes only once the deletion commits.
Who may upload or delete, and when, is the owning context's decision.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import anyio
from litestar import Response
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.enums import AttachmentKind
from contracts.proposals import AttachmentRead
from service.changes import delete_audited, record_created
from service.context import RequestContext, on_commit, on_rollback
from service.mapping import to_read
from service.persistence.models import Attachment
from service.storage import FileStore, download_headers


def attachment_read(a: Attachment) -> AttachmentRead:
    return to_read(AttachmentRead, a)


async def store_attachment(
    session: AsyncSession,
    ctx: RequestContext,
    store: FileStore,
    *,
    proposal_id: uuid.UUID | None = None,
    report_id: uuid.UUID | None = None,
    kind: AttachmentKind,
    filename: str,
    data: bytes,
    uploaded_by: uuid.UUID,
) -> Attachment:
    """Check and save the file (the owner's files together within the size limit), then its
    row, audited. Exactly one of ``proposal_id`` and ``report_id`` names the owner."""
    owner = (
        col(Attachment.proposal_id) == proposal_id
        if proposal_id is not None
        else col(Attachment.report_id) == report_id
    )
    used = (
        await session.execute(
            select(func.coalesce(func.sum(Attachment.size_bytes), 0)).where(owner)
        )
    ).scalar_one()
    stored = store.save(data, filename, already_used_bytes=int(used))
    on_rollback(session, lambda: store.delete(stored.storage_name))  # no file without its row
    try:
        a = Attachment(
            proposal_id=proposal_id,
            report_id=report_id,
            kind=kind,
            original_name=stored.original_name,
            storage_name=stored.storage_name,
            content_type=stored.content_type,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            uploaded_by=uploaded_by,
        )
        session.add(a)
        await session.flush()
        await session.refresh(a)
        await record_created(session, ctx, "attachment", a)
    except BaseException:
        store.delete(stored.storage_name)  # nothing stored when the row is not
        raise
    return a


async def remove_attachment(
    session: AsyncSession, ctx: RequestContext, store: FileStore, a: Attachment
) -> None:
    """Delete the row (audited); the file goes only once the row has gone."""
    name = a.storage_name
    await delete_audited(session, ctx, "attachment", a)
    on_commit(session, lambda: store.delete(name))


async def download(storage_dir: Path, a: Attachment, *, name: str | None = None) -> Response[bytes]:
    """The file as a download response (`Content-Disposition: attachment`), under its original
    name or ``name``."""
    content = await anyio.Path(FileStore(storage_dir).path(a.storage_name)).read_bytes()
    return Response(
        content=content,
        media_type=a.content_type,
        headers=download_headers(name or a.original_name, a.content_type),
    )
