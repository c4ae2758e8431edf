"""Signing in and out, registering an organisation, one's account and password."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get, post
from litestar.params import FromQuery
from litestar.response import Response

from contracts.client import ApiError
from contracts.identity import (
    MeUpdate,
    OrganisationCreate,
    PasswordChange,
    RegistrationCreate,
)
from web import i18n
from web.errors import SignInRequired
from web.forms import FormErrors, checked, from_problem, optional, text
from web.i18n import _
from web.labels import organisation_kinds
from web.render import page, redirect
from web.session import (
    SessionUser,
    client_for,
    current_user,
    flash,
    remember_language,
    safe_next,
    sign_in,
    sign_out,
)


def require_user(request: Request[Any, Any, Any]) -> SessionUser:
    user = current_user(request)
    if user is None:
        raise SignInRequired()
    return user


async def _start_session(request: Request[Any, Any, Any], email: str, password: str) -> SessionUser:
    base = client_for(request).as_user(None)
    token = await base.create_token(email, password)
    me = await base.as_user(token.access_token).get_me()
    user = SessionUser.from_me(token, me)
    sign_in(request, user, str(me.preferred_language))
    i18n.set_language(str(me.preferred_language))
    return user


def _landing(user: SessionUser) -> str:
    return "/my" if user.is_applicant else "/account"


@get("/signin", name="signin", include_in_schema=False)
async def signin_form(request: Request[Any, Any, Any], next: FromQuery[str | None] = None) -> Any:
    return page(
        request, "account/signin.html", {"next": safe_next(next, ""), "errors": None, "email": ""}
    )


@post("/signin", name="signin_submit", include_in_schema=False)
async def signin_submit(request: Request[Any, Any, Any]) -> Any:
    form = await request.form()
    email, password = text(form, "email"), str(form.get("password") or "")
    target = safe_next(text(form, "next"), "")
    errors = FormErrors()
    if not email:
        errors.add("email", _("Enter your e-mail address."))
    if not password:
        errors.add("password", _("Enter your password."))
    if not errors:
        try:
            user = await _start_session(request, email, password)
        except ApiError as exc:
            if exc.status not in (401, 422):
                raise
            errors.add(None, _("The e-mail or the password is wrong."))
        else:
            flash(request, _("You are signed in."), "success")
            return redirect(request, target or _landing(user))
    return page(
        request,
        "account/signin.html",
        {"next": target, "errors": errors, "email": email},
        status=422,
    )


@post("/signout", name="signout", include_in_schema=False)
async def signout(request: Request[Any, Any, Any]) -> Response[Any]:
    if current_user(request) is not None:
        try:
            await client_for(request).delete_token()
        except ApiError as exc:
            if exc.status != 401:  # already expired or revoked: signed out either way
                raise
    sign_out(request)
    flash(request, _("You are signed out."), "success")
    return redirect(request, "/")


async def _register_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    territories = (await client_for(request).list_territories()).items
    return {
        "territory_options": sorted(
            ((str(t.id), i18n.localised(t.name)) for t in territories), key=lambda kv: kv[1]
        ),
        "kind_options": list(organisation_kinds().items()),
    }


REGISTRATION_FIELDS = {
    "email": "email",
    "password": "password",
    "full_name": "full_name",
    **{
        f"organisation.{k}": f"organisation.{k}"
        for k in (
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
    },
}


@get("/register", name="register", include_in_schema=False)
async def register_form(request: Request[Any, Any, Any]) -> Any:
    context = await _register_context(request)
    context.update({"errors": None, "values": {}})
    return page(request, "account/register.html", context)


@post("/register", name="register_submit", include_in_schema=False)
async def register_submit(request: Request[Any, Any, Any]) -> Any:
    form = await request.form()
    values = {
        k: text(form, k) for k in form if k not in {"password", "password_again", "_csrf_token"}
    }
    errors = FormErrors()
    password = str(form.get("password") or "")
    if password != str(form.get("password_again") or ""):
        errors.add("password_again", _("The two passwords are not the same."))
    year: int | None = None
    try:
        year = int(text(form, "organisation.founded_year"))
    except ValueError:
        errors.add("organisation.founded_year", _("Enter a year, e.g. 2019."))
    territory: uuid.UUID | None = None
    try:
        territory = uuid.UUID(text(form, "organisation.territory_id"))
    except ValueError:
        errors.add("organisation.territory_id", _("Choose the territory."))
    kind = text(form, "organisation.kind")
    if kind not in organisation_kinds():
        errors.add("organisation.kind", _("Choose the kind of organisation."))
    if not errors and year is not None and territory is not None:
        body = RegistrationCreate(
            email=text(form, "email"),
            password=password,
            full_name=text(form, "full_name"),
            preferred_language=i18n.current_language(),  # type: ignore[arg-type]  # one of LANGUAGES
            organisation=OrganisationCreate(
                name=text(form, "organisation.name"),
                kind=kind,  # type: ignore[arg-type]  # checked against the kinds above
                territory_id=territory,
                founded_year=year,
                registration_number=optional(form, "organisation.registration_number"),
                women_led=checked(form, "organisation.women_led"),
                youth_led=checked(form, "organisation.youth_led"),
                email=optional(form, "organisation.email"),
                phone=optional(form, "organisation.phone"),
                address=optional(form, "organisation.address"),
                description=optional(form, "organisation.description"),
            ),
        )
        try:
            await client_for(request).as_user(None).create_registration(body)
        except ApiError as exc:
            if exc.status == 409:
                errors.add(
                    "email",
                    _(
                        "An account with this e-mail address or an organisation "
                        "with this registration number already exists."
                    ),
                )
            elif exc.status == 422:
                errors = from_problem(exc, REGISTRATION_FIELDS)
            else:
                raise
        else:
            await _start_session(request, body.email, password)
            flash(request, _("Your organisation is registered. You can now apply."), "success")
            return redirect(request, "/my")
    context = await _register_context(request)
    context.update({"errors": errors, "values": values})
    return page(request, "account/register.html", context, status=422)


@get("/account", name="account", include_in_schema=False)
async def account(request: Request[Any, Any, Any]) -> Any:
    require_user(request)
    me = await client_for(request).get_me()
    return page(
        request, "account/account.html", {"me": me, "errors": None, "password_errors": None}
    )


@post("/account", name="account_submit", include_in_schema=False)
async def account_submit(request: Request[Any, Any, Any]) -> Any:
    user = require_user(request)
    form = await request.form()
    lang = text(form, "preferred_language")
    errors = FormErrors()
    body = MeUpdate(full_name=text(form, "full_name"))
    if lang in i18n.LANGUAGES:
        body = MeUpdate(full_name=text(form, "full_name"), preferred_language=lang)  # type: ignore[arg-type]  # one of LANGUAGES
    client = client_for(request)
    try:
        me = await client.update_me(body)
    except ApiError as exc:
        if exc.status != 422:
            raise
        errors = from_problem(exc)
        me = await client.get_me()
        return page(
            request,
            "account/account.html",
            {"me": me, "errors": errors, "password_errors": None},
            status=422,
        )
    sign_in(
        request,
        SessionUser(
            token=user.token,
            expires_at=user.expires_at,
            id=user.id,
            email=user.email,
            name=me.full_name,
            roles=user.roles,
            organisations=user.organisations,
        ),
        str(me.preferred_language),
    )
    remember_language(request, str(me.preferred_language))
    i18n.set_language(str(me.preferred_language))
    flash(request, _("Your account is saved."), "success")
    return redirect(request, "/account")


@post("/account/password", name="password_submit", include_in_schema=False)
async def password_submit(request: Request[Any, Any, Any]) -> Any:
    require_user(request)
    form = await request.form()
    errors = FormErrors()
    new = str(form.get("new_password") or "")
    if new != str(form.get("new_password_again") or ""):
        errors.add("new_password_again", _("The two passwords are not the same."))
    client = client_for(request)
    if not errors:
        try:
            await client.create_password_change(
                PasswordChange(
                    current_password=str(form.get("current_password") or ""), new_password=new
                )
            )
        except ApiError as exc:
            if exc.status != 422:
                raise
            errors = from_problem(exc)
        else:
            flash(
                request,
                _("Your password is changed. Your other sessions were signed out."),
                "success",
            )
            return redirect(request, "/account")
    me = await client.get_me()
    return page(
        request,
        "account/account.html",
        {"me": me, "errors": None, "password_errors": errors},
        status=422,
    )


ROUTES: list[Any] = [
    signin_form,
    signin_submit,
    signout,
    register_form,
    register_submit,
    account,
    account_submit,
    password_submit,
]
