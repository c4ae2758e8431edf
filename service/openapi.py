"""OpenAPI helpers: documented problem responses and security schemes; deprecated operations."""

from __future__ import annotations

import calendar
import enum
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from email.utils import format_datetime
from typing import Any, TypedDict

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Components,
    Encoding,
    OpenAPI,
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    Schema,
    SecurityScheme,
)
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Middleware, Receive, Scope, Send

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


# --- making the generated contract say what the server enforces --------------------------------


def _numeric(schema: Schema, info: msgspec.inspect.IntType | msgspec.inspect.FloatType) -> None:
    if info.gt is not None:
        schema.exclusive_minimum = info.gt
    if info.ge is not None:
        schema.minimum = info.ge
    if info.lt is not None:
        schema.exclusive_maximum = info.lt
    if info.le is not None:
        schema.maximum = info.le
    if info.multiple_of is not None:
        schema.multiple_of = info.multiple_of


def _constrain(schema: Schema | Reference, info: msgspec.inspect.Type) -> None:
    """Copy msgspec's constraints for `info` (what the decoder enforces) onto `schema`. A
    decimal (sent as a string) takes the pattern its type declares in `extra_json_schema`:
    msgspec cannot constrain a decimal's text, so the contract says which strings are numbers the
    server takes, and the service checks the same rules."""
    pattern: str | None = None
    if isinstance(info, msgspec.inspect.Metadata):
        pattern = (info.extra_json_schema or {}).get("pattern")
        info = info.type
    if isinstance(schema, Reference):
        return
    if schema.one_of and len(schema.one_of) == 1 and isinstance(schema.one_of[0], Schema):
        # `X | UnsetType` came out as `oneOf: [X]` without X's limits (msgspec.inspect drops
        # UnsetType): flatten it, then constrain it as X
        only = schema.one_of[0]
        schema.one_of = None
        for name in ("type", "format", "items", "enum", "properties", "required"):
            if getattr(schema, name) is None:
                setattr(schema, name, getattr(only, name))
    if isinstance(info, msgspec.inspect.UnionType):
        options = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
        if schema.one_of:
            typed = [s for s in schema.one_of if isinstance(s, Schema) and s.type != "null"]
            if len(typed) == len(options) == 1:
                _constrain(typed[0], options[0])
        elif len(options) == 1:
            _constrain(schema, options[0])
        return
    if isinstance(info, msgspec.inspect.DecimalType) and pattern is not None:
        schema.pattern = pattern
    if isinstance(info, msgspec.inspect.IntType | msgspec.inspect.FloatType):
        _numeric(schema, info)
    elif isinstance(info, msgspec.inspect.StrType):
        if info.min_length is not None:
            schema.min_length = info.min_length
        if info.max_length is not None:
            schema.max_length = info.max_length
        if info.pattern is not None:
            schema.pattern = info.pattern
    elif isinstance(info, msgspec.inspect.ListType | msgspec.inspect.SetType):
        if info.min_length is not None:
            schema.min_items = info.min_length
        if info.max_length is not None:
            schema.max_items = info.max_length
        if isinstance(schema.items, Schema | Reference):
            _constrain(schema.items, info.item_type)
    elif isinstance(info, msgspec.inspect.DictType):
        if info.min_length is not None:
            schema.min_properties = info.min_length
        if info.max_length is not None:
            schema.max_properties = info.max_length
        key = info.key_type
        if isinstance(key, msgspec.inspect.Metadata):
            key = key.type
        if isinstance(key, msgspec.inspect.StrType) and key.pattern is not None:
            schema.property_names = Schema(type=OpenAPIType.STRING, pattern=key.pattern)
        elif isinstance(key, msgspec.inspect.EnumType):  # e.g. a currency: the enum's component
            schema.property_names = Reference(ref=f"#/components/schemas/{key.cls.__name__}")
        if isinstance(schema.additional_properties, Schema):
            _constrain(schema.additional_properties, info.value_type)


