"""HTTP routes of identity: parse, call a use case, return a contracts type."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from contracts import identity as c
from contracts.common import Cursor
from service.dependencies import AppSettings, Ctx, Session
from service.identity import directory, passwords, service
from service.openapi import USER, problems

CursorQ = Annotated[Cursor | None, QueryParameter(description="From next_cursor")]
LimitQ = Annotated[int, QueryParameter(ge=1, le=200)]


class AuthController(Controller):
    path = "/auth"
    tags = ["identity"]

    @post("/token", operation_id="CreateToken", responses=problems(401))
    async def create_token(
        self, data: JSONBody[c.TokenCreate], session: Session, ctx: Ctx, settings: AppSettings
    ) -> c.TokenRead:
        """Exchange e-mail and password for a bearer token."""
        return await service.issue_token(session, ctx, data, settings.token_ttl_seconds)

    @delete("/token", operation_id="DeleteToken", responses=problems(401), security=USER)
    async def delete_token(
        self, request: Request[Any, Any, Any], session: Session, ctx: Ctx
    ) -> None:
        """Revoke the bearer token this request was made with (sign out)."""
        await service.revoke_token(session, ctx, request.headers.get("authorization"))

    @post("/registrations", operation_id="CreateRegistration", responses=problems(409))
    async def create_registration(
        self, data: JSONBody[c.RegistrationCreate], session: Session, ctx: Ctx
    ) -> c.RegistrationRead:
        """Register a person and the organisation they apply for."""
        return await service.register(session, ctx, data)


class UserController(Controller):
    path = "/users"
    tags = ["identity"]
    security = USER

    @get("/me", operation_id="GetMe", responses=problems(401))
    async def get_me(self, session: Session, ctx: Ctx) -> c.MeRead:
        return await service.get_me(session, ctx)

    @patch("/me", operation_id="UpdateMe", responses=problems(401))
    async def update_me(self, data: JSONBody[c.MeUpdate], session: Session, ctx: Ctx) -> c.MeRead:
        return await service.update_me(session, ctx, data)

    @post(
        "/me/password",
        operation_id="CreatePasswordChange",
        responses=problems(401, 422),
        status_code=204,
    )
    async def create_password_change(
        self,
        data: JSONBody[c.PasswordChange],
        request: Request[Any, Any, Any],
        session: Session,
        ctx: Ctx,
    ) -> None:
        """Change your own password; your other sessions (bearer tokens) are revoked."""
        await passwords.change_password(session, ctx, data, request.headers.get("authorization"))

    @post("/", operation_id="CreateUser", responses=problems(401, 403, 409))
    async def create_user(
        self, data: JSONBody[c.UserCreate], session: Session, ctx: Ctx
    ) -> c.UserRead:
        return await service.create_user(session, ctx, data)

    @get("/", operation_id="ListUsers", responses=problems(401, 403))
    async def list_users(
        self, session: Session, ctx: Ctx, cursor: CursorQ = None, limit: LimitQ = 50
    ) -> c.UserPage:
        return await service.list_users(session, ctx, cursor, limit)


class OrganisationController(Controller):
    path = "/organisations"
    tags = ["organisations"]
    security = USER

    @post("/", operation_id="CreateOrganisation", responses=problems(401, 403, 409))
    async def create_organisation(
        self, data: JSONBody[c.OrganisationCreate], session: Session, ctx: Ctx
    ) -> c.OrganisationRead:
        return await service.create_organisation(session, ctx, data)

    @get("/", operation_id="ListOrganisations", responses=problems(401))
    async def list_organisations(
        self, session: Session, ctx: Ctx, cursor: CursorQ = None, limit: LimitQ = 50
    ) -> c.OrganisationPage:
        return await service.list_organisations(session, ctx, cursor, limit)

    @get("/directory", operation_id="ListOrganisationDirectory", responses=problems(401))
    async def list_organisation_directory(
        self,
        session: Session,
        ctx: Ctx,
        territory_id: Annotated[
            list[uuid.UUID] | None,
            QueryParameter(description="Only organisations registered in these territories"),
        ] = None,
        q: Annotated[
            str | None,
            QueryParameter(max_length=100, description="Part of the name, any case"),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 200,
    ) -> c.OrganisationDirectory:
        """Registered organisations by name (name, kind, territory only): to choose partners."""
        return await directory.list_directory(session, ctx, territory_id or [], q, limit)

    @get("/{organisation_id:uuid}", operation_id="GetOrganisation", responses=problems(401, 404))
    async def get_organisation(
        self, organisation_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.OrganisationRead:
        return await service.get_organisation(session, ctx, organisation_id)

    @patch(
        "/{organisation_id:uuid}",
        operation_id="UpdateOrganisation",
        responses=problems(401, 403, 404, 409),
    )
    async def update_organisation(
        self,
        organisation_id: FromPath[uuid.UUID],
        data: JSONBody[c.OrganisationUpdate],
        session: Session,
        ctx: Ctx,
    ) -> c.OrganisationRead:
        return await service.update_organisation(session, ctx, organisation_id, data)


class ApiKeyController(Controller):
    path = "/api-keys"
    tags = ["identity"]
    security = USER

    @post("/", operation_id="CreateApiKey", responses=problems(401, 403))
    async def create_api_key(
        self, data: JSONBody[c.ApiKeyCreate], session: Session, ctx: Ctx
    ) -> c.ApiKeyCreated:
        """Create a partner key. The key is in this response only; store it now."""
        return await service.create_api_key(session, ctx, data)

    @get("/", operation_id="ListApiKeys", responses=problems(401, 403))
    async def list_api_keys(
        self, session: Session, ctx: Ctx, cursor: CursorQ = None, limit: LimitQ = 50
    ) -> c.ApiKeyPage:
        return await service.list_api_keys(session, ctx, cursor, limit)

    @delete("/{key_id:uuid}", operation_id="DeleteApiKey", responses=problems(401, 403, 404))
    async def delete_api_key(self, key_id: FromPath[uuid.UUID], session: Session, ctx: Ctx) -> None:
        """Revoke a key (it stays listed, with `revoked_at`)."""
        await service.revoke_api_key(session, ctx, key_id)
