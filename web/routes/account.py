"""Signing in and out, registering an organisation, one's account and password."""

from __future__ import annotations

import time
import uuid
from typing import Any

import segno
from litestar import Request, get, post
from litestar.params import FromQuery
from litestar.response import Response
from markupsafe import Markup

from contracts.client import ApiError
from contracts.enums import TokenRestriction
from contracts.identity import (
    MeRead,
    MeUpdate,
    OrganisationCreate,
    PasswordChange,
    RecoveryCodesCreate,
    RegistrationCreate,
    TotpConfirmation,
    TotpRemoval,
)
from contracts.notifications import (
    NotificationKind,
    NotificationPreferenceSet,
    NotificationPreferencesUpdate,
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
    keep,
    kept,
    remember_language,
    safe_next,
    sign_in,
    sign_out,
)

PROBLEM = "urn:pcc-grants:problem:"
SECOND_FACTOR_REQUIRED = PROBLEM + "second-factor-required"
TOO_MANY_ATTEMPTS = PROBLEM + "too-many-sign-in-attempts"
PENDING_SIGN_IN = "pending_sign_in"
"""The e-mail and password between the two steps of a sign-in with a second factor: in the
encrypted, HttpOnly session cookie (never in the page), for at most `PENDING_SECONDS`."""
PENDING_SECONDS = 300
PENDING_ENROLMENT = "totp_enrolment"
"""The TOTP secret being set up, until it is confirmed with a code (the API shows it once)."""
NO_STORE = {"Cache-Control": "no-store"}


def require_user(request: Request[Any, Any, Any]) -> SessionUser:
    user = current_user(request)
    if user is None:
        raise SignInRequired()
    return user


async def _start_session(
    request: Request[Any, Any, Any],
    email: str,
    password: str,
    *,
    otp: str | None = None,
    recovery_code: str | None = None,
) -> tuple[SessionUser, TokenRestriction | None]:
    base = client_for(request).as_user(None)
    token = await base.create_token(email, password, otp=otp, recovery_code=recovery_code)
    me = await base.as_user(token.access_token).get_me()
    user = SessionUser.from_me(token, me)
    sign_in(request, user, str(me.preferred_language))  # forgets a pending sign-in too
    i18n.set_language(str(me.preferred_language))
    return user, token.restriction


def _landing(user: SessionUser) -> str:
    return "/my" if user.is_applicant else "/account"


def _signed_in(
    request: Request[Any, Any, Any],
    user: SessionUser,
    restriction: TokenRestriction | None,
    target: str,
) -> Response[Any]:
    """Where a fresh session goes: its own task first when the token is limited."""
    if restriction is TokenRestriction.ENROL_SECOND_FACTOR:
        flash(
            request,
            _("Your role signs in with a second factor. Set it up below to continue."),
            "info",
        )
        return redirect(request, "/account#two-factor")
    if restriction is TokenRestriction.CHANGE_PASSWORD:
        flash(
            request,
            _("An administrator reset your password. Choose a new one below to continue."),
            "info",
        )
        return redirect(request, "/account#password-h")
    flash(request, _("You are signed in."), "success")
    return redirect(request, target or _landing(user))


def _too_many(errors: FormErrors, exc: ApiError) -> None:
    if exc.type == PROBLEM + "too-many-requests":  # the API's rate limit, not the sign-in's
        errors.add(None, _("Too many requests from your address. Wait a minute, then try again."))
    else:
        errors.add(None, _("Too many failed sign-ins. Wait a minute, then try again."))


