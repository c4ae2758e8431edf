"""Eligibility rules: validate a window's rule set and judge an application against it.

The rule set is stored as JSON (a list of rules, combined with ALL). :func:`parse_rules` validates
it, naming every problem with its JSON path, and builds an immutable rule tree;
:func:`rules_to_json` writes the canonical stored form back. :func:`evaluate` judges the facts
of an application against the facts of a window on a given date and gives, for every rule, a
verdict (pass, fail, needs information) with a reason in English, Russian and Kyrgyz.

Pure: no I/O, no clock (the date is an argument), no floats — money is integer minor units and
shares are exact fractions. Numbers in reasons are written one way in every language (money as
``95,000.00 KGS``, shares as ``12.5%``); localising them further is the edge's concern.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from fractions import Fraction
from typing import ClassVar, Final, TypeAlias, assert_never

__all__ = [
    "MAX_DEPTH",
    "MAX_RULES",
    "AllOf",
    "AnyOf",
    "ApplicationFacts",
    "AttachmentsPresent",
    "BudgetLineFacts",
    "BudgetLinesConsistent",
    "Evaluation",
    "LeadershipFlag",
    "LedBy",
    "LedByMode",
    "LinkedToEligibleItem",
    "MaxActiveGrants",
    "MinCoFundingShare",
    "MinYearsSinceFounding",
    "OrganisationKindIn",
    "RequestedAmountWithinWindow",
    "Rule",
    "RuleResult",
    "RuleSet",
    "RuleSetError",
    "TerritoryInWindow",
    "Verdict",
    "WindowFacts",
    "evaluate",
    "format_money",
    "parse_rules",
    "rules_to_json",
]

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


# --- the stored form: validation ----------------------------------------------------------------


class RuleSetError(ValueError):
    """A stored rule set is not valid; ``problems`` lists every problem as (JSON path, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))


_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_PERCENT_PATTERN: Final = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_PERCENT_MAX_PLACES: Final = 4


