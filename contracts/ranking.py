"""The programme officer's panel board (members, load, progress, reminders) and a window's
ranking board (raw and calibrated scores, per-criterion averages, flags, reliability, the
lottery's published seed hash).

Numbers that are not whole are decimal strings (digits, a point, digits; a leading minus for a
bias): scores in points (tenths / 10) to two places, alpha and statistics to four, each rounded
half to even from the exact value; clients format them per locale without going through floats.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from contracts.common import I18nText, Request
from contracts.enums import AggregationMethod, SelectionRunStatus

Points = Annotated[
    str,
    Meta(
        pattern=r"^-?\d+\.\d{2}$",
        description="Points on the criteria's scale (tenths / 10) as a decimal string, 2 places",
    ),
]
Decimal4 = Annotated[str, Meta(pattern=r"^-?\d+\.\d{4}$")]


# --- the panel board ------------------------------------------------------------------------


class PanelReviewerRead(msgspec.Struct, kw_only=True):
    """A person with the reviewer role, whether on the window's panel or not, and their load."""

    id: uuid.UUID
    full_name: str
    email: str
    member: bool
    """On the window's panel."""
    assigned: int
    """Assignments in the window that are not declined."""
    submitted: int
    """Of those, with the review submitted."""
    outstanding: int
    """Assigned and not yet submitted: the work a reminder is about."""
    conflicts: int
    """Conflicts of interest (declared or detected) with proposals of the window."""
    overdue: bool
    """Reviews outstanding after the window's review deadline."""
    last_reminded_at: datetime | None
    load_cap: int | None = None
    """The member's stored load cap (used by automatic assignment); none: no cap."""


class PanelBoardRead(msgspec.Struct, kw_only=True):
    window_id: uuid.UUID
    reviewers_per_proposal: int
    review_deadline: datetime | None
    reviewers: list[PanelReviewerRead]
    """Every active user with the reviewer role: the panel's members first, then by name."""


class ReminderCreate(Request, kw_only=True):
    reviewer_id: uuid.UUID


class ReminderRead(msgspec.Struct, kw_only=True):
    window_id: uuid.UUID
    reviewer_id: uuid.UUID
    outstanding: int
    """Reviews the reviewer still owed in the window when reminded."""
    created_at: datetime


class ReminderList(msgspec.Struct, kw_only=True):
    items: list[ReminderRead]


# --- the ranking board ----------------------------------------------------------------------


class RankingCriterion(msgspec.Struct, kw_only=True):
    code: str
    name: I18nText
    weight: Annotated[int, Meta(description="Thousandths: the weight in the ranking score's mean")]
    scale_min: Annotated[int, Meta(description="Points in tenths: 0 = 0.0")]
    scale_max: Annotated[int, Meta(description="Points in tenths: 50 = 5.0")]
    threshold: Annotated[
        int | None,
        Meta(
            description="Points in tenths, compared with the criterion's raw aggregate; null: none"
        ),
    ]
    alpha: Decimal4 | None
    """Krippendorff's alpha (interval) on this criterion; None when undefined."""


class RankingCriterionValue(msgspec.Struct, kw_only=True):
    code: str
    raw: Points | None
    """The aggregate of the reviewers' scores (or the consensus score), points."""
    calibrated: Points | None
    scores: int
    """Applicable scores it was aggregated from."""
    not_applicable: int
    consensus: bool
    passed: bool | None
    """The raw value against the criterion's threshold; None without one."""
    spread: Points | None
    """Highest minus lowest applicable score, points."""
    disagreement: bool
    """The spread reaches the board's disagreement spread."""


class RankingEntry(msgspec.Struct, kw_only=True):
    proposal_id: uuid.UUID
    title: str
    rank: Annotated[
        int | None,
        Meta(
            description=(
                "The proposal's place in the funding order: 1-based position among the proposals "
                "that pass every threshold, in this board's order; null for one that fails a "
                "threshold or has no score. A selection run's entries define it the same way."
            )
        ),
    ]
    raw_score: Points | None
    """The ranking score before calibration: the weighted mean of the criterion values."""
    calibrated_score: Points | None
    decided_by: str | None
    """Why it is ahead of the next: "score", "tie_break:<criterion>", "lottery" (drawn with the
    latest computed run's seed) or "tie" (exactly tied, no lottery drawn yet)."""
    passes_all: bool
    reviews: int
    """Submitted reviews counted (a conflicted reviewer's are left out)."""
    disagreement: bool
    criteria: list[RankingCriterionValue]


class RankingReviewer(msgspec.Struct, kw_only=True):
    reviewer_id: uuid.UUID
    full_name: str
    scores: int
    bias: Annotated[
        str,
        Meta(
            pattern=r"^-?\d+\.\d{2}$",
            description="The severity model's reviewer effect, points (positive: more lenient)",
        ),
    ]
    t_statistic: Decimal4 | None
    outlier: bool
    """|bias| / SE(bias) above the board's outlier z."""


class RankingLottery(msgspec.Struct, kw_only=True):
    run_id: uuid.UUID
    status: SelectionRunStatus
    seed_hash: str | None
    """SHA-256 of the seed, published before the draw."""
    seed: str | None
    """Revealed once the run is computed."""
    created_at: datetime


class WindowRankingRead(msgspec.Struct, kw_only=True):
    window_id: uuid.UUID
    aggregation: AggregationMethod
    calibration: Literal["z", "severity"]
    """How the calibrated scores are made: the window's setting, else the severity model."""
    ranked_by: Literal["raw", "calibrated"]
    """Which score orders the board (as selection runs do: calibrated when the window says so)."""
    tie_break: list[str]
    disagreement_spread: Points
    """A criterion's spread from which it is flagged as a disagreement."""
    outlier_z: Annotated[
        str,
        Meta(
            pattern=r"^-?\d+\.\d{2}$",
            description="|bias| / SE(bias) above which a reviewer is flagged (a z-score)",
        ),
    ]
    submitted_reviews: int
    alpha: Decimal4 | None
    """Krippendorff's alpha (interval) over every (proposal, criterion) of the window."""
    criteria: list[RankingCriterion]
    entries: list[RankingEntry]
    reviewers: list[RankingReviewer]
    lottery: RankingLottery | None
    """The latest selection run of the window, if any."""
