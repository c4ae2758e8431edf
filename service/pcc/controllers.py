"""HTTP routes of territories, PCCs and action plans."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from contracts import pcc as c
from contracts.progress import PccProgress
from service.dependencies import Ctx, Session
from service.openapi import USER, USER_OR_KEY, problems
from service.pagination import CursorQ, LimitQ
from service.pcc import progress, service


class TerritoryController(Controller):
    path = "/territories"
    tags = ["territories"]

    @get("/", operation_id="ListTerritories", responses=problems())
    async def list_territories(self, session: Session, ctx: Ctx) -> c.TerritoryList:
        """The seven project locations, public."""
        return await service.list_territories(session, ctx)

    @get("/{territory_id:uuid}", operation_id="GetTerritory", responses=problems(404))
    async def get_territory(
        self, territory_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.TerritoryRead:
        return await service.get_territory(session, ctx, territory_id)


class PccController(Controller):
    path = "/pccs"
    tags = ["territories"]

    @get("/", operation_id="ListPccs", responses=problems())
    async def list_pccs(self, session: Session, ctx: Ctx) -> list[c.PccRead]:
        return await service.list_pccs(session, ctx)

    @get("/mine", operation_id="ListMyPccs", responses=problems(401, 403), security=USER)
    async def list_my_pccs(self, session: Session, ctx: Ctx) -> list[c.PccRead]:
        """The PCCs the caller sits on: members of a PCC linked to the caller's account (people,
        not partner systems)."""
        return await progress.list_my_pccs(session, ctx)

    @get("/{pcc_id:uuid}", operation_id="GetPcc", responses=problems(404))
    async def get_pcc(self, pcc_id: FromPath[uuid.UUID], session: Session, ctx: Ctx) -> c.PccRead:
        return await service.get_pcc(session, ctx, pcc_id)

    @get(
        "/{pcc_id:uuid}/progress",
        operation_id="GetPccProgress",
        responses=problems(401, 403, 404),
        security=USER,
    )
    async def get_pcc_progress(
        self, pcc_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> PccProgress:
        """The PCC's action-plan progress: per item the grants and tranches financing it, money
        committed and disbursed (per currency, never converted), each indicator's latest value
        from accepted reports with the report it came from, and the items no grant finances yet
        (`gap`). For programme and finance officers, auditors and the PCC's own members."""
        return await progress.get_pcc_progress(session, ctx, pcc_id)


class ActionPlanController(Controller):
    path = "/action-plans"
    tags = ["action plans"]
    security = USER_OR_KEY

    @get("/", operation_id="ListActionPlans", responses=problems(401, 403))
    async def list_action_plans(
        self,
        session: Session,
        ctx: Ctx,
        pcc_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
        cursor: CursorQ = None,
        limit: LimitQ = 50,
    ) -> c.ActionPlanPage:
        return await service.list_action_plans(session, ctx, pcc_id, cursor, limit)

    @post("/", operation_id="CreateActionPlan", responses=problems(401, 403), security=USER)
    async def create_action_plan(
        self, data: JSONBody[c.ActionPlanCreate], session: Session, ctx: Ctx
    ) -> c.ActionPlanRead:
        return await service.create_action_plan(session, ctx, data)

    @get("/{plan_id:uuid}", operation_id="GetActionPlan", responses=problems(401, 403, 404))
    async def get_action_plan(
        self, plan_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.ActionPlanRead:
        return await service.get_action_plan(session, ctx, plan_id)

    @patch(
        "/{plan_id:uuid}",
        operation_id="UpdateActionPlan",
        responses=problems(401, 403, 404, 409),
        security=USER,
    )
    async def update_action_plan(
        self,
        plan_id: FromPath[uuid.UUID],
        data: JSONBody[c.ActionPlanUpdate],
        session: Session,
        ctx: Ctx,
    ) -> c.ActionPlanRead:
        return await service.update_action_plan(session, ctx, plan_id, data)

    @delete(
        "/{plan_id:uuid}",
        operation_id="DeleteActionPlan",
        responses=problems(401, 403, 404, 409),
        security=USER,
    )
    async def delete_action_plan(
        self, plan_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> None:
        await service.delete_action_plan(session, ctx, plan_id)

    @get(
        "/{plan_id:uuid}/items",
        operation_id="ListActionPlanItems",
        responses=problems(401, 403, 404),
    )
    async def list_action_plan_items(
        self, plan_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.ActionPlanItemList:
        return await service.list_items(session, ctx, plan_id)

    @post(
        "/{plan_id:uuid}/items",
        operation_id="CreateActionPlanItem",
        responses=problems(401, 403, 404, 409),
        security=USER,
    )
    async def create_action_plan_item(
        self,
        plan_id: FromPath[uuid.UUID],
        data: JSONBody[c.ActionPlanItemCreate],
        session: Session,
        ctx: Ctx,
    ) -> c.ActionPlanItemRead:
        return await service.create_item(session, ctx, plan_id, data)


class ActionPlanItemController(Controller):
    path = "/action-plan-items"
    tags = ["action plans"]
    security = USER

    @get(
        "/{item_id:uuid}",
        operation_id="GetActionPlanItem",
        responses=problems(401, 403, 404),
        security=USER_OR_KEY,
    )
    async def get_action_plan_item(
        self, item_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.ActionPlanItemRead:
        return await service.get_item(session, ctx, item_id)

    @patch(
        "/{item_id:uuid}",
        operation_id="UpdateActionPlanItem",
        responses=problems(401, 403, 404, 409),
    )
    async def update_action_plan_item(
        self,
        item_id: FromPath[uuid.UUID],
        data: JSONBody[c.ActionPlanItemUpdate],
        session: Session,
        ctx: Ctx,
    ) -> c.ActionPlanItemRead:
        return await service.update_item(session, ctx, item_id, data)

    @delete(
        "/{item_id:uuid}",
        operation_id="DeleteActionPlanItem",
        responses=problems(401, 403, 404, 409),
    )
    async def delete_action_plan_item(
        self, item_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> None:
        await service.delete_item(session, ctx, item_id)

    @post(
        "/{item_id:uuid}/indicators",
        operation_id="CreateIndicator",
        responses=problems(401, 403, 404),
    )
    async def create_indicator(
        self,
        item_id: FromPath[uuid.UUID],
        data: JSONBody[c.IndicatorCreate],
        session: Session,
        ctx: Ctx,
    ) -> c.IndicatorRead:
        return await service.add_indicator(session, ctx, item_id, data)

    @patch(
        "/{item_id:uuid}/indicators/{indicator_id:uuid}",
        operation_id="UpdateIndicator",
        responses=problems(401, 403, 404),
    )
    async def update_indicator(
        self,
        item_id: FromPath[uuid.UUID],
        indicator_id: FromPath[uuid.UUID],
        data: JSONBody[c.IndicatorUpdate],
        session: Session,
        ctx: Ctx,
    ) -> c.IndicatorRead:
        """Change an indicator of the item: the fields sent replace the stored ones."""
        return await service.update_indicator(session, ctx, item_id, indicator_id, data)

    @delete(
        "/{item_id:uuid}/indicators/{indicator_id:uuid}",
        operation_id="DeleteIndicator",
        responses=problems(401, 403, 404, 409),
    )
    async def delete_indicator(
        self,
        item_id: FromPath[uuid.UUID],
        indicator_id: FromPath[uuid.UUID],
        session: Session,
        ctx: Ctx,
    ) -> None:
        """Delete an indicator of the item; 409 when grantee reports hold values for it."""
        await service.delete_indicator(session, ctx, item_id, indicator_id)
