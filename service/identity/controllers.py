"""HTTP routes of identity: parse, call a use case, return a contracts type."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import identity as c
from contracts.common import Cursor, Limit
from service.context import RequestContext
from service.identity import service
from service.openapi import USER, problems
from service.settings import Settings

CursorQ = Annotated[Cursor | None, Parameter(query="cursor", description="From next_cursor")]
LimitQ = Annotated[Limit, Parameter(query="limit")]


class AuthController(Controller):
    path = "/auth"
    tags = ["identity"]

    @post("/token", operation_id="CreateToken", responses=problems(401))
    async def create_token(
        self, data: c.TokenCreate, session: AsyncSession, ctx: RequestContext, settings: Settings
    ) -> c.TokenRead:
        """Exchange e-mail and password for a bearer token."""
        return await service.issue_token(session, ctx, data, settings.token_ttl_seconds)

    @delete("/token", operation_id="DeleteToken", responses=problems(401), security=USER)
    async def delete_token(
        self, request: Request[Any, Any, Any], session: AsyncSession, ctx: RequestContext
    ) -> None:
        """Revoke the bearer token this request was made with (sign out)."""
        await service.revoke_token(session, ctx, request.headers.get("authorization"))

    @post("/registrations", operation_id="CreateRegistration", responses=problems(409))
    async def create_registration(
        self, data: c.RegistrationCreate, session: AsyncSession, ctx: RequestContext
    ) -> c.RegistrationRead:
        """Register a person and the organisation they apply for."""
        return await service.register(session, ctx, data)


class UserController(Controller):
    path = "/users"
    tags = ["identity"]
    security = USER

    @get("/me", operation_id="GetMe", responses=problems(401))
    async def get_me(self, session: AsyncSession, ctx: RequestContext) -> c.MeRead:
        return await service.get_me(session, ctx)

    @patch("/me", operation_id="UpdateMe", responses=problems(401))
    async def update_me(
        self, data: c.MeUpdate, session: AsyncSession, ctx: RequestContext
    ) -> c.MeRead:
        return await service.update_me(session, ctx, data)

    @post("/", operation_id="CreateUser", responses=problems(401, 403, 409))
    async def create_user(
        self, data: c.UserCreate, session: AsyncSession, ctx: RequestContext
    ) -> c.UserRead:
        return await service.create_user(session, ctx, data)

    @get("/", operation_id="ListUsers", responses=problems(401, 403))
    async def list_users(
        self, session: AsyncSession, ctx: RequestContext, cursor: CursorQ = None, limit: LimitQ = 50
    ) -> c.UserPage:
        return await service.list_users(session, ctx, cursor, limit)


class OrganisationController(Controller):
    path = "/organisations"
    tags = ["organisations"]
    security = USER

    @post("/", operation_id="CreateOrganisation", responses=problems(401, 403, 409))
    async def create_organisation(
        self, data: c.OrganisationCreate, session: AsyncSession, ctx: RequestContext
    ) -> c.OrganisationRead:
        return await service.create_organisation(session, ctx, data)

    @get("/", operation_id="ListOrganisations", responses=problems(401))
    async def list_organisations(
        self, session: AsyncSession, ctx: RequestContext, cursor: CursorQ = None, limit: LimitQ = 50
    ) -> c.OrganisationPage:
        return await service.list_organisations(session, ctx, cursor, limit)

    @get("/{organisation_id:uuid}", operation_id="GetOrganisation", responses=problems(401, 404))
    async def get_organisation(
        self, organisation_id: uuid.UUID, session: AsyncSession, ctx: RequestContext
    ) -> c.OrganisationRead:
        return await service.get_organisation(session, ctx, organisation_id)

    @patch(
        "/{organisation_id:uuid}",
        operation_id="UpdateOrganisation",
        responses=problems(401, 403, 404, 409),
    )
    async def update_organisation(
        self,
        organisation_id: uuid.UUID,
        data: c.OrganisationUpdate,
        session: AsyncSession,
        ctx: RequestContext,
    ) -> c.OrganisationRead:
        return await service.update_organisation(session, ctx, organisation_id, data)


class ApiKeyController(Controller):
    path = "/api-keys"
    tags = ["identity"]
    security = USER

    @post("/", operation_id="CreateApiKey", responses=problems(401, 403))
    async def create_api_key(
        self, data: c.ApiKeyCreate, session: AsyncSession, ctx: RequestContext
    ) -> c.ApiKeyCreated:
        """Create a partner key. The key is in this response only; store it now."""
        return await service.create_api_key(session, ctx, data)

    @get("/", operation_id="ListApiKeys", responses=problems(401, 403))
    async def list_api_keys(
        self, session: AsyncSession, ctx: RequestContext, cursor: CursorQ = None, limit: LimitQ = 50
    ) -> c.ApiKeyPage:
        return await service.list_api_keys(session, ctx, cursor, limit)

    @delete("/{key_id:uuid}", operation_id="DeleteApiKey", responses=problems(401, 403, 404))
    async def delete_api_key(self, key_id: uuid.UUID, session: AsyncSession, ctx: RequestContext) -> None:
        """Revoke a key (it stays listed, with `revoked_at`)."""
        await service.revoke_api_key(session, ctx, key_id)