@get("/signin", name="signin", include_in_schema=False)
async def signin_form(request: Request[Any, Any, Any], next: FromQuery[str | None] = None) -> Any:
    keep(request, PENDING_SIGN_IN, None)
    return page(
        request,
        "account/signin.html",
        {"next": safe_next(next, ""), "errors": None, "email": "", "step": "password"},
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
            user, restriction = await _start_session(request, email, password)
        except ApiError as exc:
            if exc.type == SECOND_FACTOR_REQUIRED:
                keep(
                    request,
                    PENDING_SIGN_IN,
                    {
                        "email": email,
                        "password": password,
                        "until": time.time() + PENDING_SECONDS,
                    },
                )
                return page(
                    request,
                    "account/signin.html",
                    {"next": target, "errors": None, "email": email, "step": "code"},
                )
            if exc.status == 429:
                _too_many(errors, exc)
            elif exc.status in (401, 422):
                errors.add(None, _("The e-mail or the password is wrong."))
            else:
                raise
        else:
            return _signed_in(request, user, restriction, target)
    return page(
        request,
        "account/signin.html",
        {"next": target, "errors": errors, "email": email, "step": "password"},
        status=422,
    )


@post("/signin/code", name="signin_code_submit", include_in_schema=False)
async def signin_code_submit(request: Request[Any, Any, Any]) -> Any:
    """The second step: the code of the authenticator app, or one recovery code."""
    form = await request.form()
    target = safe_next(text(form, "next"), "")
    pending = kept(request, PENDING_SIGN_IN)
    if pending is None or float(pending.get("until", 0)) < time.time():
        keep(request, PENDING_SIGN_IN, None)
        flash(request, _("Signing in took too long. Please start again."), "info")
        return redirect(request, "/signin" + (f"?next={target}" if target else ""))
    email, password = str(pending["email"]), str(pending["password"])
    code = text(form, "code").replace(" ", "")
    errors = FormErrors()
    if not code:
        errors.add("code", _("Enter the 6-digit code from your app, or a recovery code."))
    else:
        digits = code.isdigit()
        try:
            user, restriction = await _start_session(
                request,
                email,
                password,
                otp=code if digits else None,
                recovery_code=None if digits else code,
            )
        except ApiError as exc:
            if exc.status == 429:
                _too_many(errors, exc)
            elif exc.type == PROBLEM + "second-factor-invalid" or exc.status == 422:
                errors.add(
                    "code",
                    _("The code is wrong or was used already. Enter the code your app shows now."),
                )
            elif exc.status == 401:  # the password changed meanwhile: start again
                keep(request, PENDING_SIGN_IN, None)
                flash(request, _("Signing in took too long. Please start again."), "info")
                return redirect(request, "/signin")
            else:
                raise
        else:
            return _signed_in(request, user, restriction, target)
    return page(
        request,
        "account/signin.html",
        {"next": target, "errors": errors, "email": email, "step": "code"},
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


def _qr(uri: str) -> Markup:
    """The otpauth URI as a QR code, drawn here (no outside service sees the secret): an inline
    SVG without style attributes."""
    svg = segno.make(uri, error="m").svg_inline(scale=4, title=_("QR code for your app"))
    return Markup(svg)  # noqa: S704  (segno's own SVG of our URI; the title is escaped by segno)


def _account_context(request: Request[Any, Any, Any], me: MeRead, **extra: Any) -> dict[str, Any]:
    enrolment = kept(request, PENDING_ENROLMENT) if not me.totp_enabled else None
    context: dict[str, Any] = {
        "me": me,
        "errors": None,
        "password_errors": None,
        "totp_errors": None,
        "totp_password_errors": None,
        "recovery_codes": None,
        "enrolment": None,
    }
    if enrolment is not None:
        secret = str(enrolment["secret"])
        context["enrolment"] = {
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "uri": str(enrolment["uri"]),
            "qr": _qr(str(enrolment["uri"])),
        }
    context.update(extra)
    return context


@get("/account", name="account", include_in_schema=False)
async def account(request: Request[Any, Any, Any]) -> Any:
    require_user(request)
    me = await client_for(request).get_me()
    return page(request, "account/account.html", _account_context(request, me), headers=NO_STORE)


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
            _account_context(request, me, errors=errors),
            status=422,
            headers=NO_STORE,
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
        _account_context(request, me, password_errors=errors),
        status=422,
        headers=NO_STORE,
    )


@post("/account/totp", name="totp_start", include_in_schema=False)
async def totp_start(request: Request[Any, Any, Any]) -> Any:
    """Start setting up the second factor: the API makes the secret, held here until confirmed."""
    require_user(request)
    enrolment = await client_for(request).create_totp_enrolment()
    keep(request, PENDING_ENROLMENT, {"secret": enrolment.secret, "uri": enrolment.otpauth_uri})
    return redirect(request, "/account#two-factor")


@post("/account/totp/confirm", name="totp_confirm", include_in_schema=False)
async def totp_confirm(request: Request[Any, Any, Any]) -> Any:
    """Confirm with a code; the recovery codes are shown in this answer only (not kept)."""
    require_user(request)
    form = await request.form()
    client = client_for(request)
    errors = FormErrors()
    code = text(form, "code").replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        errors.add("code", _("Enter the 6 digits your app shows now."))
    else:
        try:
            codes = await client.create_totp_confirmation(TotpConfirmation(code=code))
        except ApiError as exc:
            if exc.status != 422:
                raise
            errors.add("code", _("The code is wrong. Enter the 6 digits your app shows now."))
        else:
            keep(request, PENDING_ENROLMENT, None)
            me = await client.get_me()
            flash(request, _("Two-factor sign-in is on."), "success")
            return page(
                request,
                "account/account.html",
                _account_context(request, me, recovery_codes=codes.codes),
                headers=NO_STORE,
            )
    me = await client.get_me()
    return page(
        request,
        "account/account.html",
        _account_context(request, me, totp_errors=errors),
        status=422,
        headers=NO_STORE,
    )


@post("/account/totp/remove", name="totp_remove", include_in_schema=False)
async def totp_remove(request: Request[Any, Any, Any]) -> Any:
    require_user(request)
    form = await request.form()
    client = client_for(request)
    try:
        await client.create_totp_removal(TotpRemoval(password=str(form.get("totp_password") or "")))
    except ApiError as exc:
        if exc.status != 422:
            raise
        me = await client.get_me()
        return page(
            request,
            "account/account.html",
            _account_context(
                request,
                me,
                totp_password_errors=from_problem(exc, {"password": "totp_password"}),
            ),
            status=422,
            headers=NO_STORE,
        )
    flash(request, _("Two-factor sign-in is off."), "success")
    return redirect(request, "/account#two-factor")


@post("/account/recovery-codes", name="recovery_codes_submit", include_in_schema=False)
async def recovery_codes_submit(request: Request[Any, Any, Any]) -> Any:
    """New recovery codes (the old ones stop working), shown in this answer only."""
    require_user(request)
    form = await request.form()
    client = client_for(request)
    try:
        codes = await client.create_recovery_codes(
            RecoveryCodesCreate(password=str(form.get("totp_password") or ""))
        )
    except ApiError as exc:
        if exc.status != 422:
            raise
        me = await client.get_me()
        return page(
            request,
            "account/account.html",
            _account_context(
                request,
                me,
                totp_password_errors=from_problem(exc, {"password": "totp_password"}),
            ),
            status=422,
            headers=NO_STORE,
        )
    me = await client.get_me()
    return page(
        request,
        "account/account.html",
        _account_context(request, me, recovery_codes=codes.codes),
        headers=NO_STORE,
    )


# --- which e-mails one gets -----------------------------------------------------------------


def _notification_groups(enabled: dict[str, bool]) -> list[dict[str, Any]]:
    """The kinds of e-mail, grouped by who gets them, each with its words and current choice."""

    def kind(k: NotificationKind, label: str, hint: str) -> dict[str, Any]:
        return {"name": k.value, "label": label, "hint": hint, "on": enabled.get(k.value, True)}

    return [
        {
            "legend": _("About your organisation's proposals"),
            "kinds": [
                kind(
                    NotificationKind.SUBMISSION_RECEIPT,
                    _("Proposal received"),
                    _("The receipt number, when a proposal is submitted."),
                ),
                kind(
                    NotificationKind.ELIGIBILITY_RESULT,
                    _("Eligibility result"),
                    _("Whether a proposal passed the eligibility check."),
                ),
                kind(
                    NotificationKind.DECISION,
                    _("Decision"),
                    _("Selected, on the reserve list or not selected."),
                ),
            ],
        },
        {
            "legend": _("About your organisation's grants"),
            "kinds": [
                kind(
                    NotificationKind.GRANT_CREATED,
                    _("Grant awarded"),
                    _("The amount, the dates and the number of tranches."),
                ),
                kind(
                    NotificationKind.TRANCHE_DUE,
                    _("Tranche due"),
                    _("A tranche of the grant is due to be paid."),
                ),
                kind(
                    NotificationKind.TRANCHE_PAID,
                    _("Tranche paid"),
                    _("A tranche was paid: its value date and payment reference."),
                ),
                kind(
                    NotificationKind.REPORT_RETURNED,
                    _("Report returned"),
                    _("A report was sent back for changes, with the officer's comment."),
                ),
            ],
        },
        {
            "legend": _("About your reviews"),
            "kinds": [
                kind(
                    NotificationKind.REVIEW_ASSIGNED,
                    _("Proposal to review"),
                    _("A proposal was assigned to you for review."),
                ),
                kind(
                    NotificationKind.REVIEW_REMINDER,
                    _("Review reminder"),
                    _("Two days before the review deadline, if your review is not submitted."),
                ),
            ],
        },
    ]


@get("/account/notifications", name="notifications", include_in_schema=False)
async def notifications(request: Request[Any, Any, Any]) -> Any:
    """Which e-mails the signed-in person gets (every kind on until turned off)."""
    require_user(request)
    chosen = await client_for(request).get_notification_preferences()
    enabled = {p.kind.value: p.enabled for p in chosen}
    return page(
        request,
        "account/notifications.html",
        {"groups": _notification_groups(enabled)},
        headers=NO_STORE,
    )


@post("/account/notifications", name="notifications_submit", include_in_schema=False)
async def notifications_submit(request: Request[Any, Any, Any]) -> Any:
    """Every kind as its box was left: a box not ticked is not sent by the browser (off)."""
    require_user(request)
    form = await request.form()
    await client_for(request).update_notification_preferences(
        NotificationPreferencesUpdate(
            preferences=[
                NotificationPreferenceSet(kind=k, enabled=checked(form, k.value))
                for k in NotificationKind
            ]
        )
    )
    flash(request, _("Your choice of e-mails is saved."), "success")
    return redirect(request, "/account/notifications")


ROUTES: list[Any] = [
    signin_form,
    signin_submit,
    signin_code_submit,
    signout,
    register_form,
    register_submit,
    account,
    account_submit,
    password_submit,
    totp_start,
    totp_confirm,
    totp_remove,
    recovery_codes_submit,
    notifications,
    notifications_submit,
]