class _Parser:
    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []
        self.first_path_of_id: dict[str, str] = {}
        self.count = 0

    def problem(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def rule_list(self, data: object, path: str, depth: int) -> tuple[Rule, ...]:
        if not isinstance(data, list | tuple):
            self.problem(path, "must be a list of rules")
            return ()
        rules = [self.rule(item, f"{path}[{i}]", depth) for i, item in enumerate(data)]
        return tuple(r for r in rules if r is not None)

    def rule(self, data: object, path: str, depth: int) -> Rule | None:
        self.count += 1
        if depth > MAX_DEPTH:
            self.problem(path, f"nested too deeply: at most {MAX_DEPTH} levels of rules")
            return None
        if not isinstance(data, Mapping):
            self.problem(path, "must be an object with an id and a kind")
            return None
        rule_id = self.rule_id(data, path)
        kind = data.get("kind")
        if "kind" not in data:
            self.problem(f"{path}.kind", "is required")
            return None
        if not isinstance(kind, str) or kind not in _KINDS:
            shown = f"“{kind}”" if isinstance(kind, str) else "a non-string"
            self.problem(f"{path}.kind", f"unknown kind {shown}; expected one of: {_KIND_LIST}")
            return None
        spec = _KINDS[kind]
        for key in data:
            if key not in ("id", "kind") and key not in spec.params:
                expected = ", ".join(spec.params) if spec.params else "none"
                self.problem(
                    f"{path}.{key}",
                    f"unknown parameter for kind “{kind}” (parameters: {expected})",
                )
        values: dict[str, object] = {}
        for name in spec.params:
            if name in data:
                values[name] = data[name]
            else:
                self.problem(f"{path}.{name}", "is required")
        if len(values) < len(spec.params):
            # Still look inside what is there, so that nested problems are reported too.
            if "rules" in values:
                self.children(values["rules"], f"{path}.rules", depth)
            return None
        rule = spec.build(self, rule_id or "", values, path, depth)
        return rule if rule_id is not None else None

    def rule_id(self, data: Mapping[object, object], path: str) -> str | None:
        if "id" not in data:
            self.problem(f"{path}.id", "is required")
            return None
        value = data["id"]
        if not isinstance(value, str):
            self.problem(f"{path}.id", "must be a string")
            return None
        if not _ID_PATTERN.fullmatch(value):
            self.problem(
                f"{path}.id",
                "must be 1 to 64 letters, digits, “_”, “.” or “-”, starting with a letter or digit",
            )
            return None
        first = self.first_path_of_id.setdefault(value, path)
        if first != path:
            self.problem(f"{path}.id", f"duplicate id “{value}” (first used at {first})")
            return None
        return value

    def children(self, data: object, path: str, depth: int) -> tuple[Rule, ...] | None:
        before = len(self.problems)
        if isinstance(data, list | tuple) and not data:
            self.problem(path, "must contain at least one rule")
            return None
        rules = self.rule_list(data, path, depth + 1)
        return rules if len(self.problems) == before else None

    def integer(self, value: object, path: str, minimum: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(path, "must be an integer")
            return None
        if value < minimum:
            self.problem(path, "must not be negative" if minimum == 0 else f"must be ≥ {minimum}")
            return None
        return value

    def percent(self, value: object, path: str) -> Fraction | None:
        if isinstance(value, str) and _PERCENT_PATTERN.fullmatch(value):
            places = len(value.partition(".")[2])
            if places > _PERCENT_MAX_PLACES:
                self.problem(path, f"must have at most {_PERCENT_MAX_PLACES} decimal places")
                return None
            number = Fraction(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            number = Fraction(value)
        else:
            self.problem(path, "must be a whole number or a decimal string such as “12.5”")
            return None
        if not 0 <= number <= 100:
            self.problem(path, "must be between 0 and 100")
            return None
        return number

    def choices(
        self, value: object, path: str, allowed: Iterable[str], what: str
    ) -> tuple[str, ...] | None:
        if not isinstance(value, list | tuple):
            self.problem(path, f"must be a list of {what}s")
            return None
        if not value:
            self.problem(path, f"must name at least one {what}")
            return None
        allowed = tuple(allowed)
        before = len(self.problems)
        seen: set[str] = set()
        for i, item in enumerate(value):
            if not isinstance(item, str) or item not in allowed:
                shown = f"“{item}”" if isinstance(item, str) else "a non-string"
                expected = ", ".join(allowed)
                self.problem(f"{path}[{i}]", f"unknown {what} {shown}; expected one of: {expected}")
            elif item in seen:
                self.problem(f"{path}[{i}]", f"duplicate {what} “{item}”")
            else:
                seen.add(item)
        if len(self.problems) > before:
            return None
        return tuple(str(item) for item in value)

    def one_of(self, value: object, path: str, allowed: Sequence[str]) -> str | None:
        if isinstance(value, str) and value in allowed:
            return value
        self.problem(path, f"must be one of: {', '.join(allowed)}")
        return None


_Builder: TypeAlias = Callable[[_Parser, str, dict[str, object], str, int], Rule | None]


@dataclass(frozen=True)
class _KindSpec:
    params: tuple[str, ...]
    build: _Builder


def _build_organisation_kind_in(
    p: _Parser, rule_id: str, v: dict[str, object], path: str, depth: int
) -> Rule | None:
    kinds = p.choices(v["kinds"], f"{path}.kinds", ORGANISATION_KIND_NAMES, "organisation kind")
    return None if kinds is None else OrganisationKindIn(rule_id, kinds)


def _build_min_years(
    p: _Parser, rule_id: str, v: dict[str, object], path: str, depth: int
) -> Rule | None:
    years = p.integer(v["years"], f"{path}.years", 0)
    return None if years is None else MinYearsSinceFounding(rule_id, years)


def _build_co_funding(
    p: _Parser, rule_id: str, v: dict[str, object], path: str, depth: int
) -> Rule | None:
    percent = p.percent(v["percent"], f"{path}.percent")
    return None if percent is None else MinCoFundingShare(rule_id, percent)


def _build_led_by(
    p: _Parser, rule_id: str, v: dict[str, object], path: str, depth: int
) -> Rule | None:
    flags = p.choices(v["flags"], f"{path}.flags", (f.value for f in LeadershipFlag), "flag")
    mode = p.one_of(v["mode"], f"{path}.mode", [m.value for m in LedByMode])
    if flags is None or mode is None:
        return None
    return LedBy(rule_id, tuple(LeadershipFlag(f) for f in flags), LedByMode(mode))


def _build_linked(
    p: _Parser, rule_id: str, v: dict[str, object], path: str, depth: int
) -> Rule | None:
    minimum = p.integer(v["min"], f"{path}.min", 1)
    return None if minimum is None else LinkedToEligibleItem(rule_id, minimum)


def _build_attachments(
    p: _Parser, rule_id: str, v: dict[str, object], path: str, depth: int
) -> Rule | None:
    kinds = p.choices(v["kinds"], f"{path}.kinds", ATTACHMENT_KIND_NAMES, "attachment kind")
    return None if kinds is None else AttachmentsPresent(rule_id, kinds)


def _build_max_active(
    p: _Parser, rule_id: str, v: dict[str, object], path: str, depth: int
) -> Rule | None:
    maximum = p.integer(v["max"], f"{path}.max", 0)
    return None if maximum is None else MaxActiveGrants(rule_id, maximum)


def _build_all(
    p: _Parser, rule_id: str, v: dict[str, object], path: str, depth: int
) -> Rule | None:
    rules = p.children(v["rules"], f"{path}.rules", depth)
    return None if rules is None else AllOf(rule_id, rules)


def _build_any(
    p: _Parser, rule_id: str, v: dict[str, object], path: str, depth: int
) -> Rule | None:
    rules = p.children(v["rules"], f"{path}.rules", depth)
    return None if rules is None else AnyOf(rule_id, rules)


def _no_params(make: Callable[[str], Rule]) -> _KindSpec:
    return _KindSpec((), lambda p, rule_id, v, path, depth: make(rule_id))


_KINDS: Final[Mapping[str, _KindSpec]] = {
    OrganisationKindIn.kind: _KindSpec(("kinds",), _build_organisation_kind_in),
    TerritoryInWindow.kind: _no_params(TerritoryInWindow),
    MinYearsSinceFounding.kind: _KindSpec(("years",), _build_min_years),
    RequestedAmountWithinWindow.kind: _no_params(RequestedAmountWithinWindow),
    MinCoFundingShare.kind: _KindSpec(("percent",), _build_co_funding),
    LedBy.kind: _KindSpec(("flags", "mode"), _build_led_by),
    LinkedToEligibleItem.kind: _KindSpec(("min",), _build_linked),
    AttachmentsPresent.kind: _KindSpec(("kinds",), _build_attachments),
    MaxActiveGrants.kind: _KindSpec(("max",), _build_max_active),
    BudgetLinesConsistent.kind: _no_params(BudgetLinesConsistent),
    AllOf.kind: _KindSpec(("rules",), _build_all),
    AnyOf.kind: _KindSpec(("rules",), _build_any),
}
_KIND_LIST: Final = ", ".join(_KINDS)


def parse_rules(data: object) -> RuleSet:
    """Validate a stored rule set (a JSON list of rules) and build its rule tree.

    Raises :class:`RuleSetError` listing every problem found, each with its JSON path
    (``rules[2].rules[0].years``), in document order.
    """
    parser = _Parser()
    rules = parser.rule_list(data, "rules", 1)
    if parser.count > MAX_RULES:
        parser.problems.insert(
            0,
            ("rules", f"too many rules: {parser.count}, at most {MAX_RULES} (nested ones count)"),
        )
    if parser.problems:
        raise RuleSetError(parser.problems)
    return RuleSet(rules)


# --- the stored form: writing -----------------------------------------------------------------


def _decimal(number: Fraction) -> str:
    """An exact decimal string of a fraction with a terminating expansion, no trailing zeros."""
    places = 0
    while (number * 10**places).denominator != 1:
        places += 1
    return _fixed(number, places)


def _fixed(number: Fraction, places: int) -> str:
    """``number`` rounded down to ``places`` decimal places, e.g. ``9.09``."""
    scaled = number.numerator * 10**places // number.denominator
    sign = "-" if scaled < 0 else ""
    whole, part = divmod(abs(scaled), 10**places)
    return f"{sign}{whole}.{part:0{places}d}" if places else f"{sign}{whole}"


def _rule_to_json(rule: Rule) -> dict[str, object]:
    out: dict[str, object] = {"id": rule.id, "kind": rule.kind}
    match rule:
        case OrganisationKindIn(kinds=kinds) | AttachmentsPresent(kinds=kinds):
            out["kinds"] = list(kinds)
        case MinYearsSinceFounding(years=years):
            out["years"] = years
        case MinCoFundingShare(percent=percent):
            out["percent"] = percent.numerator if percent.denominator == 1 else _decimal(percent)
        case LedBy(flags=flags, mode=mode):
            out["flags"] = [f.value for f in flags]
            out["mode"] = mode.value
        case LinkedToEligibleItem(min_items=minimum):
            out["min"] = minimum
        case MaxActiveGrants(max_grants=maximum):
            out["max"] = maximum
        case AllOf(rules=rules) | AnyOf(rules=rules):
            out["rules"] = [_rule_to_json(r) for r in rules]
        case TerritoryInWindow() | RequestedAmountWithinWindow() | BudgetLinesConsistent():
            pass
        case _:
            assert_never(rule)
    return out


def rules_to_json(rule_set: RuleSet) -> list[dict[str, object]]:
    """The canonical stored form: keys in a fixed order, a percent as an integer when it is whole
    and otherwise as a decimal string. ``parse_rules(rules_to_json(x)) == x``."""
    return [_rule_to_json(rule) for rule in rule_set.rules]


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleResult:
    rule_id: str
    kind: str
    verdict: Verdict
    reason: dict[str, str] = field(hash=False)
    """{"en", "ru", "ky"}."""
    children: tuple[RuleResult, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "rule_id": self.rule_id,
            "kind": self.kind,
            "verdict": self.verdict.value,
            "reason": dict(self.reason),
            "children": [child.to_json() for child in self.children],
        }


def _failed_leaves(results: Iterable[RuleResult], out: list[str]) -> list[str]:
    for result in results:
        if result.verdict is Verdict.FAIL:
            if result.children:
                _failed_leaves(result.children, out)
            else:
                out.append(result.rule_id)
    return out


@dataclass(frozen=True)
class Evaluation:
    verdict: Verdict
    results: tuple[RuleResult, ...]
    """One per top-level rule, in the rule set's order."""

    def failed_rule_ids(self) -> list[str]:
        """The failed leaf rules that make the evaluation fail, depth-first.

        Only failed results are descended into: a failed alternative inside an ``any`` that
        passes is not a reason for failing, so it is not listed. A failed evaluation always
        lists at least one rule.
        """
        return _failed_leaves(self.results, [])

    def to_json(self) -> dict[str, object]:
        """JSON-ready, for storing with the proposal."""
        return {
            "verdict": self.verdict.value,
            "results": [result.to_json() for result in self.results],
            "failed_rule_ids": self.failed_rule_ids(),
        }


# --- wording ----------------------------------------------------------------------------------


def format_money(minor: int, currency: str) -> str:
    """Integer minor units as major units, e.g. ``format_money(9500000, "KGS")`` →
    ``"95,000.00 KGS"``. Two decimals, "," between thousands, in every language."""
    sign = "-" if minor < 0 else ""
    whole, part = divmod(abs(minor), 100)
    return f"{sign}{whole:,}.{part:02d} {currency}"


def _texts(en: str, ru: str, ky: str) -> dict[str, str]:
    return {"en": en, "ru": ru, "ky": ky}


def _join(*lists: Sequence[str], sep: str = ", ") -> tuple[str, str, str]:
    en, ru, ky = lists
    return sep.join(en), sep.join(ru), sep.join(ky)


_FACT_NAMES: Final[Mapping[str, tuple[str, str, str]]] = {
    "organisation_kind": ("organisation kind", "вид организации", "уюмдун түрү"),
    "territory": ("territory of registration", "территория регистрации", "уюм катталган аймак"),
    "founded_year": ("year founded", "год основания", "негизделген жылы"),
    "women_led": (
        "whether the organisation is women-led",
        "руководят ли организацией женщины",
        "уюмду аялдар жетектейби",
    ),
    "youth_led": (
        "whether the organisation is youth-led",
        "руководит ли организацией молодёжь",
        "уюмду жаштар жетектейби",
    ),
    "requested_amount": ("requested amount", "запрашиваемая сумма", "суралган сумма"),
    "co_funding_amount": (
        "co-funding amount",
        "сумма софинансирования",
        "биргелешип каржылоонун суммасы",
    ),
    "action_plan_items": (
        "linked action-plan items",
        "связанные пункты плана действий",
        "байланышкан иш-аракеттер планынын пункттары",
    ),
    "attachment_kinds": ("attached documents", "приложенные документы", "тиркелген документтер"),
    "active_grants": (
        "number of active grants",
        "число действующих грантов",
        "активдүү гранттардын саны",
    ),
    "budget_lines": ("budget lines", "строки бюджета", "бюджеттин саптары"),
}

_Judgement: TypeAlias = tuple[Verdict, dict[str, str]]


def _missing(*facts: str) -> _Judgement:
    en, ru, ky = _join(*zip(*(_FACT_NAMES[f] for f in facts), strict=True))
    return Verdict.NEEDS_INFORMATION, _texts(
        f"missing information: {en}", f"нет сведений: {ru}", f"маалымат жок: {ky}"
    )


def _names(
    codes: Iterable[str], table: Mapping[str, tuple[str, str, str]]
) -> tuple[list[str], list[str], list[str]]:
    """The names of codes in each language, in the given order; an unknown code as itself."""
    en: list[str] = []
    ru: list[str] = []
    ky: list[str] = []
    for code in codes:
        names = table.get(code, (code, code, code))
        en.append(names[0])
        ru.append(names[1])
        ky.append(names[2])
    return en, ru, ky


def _territory_name(window: WindowFacts, code: str, language: str) -> str:
    return window.territory_names.get(code, {}).get(language) or code


def _ru_years_genitive(n: int) -> str:
    """After "не менее": 1 года, 2 лет, 21 года, 11 лет."""
    return "года" if n % 10 == 1 and n % 100 != 11 else "лет"


# --- judging each kind ------------------------------------------------------------------------


def _organisation_kind_in(rule: OrganisationKindIn, app: ApplicationFacts) -> _Judgement:
    if app.organisation_kind is None:
        return _missing("organisation_kind")
    en, ru, ky = ORGANISATION_KIND_NAMES.get(app.organisation_kind, (app.organisation_kind,) * 3)
    all_en, all_ru, all_ky = _join(*_names(rule.kinds, ORGANISATION_KIND_NAMES))
    if app.organisation_kind in rule.kinds:
        return Verdict.PASS, _texts(
            f"{en}: among the eligible organisation kinds ({all_en})",
            f"{ru}: входит в допустимые виды организаций ({all_ru})",
            f"{ky}: уюмдардын жол берилген түрлөрүнө кирет ({all_ky})",
        )
    return Verdict.FAIL, _texts(
        f"{en}: not among the eligible organisation kinds ({all_en})",
        f"{ru}: не входит в допустимые виды организаций ({all_ru})",
        f"{ky}: уюмдардын жол берилген түрлөрүнө кирбейт ({all_ky})",
    )


def _territory_in_window(app: ApplicationFacts, window: WindowFacts) -> _Judgement:
    if app.territory is None:
        return _missing("territory")
    names: dict[str, tuple[str, str]] = {}
    for language, none in zip(LANGUAGES, ("none", "нет", "жок"), strict=True):
        listed = sorted(_territory_name(window, code, language) for code in window.territories)
        names[language] = (
            _territory_name(window, app.territory, language),
            ", ".join(listed) or none,
        )
    (en, all_en), (ru, all_ru), (ky, all_ky) = names["en"], names["ru"], names["ky"]
    if app.territory in window.territories:
        return Verdict.PASS, _texts(
            f"registered in {en}: one of the funding window's territories ({all_en})",
            f"территория регистрации — {ru}: входит в территории окна финансирования ({all_ru})",
            f"уюм катталган аймак — {ky}: каржылоо терезесинин аймактарына кирет ({all_ky})",
        )
    return Verdict.FAIL, _texts(
        f"registered in {en}: not one of the funding window's territories ({all_en})",
        f"территория регистрации — {ru}: не входит в территории окна финансирования ({all_ru})",
        f"уюм катталган аймак — {ky}: каржылоо терезесинин аймактарына кирбейт ({all_ky})",
    )


def _min_years(rule: MinYearsSinceFounding, app: ApplicationFacts, as_of: date) -> _Judgement:
    if app.founded_year is None:
        return _missing("founded_year")
    founded, need = app.founded_year, rule.years
    has = as_of.year - founded
    verdict = Verdict.PASS if has >= need else Verdict.FAIL
    return verdict, _texts(
        f"founded {founded}: needs at least {need} year{'' if need == 1 else 's'} (has {has})",
        f"основана в {founded} г.: нужно не менее {need} {_ru_years_genitive(need)} (есть {has})",
        f"{founded}-жылы негизделген: кеминде {need} жыл керек ({has} жыл бар)",
    )


def _requested_within(app: ApplicationFacts, window: WindowFacts) -> _Judgement:
    if app.requested_amount is None:
        return _missing("requested_amount")
    requested = format_money(app.requested_amount, window.currency)
    low = format_money(window.min_grant, window.currency)
    high = format_money(window.max_grant, window.currency)
    if app.requested_amount < window.min_grant:
        return Verdict.FAIL, _texts(
            f"requested {requested}: below the funding window's minimum of {low}",
            f"запрошено {requested}: меньше минимальной суммы окна финансирования ({low})",
            f"суралган сумма {requested}: каржылоо терезесинин минималдык суммасынан аз ({low})",
        )
    if app.requested_amount > window.max_grant:
        return Verdict.FAIL, _texts(
            f"requested {requested}: above the funding window's maximum of {high}",
            f"запрошено {requested}: больше максимальной суммы окна финансирования ({high})",
            f"суралган сумма {requested}: каржылоо терезесинин максималдык суммасынан көп ({high})",
        )
    return Verdict.PASS, _texts(
        f"requested {requested}: within the funding window's range of {low} to {high}",
        f"запрошено {requested}: в пределах окна финансирования (от {low} до {high})",
        f"суралган сумма {requested}: каржылоо терезесинин чегинде ({low} – {high})",
    )


def _co_funding(rule: MinCoFundingShare, app: ApplicationFacts, window: WindowFacts) -> _Judgement:
    missing = [f for f in ("requested_amount", "co_funding_amount") if getattr(app, f) is None]
    if missing or app.requested_amount is None or app.co_funding_amount is None:
        return _missing(*missing)
    co_funding, total = app.co_funding_amount, app.requested_amount + app.co_funding_amount
    share = Fraction(100 * co_funding, total) if total > 0 else Fraction(0)
    need = _decimal(rule.percent)
    # Rounded down, with at least the places of the requirement: a share shown as reaching the
    # requirement always does.
    has = _fixed(share, max(2, len(need.partition(".")[2])))
    co, of = format_money(co_funding, window.currency), format_money(total, window.currency)
    verdict = Verdict.PASS if share >= rule.percent else Verdict.FAIL
    return verdict, _texts(
        f"co-funding {co} of {of} in total: needs at least {need}% (has {has}%)",
        f"софинансирование {co} из общей суммы {of}: нужно не менее {need}% (есть {has}%)",
        f"биргелешип каржылоо {co} (жалпы сумма {of}): кеминде {need}% керек ({has}% бар)",
    )


_FLAG_WORDS: Final[Mapping[LeadershipFlag, tuple[str, str, str, str, str, str]]] = {
    # en adjective, ru "who leads" statement, ky statement, ru subject, ru genitive, ky subject
    LeadershipFlag.WOMEN_LED: (
        "women-led",
        "руководят женщины",
        "аялдар жетектейт",
        "женщины",
        "женщин",
        "аялдар",
    ),
    LeadershipFlag.YOUTH_LED: (
        "youth-led",
        "руководит молодёжь",
        "жаштар жетектейт",
        "молодёжь",
        "молодёжи",
        "жаштар",
    ),
}
_YES_NO: Final[Mapping[bool | None, tuple[str, str, str]]] = {
    True: ("yes", "да", "ооба"),
    False: ("no", "нет", "жок"),
    None: ("unknown", "неизвестно", "белгисиз"),
}


def _led_by(rule: LedBy, app: ApplicationFacts) -> _Judgement:
    values: list[bool | None] = [
        app.women_led if flag is LeadershipFlag.WOMEN_LED else app.youth_led for flag in rule.flags
    ]
    words = [_FLAG_WORDS[flag] for flag in rule.flags]
    states = [
        (f"{w[0]}: {_YES_NO[v][0]}", f"{w[1]}: {_YES_NO[v][1]}", f"{w[2]}: {_YES_NO[v][2]}")
        for w, v in zip(words, values, strict=True)
    ]
    facts_en, facts_ru, facts_ky = _join(*zip(*states, strict=True), sep="; ")
    any_true = any(v is True for v in values)
    unknown = [flag.value for flag, v in zip(rule.flags, values, strict=True) if v is None]
    if rule.mode is LedByMode.REQUIRED:
        if not any_true and unknown:
            return _missing(*unknown)
        must_en = " or ".join(w[0] for w in words)
        must_ru = " или ".join(w[3] for w in words)
        must_ky = " же ".join(w[5] for w in words)
        verb_ru = "должна" if rule.flags == (LeadershipFlag.YOUTH_LED,) else "должны"
        return Verdict.PASS if any_true else Verdict.FAIL, _texts(
            f"must be {must_en} ({facts_en})",
            f"организацией {verb_ru} руководить {must_ru} ({facts_ru})",
            f"уюмду {must_ky} жетектеши керек ({facts_ky})",
        )
    quota_en = f"the {' or '.join(w[0] for w in words)} quota"
    quota_ru = f"квоте для организаций под руководством {' или '.join(w[4] for w in words)}"
    quota_ky = f"{' же '.join(w[5] for w in words)} жетектеген уюмдардын квотасына"
    if any_true:
        en, ru, ky = (
            f"counts toward {quota_en}",
            f"учитывается в {quota_ru}",
            f"{quota_ky} кирет",
        )
    elif unknown:
        en, ru, ky = (
            f"not yet known whether it counts toward {quota_en}",
            f"пока неизвестно, учитывается ли в {quota_ru}",
            f"{quota_ky} кирери азырынча белгисиз",
        )
    else:
        en, ru, ky = (
            f"does not count toward {quota_en}",
            f"не учитывается в {quota_ru}",
            f"{quota_ky} кирбейт",
        )
    return Verdict.PASS, _texts(f"{en} ({facts_en})", f"{ru} ({facts_ru})", f"{ky} ({facts_ky})")


def _linked(rule: LinkedToEligibleItem, app: ApplicationFacts, window: WindowFacts) -> _Judgement:
    if app.action_plan_items is None:
        return _missing("action_plan_items")
    has = len(app.action_plan_items & window.action_plan_items)
    linked, need = len(app.action_plan_items), rule.min_items
    return Verdict.PASS if has >= need else Verdict.FAIL, _texts(
        "linked action-plan items eligible in this funding window: "
        f"needs at least {need} (has {has} of {linked} linked)",
        "связанные пункты плана действий, допустимые в этом окне финансирования: "
        f"нужно не менее {need} (есть {has} из {linked} связанных)",
        "ушул каржылоо терезесинде жол берилген байланышкан иш-аракеттер планынын пункттары: "
        f"кеминде {need} керек (байланышкан {linked} пункттан {has} бар)",
    )


def _attachments(rule: AttachmentsPresent, app: ApplicationFacts) -> _Judgement:
    if app.attachment_kinds is None:
        return _missing("attachment_kinds")
    all_en, all_ru, all_ky = _join(*_names(rule.kinds, ATTACHMENT_KIND_NAMES))
    missing = [kind for kind in rule.kinds if kind not in app.attachment_kinds]
    if not missing:
        return Verdict.PASS, _texts(
            f"all required attachments present ({all_en})",
            f"все требуемые приложения есть ({all_ru})",
            f"талап кылынган бардык тиркемелер бар ({all_ky})",
        )
    en, ru, ky = _join(*_names(missing, ATTACHMENT_KIND_NAMES))
    return Verdict.FAIL, _texts(
        f"missing attachments: {en} (required: {all_en})",
        f"не хватает приложений: {ru} (требуются: {all_ru})",
        f"жетишпеген тиркемелер: {ky} (талап кылынат: {all_ky})",
    )


def _max_active(rule: MaxActiveGrants, app: ApplicationFacts) -> _Judgement:
    if app.active_grants is None:
        return _missing("active_grants")
    has, limit = app.active_grants, rule.max_grants
    return Verdict.PASS if has <= limit else Verdict.FAIL, _texts(
        f"active grants in the programme: at most {limit} allowed (has {has})",
        f"действующие гранты в программе: допускается не более {limit} (есть {has})",
        f"программадагы активдүү гранттар: көп дегенде {limit} уруксат берилет ({has} бар)",
    )


def _budget_lines(app: ApplicationFacts, window: WindowFacts) -> _Judgement:
    missing = [f for f in ("requested_amount", "budget_lines") if getattr(app, f) is None]
    if missing or app.requested_amount is None or app.budget_lines is None:
        return _missing(*missing)
    currency = window.currency
    foreign = sorted({line.currency for line in app.budget_lines} - {currency})
    if foreign:
        codes = ", ".join(foreign)
        return Verdict.FAIL, _texts(
            f"budget lines in other currencies ({codes}): every line must be in {currency}",
            f"строки бюджета в других валютах ({codes}): все строки должны быть в {currency}",
            f"бюджеттин башка валютадагы саптары ({codes}): "
            f"бардык саптар {currency} менен болушу керек",
        )
    total = format_money(sum(line.total for line in app.budget_lines), currency)
    requested = format_money(app.requested_amount, currency)
    if sum(line.total for line in app.budget_lines) == app.requested_amount:
        return Verdict.PASS, _texts(
            f"budget lines sum to {total}, equal to the requested amount",
            f"строки бюджета в сумме дают {total}, что равно запрошенной сумме",
            f"бюджеттин саптары жалпысынан {total} түзөт, суралган суммага барабар",
        )
    return Verdict.FAIL, _texts(
        f"budget lines sum to {total} but {requested} is requested",
        f"строки бюджета в сумме дают {total}, а запрошено {requested}",
        f"бюджеттин саптары жалпысынан {total} түзөт, ал эми {requested} суралган",
    )


# --- combining --------------------------------------------------------------------------------


def _combine_all(verdicts: Sequence[Verdict]) -> Verdict:
    if Verdict.FAIL in verdicts:
        return Verdict.FAIL
    if Verdict.NEEDS_INFORMATION in verdicts:
        return Verdict.NEEDS_INFORMATION
    return Verdict.PASS


def _combine_any(verdicts: Sequence[Verdict]) -> Verdict:
    if Verdict.PASS in verdicts:
        return Verdict.PASS
    if Verdict.NEEDS_INFORMATION in verdicts:
        return Verdict.NEEDS_INFORMATION
    return Verdict.FAIL


def _all_reason(verdict: Verdict, children: Sequence[RuleResult]) -> dict[str, str]:
    n = len(children)
    if verdict is Verdict.PASS:
        return _texts(
            f"all conditions met ({n} of {n})",
            f"все условия выполнены ({n} из {n})",
            f"бардык шарттар аткарылды ({n} шарттан {n})",
        )
    ids = [c.rule_id for c in children if c.verdict is verdict]
    listed, k = ", ".join(ids), len(ids)
    if verdict is Verdict.FAIL:
        return _texts(
            f"conditions not met ({k} of {n}): {listed}",
            f"условия не выполнены ({k} из {n}): {listed}",
            f"шарттар аткарылган жок ({n} шарттан {k}): {listed}",
        )
    return _texts(
        f"information missing for conditions ({k} of {n}): {listed}",
        f"не хватает сведений для условий ({k} из {n}): {listed}",
        f"шарттар үчүн маалымат жок ({n} шарттан {k}): {listed}",
    )


def _any_reason(verdict: Verdict, children: Sequence[RuleResult]) -> dict[str, str]:
    n = len(children)
    if verdict is Verdict.PASS:
        ids = [c.rule_id for c in children if c.verdict is Verdict.PASS]
        listed, k = ", ".join(ids), len(ids)
        return _texts(
            f"conditions met ({k} of {n}): {listed}; at least one needed",
            f"условия выполнены ({k} из {n}): {listed}; нужно хотя бы одно",
            f"шарттар аткарылды ({n} шарттан {k}): {listed}; жок дегенде бирөө керек",
        )
    if verdict is Verdict.FAIL:
        return _texts(
            f"no condition met (0 of {n}); at least one needed",
            f"ни одно условие не выполнено (0 из {n}); нужно хотя бы одно",
            f"бир да шарт аткарылган жок ({n} шарттан 0); жок дегенде бирөө керек",
        )
    ids = [c.rule_id for c in children if c.verdict is Verdict.NEEDS_INFORMATION]
    listed, k = ", ".join(ids), len(ids)
    return _texts(
        f"no condition met yet; information missing for conditions ({k} of {n}): {listed}",
        "ни одно условие пока не выполнено; "
        f"не хватает сведений для условий ({k} из {n}): {listed}",
        "азырынча бир да шарт аткарылган жок; "
        f"шарттар үчүн маалымат жок ({n} шарттан {k}): {listed}",
    )


# --- evaluating -------------------------------------------------------------------------------


def _judge(rule: Rule, app: ApplicationFacts, window: WindowFacts, as_of: date) -> RuleResult:
    match rule:
        case AllOf(rules=rules) | AnyOf(rules=rules):
            children = tuple(_judge(r, app, window, as_of) for r in rules)
            verdicts = [c.verdict for c in children]
            if isinstance(rule, AllOf):
                verdict = _combine_all(verdicts)
                reason = _all_reason(verdict, children)
            else:
                verdict = _combine_any(verdicts)
                reason = _any_reason(verdict, children)
            return RuleResult(rule.id, rule.kind, verdict, reason, children)
        case OrganisationKindIn():
            verdict, reason = _organisation_kind_in(rule, app)
        case TerritoryInWindow():
            verdict, reason = _territory_in_window(app, window)
        case MinYearsSinceFounding():
            verdict, reason = _min_years(rule, app, as_of)
        case RequestedAmountWithinWindow():
            verdict, reason = _requested_within(app, window)
        case MinCoFundingShare():
            verdict, reason = _co_funding(rule, app, window)
        case LedBy():
            verdict, reason = _led_by(rule, app)
        case LinkedToEligibleItem():
            verdict, reason = _linked(rule, app, window)
        case AttachmentsPresent():
            verdict, reason = _attachments(rule, app)
        case MaxActiveGrants():
            verdict, reason = _max_active(rule, app)
        case BudgetLinesConsistent():
            verdict, reason = _budget_lines(app, window)
        case _:
            assert_never(rule)
    return RuleResult(rule.id, rule.kind, verdict, reason)


def evaluate(
    rule_set: RuleSet, app: ApplicationFacts, window: WindowFacts, as_of: date
) -> Evaluation:
    """Judge ``app`` by ``rule_set`` in ``window`` on the date ``as_of``.

    The top level combines like ``all``: it fails when a rule fails, else needs information when
    a rule does, else passes. An empty rule set passes.
    """
    results = tuple(_judge(rule, app, window, as_of) for rule in rule_set.rules)
    return Evaluation(_combine_all([r.verdict for r in results]), results)
