"""Eligibility rules: validate a window's rule set and judge an application against it.

The rule set is stored as JSON (a list of rules, combined with ALL). :func:`parse_rules` validates
it, naming every problem with its JSON path, and builds an immutable rule tree;
:func:`rules_to_json` writes the canonical stored form back. :func:`evaluate` judges the facts
of an application against the facts of a window on a given date and gives, for every rule, a
verdict (pass, fail, needs information) with a reason in English, Russian and Kyrgyz.

Pure: no I/O, no clock (the date is an argument), no floats — money is integer minor units and
shares are exact fractions. Money in reasons is written per language by :mod:`scoring.money`
(``95,000.00 KGS``, ``95 000,00 KGS`` with a non-breaking space); shares one way (``12.5%``).
"""

from scoring.eligibility.judging import Evaluation, RuleResult, evaluate
from scoring.eligibility.parsing import RuleSetError, parse_rules, rules_to_json
from scoring.eligibility.rules import (
    ATTACHMENT_KIND_NAMES,
    MAX_DEPTH,
    MAX_RULES,
    ORGANISATION_KIND_NAMES,
    AllOf,
    AnyOf,
    ApplicationFacts,
    AttachmentsPresent,
    BudgetLineFacts,
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
    Verdict,
    WindowFacts,
)

__all__ = [
    "ATTACHMENT_KIND_NAMES",
    "MAX_DEPTH",
    "MAX_RULES",
    "ORGANISATION_KIND_NAMES",
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
    "parse_rules",
    "rules_to_json",
]
