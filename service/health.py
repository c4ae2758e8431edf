"""Liveness and readiness probes (outside /api/v1, not in the contract's resources)."""

from __future__ import annotations

from litestar import Response, get
from litestar.datastructures import State
from sqlalchemy import text

from contracts.common import HealthRead
from service.persistence.database import Database


@get("/health/live", operation_id="GetLiveness", tags=["health"], sync_to_thread=False)
def live() -> HealthRead:
    """The process answers."""
    return HealthRead(status="ok")


@get("/health/ready", operation_id="GetReadiness", tags=["health"])
async def ready(state: State) -> Response[HealthRead]:
    """The database answers: 200, else 503."""
    db: Database = state.db
    try:
        async with db.session() as session:
            await session.execute(text("SELECT 1"))
    except Exception:
        return Response(HealthRead(status="unavailable", database="unreachable"), status_code=503)
    return Response(HealthRead(status="ok", database="ok"), status_code=200)
