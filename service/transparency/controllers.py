"""HTTP route of the public transparency view (no credentials needed)."""

from __future__ import annotations

from litestar import Controller, get

from contracts import transparency as c
from service.dependencies import Ctx, Session
from service.edge import CurrencyQ
from service.openapi import problems
from service.transparency import service


class TransparencyController(Controller):
    path = "/public"
    tags = ["public"]

    @get("/grants", operation_id="GetTransparency", responses=problems())
    async def get_transparency(
        self, session: Session, ctx: Ctx, currency: CurrencyQ = "KGS"
    ) -> c.TransparencyRead:
        """Published awards: the grants of windows whose selection was approved, with the
        organisation's name and kind (never a person), territory and PCC, the action-plan items
        funded, money committed and disbursed, and sums by territory and by funding source; and
        every PCC's published (active or closed) action plans with their progress: per item
        funded or a gap, the financing organisations, committed and disbursed, each indicator's
        baseline, latest accepted value and target. Anyone may read it."""
        return await service.get_transparency(session, ctx, currency=currency)
