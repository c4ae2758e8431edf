"""The selection's compute step as a pure function: typed inputs in, the contract's outputs out.

No database: `compute` depends on nothing but its arguments.
"""

from __future__ import annotations

import msgspec
import pytest

from contracts.enums import SelectionPolicy
from contracts.selection import SelectionOutputs, SelectionQuotaRead, SelectionRunConfig
from scoring.selection import InfeasibleQuotas
from service.selection.compute import (
    CriterionInput,
    ProposalInput,
    RubricInput,
    ScoreInput,
    SelectionInputs,
    compute,
)

# two criteria: "q" has a threshold of 3.0 points, "g" none; the ranking score is their mean
RUBRIC = RubricInput(
    id="rubric-1",
    version=1,
    aggregation="mean",
    overall_threshold=None,
    tie_break=[],
    criteria=[
        CriterionInput(code="q", weight=500, scale_min=0, scale_max=50, scale_step=5, threshold=30),
        CriterionInput(
            code="g", weight=500, scale_min=0, scale_max=50, scale_step=5, threshold=None
        ),
    ],
)
# id, receipt, cost, (q, g): by score A 45, F 37.5 (fails q's threshold), B 35, C 32.5
PROPOSALS = [
    ("a", "PCC-2026-0001", 100, (45, 45)),
    ("f", "PCC-2026-0007", 100, (25, 50)),
    ("b", "PCC-2026-0002", 300, (40, 30)),
    ("c", "PCC-2026-0003", 100, (35, 30)),
]


def inputs() -> SelectionInputs:
    return SelectionInputs(
        rubric=RUBRIC,
        proposals=[
            ProposalInput(
                id=pid,
                cost=cost,
                organisation=f"org-{pid}",
                territory="osh",
                women_led=pid == "c",
                youth_led=False,
                receipt_number=receipt,
            )
            for pid, receipt, cost, _ in PROPOSALS
        ],
        scores=[
            ScoreInput(proposal=pid, reviewer="r1", criterion=code, value=value)
            for pid, _, _, values in PROPOSALS
            for code, value in zip(("q", "g"), values, strict=True)
        ],
        consensus=[],
    )


def strict(budget: int, **more: object) -> SelectionRunConfig:
    return SelectionRunConfig(
        policy=SelectionPolicy.STRICT_FUNDING_LINE, budget=budget, quotas=[], **more
    )


def test_one_rank_in_fields_and_reasons_failed_thresholds_hold_none() -> None:
    out = compute(inputs(), strict(300), b"seed")
    entries = {e.proposal_id: e for e in out.entries}
    assert [e.proposal_id for e in out.entries] == ["a", "f", "b", "c"]  # ranking order
    assert {pid: e.rank for pid, e in entries.items()} == {"a": 1, "f": None, "b": 2, "c": 3}
    assert entries["f"].status == "ineligible"
    assert entries["f"].passes_all is False
    for e in out.entries:
        if e.rank is not None:
            assert e.reason.startswith(f"rank {e.rank};"), e.reason


def test_reasons_name_proposals_by_receipt_number() -> None:
    out = compute(inputs(), strict(300), b"seed")
    entries = {e.proposal_id: e for e in out.entries}
    assert entries["c"].reason == (
        "rank 3; reserve 2: below the funding line, which stopped at rank 2 (PCC-2026-0002)"
    )
    assert entries["b"].receipt_number == "PCC-2026-0002"
    assert all(pid not in e.reason for e in out.entries for pid in ("(a)", "(b)", "(c)"))


def test_runs_stored_without_receipt_numbers_name_the_id() -> None:
    old = msgspec.to_builtins(inputs())
    for p in old["proposals"]:
        del p["receipt_number"]
    out = compute(msgspec.convert(old, SelectionInputs), strict(300), b"seed")
    entries = {e.proposal_id: e for e in out.entries}
    assert entries["c"].reason.endswith("which stopped at rank 2 (b)")
    assert entries["c"].receipt_number is None


def test_outputs_round_trip_through_their_stored_json() -> None:
    out = compute(inputs(), strict(300), b"seed")
    stored = msgspec.json.decode(msgspec.json.encode(out))
    assert msgspec.convert(stored, SelectionOutputs) == out
    assert out.funded_total == 100
    assert out.reserve == ["b", "c"]


def test_quotas_that_cannot_be_met_raise() -> None:
    config = SelectionRunConfig(
        policy=SelectionPolicy.OPTIMAL,
        budget=300,
        quotas=[SelectionQuotaRead(kind="min_count", group="women_led", value="2")],
    )
    with pytest.raises(InfeasibleQuotas) as caught:
        compute(inputs(), config, b"seed")
    assert caught.value.quota.describe() == "min_count women_led ≥ 2"
