"""Grantee reports: progress and financial reports tied to a grant's tranches, their expenditure,
the indicators they report on, their attachments, and the programme officer's decision."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from contracts.common import CurrencyCode, Cursor, I18nText, LongText, MinorUnits, Request
from contracts.currencies import KGS
from contracts.enums import ReportKind, ReportStatus
from contracts.proposals import AttachmentRead

R = ReportStatus
REPORT_TRANSITIONS: Mapping[ReportStatus, frozenset[ReportStatus]] = {
    R.DRAFT: frozenset({R.SUBMITTED}),
    R.SUBMITTED: frozenset({R.ACCEPTED, R.RETURNED}),
    R.RETURNED: frozenset({R.SUBMITTED}),
    R.ACCEPTED: frozenset(),
}
"""The report lifecycle: a returned report is corrected and submitted again; accepted is final."""

EDITABLE_REPORT_STATUSES: frozenset[ReportStatus] = frozenset({R.DRAFT, R.RETURNED})
"""The grantee edits, uploads to and submits a report only in these states."""

IndicatorNumber = Annotated[
    Decimal,
    Meta(
        description="A decimal number sent as a string, at most 4 decimals, below 10^14",
        examples=["12.5"],
        extra_json_schema={"pattern": r"^-?[0-9]{1,14}(\.[0-9]{1,4})?$"},
    ),
]
Note = Annotated[str, Meta(max_length=2000)]
ReviewComment = Annotated[str, Meta(min_length=3, max_length=5000)]


class ExpenditureLine(Request, kw_only=True):
    """Money spent, in integer minor units of the grant's currency. `budget_line_id` optionally
    names the line of the proposal's budget it was spent on (then `category` must be that
    line's category)."""

    category: Annotated[str, Meta(min_length=1, max_length=60)]
    description: Annotated[str, Meta(min_length=1, max_length=1000)]
    amount: MinorUnits
    currency: CurrencyCode = KGS
    budget_line_id: uuid.UUID | None = None


class IndicatorValueInput(Request, kw_only=True):
    """The value reached for one indicator of an action-plan item the grant's tranches pay for."""

    indicator_id: uuid.UUID
    value: IndicatorNumber
    note: Note | None = None


Expenditure = Annotated[list[ExpenditureLine], Meta(max_length=200)]
Indicators = Annotated[list[IndicatorValueInput], Meta(max_length=100)]


class ReportCreate(Request, kw_only=True):
    kind: ReportKind
    tranche_id: uuid.UUID | None = None
    narrative: LongText | None = None
    expenditure: Expenditure = msgspec.field(default_factory=list)
    indicators: Indicators = msgspec.field(default_factory=list)


class ReportUpdate(Request, kw_only=True):
    """Partial update of a draft or returned report; `version` as last read. `expenditure` and
    `indicators`, when sent, replace the report's lines and values as a whole."""

    version: Annotated[int, Meta(ge=1)]
    tranche_id: uuid.UUID | UnsetType | None = UNSET
    narrative: LongText | UnsetType | None = UNSET
    expenditure: Expenditure | UnsetType = UNSET
    indicators: Indicators | UnsetType = UNSET


class ReportSubmit(Request, kw_only=True):
    version: Annotated[int, Meta(ge=1)]


ReportOutcome = Literal["accept", "return"]


class ReportDecisionCreate(Request, kw_only=True):
    """A programme officer accepts a submitted report or returns it for correction (a comment
    of at least 3 characters is then required)."""

    version: Annotated[int, Meta(ge=1)]
    outcome: ReportOutcome
    comment: ReviewComment | None = None


class ExpenditureLineRead(msgspec.Struct, kw_only=True):
    position: int
    category: str
    description: str
    amount: int
    currency: str
    budget_line_id: uuid.UUID | None


class CategoryTotalRead(msgspec.Struct, kw_only=True):
    """One budget category: what the proposal's budget planned and what this report spent."""

    category: str
    budgeted: int
    reported: int
    remaining: int
    """`budgeted - reported`; negative when the report spent more than planned."""
    currency: str


class IndicatorValueRead(msgspec.Struct, kw_only=True):
    """The reported value ("actual") next to the indicator's baseline and target."""

    indicator_id: uuid.UUID
    action_plan_item_id: uuid.UUID
    name: I18nText
    unit: str
    baseline: Decimal | None
    target: Decimal
    value: Decimal
    note: str | None


class ReportRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    grant_id: uuid.UUID
    organisation_id: uuid.UUID
    tranche_id: uuid.UUID | None
    kind: ReportKind
    status: ReportStatus
    narrative: str | None
    currency: str
    expenditure: list[ExpenditureLineRead]
    expenditure_total: int
    budget_comparison: list[CategoryTotalRead]
    indicators: list[IndicatorValueRead]
    attachments: list[AttachmentRead]
    review_comment: str | None
    submitted_at: datetime | None
    decided_at: datetime | None
    decided_by: uuid.UUID | None
    version: int
    created_by: uuid.UUID
    created_at: datetime
    allowed_actions: list[str]
    """What the caller may do next: update, upload, submit, decide."""


class ReportSummary(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    grant_id: uuid.UUID
    tranche_id: uuid.UUID | None
    kind: ReportKind
    status: ReportStatus
    currency: str
    expenditure_total: int
    submitted_at: datetime | None
    decided_at: datetime | None
    version: int
    created_at: datetime


class ReportPage(msgspec.Struct, kw_only=True):
    items: list[ReportSummary]
    next_cursor: Cursor | None = None


class ReportQueueItem(msgspec.Struct, kw_only=True):
    """One submitted (or already decided) report in the programme staff's queue, with what it
    is about: the grant, its organisation and territory (hence PCC), the tranche it unlocks."""

    id: uuid.UUID
    kind: ReportKind
    status: ReportStatus
    grant_id: uuid.UUID
    agreement_reference: str | None
    proposal_title: str
    organisation_id: uuid.UUID
    organisation_name: str
    territory_id: uuid.UUID
    pcc_id: uuid.UUID | None
    grant_start: date
    grant_end: date
    tranche_id: uuid.UUID | None
    tranche_position: int | None
    tranche_planned_date: date | None
    currency: str
    expenditure_total: int
    submitted_at: datetime
    decided_at: datetime | None
    version: int


class ReportQueuePage(msgspec.Struct, kw_only=True):
    items: list[ReportQueueItem]
    next_cursor: Cursor | None = None
