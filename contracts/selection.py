"""Selection runs, decisions and the applicant's feedback."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from contracts.common import I18nText, MinorUnits, Request
from contracts.enums import (
    DecisionChangeStatus,
    DecisionOutcome,
    SelectionPolicy,
    SelectionRunStatus,
)

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
    created_by: uuid.UUID
    """The programme officer who fixed the configuration."""
    created_by_name: str
    computed_by: uuid.UUID | None = None
    """Who ran the computation (null while pending)."""
    computed_by_name: str | None = None
    computed_at: datetime | None = None
    approved_by: uuid.UUID | None = None
    """Four eyes: a programme officer other than `created_by` and `computed_by`."""
    approved_by_name: str | None = None


class SelectionRunSummary(msgspec.Struct, kw_only=True):
    """One run in a window's list (newest first): who did what, without inputs and outputs."""

    id: uuid.UUID
    window_id: uuid.UUID
    policy: SelectionPolicy
    status: SelectionRunStatus
    seed_hash: str
    created_at: datetime
    created_by: uuid.UUID
    created_by_name: str
    computed_by: uuid.UUID | None
    computed_by_name: str | None
    computed_at: datetime | None
    approved_by: uuid.UUID | None
    approved_by_name: str | None
    approved_at: datetime | None
    budget: int | None
    """The configured budget (minor units)."""
    funded_count: int | None
    """Proposals funded by the computed run (null while pending)."""
    funded_total: int | None
    """Their total (minor units; null while pending)."""


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


class DecisionChangeTransition(Request, kw_only=True):
    """Confirming or rejecting a proposed change of decision; a rejection's reason is kept."""

    reason: Annotated[str, Meta(max_length=2000)] | None = None


class DecisionChangeRead(msgspec.Struct, kw_only=True):
    """A change of a decision after the window's selection was approved. One programme officer
    proposes it (`pending`: nothing moves yet); a second, different officer confirms it (the
    proposal moves and the decision is recorded) or any officer rejects it."""

    id: uuid.UUID
    proposal_id: uuid.UUID
    proposal_title: str
    window_id: uuid.UUID
    from_status: str
    """The proposal's status when the change was proposed; confirming needs it unchanged."""
    outcome: DecisionOutcome
    reason: str
    status: DecisionChangeStatus
    requested_by: uuid.UUID
    requested_by_name: str
    requested_at: datetime
    confirmed_by: uuid.UUID | None = None
    """The second officer who confirmed it (never `requested_by`)."""
    confirmed_by_name: str | None = None
    rejected_by: uuid.UUID | None = None
    rejected_by_name: str | None = None
    rejection_reason: str | None = None
    decided_at: datetime | None = None
    """When it was confirmed or rejected."""
    decision_id: uuid.UUID | None = None
    """The decision recorded on confirmation."""


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


FEEDBACK_NOT_PUBLISHED = "urn:pcc-grants:problem:feedback-not-published"
"""The problem type of GET /proposals/{id}/feedback (409) for an applicant before the window's
feedback is published."""


class FeedbackPublicationRead(msgspec.Struct, kw_only=True):
    """Whether the window's applicants read their feedback yet, and what publishing needs."""

    window_id: uuid.UUID
    published_at: datetime | None
    """None until a programme officer publishes (POST /windows/{id}/feedback-publication)."""
    published_by: uuid.UUID | None
    published_by_name: str | None
    approved_run_id: uuid.UUID | None
    """The window's approved selection run; publishing needs one."""
    pending_decision_changes: int
    """Changes of decision awaiting a second officer; publishing waits until none is pending."""
    proposals: int
    """Decided proposals of the window whose applicants read the feedback once published."""


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
