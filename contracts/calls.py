"""Calls for proposals, their funding windows, rule sets and the eligibility check."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from contracts.common import (
    Code,
    CurrencyCode,
    Cursor,
    I18nText,
    MinorUnits,
    PositiveMinorUnits,
    Request,
)
from contracts.currencies import KGS
from contracts.enums import AttachmentKind, CallStatus, OrganisationKind, SelectionPolicy
from contracts.selection import QuotaInput

AwareDatetime = Annotated[
    datetime, Meta(tz=True, description="With a UTC offset, e.g. 2026-03-01T09:00:00+06:00")
]
Rate = Annotated[
    Decimal,
    Meta(
        description="Units of the call currency per unit of the source currency: > 0, below "
        "10^10, a decimal string",
        extra_json_schema={"pattern": r"^([1-9][0-9]{0,9}(\.[0-9]{1,8})?|0\.[0-9]{0,7}[1-9])$"},
    ),
]
Reason = Annotated[str, Meta(min_length=3, max_length=2000)]
RuleJson = Annotated[
    list[dict[str, Any]],
    Meta(max_length=100, description="Eligibility rules (see docs/eligibility.md)"),
]


class ContributionCreate(Request, kw_only=True):
    funding_source_id: uuid.UUID
    amount: PositiveMinorUnits
    """In the funding source's currency."""
    rate: Rate = Decimal(1)


class ContributionRead(msgspec.Struct, kw_only=True):
    funding_source_id: uuid.UUID
    funding_source_name: str
    amount: int
    currency: str
    rate: Decimal
    amount_in_call_currency: int
    allocated: int
    """Allocated to the call's windows, in the call currency."""


class CallCreate(Request, kw_only=True):
    title: I18nText
    description: I18nText
    currency: CurrencyCode = KGS
    contributions: Annotated[list[ContributionCreate], Meta(max_length=20)] = []


class CallUpdate(Request, kw_only=True):
    version: Annotated[int, Meta(ge=1)]
    title: I18nText | UnsetType = UNSET
    description: I18nText | UnsetType = UNSET
    contributions: Annotated[list[ContributionCreate], Meta(max_length=20)] | UnsetType = UNSET


class CallTransition(Request, kw_only=True):
    version: Annotated[int, Meta(ge=1)]
    status: CallStatus


class AllocationCreate(Request, kw_only=True):
    funding_source_id: uuid.UUID
    amount: MinorUnits
    """In the call currency."""


class AllocationRead(msgspec.Struct, kw_only=True):
    funding_source_id: uuid.UUID
    amount: int


class RuleSetRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    key: str
    version: int
    rules: list[dict[str, Any]]
    created_at: datetime


class WindowCreate(Request, kw_only=True):
    code: Code
    title: I18nText
    description: I18nText | None = None
    opens_at: AwareDatetime
    closes_at: AwareDatetime
    min_grant: PositiveMinorUnits
    max_grant: PositiveMinorUnits
    allocations: Annotated[list[AllocationCreate], Meta(max_length=20)] = []
    territory_ids: Annotated[list[uuid.UUID], Meta(max_length=50)] = []
    action_plan_item_ids: Annotated[list[uuid.UUID], Meta(max_length=500)] = []
    rules: RuleJson = []
    blind_review: bool = False
    reviewers_per_proposal: Annotated[int, Meta(ge=1, le=10)] = 2
    review_deadline: AwareDatetime | None = None
    """When the panel's reviews are due; after the window closes."""
    avoid_same_territory_reviewers: bool = False
    reviewers_see_panel_scores: bool = False
    """Whether a reviewer, once their own review is submitted, may read the panel's scores of
    the proposal (other reviewers never named)."""
    selection_policy: SelectionPolicy | None = None
    quotas: Annotated[list[QuotaInput], Meta(max_length=50)] = []
    calibration: Literal["none", "z", "severity"] = "none"
    """Reviewer calibration applied by selection runs (shown beside the raw scores anyway)."""
    partial_funding_floor_pct: Annotated[int, Meta(ge=1, le=100)] | None = None


