"""From stored inputs to stored outputs: the deterministic core of a selection run.

`compute(inputs, config, seed)` depends on nothing but its arguments (and the numeric libraries'
versions, which the run records), so `replay` recomputes a run and must get identical outputs.
"""

from __future__ import annotations

import importlib.metadata
import platform
from fractions import Fraction
from typing import Any

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
    InfeasibleQuotas,
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


def _fraction(value: Any) -> Fraction:
    return Fraction(str(value))


def _rubric(data: dict[str, Any]) -> Rubric:
    return Rubric(
        criteria=tuple(
            Criterion(
                code=c["code"],
                weight=c["weight"],
                scale_min=c["scale_min"],
                scale_max=c["scale_max"],
                scale_step=c["scale_step"],
                threshold=c["threshold"],
            )
            for c in data["criteria"]
        ),
        overall_threshold=data["overall_threshold"],
        tie_break=tuple(data["tie_break"]),
    )


def compute(inputs: dict[str, Any], config: dict[str, Any], seed: bytes) -> dict[str, Any]:
    """Aggregate, calibrate (if asked), rank and select. JSON in, JSON out."""
    rubric = _rubric(inputs["rubric"])
    scores = [
        Score(
            proposal=s["proposal"],
            reviewer=s["reviewer"],
            criterion=s["criterion"],
            value=s["value"],
        )
        for s in inputs["scores"]
    ]
    consensus = {(c["proposal"], c["criterion"]): c["value"] for c in inputs["consensus"]}
    method = Method(inputs["rubric"]["aggregation"])
    proposals = {p["id"]: p for p in inputs["proposals"]}
    raw = aggregate_proposals(rubric, scores, method, consensus, proposals=list(proposals))
    calibration = config.get("calibration", "none")
    fit = severity_model(scores, rubric) if len({s.reviewer for s in scores}) > 1 else None
    used = raw
    if calibration == "z":
        calibrated = z_calibrate(scores, rubric).scores
        used = aggregate_proposals(
            rubric, calibrated, method, consensus, proposals=list(proposals), require_steps=False
        )
    elif calibration == "severity" and fit is not None:
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
            cost=p["cost"],
            score=used[pid].overall or Fraction(0),
            priority=priority[pid],
            organisation=p["organisation"],
            territory=p["territory"],
            women_led=p["women_led"],
            youth_led=p["youth_led"],
            eligible=used[pid].passes_all,
        )
        for pid, p in sorted(proposals.items())
    ]
    selection_config = SelectionConfig(
        policy=Policy(config["policy"]),
        budget=config["budget"],
        quotas=tuple(quota_from_json(q) for q in config.get("quotas", [])),
        partial_funding_floor_pct=config.get("partial_funding_floor_pct"),
        reserve_size=config.get("reserve_size"),
        currency=inputs.get("currency", "KGS"),
    )
    try:
        result = select(candidates, selection_config)
    except InfeasibleQuotas as exc:
        return {
            "error": {
                "kind": "infeasible_quotas",
                "quota": exc.quota.describe(),
                "diagnosis": exc.diagnosis,
            }
        }
    outcomes = {o.id: o for o in result.outcomes}
    entries = []
    for r in ranked:
        agg = used[r.proposal]
        o = outcomes[r.proposal]
        entries.append(
            {
                "proposal_id": r.proposal,
                "rank": r.rank,
                "score": None if r.score is None else str(r.score),
                "raw_score": None
                if raw[r.proposal].overall is None
                else str(raw[r.proposal].overall),
                "decided_by": r.decided_by,
                "ticket": r.ticket,
                "status": o.status,
                "amount": o.amount,
                "reason": o.reason,
                "passes_all": agg.passes_all,
                "criteria": [
                    {
                        "code": c.code,
                        "value": None if c.value is None else str(c.value),
                        "threshold": c.threshold,
                        "passed": c.passed,
                        "consensus": c.consensus,
                    }
                    for c in agg.criteria
                ],
            }
        )
    alpha = krippendorff_alpha(scores) if scores else None
    return {
        "funded_total": result.funded_total,
        "objective": str(result.objective),
        "reserve": list(result.reserve),
        "entries": entries,
        "quota_checks": [
            {
                "quota": q.quota.describe(selection_config.currency),
                "required": q.required,
                "achieved": q.achieved,
                "met": q.met,
                "detail": q.detail,
            }
            for q in result.quota_checks
        ],
        "notes": list(result.notes),
        "flags": {
            "disagreements": [
                {"proposal_id": d.proposal, "criterion": d.criterion, "spread": d.spread}
                for d in disagreement_flags(scores, DISAGREEMENT_SPREAD)
            ],
            "outlier_reviewers": sorted(outlier_reviewers(fit)) if fit is not None else [],
            "alpha": None if alpha is None else round(alpha, 6),
            "alpha_by_criterion": {
                code: None if (a := krippendorff_alpha(scores, code)) is None else round(a, 6)
                for code in rubric.codes
            }
            if scores
            else {},
        },
    }
