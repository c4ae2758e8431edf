"""Selection runs, decisions and the applicant's feedback."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from contracts.common import I18nText, Request
from contracts.enums import (
    DecisionChangeStatus,
    DecisionOutcome,
    DecisionReasonCode,
    SelectionPolicy,
    SelectionRunStatus,
)

_EXACT = 'exact, written as an integer ("375") or a reduced fraction "n/d" ("751/2" = 375.5)'


def _d(text: str) -> Meta:
    return Meta(description=text)


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
    value: Annotated[
        str,
        Meta(
            pattern=r"^\d+(\.\d+)?$",
            max_length=20,
            description=(
                'For min_share_money a decimal fraction of the budget ("0.3" = 30%), for '
                "min_share_count of the number of funded awards; for min_money/max_money "
                "integer minor units of the window's currency; for the other kinds a whole "
                "number of awards."
            ),
        ),
    ]


class SelectionRunCreate(Request, kw_only=True):
    policy: SelectionPolicy | None = None
    """Default: the window's policy, else the exact optimum."""
    budget: (
        Annotated[
            int,
            Meta(
                ge=0,
                le=10**15,
                description="Integer minor units of the window's currency; default: its envelope.",
            ),
        ]
        | None
    ) = None
    quotas: Annotated[list[QuotaInput], Meta(max_length=30)] | None = None
    """Default: the window's quotas."""
    partial_funding_floor_pct: (
        Annotated[
            int,
            Meta(
                ge=1,
                le=100,
                description=(
                    "Percent of the request (1–100) an award may be cut down to, rounded up to a "
                    "whole minor unit; default: the window's setting (none: full requests only)."
                ),
            ),
        ]
        | None
    ) = None
    reserve_size: (
        Annotated[
            int,
            Meta(
                ge=0,
                le=1000,
                description="Proposals on the reserve list; default: every one that could be.",
            ),
        ]
        | None
    ) = None
    calibration: (
        Annotated[
            Literal["none", "z", "severity"],
            Meta(
                description=(
                    "How reviewer scores are calibrated before ranking; default: the window's "
                    "setting, else none."
                )
            ),
        ]
        | None
    ) = None


SelectionOutcome = Literal["funded", "reserve", "not_funded", "ineligible"]

RANK_DESCRIPTION = (
    "The proposal's place in the funding order: 1-based position among the proposals that "
    "passed every threshold (eligible for funding), ordered by ranking score, then the rubric's "
    "tie-break criteria, then the lottery ticket. Null for a proposal that failed a threshold or "
    "has no ranking score: it is listed at its score's place but holds no rank and is never "
    'funded. The reasons\' "rank N" is this number.'
)


class SelectionCriterionResult(msgspec.Struct, kw_only=True):
    """One criterion of one proposal in a selection run's result."""

    code: Annotated[str, _d("The rubric criterion's code.")]
    value: Annotated[
        str | None,
        _d(
            "The criterion's aggregate over the submitted reviews (or the recorded consensus "
            f"score), in tenths of a point on the criterion's scale; {_EXACT}. Null when no "
            "reviewer gave an applicable score."
        ),
    ]
    threshold: Annotated[
        int | None,
        _d(
            "The criterion's threshold in tenths of a point on the criterion's scale "
            "(35 = 3.5), compared with `value`; null: no threshold."
        ),
    ]
    passed: Annotated[
        bool | None,
        _d("`value` ≥ `threshold`; null when there is no threshold or no value."),
    ]
    consensus: Annotated[
        bool, _d("`value` is a consensus score recorded by the panel, not the aggregate.")
    ]