def enforce_struct_constraints(schema: OpenAPI, structs: dict[str, type[msgspec.Struct]]) -> None:
    """Litestar drops the limits of optional (`X | UnsetType`) fields and of dict keys, so the
    contract said less than the server enforces (WindowUpdate.min_grant had no minimum; the
    `^[A-Z]{3}$` of `rates` keys was missing), and fuzzers' valid-by-schema requests were
    refused. Each component's properties get msgspec's own constraints for the field."""
    components = schema.components
    if components is None or components.schemas is None:
        return
    for name, component in components.schemas.items():
        cls = structs.get(name)
        if cls is None or component.properties is None:
            continue
        info = msgspec.inspect.type_info(cls)
        if not isinstance(info, msgspec.inspect.StructType):
            continue
        for field in info.fields:
            prop = component.properties.get(field.encode_name)
            if prop is not None:
                _constrain(prop, field.type)
            if (
                isinstance(prop, Schema)
                and prop.default is None
                and isinstance(field.default, enum.Enum)
            ):  # Litestar drops an enum field's default when the enum is a component (KGS)
                prop.default = field.default.value


def document_common_refusals(schema: OpenAPI) -> None:
    """Answers every operation may give, whatever its own: 401 for wrong credentials (refused on
    public operations too: service/identity/authn.py), 403 for credentials of the wrong kind;
    and for an operation that takes a JSON
    body, 400 (malformed, too deep, a repeated key) and 415 (not declared JSON):
    service/bodies.py."""
    for path, item in (schema.paths or {}).items():
        if not path.startswith("/api/v1/"):
            continue  # the health probes authenticate no one
        for method in ("get", "post", "put", "patch", "delete"):
            operation: Operation | None = getattr(item, method, None)
            if operation is None:
                continue
            responses = operation.responses if operation.responses is not None else {}
            operation.responses = responses
            responses.setdefault("401", _problem_response(_DESCRIPTIONS[401]))
            # a partner's API key is authenticated on every operation, and refused (403) by those
            # that serve people only (signing up, one's own profile, proposals…)
            responses.setdefault("403", _problem_response(_DESCRIPTIONS[403]))
            # the rate limits (service/identity/ratelimit.py) apply to every operation
            responses.setdefault("429", Reference(ref="#/components/responses/TooManyRequests"))
            body = operation.request_body
            content = getattr(body, "content", None) or {}
            if "application/json" not in content:
                continue
            for status, description in (
                ("400", "Malformed body: not UTF-8 JSON, nested too deeply, or a repeated key"),
                ("415", "The body is not declared as JSON"),
            ):
                responses.setdefault(status, _problem_response(description))


def document_download_media_types(schema: OpenAPI, media_types: dict[str, tuple[str, ...]]) -> None:
    """A download's 200 names the media types it is really served as (Litestar documents only
    the one given to the route), e.g. the ledger export's CSV and XLSX; keyed by operationId."""
    for item in (schema.paths or {}).values():
        for method in ("get", "post"):
            operation: Operation | None = getattr(item, method, None)
            if operation is None or operation.operation_id not in media_types:
                continue
            ok = (operation.responses or {}).get("200")
            if isinstance(ok, OpenAPIResponse):
                ok.content = {
                    media_type: OpenAPIMediaType(
                        schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
                    )
                    for media_type in media_types[operation.operation_id]
                }


def document_multipart_file_types(schema: OpenAPI, media_types: dict[str, tuple[str, ...]]) -> None:
    """An upload's `file` part: the media types the server reads (`encoding.file.contentType`),
    keyed by operationId."""
    for item in (schema.paths or {}).values():
        operation: Operation | None = item.post
        if operation is None or operation.operation_id not in media_types:
            continue
        body = operation.request_body
        content = getattr(body, "content", None) or {}
        multipart = content.get("multipart/form-data")
        if multipart is not None:
            multipart.encoding = {
                "file": Encoding(content_type=", ".join(media_types[operation.operation_id]))
            }


