"""From stored inputs to stored outputs: the deterministic core of a selection run.

`compute(inputs, config, seed)` depends on nothing but its arguments (and the numeric libraries'
versions, which the run records), so `replay` recomputes a run and must get identical outputs.
The inputs are :class:`SelectionInputs` (stored as JSON with the run), the configuration and the
outputs the contract's :class:`~contracts.selection.SelectionRunConfig` and
:class:`~contracts.selection.SelectionOutputs`; quotas that cannot all be met raise
:class:`~scoring.selection.InfeasibleQuotas`.
"""

from __future__ import annotations

import importlib.metadata
import platform
from collections.abc import Iterable
from fractions import Fraction
from typing import Protocol

import msgspec

from contracts import selection as c
from scoring.aggregation import (
    Criterion,
    Method,
    Rubric,
    Score,
    aggregate_proposals,
    disagreement_flags,
    krippendorff_alpha,
    outlier_reviewers,
    severity_model,
    z_calibrate,
)
from scoring.ranking import rank
from scoring.selection import (
    Candidate,
    Policy,
    SelectionConfig,
    quota_from_json,
    select,
)

DISAGREEMENT_SPREAD = 20  # tenths: reviewers 2 points apart on a criterion are flagged


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in ("numpy", "scipy", "krippendorff", "pcc-grants"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


class CriterionInput(msgspec.Struct, kw_only=True):
    code: str
    weight: int
    """Thousandths."""
    scale_min: int
    scale_max: int
    scale_step: int
    threshold: int | None
    """Tenths of a point, like the scale."""


class RubricInput(msgspec.Struct, kw_only=True):
    id: str
    version: int
    aggregation: str
    overall_threshold: int | None
    """Tenths of a point, compared with the weighted mean of the criterion values."""
    tie_break: list[str]
    criteria: list[CriterionInput]


class ProposalInput(msgspec.Struct, kw_only=True):
    id: str
    cost: int
    """The requested amount, minor units."""
    organisation: str
    territory: str
    women_led: bool
    youth_led: bool
    receipt_number: str | None = None
    """How reasons name the proposal; absent from runs stored before it was recorded."""


class ScoreInput(msgspec.Struct, kw_only=True):
    proposal: str
    reviewer: str
    criterion: str
    value: int | None
    """Tenths; None: not applicable."""


class ConsensusInput(msgspec.Struct, kw_only=True):
    proposal: str
    criterion: str
    value: int


class SelectionInputs(msgspec.Struct, kw_only=True):
    """Everything a computation reads, stored with the run (JSON) for replay."""

    rubric: RubricInput
    proposals: list[ProposalInput]
    scores: list[ScoreInput]
    consensus: list[ConsensusInput]
    currency: str = "KGS"


class CriterionLike(Protocol):
    """A rubric's criterion as stored (the table's row) or as recorded with a run."""

    @property
    def code(self) -> str: ...
    @property
    def weight(self) -> int: ...
    @property
    def scale_min(self) -> int: ...
    @property
    def scale_max(self) -> int: ...
    @property
    def scale_step(self) -> int: ...
    @property
    def threshold(self) -> int | None: ...


def scoring_rubric(
    criteria: Iterable[CriterionLike], overall_threshold: int | None, tie_break: Iterable[str]
) -> Rubric:
    """The scoring library's rubric of these criteria (in order)."""
    return Rubric(
        criteria=tuple(
            Criterion(
                code=x.code,
                weight=x.weight,
                scale_min=x.scale_min,
                scale_max=x.scale_max,
                scale_step=x.scale_step,
                threshold=x.threshold,
            )
            for x in criteria
        ),
        overall_threshold=overall_threshold,
        tie_break=tuple(tie_break),
    )


def _rubric(data: RubricInput) -> Rubric:
    return scoring_rubric(data.criteria, data.overall_threshold, data.tie_break)


def _exact(value: Fraction | None) -> str | None:
    return None if value is None else str(value)


def compute(
    inputs: SelectionInputs, config: c.SelectionRunConfig, seed: bytes
) -> c.SelectionOutputs:
    """Aggregate, calibrate (if asked), rank and select.

    Raises :class:`~scoring.selection.InfeasibleQuotas` when the quotas cannot all be met."""
    rubric = _rubric(inputs.rubric)
    scores = [
        Score(proposal=s.proposal, reviewer=s.reviewer, criterion=s.criterion, value=s.value)
        for s in inputs.scores
    ]
    consensus = {(x.proposal, x.criterion): x.value for x in inputs.consensus}
    method = Method(inputs.rubric.aggregation)
    proposals = {p.id: p for p in inputs.proposals}
    raw = aggregate_proposals(rubric, scores, method, consensus, proposals=list(proposals))
    fit = severity_model(scores, rubric) if len({s.reviewer for s in scores}) > 1 else None
    used = raw
    if config.calibration == "z":
        calibrated = z_calibrate(scores, rubric).scores
        used = aggregate_proposals(
            rubric, calibrated, method, consensus, proposals=list(proposals), require_steps=False
        )
    elif config.calibration == "severity" and fit is not None:
        used = aggregate_proposals(
            rubric,
            fit.calibrated,
            method,
            consensus,
            proposals=list(proposals),
            require_steps=False,
        )
    ranked = rank(used, rubric, seed)
    priority = {r.proposal: n for n, r in enumerate(ranked)}
    candidates = [
        Candidate(
            id=pid,
            cost=p.cost,
            score=used[pid].overall or Fraction(0),
            priority=priority[pid],
            organisation=p.organisation,
            territory=p.territory,
            women_led=p.women_led,
            youth_led=p.youth_led,
            eligible=used[pid].passes_all,
            name=p.receipt_number,
        )
        for pid, p in sorted(proposals.items())
    ]
    selection_config = SelectionConfig(
        policy=Policy(config.policy.value),
        budget=config.budget,
        quotas=tuple(quota_from_json(msgspec.to_builtins(q)) for q in config.quotas),
        partial_funding_floor_pct=config.partial_funding_floor_pct,
        reserve_size=config.reserve_size,
        currency=inputs.currency,
    )
    result = select(candidates, selection_config)
    outcomes = {o.id: o for o in result.outcomes}
    entries = []
    for r in ranked:
        agg = used[r.proposal]
        o = outcomes[r.proposal]
        entries.append(
            c.SelectionEntry(
                proposal_id=r.proposal,
                receipt_number=proposals[r.proposal].receipt_number,
                rank=o.rank,
                score=_exact(r.score),
                raw_score=_exact(raw[r.proposal].overall),
                decided_by=r.decided_by,
                ticket=r.ticket,
                status=o.status,
                amount=o.amount,
                reason=o.reason,
                passes_all=agg.passes_all,
                criteria=[
                    c.SelectionCriterionResult(
                        code=x.code,
                        value=_exact(x.value),
                        threshold=x.threshold,
                        passed=x.passed,
                        consensus=x.consensus,
                    )
                    for x in agg.criteria
                ],
            )
        )
    alpha = krippendorff_alpha(scores) if scores else None
    return c.SelectionOutputs(
        funded_total=result.funded_total,
        objective=str(result.objective),
        reserve=list(result.reserve),
        entries=entries,
        quota_checks=[
            c.SelectionQuotaCheck(
                quota=q.quota.describe(selection_config.currency),
                required=q.required,
                achieved=q.achieved,
                met=q.met,
                detail=q.detail,
            )
            for q in result.quota_checks
        ],
        notes=list(result.notes),
        flags=c.SelectionFlags(
            disagreements=[
                c.SelectionDisagreement(
                    proposal_id=d.proposal, criterion=d.criterion, spread=d.spread
                )
                for d in disagreement_flags(scores, DISAGREEMENT_SPREAD)
            ],
            outlier_reviewers=sorted(outlier_reviewers(fit)) if fit is not None else [],
            alpha=None if alpha is None else round(alpha, 6),
            alpha_by_criterion={
                code: None if (a := krippendorff_alpha(scores, code)) is None else round(a, 6)
                for code in rubric.codes
            }
            if scores
            else {},
        ),
    )
