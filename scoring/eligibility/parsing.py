"""The stored form of a rule set: :func:`parse_rules` validates it (every problem named with its
JSON path) and builds the rule tree; :func:`rules_to_json` writes the canonical form back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final, TypeAlias, assert_never

from scoring.eligibility.rules import (
    ATTACHMENT_KIND_NAMES,
    MAX_DEPTH,
    MAX_RULES,
    ORGANISATION_KIND_NAMES,
    AllOf,
    AnyOf,
    AttachmentsPresent,
    BudgetLinesConsistent,
    LeadershipFlag,
    LedBy,
    LedByMode,
    LinkedToEligibleItem,
    MaxActiveGrants,
    MinCoFundingShare,
    MinYearsSinceFounding,
    OrganisationKindIn,
    RequestedAmountWithinWindow,
    Rule,
    RuleSet,
    TerritoryInWindow,
)
from scoring.eligibility.wording import (
    _decimal,
)

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
