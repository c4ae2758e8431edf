"""Selection runs, decisions and the applicant's feedback."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from contracts.common import I18nText, MinorUnits, Request
from contracts.enums import DecisionOutcome, SelectionPolicy, SelectionRunStatus

QuotaKindName = Literal[
    "min_share_money",
    "min_share_count",
    "min_count",
    "max_count",
    "min_money",
    "max_money",
    "max_per_organisation",
]


class QuotaInput(Request, kw_only=True):
    kind: QuotaKindName
    group: Annotated[str, Meta(pattern=r"^(women_led|youth_led|any|territory:[a-z0-9-]+)$")]
    value: Annotated[str, Meta(pattern=r"^\d+(\.\d+)?$", max_length=20)]
    """A share as a decimal fraction ("0.3" = 30%), or a whole count / amount in minor units."""


class SelectionRunCreate(Request, kw_only=True):
    policy: SelectionPolicy | None = None
    """Default: the window's policy, else the exact optimum."""
    budget: MinorUnits | None = None
    """Default: the window's envelope."""
    quotas: Annotated[list[QuotaInput], Meta(max_length=30)] | None = None
    """Default: the window's quotas."""
    partial_funding_floor_pct: Annotated[int, Meta(ge=1, le=100)] | None = None
    reserve_size: Annotated[int, Meta(ge=0, le=1000)] | None = None
    calibration: Literal["none", "z", "severity"] | None = None
    """Default: the window's calibration setting (`{"method": "z"}`), else none."""


class SelectionEntry(msgspec.Struct, kw_only=True):
    proposal_id: str
    rank: int | None
    score: str | None
    """Ranking score in tenths, exact (a fraction as a decimal string or "n/d")."""
    raw_score: str | None
    decided_by: str | None
    ticket: str
    status: str
    amount: int
    reason: str
    passes_all: bool
    criteria: list[dict[str, Any]]


class SelectionRunRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    window_id: uuid.UUID
    policy: SelectionPolicy
    status: SelectionRunStatus
    seed_hash: str
    """Published before the draw."""
    seed: str | None
    """Revealed once the run is computed."""
    config: dict[str, Any]
    outputs: dict[str, Any] | None
    library_versions: dict[str, str]
    created_at: datetime
    approved_at: datetime | None


class SelectionRunTransition(Request, kw_only=True):
    reason: Annotated[str, Meta(max_length=2000)] | None = None


class ReplayRead(msgspec.Struct, kw_only=True):
    identical: bool
    outputs: dict[str, Any] | None


class DecisionCreate(Request, kw_only=True):
    outcome: DecisionOutcome
    reason: Annotated[str, Meta(min_length=10, max_length=2000)]


class DecisionRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    proposal_id: uuid.UUID
    outcome: DecisionOutcome
    reason: str
    run_id: uuid.UUID | None
    created_at: datetime


class DeclineCreate(Request, kw_only=True):
    reason: Annotated[str, Meta(max_length=2000)] | None = None


class FeedbackCriterion(msgspec.Struct, kw_only=True):
    """One criterion's panel score. `value`, `threshold` and the scale are in tenths of a point
    (`value` exact: a decimal string or a fraction "n/d")."""

    code: str
    name: str
    """In English; `title` has every language."""
    value: str | None
    threshold: int | None
    passed: bool | None
    title: I18nText | None = None
    scale_min: int | None = None
    scale_max: int | None = None


class FeedbackDecision(msgspec.Struct, kw_only=True):
    """The proposal's current decision as the applicant sees it (never who recorded it)."""

    outcome: DecisionOutcome
    reason: str
    decided_at: datetime


class FeedbackRead(msgspec.Struct, kw_only=True):
    proposal_id: uuid.UUID
    status: str
    criteria: list[FeedbackCriterion]
    score: str | None
    passes_all: bool | None
    rank_band: str | None
    comments: list[str]
    """The panel's comments, never with reviewer names."""
    decision: FeedbackDecision | None = None
    """Present once the proposal is decided (selected, reserve, not selected, awarded)."""
