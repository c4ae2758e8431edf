"""E-mail notifications: the kinds a person may receive and their choice of which to get."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.common import Request


class NotificationKind(StrEnum):
    SUBMISSION_RECEIPT = "submission_receipt"
    """To the applicant organisation's members: the proposal was submitted (receipt number)."""
    ELIGIBILITY_RESULT = "eligibility_result"
    """To the applicant organisation's members: eligible or not."""
    REVIEW_ASSIGNED = "review_assigned"
    """To a reviewer: a proposal was assigned to them."""
    REVIEW_REMINDER = "review_reminder"
    """To a reviewer whose review is not submitted, before the window's review deadline."""
    DECISION = "decision"
    """To the applicant organisation's members: selected, reserve or not selected."""
    GRANT_CREATED = "grant_created"
    TRANCHE_DUE = "tranche_due"
    TRANCHE_PAID = "tranche_paid"
    REPORT_RETURNED = "report_returned"
    """To the grantee's members: a report was returned for changes (with the comment)."""


class NotificationPreferenceRead(msgspec.Struct, kw_only=True):
    kind: NotificationKind
    enabled: bool
    """Whether e-mails of this kind are sent to the person (on unless they turned it off)."""


class NotificationPreferenceSet(Request):
    kind: NotificationKind
    enabled: bool


class NotificationPreferencesUpdate(Request):
    preferences: Annotated[list[NotificationPreferenceSet], Meta(min_length=1, max_length=20)]
    """The kinds to change; kinds not named keep their setting."""
