"""Request bodies: one strict JSON decoder for every route that takes a JSON body.

Litestar reads a JSON body with a lenient decoder and then converts it to the handler's type
with msgspec's `strict=False`, so `"100"` and `"1e3"` were taken for integers, a `text/plain`
body was parsed as JSON, duplicate keys were silently merged, and invalid UTF-8 or a body nested
a thousand levels deep escaped as `UnicodeDecodeError`/`RecursionError` (500, with a traceback
in the log). `StrictRequest`, the app's request class, replaces that step for every route:

1. the body must be declared JSON (`application/json` or `application/*+json`): else 415;
2. it must be UTF-8 JSON (else 400 `bad-request`), nested at most `MAX_DEPTH` levels (else
   400 `body-too-deep`), with no key repeated in an object (else 400 `duplicate-key`);
3. it is decoded straight into the handler's `data` type with `strict=True` (no string-to-number
   or other coercion): a wrong type or a broken constraint is a 422 naming the field, as before.

The typed value is what the handler gets: msgspec passes it through Litestar's own conversion
unchanged, so the lenient conversion never sees the raw JSON.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import msgspec
import structlog
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.serialization import default_deserializer

from service.problems import ProblemError

MAX_DEPTH = 64
"""The deepest nesting of arrays and objects a request body may have (the contract's deepest
body, a rule set's expression tree, is far shallower)."""

log = structlog.get_logger("service.bodies")


class UnsupportedMediaType(ProblemError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class MalformedBody(ProblemError):
    status = 400
    slug = "bad-request"  # the type a body that is not JSON has always had
    title = "The body is not valid JSON"


class BodyTooDeep(ProblemError):
    status = 400
    slug = "body-too-deep"
    title = "The body is nested too deeply"


class DuplicateKey(ProblemError):
    status = 400
    slug = "duplicate-key"
    title = "The body repeats a key"


def is_json_media_type(media_type: str) -> bool:
    media_type = media_type.strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _refuse(error: ProblemError, size: int) -> ProblemError:
    # One short line, never a traceback: a 16-byte body must not write kilobytes of log.
    log.info("body_refused", type=error.slug, size=size)
    return error


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(f"the body repeats the key `{key}` in one object")
            seen.add(key)
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth(value: Any) -> int:
    """The nesting depth of decoded JSON (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        level += 1
        if level > deepest:
            deepest = level
            if deepest > MAX_DEPTH:
                return deepest
        stack.extend((child, level) for child in children)
    return deepest


def check_json_syntax(body: bytes) -> None:
    """UTF-8, JSON, not too deep, no repeated key; each refusal a 400 problem."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse(MalformedBody("the body is not valid UTF-8 JSON"), len(body)) from None
    too_deep = BodyTooDeep(f"the body is nested too deeply (at most {MAX_DEPTH} levels)")
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except DuplicateKey as exc:
        raise _refuse(exc, len(body)) from None
    except RecursionError:
        raise _refuse(too_deep, len(body)) from None
    except ValueError:  # json.JSONDecodeError and the refused NaN/Infinity
        raise _refuse(MalformedBody("the body is not valid UTF-8 JSON"), len(body)) from None
    if _depth(value) > MAX_DEPTH:
        raise _refuse(too_deep, len(body))


def _validation_error(request: Request[Any, Any, Any], exc: msgspec.ValidationError) -> Exception:
    """The same shape as Litestar's own validation errors (`body.<field>`; `body.data` for the
    body as a whole), so the problem lists the field."""
    message, _, where = str(exc).partition(" - at `")
    if where.startswith("key` in `"):  # a dict's key, e.g. a rate's currency: name the dict
        message = f"{message} (a key)"
        where = where.removeprefix("key` in `")
    path = where.rstrip("`").removeprefix("$")
    key = path.removeprefix(".") if path.startswith(".") else "data" + path
    return ValidationException(
        detail=f"Validation failed for {request.method} {request.url}",
        extra=[{"message": message, "key": key, "source": "body"}],
    )


def decode_body(request: Request[Any, Any, Any], body: bytes) -> Any:
    """The body as the route's `data` type, decoded strictly (see the module docstring)."""
    media_type, _ = request.content_type
    if not is_json_media_type(media_type):
        raise _refuse(
            UnsupportedMediaType(
                f"this operation takes JSON (`Content-Type: application/json`), "
                f"not `{media_type or 'no content type'}`"
            ),
            len(body),
        )
    check_json_syntax(body)
    handler = request.route_handler
    data = handler.parsed_fn_signature.parameters.get("data")
    target: Any = data.annotation if data is not None else Any
    try:
        return msgspec.json.decode(
            body,
            type=target,
            strict=True,
            dec_hook=partial(default_deserializer, type_decoders=handler.resolve_type_decoders()),
        )
    except msgspec.ValidationError as exc:
        raise _validation_error(request, exc) from None
    except msgspec.DecodeError:
        raise _refuse(MalformedBody("the body is not valid UTF-8 JSON"), len(body)) from None


class StrictRequest(Request[Any, Any, Any]):
    """The API's request class: `json()` (what Litestar's JSON body extractor calls) decodes
    strictly into the route's `data` type."""

    async def json(self) -> Any:
        return decode_body(self, await self.body())
