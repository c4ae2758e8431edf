"""Schemathesis hooks for tests/service/test_schemathesis.py (loaded by `st` through
SCHEMATHESIS_HOOKS).

Each one is narrow and says why; none hides a kind of answer.
"""

from __future__ import annotations

from typing import Any

import schemathesis


def _plain_integers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain_integers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_integers(v) for v in value]
    return value


@schemathesis.hook
def map_body(context: schemathesis.HookContext, body: Any) -> Any:
    """Integers are written as JSON integers. Schemathesis also spells a generated integer as a
    whole float (`2.0`), which JSON Schema counts as the same integer; the API refuses a
    fraction or an exponent in an integer field on purpose (docs/security.md, "Integers are
    written as integers"; tests/service/test_request_bodies.py proves the refusal), as the
    contract's
    `info.description` says. Every JSON encoder writes an integer as digits only."""
    return _plain_integers(body)


@schemathesis.hook
def map_query(context: schemathesis.HookContext, query: Any) -> Any:
    """A page `cursor` is opaque: only a value the API gave out (`next_cursor`) is one; a
    generated string never is (tests/service/test_resources.py pages with real ones)."""
    if isinstance(query, dict):
        query.pop("cursor", None)
    return query