class WindowUpdate(Request, kw_only=True):
    """Changes to a window. Once the call is published only the texts change freely; the rules
    are changed with PUT …/rules (a new version)."""

    version: Annotated[int, Meta(ge=1)]
    title: I18nText | UnsetType = UNSET
    description: I18nText | UnsetType | None = UNSET
    opens_at: AwareDatetime | UnsetType = UNSET
    closes_at: AwareDatetime | UnsetType = UNSET
    min_grant: PositiveMinorUnits | UnsetType = UNSET
    max_grant: PositiveMinorUnits | UnsetType = UNSET
    allocations: Annotated[list[AllocationCreate], Meta(max_length=20)] | UnsetType = UNSET
    territory_ids: Annotated[list[uuid.UUID], Meta(max_length=50)] | UnsetType = UNSET
    action_plan_item_ids: Annotated[list[uuid.UUID], Meta(max_length=500)] | UnsetType = UNSET
    blind_review: bool | UnsetType = UNSET
    reviewers_per_proposal: Annotated[int, Meta(ge=1, le=10)] | UnsetType = UNSET
    review_deadline: AwareDatetime | UnsetType | None = UNSET
    avoid_same_territory_reviewers: bool | UnsetType = UNSET
    reviewers_see_panel_scores: bool | UnsetType = UNSET
    selection_policy: SelectionPolicy | UnsetType | None = UNSET
    quotas: Annotated[list[QuotaInput], Meta(max_length=50)] | UnsetType = UNSET


class RulesReplace(Request, kw_only=True):
    version: Annotated[int, Meta(ge=1)]
    """The window's version."""
    rules: RuleJson


class WindowRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    call_id: uuid.UUID
    code: str
    position: int
    title: I18nText
    description: I18nText | None
    opens_at: datetime
    closes_at: datetime
    is_open: bool
    currency: str
    min_grant: int
    max_grant: int
    envelope: int
    allocations: list[AllocationRead]
    territory_ids: list[uuid.UUID]
    action_plan_item_ids: list[uuid.UUID]
    rule_set: RuleSetRead | None
    rubric_id: uuid.UUID | None = None
    """The window's current rubric (GET /rubrics/{id}); none until one is set."""
    blind_review: bool
    reviewers_per_proposal: int
    review_deadline: datetime | None = None
    avoid_same_territory_reviewers: bool
    reviewers_see_panel_scores: bool = False
    selection_policy: SelectionPolicy | None
    quotas: list[dict[str, Any]]
    status: CallStatus
    version: int
    feedback_published_at: datetime | None = None
    """When a programme officer published the feedback to the window's applicants (POST
    /windows/{id}/feedback-publication); until then applicants are told it is not published."""
    feedback_published_by: uuid.UUID | None = None


class CallRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    title: I18nText
    description: I18nText
    currency: str
    status: CallStatus
    contributions: list[ContributionRead]
    windows: list[WindowRead]
    version: int
    created_at: datetime
    published_at: datetime | None


class CallPage(msgspec.Struct, kw_only=True):
    items: list[CallRead]
    next_cursor: Cursor | None = None


CallFilter = Literal["open", "draft", "published", "closed", "archived"]


# --- eligibility ------------------------------------------------------------------------------


class BudgetLineAnswer(Request, kw_only=True):
    currency: CurrencyCode
    total: MinorUnits


class EligibilityAnswers(Request, kw_only=True):
    """Raw answers, for a pre-check before (or without) a draft. Unknown answers may be left out:
    the rules that need them then say "needs information"."""

    organisation_kind: OrganisationKind | None = None
    territory_id: uuid.UUID | None = None
    founded_year: Annotated[int, Meta(ge=1900, le=2100)] | None = None
    women_led: bool | None = None
    youth_led: bool | None = None
    requested_amount: MinorUnits | None = None
    co_funding_amount: MinorUnits | None = None
    action_plan_item_ids: Annotated[list[uuid.UUID], Meta(max_length=100)] | None = None
    attachment_kinds: Annotated[list[AttachmentKind], Meta(max_length=20)] | None = None
    active_grants: Annotated[int, Meta(ge=0)] | None = None
    budget_lines: Annotated[list[BudgetLineAnswer], Meta(max_length=200)] | None = None


class EligibilityCheck(Request, kw_only=True):
    """Either a draft proposal of yours, or raw answers."""

    proposal_id: uuid.UUID | None = None
    answers: EligibilityAnswers | None = None


class RuleVerdictRead(msgspec.Struct, kw_only=True):
    rule_id: str
    kind: str
    verdict: str
    reason: I18nText
    children: list[RuleVerdictRead] = []


class EligibilityRead(msgspec.Struct, kw_only=True):
    verdict: str
    """pass, fail or needs_information"""
    rule_set_id: uuid.UUID | None
    rule_set_version: int | None
    results: list[RuleVerdictRead]
    failed_rule_ids: list[str]