class SelectionEntry(msgspec.Struct, kw_only=True):
    """One proposal of the window in a selection run's result, in ranking order."""

    proposal_id: Annotated[str, _d("The proposal's id (a UUID).")]
    receipt_number: Annotated[
        str | None,
        _d(
            "The proposal's receipt number, as the reasons name proposals; null in runs "
            "computed before receipt numbers were recorded with the inputs."
        ),
    ] = None
    rank: Annotated[int | None, _d(RANK_DESCRIPTION)]
    score: Annotated[
        str | None,
        _d(
            "The ranking score used: the weighted mean (weights in thousandths) of the criterion "
            "values, in tenths of a point on the criteria's scale (375 = 37.5 points), after "
            f"calibration when the run calibrates; {_EXACT}. Null: no score."
        ),
    ]
    raw_score: Annotated[
        str | None,
        _d(f"The ranking score before calibration, same unit as `score`; {_EXACT}."),
    ]
    decided_by: Annotated[
        str | None,
        _d(
            'Why this proposal is ahead of the next one in ranking order: "score", '
            '"tie_break:<criterion code>" (equal scores, higher on that tie-break criterion) or '
            '"lottery" (equal on all, lower ticket); null for the last.'
        ),
    ]
    ticket: Annotated[
        str,
        _d(
            "The lottery ticket: HMAC-SHA256 of the proposal id keyed with the run's seed, hex; "
            "lower wins an exact tie."
        ),
    ]
    status: Annotated[
        SelectionOutcome,
        _d(
            "funded, reserve (on the reserve list), not_funded, or ineligible (failed a "
            "threshold or has no score: never considered for funding)."
        ),
    ]
    amount: Annotated[
        int,
        _d(
            "Amount awarded in integer minor units of the window's currency (0 unless funded; "
            "below the request when partial funding cut it)."
        ),
    ]
    reason: Annotated[
        str,
        _d(
            "Why the proposal has this status, in English, naming ranks (`rank`) and proposals "
            "by receipt number and money with the currency's ISO 4217 code."
        ),
    ]
    passes_all: Annotated[
        bool,
        _d(
            "It has a ranking score, no criterion threshold failed and the rubric's overall "
            "threshold (if any) did not fail."
        ),
    ]
    criteria: list[SelectionCriterionResult]


class SelectionQuotaCheck(msgspec.Struct, kw_only=True):
    """How one configured quota stands in the result."""

    quota: Annotated[
        str,
        _d('The quota as the engine names it, e.g. "min_share_count women_led ≥ 30%".'),
    ]
    required: Annotated[
        int,
        _d(
            "The bound in the quota's own unit: a number of awards (count kinds, "
            "max_per_organisation) or integer minor units (money kinds); a share is the count or "
            "money it comes to, rounded up."
        ),
    ]
    achieved: Annotated[
        int,
        _d(
            "What the result reaches, in the same unit as `required`; for max_per_organisation "
            "the most awards any one organisation of the group has."
        ),
    ]
    met: bool
    detail: Annotated[str, _d("The figures in words (English).")]


class SelectionDisagreement(msgspec.Struct, kw_only=True):
    proposal_id: str
    criterion: Annotated[str, _d("The criterion's code.")]
    spread: Annotated[
        int,
        _d(
            "Highest minus lowest applicable score of the reviewers on this criterion, in "
            "tenths of a point (flagged from 20 = 2 points)."
        ),
    ]


class SelectionFlags(msgspec.Struct, kw_only=True):
    disagreements: list[SelectionDisagreement]
    outlier_reviewers: Annotated[
        list[str],
        _d("Ids of reviewers whose severity bias is significant (|bias| / SE > 2), sorted."),
    ]
    alpha: Annotated[
        float | None,
        _d(
            "Krippendorff's alpha (interval level, reviewers as coders) over every (proposal, "
            "criterion) pair, a number ≤ 1 rounded to 6 places; null when undefined."
        ),
    ]
    alpha_by_criterion: Annotated[
        dict[str, float | None],
        _d("Krippendorff's alpha per criterion code, as `alpha`."),
    ]


class SelectionOutputs(msgspec.Struct, kw_only=True):
    """A computed run's result: deterministic from its inputs, configuration and seed."""

    funded_total: Annotated[int, _d("Sum of the awarded amounts, integer minor units.")]
    objective: Annotated[
        str,
        _d(
            "The total ranking score of the funded proposals (what the optimal policy "
            f"maximises), tenths of a point; {_EXACT}."
        ),
    ]
    reserve: Annotated[list[str], _d("Proposal ids of the reserve list, in order.")]
    entries: Annotated[list[SelectionEntry], _d("Every proposal of the run, in ranking order.")]
    quota_checks: Annotated[
        list[SelectionQuotaCheck], _d("One per configured quota, in the configuration's order.")
    ]
    notes: Annotated[
        list[str],
        _d("Facts about the whole result, e.g. a minimum quota a rank-order policy left unmet."),
    ]
    flags: SelectionFlags


class SelectionQuotaRead(msgspec.Struct, kw_only=True):
    kind: QuotaKindName
    group: Annotated[
        str, _d("women_led, youth_led, any, or territory:<code> (the organisation's territory).")
    ]
    value: Annotated[
        str,
        _d(
            'For min_share_money a decimal fraction of the budget ("0.3" = 30%), for '
            "min_share_count of the number of funded awards; for min_money/max_money integer "
            "minor units; for the other kinds a whole number of awards."
        ),
    ]


