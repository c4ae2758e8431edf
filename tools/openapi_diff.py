"""Breaking changes between two OpenAPI 3.1 documents: the released baseline and the current one.

`python tools/openapi_diff.py openapi.baseline.yaml openapi.yaml` prints every breaking change
and exits 1 if there is one (CI runs it; docs/partners.md, "Versioning and deprecation").

No maintained Python OpenAPI diff tool fits (oasdiff and openapi-changes are Go binaries whose
npm packages download them at install time), so these are the rules a partner's generated client
or hand-written integration would trip over, each with a failing example in
tests/contracts/test_openapi_diff.py:

- an operation (path + method) removed, or its operationId changed (generated method names);
- a success status of an operation removed;
- a response field removed, or no longer always present (was required);
- a request field, query/path/header parameter newly required, or a request field removed
  where unknown fields are refused (`additionalProperties: false`);
- an enum value removed (request or response);
- a type changed: a request no longer accepts a type it accepted, a response may carry a type
  it did not (e.g. it became nullable).

An operation marked `deprecated: true` with `x-sunset: YYYY-MM-DD` in the baseline may be removed
or changed from that date on: its changes are reported as allowed, not breaking.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

Doc = Mapping[str, Any]
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def _resolve(doc: Doc, schema: Any) -> Any:
    seen: set[str] = set()
    while isinstance(schema, Mapping) and "$ref" in schema:
        ref = schema["$ref"]
        if ref in seen:
            break
        seen.add(ref)
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema if isinstance(schema, Mapping) else {}


def _branches(doc: Doc, schema: Any) -> Iterator[Mapping[str, Any]]:
    """The schema and, flattened, its oneOf/anyOf/allOf alternatives, $refs resolved."""
    schema = _resolve(doc, schema)
    yield schema
    for key in ("oneOf", "anyOf", "allOf"):
        for sub in schema.get(key, ()):
            yield from _branches(doc, sub)


def _types(doc: Doc, schema: Any) -> set[str]:
    found: set[str] = set()
    for branch in _branches(doc, schema):
        kind = branch.get("type")
        if isinstance(kind, str):
            found.add(kind)
        elif isinstance(kind, list):
            found.update(kind)
    return found


def _properties(doc: Doc, schema: Any) -> tuple[dict[str, Any], set[str], bool]:
    """Properties, required names and whether unknown fields are refused, over all branches."""
    props: dict[str, Any] = {}
    required: set[str] = set()
    closed = False
    for branch in _branches(doc, schema):
        props.update(branch.get("properties", {}))
        required.update(branch.get("required", ()))
        closed = closed or branch.get("additionalProperties") is False
    return props, required, closed


def _enum(doc: Doc, schema: Any) -> set[Any] | None:
    values: set[Any] = set()
    constrained = False
    for branch in _branches(doc, schema):
        if "enum" in branch:
            constrained = True
            values.update(v for v in branch["enum"] if v is not None)
        if "const" in branch:
            constrained = True
            values.add(branch["const"])
    return values if constrained else None


def _items(doc: Doc, schema: Any) -> Any:
    for branch in _branches(doc, schema):
        if "items" in branch:
            return branch["items"]
    return None


def compare_schemas(
    old_doc: Doc, old: Any, new_doc: Doc, new: Any, *, request: bool, where: str, depth: int = 0
) -> Iterator[str]:
    """Breaking differences of one schema; `request` says which way compatibility runs."""
    if depth > 12:  # recursive schemas: deep enough for any real shape
        return
    old_types, new_types = _types(old_doc, old), _types(new_doc, new)
    if old_types and new_types:
        if request and not old_types <= new_types:
            yield f"{where}: no longer accepts {sorted(old_types - new_types)}"
        if not request and not new_types <= old_types:
            yield f"{where}: may now be {sorted(new_types - old_types)}"
    old_enum, new_enum = _enum(old_doc, old), _enum(new_doc, new)
    if old_enum is not None and new_enum is not None and old_enum - new_enum:
        yield f"{where}: enum values removed {sorted(map(str, old_enum - new_enum))}"
    old_props, old_req, _ = _properties(old_doc, old)
    new_props, new_req, new_closed = _properties(new_doc, new)
    for name, old_prop in old_props.items():
        field = f"{where}.{name}"
        if name not in new_props:
            if not request:
                yield f"{field}: removed from the response"
            elif new_closed:
                yield f"{field}: removed from a request that refuses unknown fields"
            continue
        if not request and name in old_req and name not in new_req:
            yield f"{field}: no longer always present"
        yield from compare_schemas(
            old_doc,
            old_prop,
            new_doc,
            new_props[name],
            request=request,
            where=field,
            depth=depth + 1,
        )
    if request:
        for name in sorted(new_req - old_req):
            yield f"{where}.{name}: newly required"
    old_items, new_items = _items(old_doc, old), _items(new_doc, new)
    if old_items is not None and new_items is not None:
        yield from compare_schemas(
            old_doc,
            old_items,
            new_doc,
            new_items,
            request=request,
            where=f"{where}[]",
            depth=depth + 1,
        )


def _json_schema(doc: Doc, holder: Any) -> Any:
    content = _resolve(doc, holder).get("content", {})
    media = content.get("application/json") or content.get("application/problem+json")
    return media.get("schema") if media else None


def _operation_changes(old_doc: Doc, old: Doc, new_doc: Doc, new: Doc, op: str) -> Iterator[str]:
    if old.get("operationId") != new.get("operationId"):
        yield f"{op}: operationId {old.get('operationId')} -> {new.get('operationId')}"
    old_params = {
        (p["in"], p["name"]): p
        for p in map(lambda p: _resolve(old_doc, p), old.get("parameters", ()))
    }
    for p in map(lambda p: _resolve(new_doc, p), new.get("parameters", ())):
        where = f"{op} {p['in']} parameter {p['name']}"
        before = old_params.get((p["in"], p["name"]))
        if p.get("required") and not (before and before.get("required")):
            yield f"{where}: newly required"
        if before is not None:
            yield from compare_schemas(
                old_doc, before.get("schema"), new_doc, p.get("schema"), request=True, where=where
            )
    old_body, new_body = old.get("requestBody"), new.get("requestBody")
    if new_body is not None and _resolve(new_doc, new_body).get("required") and old_body is None:
        yield f"{op} request body: newly required"
    if old_body is not None and new_body is not None:
        old_schema, new_schema = _json_schema(old_doc, old_body), _json_schema(new_doc, new_body)
        if old_schema is not None and new_schema is not None:
            yield from compare_schemas(
                old_doc, old_schema, new_doc, new_schema, request=True, where=f"{op} request"
            )
    old_responses, new_responses = old.get("responses", {}), new.get("responses", {})
    for status, old_response in old_responses.items():
        if not str(status).startswith("2"):
            continue
        if status not in new_responses:
            yield f"{op}: response {status} removed"
            continue
        old_schema = _json_schema(old_doc, old_response)
        new_schema = _json_schema(new_doc, new_responses[status])
        if old_schema is not None and new_schema is not None:
            yield from compare_schemas(
                old_doc, old_schema, new_doc, new_schema, request=False, where=f"{op} {status}"
            )


def _sunset_passed(operation: Doc, today: dt.date) -> bool:
    sunset = operation.get("x-sunset")
    if not operation.get("deprecated") or sunset is None:
        return False
    return dt.date.fromisoformat(str(sunset)) <= today


def breaking_changes(old_doc: Doc, new_doc: Doc, *, today: dt.date) -> tuple[list[str], list[str]]:
    """(breaking, allowed): allowed are changes of operations deprecated past their sunset."""
    breaking: list[str] = []
    allowed: list[str] = []
    new_paths = new_doc.get("paths", {})
    for path, old_item in old_doc.get("paths", {}).items():
        for method in METHODS:
            old_op = old_item.get(method)
            if old_op is None:
                continue
            op = f"{method.upper()} {path}"
            new_op = new_paths.get(path, {}).get(method)
            found = (
                [f"{op}: removed"]
                if new_op is None
                else list(_operation_changes(old_doc, old_op, new_doc, new_op, op))
            )
            (allowed if _sunset_passed(old_op, today) else breaking).extend(found)
    return breaking, allowed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("baseline", type=Path)
    parser.add_argument("current", type=Path)
    parser.add_argument(
        "--today", type=dt.date.fromisoformat, default=dt.datetime.now(dt.UTC).date()
    )
    args = parser.parse_args(argv)
    old_doc = yaml.safe_load(args.baseline.read_text(encoding="utf-8"))
    new_doc = yaml.safe_load(args.current.read_text(encoding="utf-8"))
    breaking, allowed = breaking_changes(old_doc, new_doc, today=args.today)
    for line in allowed:
        print(f"allowed (deprecated, past its sunset): {line}")
    for line in breaking:
        print(f"BREAKING: {line}")
    if breaking:
        print(
            f"{len(breaking)} breaking change(s) against {args.baseline}; see docs/partners.md, "
            "'Versioning and deprecation'",
            file=sys.stderr,
        )
        return 1
    print(f"no breaking change against {args.baseline}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