def fix_options_allow(routes: Iterable[object]) -> None:
    """Litestar builds each path's automatic OPTIONS handler with the first handler registered
    there, and it keeps answering with that handler's methods when a later controller adds
    others to the same path (`Allow: OPTIONS, POST` for a path that also has GET; a 405 there
    names them all). Point each automatic handler at its path's final route."""
    for route in routes:
        if not isinstance(route, HTTPRoute) or "OPTIONS" not in route.route_handler_map:
            continue
        fn = route.route_handler_map["OPTIONS"][0].fn
        cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True))
        if fn.__name__ == "options_handler" and "self" in cells:
            cells["self"].cell_contents = route


def _rate_limited_response() -> OpenAPIResponse:
    response = _problem_response(
        "Too many requests: a rate limit (per address, API key or sign-in) is used up for this "
        "window (`too-many-requests`; the sign-in's own throttle: `too-many-sign-in-attempts`)"
    )
    seconds = Schema(type=OpenAPIType.INTEGER, minimum=0)
    response.headers = {
        "Retry-After": OpenAPIHeader(
            description="Seconds (whole) until the request may be made again", schema=seconds
        ),
        "RateLimit-Limit": OpenAPIHeader(
            description="Requests (count) the refused limit allows per window", schema=seconds
        ),
        "RateLimit-Remaining": OpenAPIHeader(
            description="Requests (count) left in this window: 0", schema=seconds
        ),
        "RateLimit-Reset": OpenAPIHeader(
            description="Seconds (whole) until the window ends", schema=seconds
        ),
    }
    return response


def _problem_response(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description,
        content={
            PROBLEM_MEDIA_TYPE: OpenAPIMediaType(
                schema=Reference(ref="#/components/schemas/Problem")
            )
        },
    )


# --- deprecation (docs/partners.md, "Versioning and deprecation") -------------------------------


class Deprecation(TypedDict):
    """Keyword arguments of a route decorator that mark its operation deprecated."""

    deprecated: bool
    operation_class: type[Operation]
    middleware: list[Middleware]


def _six_months_on(day: date) -> date:
    """The same day six months on (the month's last day when it has no such day)."""
    years, month = divmod(day.month - 1 + 6, 12)
    year = day.year + years
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def deprecated(*, since: date, sunset: date) -> Deprecation:
    """Mark an operation deprecated as the policy says: `@get(..., **deprecated(since=…,
    sunset=…))`. The contract gets `deprecated: true` and `x-sunset: YYYY-MM-DD` (which
    tools/openapi_diff.py reads); every answer of the operation, its errors too, carries
    `Deprecation: @<since, Unix time>` (RFC 9745) and `Sunset: <HTTP date>` (RFC 8594). The
    sunset must be at least six months after `since`."""
    if sunset < _six_months_on(since):
        raise ValueError(f"the sunset {sunset} is less than six months after {since}")
    since_at = int(datetime.combine(since, time(), UTC).timestamp())
    sunset_at = format_datetime(datetime.combine(sunset, time(), UTC), usegmt=True)
    added = [(b"deprecation", f"@{since_at}".encode()), (b"sunset", sunset_at.encode())]

    class SunsetOperation(Operation):
        def to_schema(self) -> dict[str, Any]:
            schema = super().to_schema()
            schema["x-sunset"] = sunset.isoformat()
            return schema

    def announce(app: ASGIApp) -> ASGIApp:
        async def with_headers(scope: Scope, receive: Receive, send: Send) -> None:
            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", []), *added]}
                await send(message)

            await app(scope, receive, sending)

        return with_headers

    return {"deprecated": True, "operation_class": SunsetOperation, "middleware": [announce]}


RATE_LIMIT_COMPONENTS = Components(responses={"TooManyRequests": _rate_limited_response()})
"""The 429 every API operation may answer, described once and referred to by each."""
