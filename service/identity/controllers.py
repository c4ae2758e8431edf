"""HTTP routes of identity: parse, call a use case, return a contracts type."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, JSONBody, QueryParameter

from contracts import identity as c
from service.dependencies import AppSettings, Ctx, Session
from service.identity import directory, passwords, service, throttle, totp
from service.identity.authn import RESTRICTION_STATE
from service.openapi import USER, problems
from service.pagination import CursorQ, LimitQ

NO_STORE = CacheControlHeader(no_store=True)
"""Answers that carry a secret (a token, a TOTP secret, recovery codes): never cached."""


def _restriction(request: Request[Any, Any, Any]) -> Any:
    return request.scope.get("state", {}).get(RESTRICTION_STATE)


class AuthController(Controller):
    path = "/auth"
    tags = ["identity"]

    @post(
        "/token",
        operation_id="CreateToken",
        responses=problems(401, 429),
        cache_control=NO_STORE,
    )
    async def create_token(
        self,
        data: JSONBody[c.TokenCreate],
        request: Request[Any, Any, Any],
        session: Session,
        ctx: Ctx,
        settings: AppSettings,
    ) -> c.TokenRead:
        """Exchange e-mail and password (and, when the account has a second factor on, its code)
        for a bearer token.

        Failed sign-ins are throttled per account and per address: 429 with `Retry-After`.
        401 `second-factor-required`: the password was right, send `otp` or `recovery_code`
        too. The token may be limited (`restriction`) until the person changes the password an
        administrator reset, or sets up the second factor their role needs."""
        address = throttle.client_address(
            request.client.host if request.client else None,
            request.headers.get("x-forwarded-for"),
            settings.trusted_proxies,
        )
        return await service.issue_token(session, ctx, data, settings, address)

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
    async def get_me(self, request: Request[Any, Any, Any], session: Session, ctx: Ctx) -> c.MeRead:
        return await service.get_me(session, ctx, _restriction(request))

    @patch("/me", operation_id="UpdateMe", responses=problems(401))
    async def update_me(
        self,
        data: JSONBody[c.MeUpdate],
        request: Request[Any, Any, Any],
        session: Session,
        ctx: Ctx,
    ) -> c.MeRead:
        return await service.update_me(session, ctx, data, _restriction(request))

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
        settings: AppSettings,
    ) -> None:
        """Change your own password; your other sessions (bearer tokens) are revoked. The new
        password must not be easy to guess (422 naming `body.new_password`)."""
        await passwords.change_password(
            session,
            ctx,
            data,
            request.headers.get("authorization"),
            settings.totp_required_roles,
        )

    @post(
        "/me/totp",
        operation_id="CreateTotpEnrolment",
        responses=problems(401, 403, 409),
        cache_control=NO_STORE,
    )
    async def create_totp_enrolment(
        self, session: Session, ctx: Ctx, settings: AppSettings
    ) -> c.TotpEnrolment:
        """Start setting up the TOTP second factor: a new secret, shown in this answer only.
        It is on once confirmed with a code (CreateTotpConfirmation)."""
        return await totp.enrol(session, ctx, totp.resolve_key(settings))

    @post(
        "/me/totp/confirmation",
        operation_id="CreateTotpConfirmation",
        responses=problems(401, 403, 409),
        cache_control=NO_STORE,
    )
    async def create_totp_confirmation(
        self,
        data: JSONBody[c.TotpConfirmation],
        request: Request[Any, Any, Any],
        session: Session,
        ctx: Ctx,
        settings: AppSettings,
    ) -> c.RecoveryCodes:
        """Turn the second factor on with a code from the app; ten one-time recovery codes, in
        this answer only."""
        return await totp.confirm(
            session, ctx, totp.resolve_key(settings), data, request.headers.get("authorization")
        )

    @post(
        "/me/totp/removal",
        operation_id="CreateTotpRemoval",
        responses=problems(401, 403, 409),
        status_code=204,
    )
    async def create_totp_removal(
        self, data: JSONBody[c.TotpRemoval], session: Session, ctx: Ctx, settings: AppSettings
    ) -> None:
        """Turn the second factor off (your password proves it is you)."""
        await totp.remove(session, ctx, data, settings.totp_required_roles)

    @post(
        "/me/recovery-codes",
        operation_id="CreateRecoveryCodes",
        responses=problems(401, 403, 409),
        cache_control=NO_STORE,
    )
    async def create_recovery_codes(
        self, data: JSONBody[c.RecoveryCodesCreate], session: Session, ctx: Ctx
    ) -> c.RecoveryCodes:
        """Ten new recovery codes (the old ones stop working), in this answer only."""
        return await totp.regenerate_recovery_codes(session, ctx, data)

    @post(
        "/{user_id:uuid}/password-reset",
        operation_id="CreatePasswordReset",
        responses=problems(401, 403, 404),
        cache_control=NO_STORE,
    )
    async def create_password_reset(
        self,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[c.PasswordResetCreate],
        session: Session,
        ctx: Ctx,
    ) -> c.PasswordResetRead:
        """An administrator resets someone's password: given, or made and shown here once. All
        their tokens are revoked; their next sign-in may only change it."""
        return await passwords.reset_password(session, ctx, user_id, data)

    @post("/", operation_id="CreateUser", responses=problems(401, 403, 409))
    async def create_user(
        self, data: JSONBody[c.UserCreate], session: Session, ctx: Ctx
    ) -> c.UserRead:
        return await service.create_user(session, ctx, data)

    @get("/", operation_id="ListUsers", responses=problems(401, 403))
    async def list_users(
        self,
        session: Session,
        ctx: Ctx,
        cursor: CursorQ = None,
        limit: LimitQ = 50,
        q: Annotated[
            str | None,
            QueryParameter(max_length=100, description="Part of the e-mail or name, any case"),
        ] = None,
    ) -> c.UserPage:
        return await service.list_users(session, ctx, cursor, limit, q)

    @get("/{user_id:uuid}", operation_id="GetUser", responses=problems(401, 403, 404))
    async def get_user(
        self, user_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.UserRead:
        """One person's account: roles and whether it is active (administrators, auditors)."""
        return await service.get_user(session, ctx, user_id)

    @patch("/{user_id:uuid}", operation_id="UpdateUser", responses=problems(401, 403, 404))
    async def update_user(
        self,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[c.UserUpdate],
        session: Session,
        ctx: Ctx,
    ) -> c.UserRead:
        """An administrator changes someone's staff roles, or deactivates them (every token of
        theirs is revoked at once) or reactivates them. Nobody deactivates themselves (422)."""
        return await service.update_user(session, ctx, user_id, data)


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

    @post(
        "/{key_id:uuid}/rotations",
        operation_id="CreateApiKeyRotation",
        responses=problems(401, 403, 404, 409),
        cache_control=NO_STORE,
    )
    async def create_api_key_rotation(
        self,
        key_id: FromPath[uuid.UUID],
        data: JSONBody[c.ApiKeyRotationCreate],
        session: Session,
        ctx: Ctx,
    ) -> c.ApiKeyRotated:
        """Rotate a key: issue its successor (same name, scopes and organisation) and keep the
        old key working for `overlap_days` (default 7, at most 90), after which it stops (its
        `expires_at` becomes the earlier of its own and now + the overlap). Both are listed,
        linked by `rotated_from_id` / `replaced_by_id`; the old key's webhook subscriptions move
        to the new one. The new key is in this response only; store it now (no
        `Idempotency-Key`: the answer is never stored, as it holds the secret; a retry gets 409
        naming the successor). 409: the key is revoked, expired or already rotated (the detail
        names its successor). Administrators only, like creating and revoking keys."""
        return await service.rotate_api_key(session, ctx, key_id, data)

    @delete("/{key_id:uuid}", operation_id="DeleteApiKey", responses=problems(401, 403, 404))
    async def delete_api_key(self, key_id: FromPath[uuid.UUID], session: Session, ctx: Ctx) -> None:
        """Revoke a key (it stays listed, with `revoked_at`)."""
        await service.revoke_api_key(session, ctx, key_id)
