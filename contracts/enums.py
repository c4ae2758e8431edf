"""Enumerations shared by the API contract and the service's tables.

Values are stable strings: they are stored in the database and travel over the API.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Staff roles held through `user_role`. Applicants act through organisation membership."""

    ADMIN = "admin"
    PROGRAMME_OFFICER = "programme_officer"
    FINANCE_OFFICER = "finance_officer"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"


class Language(StrEnum):
    EN = "en"
    RU = "ru"
    KY = "ky"


class OrganisationKind(StrEnum):
    CSO = "cso"
    COMMUNITY_MEDIA = "community_media"
    YOUTH_GROUP = "youth_group"
    WOMEN_LED = "women_led_organisation"
    HUMAN_RIGHTS = "human_rights_organisation"
    INITIATIVE_GROUP = "initiative_group"


class MembershipRole(StrEnum):
    OWNER = "owner"
    MEMBER = "member"


class Pillar(StrEnum):
    """The three pillars a PCC's members come from."""

    PUBLIC_INSTITUTION = "public_institution"
    CIVIL_SOCIETY = "civil_society"
    MEDIA = "media"


class FundingSourceKind(StrEnum):
    DONOR = "donor"
    UN_AGENCY = "un_agency"
    LOCAL_GOVERNMENT = "local_government"
    PRIVATE = "private"


class ApiScope(StrEnum):
    READ_PCC = "pcc:read"
    READ_CALLS = "calls:read"
    READ_AWARDS = "awards:read"
    WRITE_REPORTS = "reports:write"
    RECEIVE_WEBHOOKS = "webhooks:receive"


class ApiKeyStatus(StrEnum):
    """Computed from a key's dates at the time of the answer, never stored."""

    ACTIVE = "active"
    """Accepted; not replaced by a successor."""
    ROTATED = "rotated"
    """Replaced by a successor (`replaced_by_id`) and still accepted until `expires_at`: the
    overlap during which a partner switches to the new key."""
    EXPIRED = "expired"
    """Past its `expires_at`: refused (401, "the API key has expired")."""
    REVOKED = "revoked"
    """Revoked (`DeleteApiKey`): refused."""


class ActionPlanStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    CLOSED = "closed"


class CallStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"
    ARCHIVED = "archived"


class ProposalStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    IN_REVIEW = "in_review"
    SCORED = "scored"
    SELECTED = "selected"
    RESERVE = "reserve"
    NOT_SELECTED = "not_selected"
    AWARDED = "awarded"
    WITHDRAWN = "withdrawn"


class AttachmentKind(StrEnum):
    REGISTRATION_CERTIFICATE = "registration_certificate"
    BUDGET = "budget"
    CV = "cv"
    WORKPLAN = "workplan"
    LETTER_OF_SUPPORT = "letter_of_support"
    REPORT = "report"
    OTHER = "other"


class AssignmentStatus(StrEnum):
    ASSIGNED = "assigned"
    DECLINED = "declined"
    COMPLETED = "completed"


class ConflictSource(StrEnum):
    DECLARED = "declared"
    DETECTED = "detected"


class ReviewStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    REOPENED = "reopened"


class Recommendation(StrEnum):
    FUND = "fund"
    FUND_WITH_CHANGES = "fund_with_changes"
    DO_NOT_FUND = "do_not_fund"


class AggregationMethod(StrEnum):
    """How a rubric combines the reviewers' scores of one criterion."""

    MEAN = "mean"
    MEDIAN = "median"
    TRIMMED_MEAN = "trimmed_mean"


class SelectionPolicy(StrEnum):
    STRICT_FUNDING_LINE = "strict_funding_line"
    RANK_WITH_SKIPPING = "rank_with_skipping"
    OPTIMAL = "optimal"


class SelectionRunStatus(StrEnum):
    PENDING = "pending"
    COMPUTED = "computed"
    APPROVED = "approved"
    FAILED = "failed"
    SUPERSEDED = "superseded"


class DecisionChangeStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class DecisionOutcome(StrEnum):
    SELECTED = "selected"
    RESERVE = "reserve"
    NOT_SELECTED = "not_selected"


class DecisionReasonCode(StrEnum):
    """What a decision's reason says when no person wrote it, for wording it in a language."""

    FUNDED = "funded"
    RESERVE = "reserve"
    MOVED_UP = "moved_up"
    NOT_FUNDED = "not_funded"
    INELIGIBLE = "ineligible"
    DECLINED = "declined"


class GrantStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    TERMINATED = "terminated"


class TrancheStatus(StrEnum):
    PLANNED = "planned"
    DUE = "due"
    APPROVED = "approved"
    DISBURSED = "disbursed"
    CANCELLED = "cancelled"


class TrancheConditionKind(StrEnum):
    AGREEMENT_SIGNED = "agreement_signed"
    PROGRESS_REPORT_ACCEPTED = "progress_report_accepted"
    FINANCIAL_REPORT_ACCEPTED = "financial_report_accepted"
    INDICATOR_REPORTED = "indicator_reported"


class LedgerEntryKind(StrEnum):
    DISBURSEMENT = "disbursement"
    REVERSAL = "reversal"


class ReportKind(StrEnum):
    PROGRESS = "progress"
    FINANCIAL = "financial"


class ReportStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"


class IdempotencyStatus(StrEnum):
    IN_FLIGHT = "in_flight"
    COMPLETED = "completed"


class TokenRestriction(StrEnum):
    """What a bearer token is limited to until its person does one thing first.

    - `enrol_second_factor`: the person holds a role that needs a second factor
      (`GRANTS_TOTP_REQUIRED_ROLES`) and has not set one up: the token reads and updates the
      account, enrols and confirms TOTP, changes the password and signs out; every other
      operation is 403 `second-factor-enrolment-required`. Confirming the enrolment lifts it.
    - `change_password`: an administrator reset the password; the token changes it (which lifts
      the restriction), reads the account and signs out; every other operation is 403
      `password-change-required`.
    """

    ENROL_SECOND_FACTOR = "enrol_second_factor"
    CHANGE_PASSWORD = "change_password"  # noqa: S105  (a restriction's name, not a secret)
