"""Error pages (403, 404, 500) in the person's language, and what an expired sign-in does."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException
from litestar.response import Redirect

from contracts.client import ApiError
from web import i18n
from web.i18n import _
from web.render import page
from web.session import flash, had_session, sign_in_url, sign_out

log = structlog.get_logger("web.errors")


class SignInRequired(Exception):
    """Raised by pages that need a signed-in person."""


def _language(request: Request[Any, Any, Any]) -> None:
    from web.app import resolve_language

    i18n.set_language(resolve_language(request))


def _back_to(request: Request[Any, Any, Any]) -> str:
    if request.method == "GET":
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    referer = request.headers.get("referer") or "/"
    return referer.split(str(request.base_url).rstrip("/"), 1)[-1] or "/"


def _to_sign_in(request: Request[Any, Any, Any]) -> Response[Any]:
    if had_session(request):
        sign_out(request)
        flash(request, _("Your session has ended. Please sign in again."), "info")
    location = sign_in_url(_back_to(request))
    if request.headers.get("hx-request") == "true":
        return Response(content=b"", status_code=204, headers={"HX-Redirect": location})
    return Redirect(path=location, status_code=303)


def error_page(request: Request[Any, Any, Any], status: int, detail: str | None = None) -> Any:
    titles = {
        403: _("You are not allowed to see this page"),
        404: _("This page does not exist"),
        409: _("This cannot be done now"),
        429: _("Too many requests"),
        500: _("Something went wrong on our side"),
    }
    texts = {
        403: _(
            "Your account does not give access to this page. Sign in with another account or "
            "go back to the home page."
        ),
        404: _("The address may be mistyped, or the page was removed."),
        409: _("The record changed or is in a state that does not allow this."),
        429: _(
            "Many requests came from your address in a short time. Please wait a minute, then "
            "try again."
        ),
        500: _("The error has been recorded. Please try again in a few minutes."),
    }
    code = status if status in titles else (500 if status >= 500 else 409)
    headers = {}
    if request.headers.get("hx-request") == "true":
        # an htmx request shows the error in place of the page's main content
        headers = {"HX-Retarget": "#main", "HX-Reswap": "outerHTML", "HX-Reselect": "#main"}
    return page(
        request,
        "errors/error.html",
        {"status": status, "title": titles[code], "text": texts[code], "detail": detail},
        status=status,
        whole=True,
        headers=headers,
    )


_FIRST_THINGS_FIRST = {
    "urn:pcc-grants:problem:second-factor-enrolment-required": lambda: _(
        "Your role signs in with a second factor. Set it up below to continue."
    ),
    "urn:pcc-grants:problem:password-change-required": lambda: _(
        "An administrator reset your password. Choose a new one below to continue."
    ),
}
"""The API's refusals of a limited token, and what the person is told on the account page."""


def handle_api_error(request: Request[Any, Any, Any], exc: ApiError) -> Any:
    _language(request)
    if exc.status == 401:
        return _to_sign_in(request)
    if exc.type in _FIRST_THINGS_FIRST:  # a limited token: its task is on the account page
        flash(request, _FIRST_THINGS_FIRST[exc.type](), "info")
        if request.headers.get("hx-request") == "true":
            return Response(content=b"", status_code=204, headers={"HX-Redirect": "/account"})
        return Redirect(path="/account", status_code=303)
    if exc.status in (403, 404, 429):  # 429: the API's rate limits (its detail is English)
        return error_page(request, exc.status)
    if exc.status >= 500:
        log.error("api_error", status=exc.status, type=exc.problem.type)
        return error_page(request, 500)
    return error_page(request, exc.status, exc.problem.detail)


def handle_sign_in_required(request: Request[Any, Any, Any], exc: SignInRequired) -> Any:
    _language(request)
    return _to_sign_in(request)


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Any:
    _language(request)
    if isinstance(exc, NotFoundException) or exc.status_code == 404:
        return error_page(request, 404)
    if exc.status_code == 403:
        return error_page(request, 403)
    if exc.status_code >= 500:
        return error_page(request, 500)
    return error_page(request, exc.status_code, str(exc.detail))


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Any:
    where = exc.__traceback__
    while where is not None and where.tb_next is not None:
        where = where.tb_next
    log.error(
        "web_unexpected",
        error=type(exc).__name__,
        message=str(exc)[:300],
        at=f"{where.tb_frame.f_code.co_filename}:{where.tb_lineno}" if where else None,
        path=request.url.path,
    )
    _language(request)
    return error_page(request, 500)
