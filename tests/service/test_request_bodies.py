"""Request bodies, from anyone, to every route that takes JSON: malformed bodies are a 4xx problem
(never a 500), JSON must be declared as such, and values are decoded strictly.

The routes are read from the app (`tests.routes`), so a new JSON route is covered unchanged."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from contracts.enums import Role
from service.app import create_app
from service.persistence.database import Database
from tests.conftest import TEST_SETTINGS, MakeUser
from tests.routes import Operation, json_operations

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:pcc-grants:problem:"

# The app is only read here (its routes), never served.
_ROUTES_APP = create_app(
    TEST_SETTINGS, database=Database.from_url("postgresql+asyncpg://routes@localhost:1/routes")
)
JSON_OPERATIONS = json_operations(_ROUTES_APP)

# (name, body, content type, status and problem type for a signed-in caller)
MALFORMED: list[tuple[str, bytes, str, int, str]] = [
    ("invalid-utf8", b'{"email":"\xff"}', "application/json", 400, "bad-request"),
    ("invalid-utf8-key", b'{"\xc3\x28":1}', "application/json", 400, "bad-request"),
    ("lone-surrogate-bytes", b'{"a":"\xed\xa0\x80"}', "application/json", 400, "bad-request"),
    ("deep-arrays", b"[" * 1000 + b"]" * 1000, "application/json", 400, "body-too-deep"),
    ("deep-objects", b'{"a":' * 1000 + b"1" + b"}" * 1000, "application/json", 400,
     "body-too-deep"),
    ("very-deep-arrays", b"[" * 100_000 + b"]" * 100_000, "application/json", 400,
     "body-too-deep"),
    ("65-levels", b"[" * 65 + b"]" * 65, "application/json", 400, "body-too-deep"),
    ("unclosed", b'{"a": [1, 2', "application/json", 400, "bad-request"),
    ("trailing-garbage", b'{"a": 1} x', "application/json", 400, "bad-request"),
    ("nan", b'{"version": NaN}', "application/json", 400, "bad-request"),
    ("infinity", b'{"version": Infinity}', "application/json", 400, "bad-request"),
    ("bom", b'\xef\xbb\xbf{"a": 1}', "application/json", 400, "bad-request"),
    ("not-json", b"hello", "application/json", 400, "bad-request"),
    ("duplicate-key", b'{"version": 1, "version": 2}', "application/json", 400,
     "duplicate-key"),
    ("nested-duplicate-key", b'{"x": [{"a": 1, "a": 1}]}', "application/json", 400,
     "duplicate-key"),
    ("text-plain", b'{"version": 1}', "text/plain", 415, "unsupported-media-type"),
    ("no-content-type", b'{"version": 1}', "", 415, "unsupported-media-type"),
    ("form", b"version=1", "application/x-www-form-urlencoded", 415, "unsupported-media-type"),
]  # fmt: skip


def _id(op: Operation) -> str:
    return f"{op.method} {op.path.removeprefix('/api/v1/')}"


@pytest.fixture
async def admin_headers(make_user: MakeUser) -> dict[str, str]:
    admin = await make_user(Role.ADMIN)
    return {"authorization": f"Bearer {admin.token}"}


async def _send(
    http: httpx.AsyncClient, op: Operation, body: bytes, content_type: str, auth: dict[str, str]
) -> httpx.Response:
    headers = dict(auth)
    if content_type:
        headers["content-type"] = content_type
    url = http.base_url.copy_with(path=op.path)
    request = http.build_request(op.method, url, content=body, headers=headers)
    if not content_type:
        request.headers.pop("content-type", None)
    return await http.send(request)


def test_every_json_route_is_covered() -> None:
    """The generated list is the contract's JSON routes (not an empty or partial list)."""
    assert len(JSON_OPERATIONS) >= 50
    assert {"POST /api/v1/auth/token", "POST /api/v1/grants"} <= {
        f"{op.method} {op.path}" for op in JSON_OPERATIONS
    }


