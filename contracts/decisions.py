"""The history of a window's decisions: every decision ever recorded on its proposals."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from contracts.enums import DecisionOutcome


class DecisionHistoryEntry(msgspec.Struct, kw_only=True):
    """One decision on a proposal: the approved run's, a confirmed change, an applicant's decline
    or a reserve proposal moving up. A later decision replaces it (`current` false)."""

    id: uuid.UUID
    proposal_id: uuid.UUID
    proposal_title: str
    receipt_number: str | None
    outcome: DecisionOutcome
    reason: str
    run_id: uuid.UUID | None
    """The selection run it comes from (null for a change or a decline)."""
    actor_id: uuid.UUID
    actor_name: str
    """Who recorded it: the approving officer, the confirming officer, or the applicant."""
    current: bool
    created_at: datetime
