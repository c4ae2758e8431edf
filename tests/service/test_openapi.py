"""The committed contract equals what the app generates; every route is named and covered."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from contracts.client import GrantsClient
from service.app import openapi_document, openapi_yaml

ROOT = Path(__file__).resolve().parents[2]
VERB_NOUN = re.compile(r"^(Get|List|Create|Update|Delete|Replay|Approve|Submit)[A-Z][A-Za-z]+$")


def _operations(doc: dict[str, Any]) -> dict[str, str]:
    ops = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            ops[op["operationId"]] = f"{method.upper()} {path}"
    return ops


def test_openapi_yaml_matches_the_app() -> None:
    committed = (ROOT / "openapi.yaml").read_text(encoding="utf-8")
    generated = openapi_yaml()
    assert committed == generated, "openapi.yaml is stale: run `grants openapi -o openapi.yaml`"


def test_every_operation_id_is_verb_noun() -> None:
    ops = _operations(openapi_document())
    bad = sorted(op for op in ops if not VERB_NOUN.match(op))
    assert bad == []


def test_every_operation_has_a_client_method() -> None:
    ops = _operations(openapi_document())
    snake = {re.sub(r"(?<!^)([A-Z])", r"_\1", op).lower(): op for op in ops}
    missing = sorted(op for name, op in snake.items() if not hasattr(GrantsClient, name))
    assert missing == []


def test_request_bodies_forbid_unknown_fields() -> None:
    doc = openapi_document()
    schemas = doc["components"]["schemas"]
    for item in doc["paths"].values():
        for op in item.values():
            body = op.get("requestBody")
            if not body:
                continue
            if "multipart/form-data" in body["content"]:
                continue  # a file upload: form fields, not a JSON object
            ref = body["content"]["application/json"]["schema"]["$ref"]
            name = ref.rsplit("/", 1)[1]
            assert schemas[name].get("additionalProperties") is False, name


def test_problem_responses_are_documented() -> None:
    doc = openapi_document()
    for path, item in doc["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, op in item.items():
            assert "422" in op["responses"], f"{method} {path}"
            content = op["responses"]["422"]["content"]
            assert list(content) == ["application/problem+json"], f"{method} {path}"
