"""Read-only routes of the audit log (auditors and administrators)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter
from sqlmodel import col, select

from contracts import audit as c
from contracts import permissions as p
from contracts.common import Limit, ValidationIssue
from service.audit.service import verify
from service.dependencies import Ctx, Session
from service.mapping import to_read
from service.openapi import USER, problems
from service.persistence.models import AuditEvent
from service.problems import InvalidInput


def _read(e: AuditEvent) -> c.AuditEventRead:
    assert e.seq is not None
    return to_read(c.AuditEventRead, e)


class AuditController(Controller):
    path = "/audit"
    tags = ["audit"]
    security = USER

    @get("/events", operation_id="ListAuditEvents", responses=problems(401, 403))
    async def list_audit_events(
        self,
        session: Session,
        ctx: Ctx,
        entity: Annotated[str | None, QueryParameter(max_length=60)] = None,
        entity_id: Annotated[str | None, QueryParameter(max_length=80)] = None,
        actor: Annotated[
            str | None,
            QueryParameter(max_length=200, description="Part of the actor's label, any case"),
        ] = None,
        action: Annotated[
            str | None, QueryParameter(max_length=80, description="The action, exactly")
        ] = None,
        since: Annotated[
            datetime | None, QueryParameter(description="Events at or after this instant")
        ] = None,
        until: Annotated[
            datetime | None, QueryParameter(description="Events before this instant")
        ] = None,
        newest_first: Annotated[
            bool, QueryParameter(description="Newest events first (the cursor pages backwards)")
        ] = False,
        cursor: Annotated[str | None, QueryParameter(max_length=20)] = None,
        limit: Annotated[Limit, QueryParameter()] = 50,
    ) -> c.AuditEventPage:
        """Events in chain order (or newest first); `cursor` is the last `seq` seen."""
        ctx.require(p.can_read_audit_log(ctx.actor))
        order = col(AuditEvent.seq).desc() if newest_first else col(AuditEvent.seq)
        stmt = select(AuditEvent).order_by(order).limit(limit + 1)
        if cursor:
            if not cursor.isdigit():
                raise InvalidInput(
                    "bad cursor", [ValidationIssue(field="query.cursor", message="not a sequence")]
                )
            if newest_first:
                stmt = stmt.where(col(AuditEvent.seq) < int(cursor))
            else:
                stmt = stmt.where(col(AuditEvent.seq) > int(cursor))
        if since is not None and until is not None and until <= since:
            raise InvalidInput(
                "empty period",
                [ValidationIssue(field="query.until", message="must be after `since`")],
            )
        for name, value in (("since", since), ("until", until)):
            if value is not None and value.tzinfo is None:
                raise InvalidInput(
                    "no time zone",
                    [ValidationIssue(field=f"query.{name}", message="give the time zone offset")],
                )
        if entity:
            stmt = stmt.where(AuditEvent.entity == entity)
        if entity_id:
            stmt = stmt.where(AuditEvent.entity_id == entity_id)
        if actor:
            pattern = actor.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(col(AuditEvent.actor).ilike(f"%{pattern}%", escape="\\"))
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        if since is not None:
            stmt = stmt.where(col(AuditEvent.at) >= since)
        if until is not None:
            stmt = stmt.where(col(AuditEvent.at) < until)
        rows = list((await session.execute(stmt)).scalars())
        more = len(rows) > limit
        rows = rows[:limit]
        return c.AuditEventPage(
            items=[_read(e) for e in rows],
            next_cursor=str(rows[-1].seq) if more and rows else None,
        )

    @get("/verification", operation_id="GetAuditVerification", responses=problems(401, 403))
    async def get_audit_verification(self, session: Session, ctx: Ctx) -> c.AuditVerificationRead:
        """Walk the hash chain now and report the first broken link, if any."""
        ctx.require(p.can_read_audit_log(ctx.actor))
        v = await verify(session)
        return to_read(c.AuditVerificationRead, v)
