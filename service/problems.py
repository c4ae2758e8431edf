"""RFC 9457 problem details: the service's errors and the handlers that render every error.

Each error kind has a stable ``type`` URI. Clients branch on ``type``; ``detail`` is for people.
"""

from __future__ import annotations

from typing import Any, ClassVar

import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from contracts.common import Problem, ValidationIssue
from scoring.money import UnknownCurrency

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:pcc-grants:problem:"

log = structlog.get_logger("service.problems")


def problem_type(slug: str) -> str:
    return TYPE_PREFIX + slug


class ProblemError(Exception):
    """Base of the service's expected errors; rendered as a problem response."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"
    keep_changes: ClassVar[bool] = False
    """True for a refusal that must be remembered (a failed sign-in counts toward throttling):
    the request's transaction commits what the use case wrote before refusing."""

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra
        self.headers: dict[str, str] = {}

    def to_problem(self, request_id: str | None, instance: str | None) -> Problem:
        return Problem(
            type=problem_type(self.slug),
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            request_id=request_id,
            **self.extra,
        )


class NotAuthenticated(ProblemError):
    status = 401
    slug = "unauthenticated"
    title = "Authentication required"


class SignInFailed(NotAuthenticated):
    """A wrong password or second-factor code: the failure is counted (and kept)."""

    keep_changes = True


class SecondFactorRequired(NotAuthenticated):
    slug = "second-factor-required"
    title = "A second factor is needed"


class SecondFactorInvalid(SignInFailed):
    slug = "second-factor-invalid"
    title = "The second-factor code is wrong"


class TooManySignInAttempts(ProblemError):
    status = 429
    slug = "too-many-sign-in-attempts"
    title = "Too many sign-in attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many failed sign-ins; try again in {retry_after} seconds",
        )
        self.headers["Retry-After"] = str(retry_after)


class TooManyRequests(ProblemError):
    """A rate limit of the API (service/identity/ratelimit.py) is used up for this window."""

    status = 429
    slug = "too-many-requests"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int, limit: int) -> None:
        super().__init__(f"{detail}; try again in {retry_after} seconds")
        self.headers["Retry-After"] = str(retry_after)
        # draft-ietf-httpapi-ratelimit-headers (the widely used three-header form)
        self.headers["RateLimit-Limit"] = str(limit)
        self.headers["RateLimit-Remaining"] = "0"
        self.headers["RateLimit-Reset"] = str(retry_after)