class SelectionRunConfig(msgspec.Struct, kw_only=True):
    """The configuration fixed when the run was created."""

    policy: SelectionPolicy
    budget: Annotated[int, _d("The budget the selection fits in, integer minor units.")]
    quotas: list[SelectionQuotaRead]
    partial_funding_floor_pct: Annotated[
        int | None,
        _d(
            "Percent (1–100): an award may be cut down to this share of the request, rounded up "
            "to a whole minor unit; null: every award is the full request."
        ),
    ] = None
    reserve_size: Annotated[
        int | None,
        _d("How many unfunded proposals make the reserve list; null: every one that could be."),
    ] = None
    calibration: Annotated[
        Literal["none", "z", "severity"],
        _d(
            "How reviewer scores were calibrated before ranking: none, z (per-reviewer "
            "z-scores back onto the scale) or severity (a fitted reviewer-bias model)."
        ),
    ] = "none"


class SelectionRunRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    window_id: uuid.UUID
    policy: SelectionPolicy
    status: SelectionRunStatus
    seed_hash: Annotated[str, _d("SHA-256 of the lottery seed, hex: published before the draw.")]
    seed: Annotated[str | None, _d("The lottery seed (hex), revealed once the run is computed.")]
    config: SelectionRunConfig
    outputs: SelectionOutputs | None
    library_versions: Annotated[
        dict[str, str],
        _d("Versions of Python and the numeric libraries the run was computed with, by name."),
    ]
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
    budget: Annotated[
        int | None, _d("The configured budget, integer minor units of the window's currency.")
    ]
    funded_count: Annotated[
        int | None, _d("Proposals funded by the computed run (null while pending).")
    ]
    funded_total: Annotated[
        int | None, _d("Their total, integer minor units (null while pending).")
    ]


class SelectionRunTransition(Request, kw_only=True):
    reason: Annotated[str, Meta(max_length=2000)] | None = None


class ReplayRead(msgspec.Struct, kw_only=True):
    identical: Annotated[
        bool,
        _d("The outputs computed again equal the stored ones (as canonical JSON)."),
    ]
    outputs: Annotated[
        SelectionOutputs | None, _d("The outputs computed again from the stored inputs and seed.")
    ]


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
    """One criterion's panel score. `value`, `threshold` and the scale are in tenths of a point."""

    code: str
    name: str
    """In English; `title` has every language."""
    value: Annotated[
        str | None,
        _d(f"The panel's score on the criterion, tenths of a point on its scale; {_EXACT}."),
    ]
    threshold: Annotated[
        int | None, _d("The criterion's threshold, tenths of a point (35 = 3.5); null: none.")
    ]
    passed: Annotated[bool | None, _d("`value` ≥ `threshold`; null without one.")]
    title: I18nText | None = None
    scale_min: Annotated[int | None, _d("Lowest score of the scale, tenths of a point.")] = None
    scale_max: Annotated[int | None, _d("Highest score of the scale, tenths of a point.")] = None


class FeedbackDecision(msgspec.Struct, kw_only=True):
    """The proposal's current decision as the applicant sees it (never who recorded it)."""

    outcome: DecisionOutcome
    reason: Annotated[
        str,
        _d(
            "As recorded: the selection engine's explanation (English) when a run decided, a "
            "person's words (in their language) otherwise."
        ),
    ]
    decided_at: datetime
    reason_code: Annotated[
        DecisionReasonCode | None,
        _d(
            "What the reason says when no person wrote it, to word it in the reader's language: "
            "funded (with `funded_amount`), reserve and moved_up (with `reserve_place`), "
            "not_funded, ineligible (by the selection run), declined (by the applicant, without "
            "words). Null: `reason` is a person's words."
        ),
    ] = None
    reserve_place: Annotated[
        int | None, _d("The place on the run's reserve list (reserve, moved_up).")
    ] = None
    funded_amount: Annotated[
        int | None, _d("The amount the run awarded, integer minor units of `currency` (funded).")
    ] = None
    currency: Annotated[str | None, _d("ISO 4217 code of `funded_amount`.")] = None


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
    score: Annotated[
        str | None,
        _d(
            "The ranking score of the approved run: the weighted mean of the criterion values, "
            f"tenths of a point on the criteria's scale; {_EXACT}."
        ),
    ]
    passes_all: bool | None
    rank_band: Annotated[
        str | None,
        _d(
            "The quarter of the approved run's ranks (`rank` of a selection entry) the proposal "
            'falls in: "top quarter", "second quarter", "third quarter", "bottom '
            'quarter"; null without a rank (it failed a threshold) or before a run is approved.'
        ),
    ]
    comments: list[str]
    """The panel's comments, never with reviewer names."""
    decision: FeedbackDecision | None = None
    """Present once the proposal is decided (selected, reserve, not selected, awarded)."""
