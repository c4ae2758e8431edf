"""The rule tree and the facts it judges: the verdicts, the facts of an application and of a
window, one immutable dataclass per rule kind, and the vocabularies the rules name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import ClassVar, Final, TypeAlias

MAX_DEPTH: Final = 5
"""Levels of rules: the top-level list is level 1, the rules inside an all/any there level 2…"""
MAX_RULES: Final = 100
"""Rules in a set, all/any and the rules nested in them included."""

LANGUAGES: Final = ("en", "ru", "ky")

# The vocabularies below mirror contracts.enums (OrganisationKind, AttachmentKind), which scoring
# may not import: a change to either enum must be made here too.
ORGANISATION_KIND_NAMES: Final[Mapping[str, tuple[str, str, str]]] = {
    "cso": (
        "civil-society organisation",
        "организация гражданского общества",
        "жарандык коом уюму",
    ),
    "community_media": ("community media", "местное СМИ", "жергиликтүү ЖМК"),
    "youth_group": ("youth group", "молодёжная группа", "жаштар тобу"),
    "women_led_organisation": (
        "women-led organisation",
        "организация под руководством женщин",
        "аялдар жетектеген уюм",
    ),
    "human_rights_organisation": (
        "human-rights organisation",
        "правозащитная организация",
        "укук коргоо уюму",
    ),
    "initiative_group": ("initiative group", "инициативная группа", "демилгелүү топ"),
}

ATTACHMENT_KIND_NAMES: Final[Mapping[str, tuple[str, str, str]]] = {
    "registration_certificate": (
        "registration certificate",
        "свидетельство о регистрации",
        "каттоо күбөлүгү",
    ),
    "budget": ("budget", "бюджет", "бюджет"),
    "cv": ("CV", "резюме", "резюме"),
    "workplan": ("work plan", "рабочий план", "иш планы"),
    "letter_of_support": ("letter of support", "письмо поддержки", "колдоо каты"),
    "report": ("report", "отчёт", "отчет"),
    "other": ("other document", "другой документ", "башка документ"),
}


# --- verdicts and facts -----------------------------------------------------------------------


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105  (a verdict, not a password)
    FAIL = "fail"
    NEEDS_INFORMATION = "needs_information"


class LeadershipFlag(StrEnum):
    WOMEN_LED = "women_led"
    YOUTH_LED = "youth_led"


class LedByMode(StrEnum):
    REQUIRED = "required"
    """At least one of the flags must be true."""
    QUOTA = "quota"
    """Always passes; the reason says whether the organisation counts toward the quota."""


@dataclass(frozen=True)
class BudgetLineFacts:
    currency: str
    """ISO 4217 code."""
    total: int
    """Minor units."""


@dataclass(frozen=True)
class ApplicationFacts:
    """What is known of an application. ``None`` is unknown: rules that need it say so."""

    organisation_kind: str | None = None
    territory: str | None = None
    founded_year: int | None = None
    women_led: bool | None = None
    youth_led: bool | None = None
    requested_amount: int | None = None
    co_funding_amount: int | None = None
    action_plan_items: frozenset[str] | None = None
    attachment_kinds: frozenset[str] | None = None
    active_grants: int | None = None
    budget_lines: tuple[BudgetLineFacts, ...] | None = None


@dataclass(frozen=True)
class WindowFacts:
    currency: str
    min_grant: int
    max_grant: int
    territories: frozenset[str]
    territory_names: Mapping[str, Mapping[str, str]] = field(hash=False)
    """Territory code → {"en", "ru", "ky"} name; a missing name falls back to the code."""
    action_plan_items: frozenset[str]


# --- the rule tree ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganisationKindIn:
    id: str
    kinds: tuple[str, ...]
    kind: ClassVar[str] = "organisation_kind_in"


@dataclass(frozen=True)
class TerritoryInWindow:
    id: str
    kind: ClassVar[str] = "territory_in_window"


@dataclass(frozen=True)
class MinYearsSinceFounding:
    id: str
    years: int
    kind: ClassVar[str] = "min_years_since_founding"


@dataclass(frozen=True)
class RequestedAmountWithinWindow:
    id: str
    kind: ClassVar[str] = "requested_amount_within_window"


@dataclass(frozen=True)
class MinCoFundingShare:
    id: str
    percent: Fraction
    kind: ClassVar[str] = "min_co_funding_share"


@dataclass(frozen=True)
class LedBy:
    id: str
    flags: tuple[LeadershipFlag, ...]
    mode: LedByMode
    kind: ClassVar[str] = "led_by"


@dataclass(frozen=True)
class LinkedToEligibleItem:
    id: str
    min_items: int
    """JSON ``min``."""
    kind: ClassVar[str] = "linked_to_eligible_item"


@dataclass(frozen=True)
class AttachmentsPresent:
    id: str
    kinds: tuple[str, ...]
    kind: ClassVar[str] = "attachments_present"


@dataclass(frozen=True)
class MaxActiveGrants:
    id: str
    max_grants: int
    """JSON ``max``."""
    kind: ClassVar[str] = "max_active_grants"


@dataclass(frozen=True)
class BudgetLinesConsistent:
    id: str
    kind: ClassVar[str] = "budget_lines_consistent"


@dataclass(frozen=True)
class AllOf:
    id: str
    rules: tuple[Rule, ...]
    kind: ClassVar[str] = "all"


@dataclass(frozen=True)
class AnyOf:
    id: str
    rules: tuple[Rule, ...]
    kind: ClassVar[str] = "any"


Rule: TypeAlias = (
    OrganisationKindIn
    | TerritoryInWindow
    | MinYearsSinceFounding
    | RequestedAmountWithinWindow
    | MinCoFundingShare
    | LedBy
    | LinkedToEligibleItem
    | AttachmentsPresent
    | MaxActiveGrants
    | BudgetLinesConsistent
    | AllOf
    | AnyOf
)


@dataclass(frozen=True)
class RuleSet:
    """The rules of a window; the top level combines with ALL. Build it with :func:`parse_rules`."""

    rules: tuple[Rule, ...]
