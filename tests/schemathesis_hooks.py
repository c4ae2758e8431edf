"""Schemathesis hooks for tests/service/test_schemathesis.py (loaded by `st` through
SCHEMATHESIS_HOOKS).

Each one is narrow and says why; none hides a kind of answer.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from schemathesis import Case
from schemathesis.generation.meta import CoveragePhaseData, CoverageScenario


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


METHOD_PROBES_ONLY = "GRANTS_ST_METHOD_PROBES_ONLY"
"""Set by test_options_and_405_name_exactly_the_documented_methods for its runs."""


@schemathesis.hook
def filter_case(context: schemathesis.HookContext, case: Case) -> bool:
    """The method-probe runs (METHOD_PROBES_ONLY set) send only the coverage phase's probes with
    a method the path does not document: their two checks (`unsupported_method`,
    `allow_header_conformance`) judge only the answers to those (an OPTIONS request is one of
    them; no operation of the contract is an OPTIONS). The phase's other negative cases, about
    6,000 of a run's 6,600, were sent for no check at all. Every other run sends every case."""
    if not os.environ.get(METHOD_PROBES_ONLY):
        return True
    meta = case.meta
    return (
        meta is not None
        and isinstance(meta.phase.data, CoveragePhaseData)
        and meta.phase.data.scenario == CoverageScenario.UNSPECIFIED_HTTP_METHOD
    )
