"""The administrator's pages: people and their roles, organisations, partner API keys.

- `/admin/users`: users (`ListUsers`, searched by part of the e-mail or name), a new staff user
  (`CreateUser`), one user's roles (`UpdateUser`), deactivation — which revokes every token of
  theirs — and reactivation (`UpdateUser`), and a password reset (`CreatePasswordReset`; a
  made-up password is shown once, on a `Cache-Control: no-store` answer).
- `/admin/organisations`: the list, a new organisation, an organisation's edit (its version
  guards against overwriting someone else's change).
- `/admin/api-keys`: partner keys (scopes, organisation, status, expiry and last use in Bishkek
  time), a new key — its secret shown once, in the POST's own answer (`no-store`), never
  again — rotation (`CreateApiKeyRotation`: a successor whose secret is shown the same way, the
  old key working on for the overlap chosen) and revocation.

Every form is POST → 303 → GET without JavaScript (a 422 puts the API's messages by the fields).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, FromQuery

from contracts.client import ApiError, GrantsClient
from contracts.enums import ApiScope, Language, OrganisationKind, Role
from contracts.identity import (
    API_KEY_MAX_LIFETIME_DAYS,
    API_KEY_OVERLAP_DEFAULT_DAYS,
    ApiKeyCreate,
    ApiKeyRotationCreate,
    OrganisationCreate,
    OrganisationRead,
    OrganisationUpdate,
    PasswordResetCreate,
    UserCreate,
    UserRead,
    UserUpdate,
)
from web import i18n
from web.forms import FormErrors, checked, from_problem, many, text
from web.i18n import BISHKEK, _
from web.labels import organisation_kinds
from web.render import page, redirect
from web.routes.account import require_user
from web.routes.officer_plans import refusal
from web.session import SessionUser, client_for, flash

NO_STORE = {"cache-control": "no-store"}


def require_admin(request: Request[Any, Any, Any]) -> SessionUser:
    user = require_user(request)
    if not user.is_admin:
        raise PermissionDeniedException()
    return user


def role_names() -> dict[str, str]:
    return {
        "admin": _("Administrator"),
        "programme_officer": _("Programme officer"),
        "finance_officer": _("Finance officer"),
        "reviewer": _("Reviewer"),
        "auditor": _("Auditor"),
    }


def scope_names() -> dict[str, str]:
    return {
        "pcc:read": _("Read PCCs and action plans"),
        "calls:read": _("Read calls"),
        "awards:read": _("Read awards"),
        "reports:write": _("Write grantee reports"),
        "webhooks:receive": _("Receive webhooks"),
    }


def language_names() -> dict[str, str]:
    return {"en": "English", "ru": "Русский", "ky": "Кыргызча"}


# --- users ----------------------------------------------------------------------------------


@get("/admin", name="admin_home", include_in_schema=False)
async def home(request: Request[Any, Any, Any]) -> Any:
    require_admin(request)
    return redirect(request, "/admin/users")


@get("/admin/users", name="admin_users", include_in_schema=False)
async def users(
    request: Request[Any, Any, Any],
    q: FromQuery[str | None] = None,
    cursor: FromQuery[str | None] = None,
) -> Any:
    require_admin(request)
    client = client_for(request)
    search = (q or "").strip()[:100]
    try:
        result = await client.list_users(q=search or None, cursor=cursor or None, limit=50)
    except ApiError as exc:
        if exc.status != 422 or not cursor:
            raise
        result = await client.list_users(q=search or None, limit=50)
    return page(
        request,
        "admin/users.html",
        {
            "users": result.items,
            "next_cursor": result.next_cursor,
            "q": search,
            "roles": role_names(),
        },
    )


def _new_user_context(
    values: dict[str, Any] | None = None, errors: FormErrors | None = None
) -> dict[str, Any]:
    return {
        "values": values or {"roles": [], "preferred_language": "ru"},
        "errors": errors,
        "roles": role_names(),
        "language_options": list(language_names().items()),
    }


@get("/admin/users/new", name="admin_user_new", include_in_schema=False)
async def user_new(request: Request[Any, Any, Any]) -> Any:
    require_admin(request)
    return page(request, "admin/user_new.html", _new_user_context())


@post("/admin/users", name="admin_user_create", include_in_schema=False)
async def user_create(request: Request[Any, Any, Any]) -> Any:
    require_admin(request)
    form = await request.form()
    roles = [r for r in many(form, "roles") if r in role_names()]
    language = text(form, "preferred_language")
    values: dict[str, Any] = {
        "email": text(form, "email"),
        "full_name": text(form, "full_name"),
        "roles": roles,
        "preferred_language": language,
    }
    errors = FormErrors()
    if not roles:
        errors.add("roles", _("Choose at least one role: a staff user acts through their roles."))
    if language not in language_names():
        errors.add("preferred_language", _("Choose one of the options."))
    if not errors:
        try:
            made = await client_for(request).create_user(
                UserCreate(
                    email=values["email"],
                    password=text(form, "password"),
                    full_name=values["full_name"],
                    roles=[Role(r) for r in roles],
                    preferred_language=Language(language),
                )
            )
        except ApiError as exc:
            if exc.status == 422:
                errors = from_problem(exc)
            elif exc.status == 409:
                errors.add("email", _("An account with this e-mail address already exists."))
            else:
                raise
        else:
            flash(request, _("%(name)s can now sign in.") % {"name": made.full_name}, "success")
            return redirect(request, f"/admin/users/{made.id}")
    return page(request, "admin/user_new.html", _new_user_context(values, errors), status=422)


async def _user(client: GrantsClient, user_id: uuid.UUID) -> UserRead:
    return await client.get_user(user_id)


async def _show_user(
    request: Request[Any, Any, Any],
    user: UserRead,
    *,
    errors: FormErrors | None = None,
    temporary_password: str | None = None,
    status: int = 200,
) -> Any:
    me = require_admin(request)
    return page(
        request,
        "admin/user.html",
        {
            "person": user,
            "is_me": user.id == me.id,
            "roles": role_names(),
            "errors": errors,
            "temporary_password": temporary_password,
        },
        status=status,
        headers=NO_STORE if temporary_password else None,
    )


@get("/admin/users/{user_id:uuid}", name="admin_user", include_in_schema=False)
async def user_page(request: Request[Any, Any, Any], user_id: FromPath[uuid.UUID]) -> Any:
    require_admin(request)
    return await _show_user(request, await _user(client_for(request), user_id))


async def _update(
    request: Request[Any, Any, Any], user_id: uuid.UUID, body: UserUpdate, done: str
) -> Any:
    client = client_for(request)
    try:
        await client.update_user(user_id, body)
    except ApiError as exc:
        if exc.status == 422:
            errors = from_problem(exc, {"roles": "roles", "is_active": "is_active"})
        elif exc.status in (403, 404, 409):
            errors = FormErrors()
            errors.add(None, refusal(exc))
        else:
            raise
        return await _show_user(request, await _user(client, user_id), errors=errors, status=422)
    flash(request, done, "success")
    return redirect(request, f"/admin/users/{user_id}")


@post("/admin/users/{user_id:uuid}/roles", name="admin_user_roles", include_in_schema=False)
async def user_roles(request: Request[Any, Any, Any], user_id: FromPath[uuid.UUID]) -> Any:
    require_admin(request)
    form = await request.form()
    roles = [Role(r) for r in many(form, "roles") if r in role_names()]
    return await _update(request, user_id, UserUpdate(roles=roles), _("The roles are saved."))


@post("/admin/users/{user_id:uuid}/active", name="admin_user_active", include_in_schema=False)
async def user_active(request: Request[Any, Any, Any], user_id: FromPath[uuid.UUID]) -> Any:
    require_admin(request)
    form = await request.form()
    active = text(form, "active") == "yes"
    done = (
        _("The account is active again; they can sign in.")
        if active
        else _("The account is deactivated and every session of theirs is ended.")
    )
    return await _update(request, user_id, UserUpdate(is_active=active), done)


@post(
    "/admin/users/{user_id:uuid}/password-reset",
    name="admin_user_password_reset",
    include_in_schema=False,
)
async def user_password_reset(request: Request[Any, Any, Any], user_id: FromPath[uuid.UUID]) -> Any:
    """A made-up password, shown once on this answer (never stored by the web, never cached)."""
    require_admin(request)
    client = client_for(request)
    form = await request.form()
    try:
        reset = await client.create_password_reset(
            user_id, PasswordResetCreate(remove_second_factor=checked(form, "remove_second_factor"))
        )
    except ApiError as exc:
        if exc.status not in (403, 404, 422):
            raise
        errors = from_problem(exc) if exc.status == 422 else FormErrors()
        if exc.status != 422:
            errors.add(None, refusal(exc))
        return await _show_user(request, await _user(client, user_id), errors=errors, status=422)
    return await _show_user(
        request, await _user(client, user_id), temporary_password=reset.temporary_password
    )


# --- organisations --------------------------------------------------------------------------


async def _territories(client: GrantsClient) -> tuple[list[tuple[str, str]], dict[str, str]]:
    territories = (await client.list_territories()).items
    options = sorted(((str(t.id), i18n.localised(t.name)) for t in territories), key=lambda o: o[1])
    return options, dict(options)


@get("/admin/organisations", name="admin_organisations", include_in_schema=False)
async def organisations(
    request: Request[Any, Any, Any], cursor: FromQuery[str | None] = None
) -> Any:
    require_admin(request)
    client = client_for(request)
    try:
        result = await client.list_organisations(cursor=cursor or None, limit=50)
    except ApiError as exc:
        if exc.status != 422 or not cursor:
            raise
        result = await client.list_organisations(limit=50)
    _options, places = await _territories(client)
    return page(
        request,
        "admin/organisations.html",
        {
            "organisations": result.items,
            "next_cursor": result.next_cursor,
            "places": places,
            "kinds": organisation_kinds(),
        },
    )


ORG_FIELDS = (
    "name",
    "kind",
    "territory_id",
    "founded_year",
    "registration_number",
    "email",
    "phone",
    "address",
    "description",
)


def _org_values(org: OrganisationRead | None) -> dict[str, Any]:
    if org is None:
        return {"women_led": False, "youth_led": False}
    values: dict[str, Any] = {k: getattr(org, k) for k in ORG_FIELDS}
    values.update(women_led=org.women_led, youth_led=org.youth_led, version=org.version)
    return values


async def _org_form(
    request: Request[Any, Any, Any],
    org: OrganisationRead | None,
    values: dict[str, Any],
    errors: FormErrors | None = None,
    status: int = 200,
) -> Any:
    options, _places = await _territories(client_for(request))
    return page(
        request,
        "admin/organisation.html",
        {
            "organisation": org,
            "values": values,
            "errors": errors,
            "territory_options": options,
            "kind_options": list(organisation_kinds().items()),
        },
        status=status,
    )


def _read_org_form(form: Any, errors: FormErrors) -> dict[str, Any]:
    values: dict[str, Any] = {k: text(form, k) for k in ORG_FIELDS}
    values.update(women_led=checked(form, "women_led"), youth_led=checked(form, "youth_led"))
    if not values["founded_year"].isdigit():
        errors.add("founded_year", _("Enter a year, e.g. 2019."))
    try:
        uuid.UUID(values["territory_id"])
    except ValueError:
        errors.add("territory_id", _("Choose the territory."))
    if values["kind"] not in organisation_kinds():
        errors.add("kind", _("Choose the kind of organisation."))
    return values


def _org_refused(exc: ApiError) -> FormErrors:
    if exc.status == 422:
        return from_problem(exc)
    if exc.status in (403, 404, 409):
        errors = FormErrors()
        errors.add(None, refusal(exc))
        return errors
    raise exc


@get("/admin/organisations/new", name="admin_organisation_new", include_in_schema=False)
async def organisation_new(request: Request[Any, Any, Any]) -> Any:
    require_admin(request)
    return await _org_form(request, None, _org_values(None))


@post("/admin/organisations", name="admin_organisation_create", include_in_schema=False)
async def organisation_create(request: Request[Any, Any, Any]) -> Any:
    require_admin(request)
    form = await request.form()
    errors = FormErrors()
    values = _read_org_form(form, errors)
    if not errors:
        try:
            org = await client_for(request).create_organisation(
                OrganisationCreate(
                    name=values["name"],
                    kind=OrganisationKind(values["kind"]),
                    territory_id=uuid.UUID(values["territory_id"]),
                    founded_year=int(values["founded_year"]),
                    registration_number=values["registration_number"] or None,
                    women_led=values["women_led"],
                    youth_led=values["youth_led"],
                    email=values["email"] or None,
                    phone=values["phone"] or None,
                    address=values["address"] or None,
                    description=values["description"] or None,
                )
            )
        except ApiError as exc:
            errors = _org_refused(exc)
        else:
            flash(request, _("The organisation is registered."), "success")
            return redirect(request, f"/admin/organisations/{org.id}")
    return await _org_form(request, None, values, errors, status=422)


@get(
    "/admin/organisations/{organisation_id:uuid}",
    name="admin_organisation",
    include_in_schema=False,
)
async def organisation_page(
    request: Request[Any, Any, Any], organisation_id: FromPath[uuid.UUID]
) -> Any:
    require_admin(request)
    org = await client_for(request).get_organisation(organisation_id)
    return await _org_form(request, org, _org_values(org))


@post(
    "/admin/organisations/{organisation_id:uuid}",
    name="admin_organisation_update",
    include_in_schema=False,
)
async def organisation_update(
    request: Request[Any, Any, Any], organisation_id: FromPath[uuid.UUID]
) -> Any:
    require_admin(request)
    client = client_for(request)
    form = await request.form()
    errors = FormErrors()
    values = _read_org_form(form, errors)
    version = text(form, "version")
    if not errors:
        try:
            await client.update_organisation(
                organisation_id,
                OrganisationUpdate(
                    version=int(version) if version.isdigit() else 1,
                    name=values["name"],
                    kind=OrganisationKind(values["kind"]),
                    territory_id=uuid.UUID(values["territory_id"]),
                    founded_year=int(values["founded_year"]),
                    registration_number=values["registration_number"] or None,
                    women_led=values["women_led"],
                    youth_led=values["youth_led"],
                    email=values["email"] or None,
                    phone=values["phone"] or None,
                    address=values["address"] or None,
                    description=values["description"] or None,
                ),
            )
        except ApiError as exc:
            errors = _org_refused(exc)
        else:
            flash(request, _("The organisation is saved."), "success")
            return redirect(request, f"/admin/organisations/{organisation_id}")
    org = await client.get_organisation(organisation_id)
    values["version"] = version
    return await _org_form(request, org, values, errors, status=422)


# --- API keys -------------------------------------------------------------------------------


async def _keys_page(
    request: Request[Any, Any, Any],
    *,
    created: Any = None,
    rotated: Any = None,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Any:
    client = client_for(request)
    keys = await client.list_api_keys(limit=200)
    shows_secret = created is not None or rotated is not None
    orgs = await client.list_organisation_directory(limit=500)
    return page(
        request,
        "admin/api_keys.html",
        {
            "keys": keys.items,
            "prefixes": {k.id: k.prefix for k in keys.items},
            "created": created,
            "rotated": rotated,
            "overlaps": overlap_choices(),
            "default_overlap": API_KEY_OVERLAP_DEFAULT_DAYS,
            "values": values or {"scopes": []},
            "errors": errors,
            "scopes": scope_names(),
            "organisation_options": [(str(o.id), o.name) for o in orgs.items],
            "organisation_names": {o.id: o.name for o in orgs.items},
        },
        status=status,
        headers=NO_STORE if shows_secret else None,
    )


def overlap_choices() -> list[tuple[int, str]]:
    """How long the old key works on after a rotation (`overlap_days`)."""
    return [
        (0, _("None: the old key stops at once")),
        (1, _("1 day")),
        (7, _("7 days")),
        (30, _("30 days")),
        (90, _("90 days")),
    ]


@get("/admin/api-keys", name="admin_api_keys", include_in_schema=False)
async def api_keys(request: Request[Any, Any, Any]) -> Any:
    require_admin(request)
    return await _keys_page(request)


@post("/admin/api-keys", name="admin_api_key_create", include_in_schema=False)
async def api_key_create(request: Request[Any, Any, Any]) -> Any:
    """The secret is in this answer only (no redirect: the web never stores it)."""
    require_admin(request)
    form = await request.form()
    scopes = [s for s in many(form, "scopes") if s in scope_names()]
    values: dict[str, Any] = {
        "name": text(form, "name"),
        "scopes": scopes,
        "organisation_id": text(form, "organisation_id"),
        "expires_on": text(form, "expires_on"),
    }
    errors = FormErrors()
    if not scopes:
        errors.add("scopes", _("Choose at least one scope."))
    organisation_id: uuid.UUID | None = None
    if values["organisation_id"]:
        try:
            organisation_id = uuid.UUID(values["organisation_id"])
        except ValueError:
            errors.add("organisation_id", _("Choose one of the options."))
    expires_at: datetime | None = None
    if values["expires_on"]:
        try:
            day = date.fromisoformat(values["expires_on"])
        except ValueError:
            errors.add("expires_on", _("Enter a date."))
        else:
            today = datetime.now(BISHKEK).date()
            if day <= today:
                errors.add("expires_on", _("Choose a day after today."))
            elif day >= today + timedelta(days=API_KEY_MAX_LIFETIME_DAYS):
                errors.add("expires_on", _("Choose a day within two years from today."))
            expires_at = datetime.combine(day + timedelta(days=1), time.min, tzinfo=BISHKEK)
    if not errors:
        try:
            created = await client_for(request).create_api_key(
                ApiKeyCreate(
                    name=values["name"],
                    scopes=[ApiScope(s) for s in scopes],
                    organisation_id=organisation_id,
                    expires_at=expires_at,
                )
            )
        except ApiError as exc:
            if exc.status != 422:
                raise
            errors = from_problem(exc)
        else:
            return await _keys_page(request, created=created)
    return await _keys_page(request, values=values, errors=errors, status=422)


@post(
    "/admin/api-keys/{key_id:uuid}/rotation",
    name="admin_api_key_rotate",
    include_in_schema=False,
)
async def api_key_rotate(request: Request[Any, Any, Any], key_id: FromPath[uuid.UUID]) -> Any:
    """The new secret is in this answer only, like a new key's."""
    require_admin(request)
    form = await request.form()
    chosen = text(form, "overlap_days")
    choices = {str(days): days for days, _label in overlap_choices()}
    if chosen not in choices:
        flash(request, _("Choose how long the old key keeps working."), "error")
        return redirect(request, "/admin/api-keys")
    try:
        rotated = await client_for(request).create_api_key_rotation(
            key_id, ApiKeyRotationCreate(overlap_days=choices[chosen])
        )
    except ApiError as exc:
        if exc.status not in (403, 404, 409, 422):
            raise
        flash(request, refusal(exc), "error")
        return redirect(request, "/admin/api-keys")
    return await _keys_page(request, rotated=rotated)


@post(
    "/admin/api-keys/{key_id:uuid}/revocation",
    name="admin_api_key_revoke",
    include_in_schema=False,
)
async def api_key_revoke(request: Request[Any, Any, Any], key_id: FromPath[uuid.UUID]) -> Any:
    require_admin(request)
    try:
        await client_for(request).delete_api_key(key_id)
    except ApiError as exc:
        if exc.status not in (403, 404, 409):
            raise
        flash(request, refusal(exc), "error")
    else:
        flash(request, _("The key is revoked: it no longer works."), "success")
    return redirect(request, "/admin/api-keys")


ROUTES: list[Any] = [
    home,
    users,
    user_new,
    user_create,
    user_page,
    user_roles,
    user_active,
    user_password_reset,
    organisations,
    organisation_new,
    organisation_create,
    organisation_page,
    organisation_update,
    api_keys,
    api_key_create,
    api_key_rotate,
    api_key_revoke,
]
