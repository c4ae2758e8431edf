"""OpenAPI helpers: documented problem responses and security schemes."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Components, SecurityScheme

from contracts.common import Problem
from service.problems import PROBLEM_MEDIA_TYPE

_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Missing, wrong, expired or revoked credentials",
    403: "Signed in, but not allowed",
    404: "No such resource, or not yours to see",
    409: "Conflicts with the current state (e.g. a stale version)",
    422: "Invalid input: every problem is listed in `errors`",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """Problem responses a route may answer with; 422 is implied for every route with input."""
    return {
        s: ResponseSpec(
            data_container=Problem,
            description=_DESCRIPTIONS.get(s, "Problem"),
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for s in sorted(set(statuses) | {400, 422})
    }


SECURITY_COMPONENTS = Components(
    security_schemes={
        "BearerToken": SecurityScheme(
            type="http",
            scheme="bearer",
            description="An opaque token from POST /api/v1/auth/token",
        ),
        "ApiKey": SecurityScheme(
            type="apiKey",
            name="X-API-Key",
            security_scheme_in="header",
            description="A partner system's scoped key",
        ),
    }
)

USER: list[dict[str, list[str]]] = [{"BearerToken": []}]
USER_OR_KEY: list[dict[str, list[str]]] = [{"BearerToken": []}, {"ApiKey": []}]