async def test_malformed_bodies_are_a_problem_never_a_server_error(
    http: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Every JSON route × every malformed body: signed in (so past authentication), each gets
    its own 4xx problem; from an anonymous caller, a secured route says 401 first and a public
    one the same 4xx. (One test, not one per route: the app is built once.)"""
    failures: list[str] = []
    for op in JSON_OPERATIONS:
        for name, body, content_type, status, slug in MALFORMED:
            for who, auth in (("admin", admin_headers), ("anonymous", {})):
                response = await _send(http, op, body, content_type, auth)
                secured = who == "anonymous" and op.secured
                want = (401, "unauthenticated") if secured else (status, slug)
                got = (
                    response.status_code,
                    response.headers.get("content-type"),
                    response.json().get("type") if response.content else None,
                )
                if got != (want[0], PROBLEM_JSON, TYPE_PREFIX + want[1]):
                    failures.append(f"{_id(op)}: {name} as {who}: {got}")
    assert failures == []


async def test_invalid_utf8_and_deep_nesting_say_so(http: httpx.AsyncClient) -> None:
    bad_utf8 = await http.post(
        "auth/token", content=b'{"email":"\xff"}', headers={"content-type": "application/json"}
    )
    deep = await http.post(
        "auth/token",
        content=b"[" * 1000 + b"]" * 1000,
        headers={"content-type": "application/json"},
    )
    assert (bad_utf8.status_code, bad_utf8.json()["detail"]) == (
        400,
        "the body is not valid UTF-8 JSON",
    )
    assert (deep.status_code, deep.json()["detail"]) == (
        400,
        "the body is nested too deeply (at most 64 levels)",
    )


async def test_a_refused_body_writes_one_short_log_line(
    db: Database, storage_dir: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    """The refusal is logged in one line of its own, no traceback (a 16-byte request used to
    write 2.7 KB of traceback)."""
    settings = TEST_SETTINGS.model_copy(update={"storage_dir": storage_dir, "log_level": "INFO"})
    app = create_app(settings, database=db)
    capfd.readouterr()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test/api/v1/"
    ) as http:
        for body in (b'{"email":"\xff"}', b"[" * 1000 + b"]" * 1000):
            response = await http.post(
                "auth/token", content=body, headers={"content-type": "application/json"}
            )
            assert response.status_code == 400
    err = capfd.readouterr().err
    refusals = [line for line in err.splitlines() if "body_refused" in line]
    assert len(refusals) == 2
    assert all(len(line) < 300 for line in refusals)
    assert "Traceback" not in err
    assert "unhandled_exception" not in err


async def test_deeply_nested_but_allowed_body_is_decoded(http: httpx.AsyncClient) -> None:
    """64 levels are allowed: the body reaches validation (a 422 about its shape, not a 400)."""
    response = await http.post(
        "auth/token",
        content=b"[" * 64 + b"]" * 64,
        headers={"content-type": "application/json"},
    )
    assert (response.status_code, response.json()["type"]) == (
        422,
        TYPE_PREFIX + "validation-error",
    )


async def test_json_with_a_charset_or_a_json_suffix_is_accepted(http: httpx.AsyncClient) -> None:
    """A declared JSON type with parameters or a `+json` suffix passes the media-type check (the
    wrong password is then refused as such)."""
    body = msgspec.json.encode({"email": "nobody@test.example", "password": "x" * 12})
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = await http.post(
            "auth/token", content=body, headers={"content-type": content_type}
        )
        assert (response.status_code, response.json()["type"]) == (
            401,
            TYPE_PREFIX + "unauthenticated",
        )


# --- strict decoding: every integer field of every JSON body ----------------------------------


def _int_paths(info: msgspec.inspect.Type, depth: int = 0) -> list[tuple[Any, ...]]:
    """Paths (object keys, 0 for a list item, `...` for a dict value) to each integer in a
    body type, through structs, lists, dicts and optional unions."""
    if depth > 8:
        return []
    if isinstance(info, msgspec.inspect.Metadata):
        return _int_paths(info.type, depth)
    if isinstance(info, msgspec.inspect.IntType):
        return [()]
    if isinstance(info, msgspec.inspect.StructType):
        return [
            (field.encode_name, *rest)
            for field in info.fields
            for rest in _int_paths(field.type, depth + 1)
        ]
    if isinstance(info, msgspec.inspect.ListType | msgspec.inspect.SetType):
        return [(0, *rest) for rest in _int_paths(info.item_type, depth + 1)]
    if isinstance(info, msgspec.inspect.DictType):
        return [(..., *rest) for rest in _int_paths(info.value_type, depth + 1)]
    if isinstance(info, msgspec.inspect.UnionType):
        return [path for t in info.types for path in _int_paths(t, depth + 1)]
    return []


def _body_with(path: tuple[Any, ...], value: Any) -> Any:
    """The smallest JSON reaching `path`, with `value` there (msgspec reports the first wrong
    value it meets, before any missing field)."""
    if not path:
        return value
    head, *rest = path
    inner = _body_with(tuple(rest), value)
    if head == 0:
        return [inner]
    if head is ...:
        return {"USD": inner}
    return {head: inner}


def _field(path: tuple[Any, ...]) -> str:
    """The `field` the problem names: `body.tranches[0].amount`, `body.rates[...]`."""
    text = ""
    for part in path:
        text += "[0]" if part == 0 else "[...]" if part is ... else f".{part}"
    return "body" + text


INT_CASES = [
    (op, path)
    for op in JSON_OPERATIONS
    for path in _int_paths(msgspec.inspect.type_info(op.body_type))
]


def test_integer_fields_are_found() -> None:
    """Money fields of the main bodies are among the generated cases."""
    names = {(op.path.split("/")[3], path) for op, path in INT_CASES}
    assert ("grants", ("tranches", 0, "amount")) in names
    assert ("tranches", ("amount",)) in names
    assert len(INT_CASES) >= 40


async def test_integer_fields_refuse_strings_and_floats(
    http: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Every integer (money, version, year, score…) of every JSON body: `"100"`, `"1e3"`,
    `1e3`, `100.0` and `true` are refused with a 422 naming the field (msgspec's strict=False
    accepted the strings, and Litestar used it)."""
    failures: list[str] = []
    for op, path in INT_CASES:
        for value in ("100", "1e3", 1e3, 100.0, True):
            response = await http.request(
                op.method,
                http.base_url.copy_with(path=op.path),
                content=msgspec.json.encode(_body_with(path, value)),
                headers={**admin_headers, "content-type": "application/json"},
            )
            problem = response.json()
            issues = {issue["field"]: issue["message"] for issue in problem.get("errors", [])}
            message = str(issues.get(_field(path)))
            got = (response.status_code, problem.get("type"), list(issues))
            want = (422, TYPE_PREFIX + "validation-error", [_field(path)])
            if got != want or not message.startswith("Expected `int"):
                failures.append(f"{_id(op)} {_field(path)} = {value!r}: {got} {message}")
    assert failures == []


# --- the contract says what the decoder enforces ----------------------------------------------


def _bounds(prop: dict[str, Any]) -> dict[str, Any]:
    branches = [prop, *prop.get("oneOf", [])]
    keys = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")
    return {k: b[k] for b in branches for k in keys if k in b}


def test_optional_fields_keep_their_limits_in_the_contract() -> None:
    """Litestar dropped the limits of `X | UnsetType` fields and of dict keys; every integer
    field with a lower bound in a request body now carries it in the contract."""
    from service.app import openapi_document

    schemas = openapi_document()["components"]["schemas"]
    window_min = schemas["WindowUpdate"]["properties"]["min_grant"]
    requested = schemas["ProposalUpdate"]["properties"]["requested_amount"]
    assert _bounds(window_min) == {"exclusiveMinimum": 0, "maximum": 10**15}
    assert _bounds(requested) == {"minimum": 0, "maximum": 10**15}
    rates = schemas["DisbursementCreate"]["properties"]["rates"]
    assert rates["propertyNames"] == {"$ref": "#/components/schemas/Iso4217Code"}
    # a currency's default survives its enum becoming a component
    assert schemas["CallCreate"]["properties"]["currency"]["default"] == "KGS"
    assert schemas["FundingSourceCreate"]["properties"]["currency"]["default"] == "KGS"
    missing = []
    for op, path in INT_CASES:
        if len(path) != 1:
            continue
        info = msgspec.inspect.type_info(op.body_type)
        assert isinstance(info, msgspec.inspect.StructType)
        field = next(f for f in info.fields if f.encode_name == path[0])
        meta = field.type
        while isinstance(meta, msgspec.inspect.UnionType):
            meta = next(t for t in meta.types if not isinstance(t, msgspec.inspect.NoneType))
        if not isinstance(meta, msgspec.inspect.Metadata):
            continue
        assert isinstance(meta.type, msgspec.inspect.IntType)
        prop = schemas[info.cls.__name__]["properties"][path[0]]
        if meta.type.ge is not None and _bounds(prop).get("minimum") != meta.type.ge:
            missing.append(f"{info.cls.__name__}.{path[0]} minimum")
        if meta.type.gt is not None and _bounds(prop).get("exclusiveMinimum") != meta.type.gt:
            missing.append(f"{info.cls.__name__}.{path[0]} exclusiveMinimum")
    assert missing == []
