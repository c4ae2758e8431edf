"""tools/openapi_diff.py: each breaking-change rule has an example that it catches, and the
compatible counterpart that it lets through."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tools.openapi_diff import breaking_changes, main

TODAY = dt.date(2027, 1, 15)


def _spec() -> dict[str, Any]:
    """A small contract: one GET with a query parameter, one POST with a closed request body."""
    status = {"type": "string", "enum": ["draft", "submitted"]}
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1.0.0"},
        "paths": {
            "/things": {
                "get": {
                    "operationId": "ListThings",
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Thing"},
                                    }
                                }
                            },
                        }
                    },
                },
                "post": {
                    "operationId": "CreateThing",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ThingCreate"}
                            }
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "created",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Thing"}
                                }
                            },
                        }
                    },
                },
            }
        },
        "components": {
            "schemas": {
                "Thing": {
                    "type": "object",
                    "required": ["id", "amount", "status"],
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "amount": {"type": "integer"},
                        "status": copy.deepcopy(status),
                        "note": {"oneOf": [{"type": "string"}, {"type": "null"}]},
                    },
                },
                "ThingCreate": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["amount"],
                    "properties": {
                        "amount": {"type": "integer"},
                        "status": copy.deepcopy(status),
                        "note": {"oneOf": [{"type": "string"}, {"type": "null"}]},
                    },
                },
            }
        },
    }


def _breaking(new: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    breaking, _ = breaking_changes(old or _spec(), new, today=TODAY)
    return breaking


def test_an_unchanged_contract_has_no_breaking_change() -> None:
    assert _breaking(_spec()) == []


def test_additions_are_compatible() -> None:
    new = _spec()
    schemas = new["components"]["schemas"]
    schemas["Thing"]["properties"]["extra"] = {"type": "string"}  # a new response field
    schemas["ThingCreate"]["properties"]["extra"] = {"type": "string"}  # a new optional field
    schemas["ThingCreate"]["properties"]["status"]["enum"].append("archived")  # wider input
    new["paths"]["/other"] = {"get": {"operationId": "GetOther", "responses": {}}}
    assert _breaking(new) == []


def test_a_removed_operation_is_breaking() -> None:
    new = _spec()
    del new["paths"]["/things"]["post"]
    assert _breaking(new) == ["POST /things: removed"]


def test_a_renamed_operation_id_is_breaking() -> None:
    new = _spec()
    new["paths"]["/things"]["get"]["operationId"] = "GetThings"
    assert _breaking(new) == ["GET /things: operationId ListThings -> GetThings"]


def test_a_removed_success_status_is_breaking() -> None:
    new = _spec()
    responses = new["paths"]["/things"]["post"]["responses"]
    responses["200"] = responses.pop("201")
    assert _breaking(new) == ["POST /things: response 201 removed"]


def test_a_removed_response_field_is_breaking() -> None:
    new = _spec()
    del new["components"]["schemas"]["Thing"]["properties"]["amount"]
    assert _breaking(new) == [
        "GET /things 200[].amount: removed from the response",
        "POST /things 201.amount: removed from the response",
    ]


def test_a_response_field_no_longer_required_is_breaking() -> None:
    new = _spec()
    new["components"]["schemas"]["Thing"]["required"].remove("status")
    assert "POST /things 201.status: no longer always present" in _breaking(new)


def test_a_newly_required_request_field_is_breaking() -> None:
    new = _spec()
    new["components"]["schemas"]["ThingCreate"]["required"].append("status")
    assert _breaking(new) == ["POST /things request.status: newly required"]


def test_a_newly_required_parameter_is_breaking() -> None:
    new = _spec()
    new["paths"]["/things"]["get"]["parameters"][0]["required"] = True
    new["paths"]["/things"]["get"]["parameters"].append(
        {"name": "page", "in": "query", "required": True, "schema": {"type": "integer"}}
    )
    assert _breaking(new) == [
        "GET /things query parameter q: newly required",
        "GET /things query parameter page: newly required",
    ]


def test_a_request_field_removed_from_a_closed_body_is_breaking() -> None:
    new = _spec()
    del new["components"]["schemas"]["ThingCreate"]["properties"]["note"]
    assert _breaking(new) == [
        "POST /things request.note: removed from a request that refuses unknown fields"
    ]


def test_a_narrowed_enum_is_breaking() -> None:
    new = _spec()
    new["components"]["schemas"]["ThingCreate"]["properties"]["status"]["enum"] = ["draft"]
    assert _breaking(new) == ["POST /things request.status: enum values removed ['submitted']"]


def test_a_changed_type_is_breaking() -> None:
    new = _spec()
    schemas = new["components"]["schemas"]
    schemas["Thing"]["properties"]["amount"] = {"type": "string"}
    assert "GET /things 200[].amount: may now be ['string']" in _breaking(new)
    new = _spec()
    new["components"]["schemas"]["ThingCreate"]["properties"]["note"] = {"type": "string"}
    assert _breaking(new) == ["POST /things request.note: no longer accepts ['null']"]


def test_a_response_field_becoming_nullable_is_breaking() -> None:
    new = _spec()
    new["components"]["schemas"]["Thing"]["properties"]["amount"] = {
        "oneOf": [{"type": "integer"}, {"type": "null"}]
    }
    assert "POST /things 201.amount: may now be ['null']" in _breaking(new)


@pytest.mark.parametrize(
    ("deprecated", "sunset", "is_breaking"),
    [
        (True, "2027-01-15", False),  # deprecated, sunset reached: removal allowed
        (True, "2027-01-16", True),  # deprecated, sunset not yet reached
        (False, "2027-01-01", True),  # a sunset without deprecation does not count
        (True, None, True),  # deprecated without a sunset date
    ],
)
def test_a_deprecated_operation_may_go_after_its_sunset(
    deprecated: bool, sunset: str | None, is_breaking: bool
) -> None:
    old = _spec()
    post = old["paths"]["/things"]["post"]
    post["deprecated"] = deprecated
    if sunset is not None:
        post["x-sunset"] = sunset
    new = _spec()
    del new["paths"]["/things"]["post"]
    breaking, allowed = breaking_changes(old, new, today=TODAY)
    assert (breaking, allowed) == (
        (["POST /things: removed"], []) if is_breaking else ([], ["POST /things: removed"])
    )


def test_the_command_fails_on_a_breaking_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    baseline, current = tmp_path / "baseline.yaml", tmp_path / "current.yaml"
    baseline.write_text(yaml.safe_dump(_spec()), encoding="utf-8")
    current.write_text(yaml.safe_dump(_spec()), encoding="utf-8")
    assert main([str(baseline), str(current)]) == 0
    new = _spec()
    del new["paths"]["/things"]["get"]
    current.write_text(yaml.safe_dump(new), encoding="utf-8")
    assert main([str(baseline), str(current)]) == 1
    assert "BREAKING: GET /things: removed" in capsys.readouterr().out
