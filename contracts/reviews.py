"""Rubrics, panels, assignments, conflicts of interest and reviews."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from contracts.common import Code, I18nText, Request
from contracts.enums import (
    AggregationMethod,
    AssignmentStatus,
    ConflictSource,
    Recommendation,
    ReviewStatus,
)

Tenths = Annotated[int, Meta(ge=0, le=1000, description="Points in tenths: 35 = 3.5")]
CriterionThreshold = Annotated[
    int,
    Meta(
        ge=0,
        le=1000,
        description=(
            "Points in tenths (35 = 3.5) on the criterion's scale, compared with the criterion's "
            "aggregate (the rubric's mean, median or trimmed mean of the reviewers' scores, or "
            "the panel's consensus score): below it, the proposal fails the threshold and is "
            "never funded."
        ),
    ),
]
OverallThreshold = Annotated[
    int,
    Meta(
        ge=0,
        le=1000,
        description=(
            "Points in tenths (35 = 3.5), compared with the ranking score: the weighted mean "
            "(by `weight`) of the criterion aggregates, on the criteria's scale. Below it, the "
            "proposal fails the threshold and is never funded."
        ),
    ),
]
Weight = Annotated[
    int,
    Meta(
        gt=0,
        le=1_000_000,
        description=(
            "Thousandths (250 = 0.25): the criterion's weight in the ranking score's weighted "
            "mean, relative to the other criteria's weights (they need not sum to 1000)."
        ),
    ),
]
Comment = Annotated[str, Meta(max_length=5000)]
Reason = Annotated[str, Meta(min_length=10, max_length=2000)]


class CriterionCreate(Request, kw_only=True):
    code: Code
    name: I18nText
    guidance: I18nText | None = None
    weight: Weight
    scale_min: Tenths = 0
    scale_max: Tenths = 50
    scale_step: Annotated[
        int, Meta(gt=0, le=1000, description="Points in tenths between two allowed scores: 5 = 0.5")
    ] = 5
    threshold: CriterionThreshold | None = None
    na_allowed: bool = True
    """Whether a reviewer may mark the criterion not applicable (a null score). True by default,
    as before the setting existed; a rubric that wants every criterion scored says false."""


class RubricCreate(Request, kw_only=True):
    """A new rubric version for the window (the window's `version` as last read)."""

    version: Annotated[int, Meta(ge=1)]
    name: I18nText
    criteria: Annotated[list[CriterionCreate], Meta(min_length=1, max_length=30)]
    overall_threshold: OverallThreshold | None = None
    tie_break: Annotated[list[Code], Meta(max_length=30)] = []
    aggregation: AggregationMethod = AggregationMethod.MEAN


class CriterionRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    position: int
    name: I18nText
    guidance: I18nText | None
    weight: Weight
    scale_min: Tenths
    scale_max: Tenths
    scale_step: Annotated[int, Meta(description="Points in tenths between two allowed scores")]
    threshold: CriterionThreshold | None
    na_allowed: bool = True


class RubricRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    key: str
    version: int
    name: I18nText
    criteria: list[CriterionRead]
    overall_threshold: OverallThreshold | None
    tie_break: list[str]
    aggregation: AggregationMethod
    created_at: datetime


LoadCap = Annotated[int, Meta(ge=0, le=1000)]


class ReviewerCap(Request, kw_only=True):
    """A reviewer's load cap: at most `cap` assignments among the window's proposals."""

    reviewer_id: uuid.UUID
    cap: LoadCap


ReviewerCaps = Annotated[list[ReviewerCap], Meta(max_length=100)]
"""Load caps, one entry per reviewer (a reviewer named twice is refused, 422)."""


class PanelReplace(Request, kw_only=True):
    reviewer_ids: Annotated[list[uuid.UUID], Meta(max_length=100)]
    caps: ReviewerCaps | None = None
    """Load caps of members (at most this many assignments in the window). None (or left out):
    the members who stay keep their stored caps; a list replaces them all (a member not named
    has no cap). Caps of non-members are refused."""


class PanelRead(msgspec.Struct, kw_only=True):
    window_id: uuid.UUID
    reviewer_ids: list[uuid.UUID]
    caps: list[ReviewerCap] = []
    """The members' stored load caps, by reviewer id (members without a cap are not named)."""


class AutoAssign(Request, kw_only=True):
    seed: Annotated[str, Meta(min_length=1, max_length=200)]
    cap: Annotated[int, Meta(ge=1, le=1000)] | None = None
    caps: ReviewerCaps = []
    """Load caps per reviewer (at most this many assignments among the window's proposals under
    review, those it already has included); a reviewer named here is held to its own cap, the
    others to the cap stored on their panel membership (PUT …/panel), else to `cap`."""


class AssignmentCreate(Request, kw_only=True):
    reviewer_id: uuid.UUID


MAX_ASSIGNMENT_BATCH = 500
"""The most reviewer–proposal pairs one `CreateAssignmentBatch` call takes."""


class AssignmentPair(Request, kw_only=True):
    """One explicit assignment of a batch: this reviewer reviews this proposal."""

    proposal_id: uuid.UUID
    reviewer_id: uuid.UUID


class AssignmentBatchCreate(Request, kw_only=True):
    """Explicit assignments of a window's proposals, all or nothing: each pair is checked as
    `CreateAssignment` checks it, and one refused pair refuses the batch (the problem's `errors`
    name it by index, `body.items[n]…`)."""

    items: Annotated[
        list[AssignmentPair],
        Meta(
            min_length=1,
            max_length=MAX_ASSIGNMENT_BATCH,
            description=f"1 to {MAX_ASSIGNMENT_BATCH} pairs, each at most once",
        ),
    ]


class AssignmentRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    proposal_id: uuid.UUID
    reviewer_id: uuid.UUID
    status: AssignmentStatus
    proposal_title: str
    window_id: uuid.UUID
    review_status: ReviewStatus | None
    created_at: datetime
    receipt_number: str | None = None
    """The proposal's receipt code (never the organisation: windows may be blind)."""
    call_id: uuid.UUID | None = None
    call_title: I18nText | None = None
    window_title: I18nText | None = None
    blind: bool = False
    review_deadline: datetime | None = None
    """When the window's reviews are due (none when the window sets no deadline)."""
    no_conflict_declared_at: datetime | None = None
    """When the reviewer declared no conflict of interest; the proposal is shown only after."""


class AssignmentList(msgspec.Struct, kw_only=True):
    items: list[AssignmentRead]
    short: dict[str, int] = {}
    """After an automatic assignment: proposals that lack reviewers → how many."""


class ConflictCreate(Request, kw_only=True):
    reason: Reason


class ConflictRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    proposal_id: uuid.UUID
    reviewer_id: uuid.UUID
    source: ConflictSource
    reason: str
    created_at: datetime


class ConflictList(msgspec.Struct, kw_only=True):
    items: list[ConflictRead]


class CriterionScoreInput(Request, kw_only=True):
    criterion: Code
    value: Tenths | None
    """None: not applicable (left out of every aggregate, never counted as 0)."""
    comment: Comment | None = None


class ReviewSave(Request, kw_only=True):
    version: Annotated[int, Meta(ge=0)] = 0
    """The review's version as last read (0 for the first save)."""
    scores: Annotated[list[CriterionScoreInput], Meta(max_length=30)] = []
    comment: Comment | None = None
    recommendation: Recommendation | None = None
    submit: bool = False
    """True: save and submit in one call (what `CreateReviewSubmission` checks is checked on the
    saved scores, e.g. every criterion scored or marked not applicable); when anything is
    refused, nothing is saved either."""


class ReviewSubmit(Request, kw_only=True):
    version: Annotated[int, Meta(ge=1)]


class ReviewReopen(Request, kw_only=True):
    version: Annotated[int, Meta(ge=1)]
    reason: Reason


class CriterionScoreRead(msgspec.Struct, kw_only=True):
    criterion: str
    value: int | None
    comment: str | None


class ReviewRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    assignment_id: uuid.UUID
    reviewer_id: uuid.UUID | None
    """Hidden from those who may not know who reviewed."""
    status: ReviewStatus
    recommendation: Recommendation | None
    comment: str | None
    scores: list[CriterionScoreRead]
    submitted_at: datetime | None
    version: int


class ReviewList(msgspec.Struct, kw_only=True):
    items: list[ReviewRead]


class ReviewerProposalView(msgspec.Struct, kw_only=True):
    """What a reviewer reads. In a blind window: no organisation, no people, no file names."""

    id: uuid.UUID
    window_id: uuid.UUID
    blind: bool
    title: str
    summary: str
    requested_amount: int
    currency: str
    target_groups: list[str]
    gender_marker: int | None
    gender_justification: str | None
    conflict_sensitivity: str | None
    timeline: list[dict[str, Any]]
    budget_lines: list[dict[str, Any]]
    action_plan_item_ids: list[uuid.UUID]
    attachments: list[dict[str, Any]]
    organisation_name: str | None
    organisation_id: uuid.UUID | None
    rubric: RubricRead | None


class ConsensusCreate(Request, kw_only=True):
    """The panel's agreed score on a criterion; it overrides the aggregate of the reviews."""

    criterion: Code
    value: Tenths
    reason: Reason


class ConsensusRead(msgspec.Struct, kw_only=True):
    proposal_id: uuid.UUID
    criterion: str
    value: int
    reason: str
    created_at: datetime