class Forbidden(ProblemError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class SecondFactorEnrolmentRequired(Forbidden):
    slug = "second-factor-enrolment-required"
    title = "Set up a second factor first"


class PasswordChangeRequired(Forbidden):
    slug = "password-change-required"
    title = "Change your password first"


class NotFound(ProblemError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(ProblemError):
    status = 409
    slug = "conflict"
    title = "Conflict with the current state"


class FeedbackNotPublished(ProblemError):
    """The applicant asks for feedback the programme officers have not published yet."""

    status = 409
    slug = "feedback-not-published"
    title = "Feedback not yet published"


class StaleVersion(ProblemError):
    status = 409
    slug = "stale-version"
    title = "The resource was changed by someone else"

    def __init__(self, current_version: int) -> None:
        super().__init__(
            f"you edited an old version; the current version is {current_version}",
            current_version=current_version,
        )


class IllegalTransition(ProblemError):
    status = 409
    slug = "illegal-transition"
    title = "This change of state is not allowed"

    def __init__(self, detail: str, allowed: list[str]) -> None:
        super().__init__(detail, allowed=allowed)


class InvalidInput(ProblemError):
    status = 422
    slug = "invalid-input"
    title = "The request is not valid"

    def __init__(self, detail: str, errors: list[ValidationIssue] | None = None) -> None:
        super().__init__(detail, errors=errors or [])


def issue(field: str, message: str) -> ValidationIssue:
    """One entry of an ``InvalidInput``'s ``errors``: where (``body.…``, ``query.…``) and what."""
    return ValidationIssue(field=field, message=message)


def _request_id(request: Request[Any, Any, Any]) -> str | None:
    rid = request.scope.get("state", {}).get("request_id")
    return rid if isinstance(rid, str) else None


def problem_response(request: Request[Any, Any, Any], problem: Problem) -> Response[Problem]:
    headers = {"WWW-Authenticate": 'Bearer realm="pcc-grants"'} if problem.status == 401 else None
    return Response(
        content=problem,
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def handle_problem_error(request: Request[Any, Any, Any], exc: ProblemError) -> Response[Problem]:
    response = problem_response(request, exc.to_problem(_request_id(request), request.url.path))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def handle_validation(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[Problem]:
    issues: list[ValidationIssue] = []
    if isinstance(exc.extra, list):
        for item in exc.extra:
            if isinstance(item, dict):
                key = str(item.get("key") or "")
                raw_source = item.get("source") or ""
                source = str(getattr(raw_source, "value", raw_source))
                field = f"{source}.{key}" if source and key else key or source or "request"
                issues.append(ValidationIssue(field=field, message=str(item.get("message"))))
    problem = Problem(
        type=problem_type("validation-error"),
        title="The request is not valid",
        status=422,
        detail="; ".join(f"{i.field}: {i.message}" for i in issues) or str(exc.detail),
        instance=request.url.path,
        request_id=_request_id(request),
        errors=issues,
    )
    return problem_response(request, problem)


_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict with the current state"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("too-many-requests", "Too many requests"),
}


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "Request failed"))
    if isinstance(exc, NotFoundException):
        detail = "no such resource"
    elif isinstance(exc, NotAuthorizedException | PermissionDeniedException):
        detail = str(exc.detail)
    else:
        detail = str(exc.detail) if exc.status_code < 500 else "the server could not answer"
    problem = Problem(
        type=problem_type(slug),
        title=title,
        status=exc.status_code,
        detail=detail,
        instance=request.url.path,
        request_id=_request_id(request),
    )
    response = problem_response(request, problem)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def handle_integrity(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[Problem]:
    """A constraint the service did not check first: 409 for uniqueness, 422 for the rest."""
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(
        getattr(orig, "__cause__", None), "sqlstate", None
    )
    constraint = getattr(getattr(orig, "__cause__", None), "constraint_name", None)
    if sqlstate == "23503" and request.method == "DELETE":
        problem = Problem(
            type=problem_type("still-referenced"),
            title="Still in use",
            status=409,
            detail=f"other records still refer to this one ({constraint or 'foreign key'})",
            instance=request.url.path,
            request_id=_request_id(request),
        )
    elif sqlstate == "23505":
        problem = Problem(
            type=problem_type("conflict"),
            title="Conflict with the current state",
            status=409,
            detail=f"that would duplicate an existing record ({constraint or 'unique rule'})",
            instance=request.url.path,
            request_id=_request_id(request),
        )
    else:
        problem = Problem(
            type=problem_type("constraint-violation"),
            title="The request breaks a rule of the data",
            status=422,
            detail=f"refused by the database rule {constraint or sqlstate or 'unknown'}",
            instance=request.url.path,
            request_id=_request_id(request),
        )
    log.info("integrity_error", sqlstate=sqlstate, constraint=constraint)
    return problem_response(request, problem)


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None) or getattr(
        getattr(orig, "__cause__", None), "sqlstate", None
    )
    return state if isinstance(state, str) else None


def handle_data_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Problem]:
    """Values the database cannot store (SQLSTATE class 22: a NUL character, a number out of
    range): the input's fault, so 422, and nothing was written. Other database errors are 500."""
    sqlstate = _sqlstate(exc)
    if not (sqlstate or "").startswith("22"):
        return handle_unexpected(request, exc)
    log.info("data_error", sqlstate=sqlstate)
    problem = Problem(
        type=problem_type("invalid-value"),
        title="A value cannot be stored",
        status=422,
        detail="a value is out of range or contains characters that cannot be stored "
        "(e.g. a NUL character)",
        instance=request.url.path,
        request_id=_request_id(request),
    )
    return problem_response(request, problem)


def handle_unknown_currency(
    request: Request[Any, Any, Any], exc: UnknownCurrency
) -> Response[Problem]:
    """A stored row names a currency CLDR does not know (written before requests were checked
    against ISO 4217): the read cannot work with its money, and says which code, not a 500."""
    log.warning("stored_currency_unknown", currency=exc.currency, path=request.url.path)
    problem = Problem(
        type=problem_type("stored-currency-unknown"),
        title="Stored data names an unknown currency",
        status=409,
        detail=f"stored money is in {exc.currency!r}, which is not an ISO 4217 code CLDR knows;"
        " an administrator must correct that record's currency",
        instance=request.url.path,
        request_id=_request_id(request),
    )
    return problem_response(request, problem)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    rid = _request_id(request)
    if isinstance(exc, DBAPIError) and getattr(exc, "connection_invalidated", False):
        log.error("database_unavailable", exc_info=exc)
    else:
        log.error("unhandled_exception", exc_info=exc, path=request.url.path)
    problem = Problem(
        type=problem_type("internal-error"),
        title="Internal server error",
        status=500,
        detail=f"something went wrong on our side; quote request id {rid} when reporting it",
        instance=request.url.path,
        request_id=rid,
    )
    return problem_response(request, problem)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    ProblemError: handle_problem_error,
    ValidationException: handle_validation,
    IntegrityError: handle_integrity,
    DBAPIError: handle_data_error,
    HTTPException: handle_http,
    UnknownCurrency: handle_unknown_currency,
    Exception: handle_unexpected,
}

__all__ = [
    "EXCEPTION_HANDLERS",
    "PROBLEM_MEDIA_TYPE",
    "Conflict",
    "Forbidden",
    "IllegalTransition",
    "InvalidInput",
    "NotAuthenticated",
    "NotFound",
    "PasswordChangeRequired",
    "ProblemError",
    "SecondFactorEnrolmentRequired",
    "SecondFactorInvalid",
    "SecondFactorRequired",
    "SignInFailed",
    "StaleVersion",
    "TooManySignInAttempts",
]
