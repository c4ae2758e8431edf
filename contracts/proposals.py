"""Proposals: drafts, budget lines, attachments, submission, withdrawal, overrides."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from contracts.calls import EligibilityRead
from contracts.common import CurrencyCode, Cursor, MinorUnits, Request
from contracts.currencies import KGS
from contracts.enums import AttachmentKind, OrganisationKind, ProposalStatus

Title = Annotated[str, Meta(min_length=1, max_length=300)]
Summary = Annotated[str, Meta(max_length=5000)]
Statement = Annotated[str, Meta(max_length=5000)]
GenderMarker = Annotated[int, Meta(ge=0, le=3, description="0 none … 3 principal objective")]
TargetGroups = Annotated[
    list[Annotated[str, Meta(min_length=1, max_length=100)]], Meta(max_length=30)
]
Quantity = Annotated[
    Decimal,
    Meta(
        description="Up to 3 decimals, > 0, below 10^11; a decimal string",
        extra_json_schema={"pattern": r"^([1-9][0-9]{0,10}(\.[0-9]{1,3})?|0\.[0-9]{0,2}[1-9])$"},
    ),
]


class TimelineEntry(Request, kw_only=True):
    activity: Annotated[str, Meta(min_length=1, max_length=300)]
    start: date
    end: date


class BudgetLineCreate(Request, kw_only=True):
    category: Annotated[str, Meta(min_length=1, max_length=60)]
    description: Annotated[str, Meta(min_length=1, max_length=1000)]
    quantity: Quantity
    unit_cost: MinorUnits
    currency: CurrencyCode = KGS


class ProposalCreate(Request, kw_only=True):
    """A new draft. Only the organisation and the title are required; the rest of the draft (every
    field of `ProposalUpdate`, and the budget lines of `BudgetLinesReplace`) may be sent in the
    same call, and is validated as one: any invalid part is one 422 naming every invalid field,
    and nothing is created."""

    organisation_id: uuid.UUID
    title: Title
    summary: Summary = ""
    problem_statement: Statement | UnsetType | None = UNSET
    activities: Statement | UnsetType | None = UNSET
    requested_amount: MinorUnits | UnsetType = UNSET
    """Minor units of the window's currency (tyiyn for KGS: 100 = 1 som)."""
    co_funding_amount: MinorUnits | UnsetType = UNSET
    """Minor units of the window's currency."""
    target_groups: TargetGroups | UnsetType = UNSET
    gender_marker: GenderMarker | UnsetType | None = UNSET
    gender_justification: Statement | UnsetType | None = UNSET
    conflict_sensitivity: Statement | UnsetType | None = UNSET
    timeline: Annotated[list[TimelineEntry], Meta(max_length=100)] | UnsetType = UNSET
    action_plan_item_ids: Annotated[list[uuid.UUID], Meta(max_length=20)] | UnsetType = UNSET
    co_applicant_ids: Annotated[list[uuid.UUID], Meta(max_length=10)] | UnsetType = UNSET
    budget_lines: Annotated[list[BudgetLineCreate], Meta(max_length=200)] | UnsetType = UNSET
    """The budget, as `PUT …/budget-lines` takes it; the server computes each line's total
    (quantity × unit cost in minor units, half-even rounding)."""


class ProposalUpdate(Request, kw_only=True):
    """Autosave-friendly partial update of a draft; `version` as last read."""

    version: Annotated[int, Meta(ge=1)]
    title: Title | UnsetType = UNSET
    summary: Summary | UnsetType = UNSET
    problem_statement: Statement | UnsetType | None = UNSET
    """The problem the project addresses (why it is needed, for whom, where)."""
    activities: Statement | UnsetType | None = UNSET
    """What will be done, in words; the dated steps are `timeline`."""
    requested_amount: MinorUnits | UnsetType = UNSET
    co_funding_amount: MinorUnits | UnsetType = UNSET
    target_groups: TargetGroups | UnsetType = UNSET
    gender_marker: GenderMarker | UnsetType | None = UNSET
    gender_justification: Statement | UnsetType | None = UNSET
    conflict_sensitivity: Statement | UnsetType | None = UNSET
    timeline: Annotated[list[TimelineEntry], Meta(max_length=100)] | UnsetType = UNSET
    action_plan_item_ids: Annotated[list[uuid.UUID], Meta(max_length=20)] | UnsetType = UNSET
    co_applicant_ids: Annotated[list[uuid.UUID], Meta(max_length=10)] | UnsetType = UNSET


class BudgetLinesReplace(Request, kw_only=True):
    version: Annotated[int, Meta(ge=1)]
    lines: Annotated[list[BudgetLineCreate], Meta(max_length=200)]


class BudgetLineRead(msgspec.Struct, kw_only=True):
    position: int
    category: str
    description: str
    quantity: Decimal
    unit_cost: int
    total: int
    currency: str


class AttachmentRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    kind: AttachmentKind
    original_name: str
    content_type: str
    size_bytes: int
    sha256: str
    created_at: datetime


class ProposalRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    window_id: uuid.UUID
    call_id: uuid.UUID
    organisation_id: uuid.UUID
    organisation_name: str
    organisation_kind: OrganisationKind
    territory_id: uuid.UUID
    status: ProposalStatus
    version: int
    title: str
    summary: str
    problem_statement: str | None
    activities: str | None
    requested_amount: int
    co_funding_amount: int
    currency: str
    budget_total: int
    target_groups: list[str]
    gender_marker: int | None
    gender_justification: str | None
    conflict_sensitivity: str | None
    timeline: list[dict[str, Any]]
    action_plan_item_ids: list[uuid.UUID]
    co_applicant_ids: list[uuid.UUID]
    budget_lines: list[BudgetLineRead]
    attachments: list[AttachmentRead]
    eligibility: EligibilityRead | None
    eligibility_override: dict[str, Any] | None
    receipt_number: str | None
    submitted_at: datetime | None
    withdrawn_at: datetime | None
    created_at: datetime
    updated_at: datetime
    allowed_actions: list[str]
    """What the caller may do next (e.g. update, submit, withdraw)."""


class ProposalSummary(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    window_id: uuid.UUID
    organisation_id: uuid.UUID
    organisation_name: str
    organisation_kind: OrganisationKind
    territory_id: uuid.UUID
    status: ProposalStatus
    title: str
    requested_amount: int
    currency: str
    receipt_number: str | None
    submitted_at: datetime | None
    created_at: datetime


class ProposalPage(msgspec.Struct, kw_only=True):
    items: list[ProposalSummary]
    next_cursor: Cursor | None = None


ProposalSort = Literal[
    "created_at", "-created_at", "requested_amount", "-requested_amount", "title", "-title"
]


class ProposalSubmit(Request, kw_only=True):
    version: Annotated[int, Meta(ge=1)]


class ProposalWithdraw(Request, kw_only=True):
    version: Annotated[int, Meta(ge=1)]
    reason: Annotated[str, Meta(max_length=2000)] | None = None


class SubmissionReceipt(msgspec.Struct, kw_only=True):
    proposal: ProposalRead
    receipt_number: str
    submitted_at: datetime


class EligibilityOverride(Request, kw_only=True):
    version: Annotated[int, Meta(ge=1)]
    eligible: bool
    reason: Annotated[str, Meta(min_length=10, max_length=2000)]
