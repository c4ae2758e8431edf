"""Words for the contract's codes (statuses, kinds), in the person's language.

Functions, not constants: each call translates into the language of the current request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from web.i18n import _


def organisation_kinds() -> dict[str, str]:
    return {
        "cso": _("Civil-society organisation"),
        "community_media": _("Community media"),
        "youth_group": _("Youth group"),
        "women_led_organisation": _("Women-led organisation"),
        "human_rights_organisation": _("Human-rights organisation"),
        "initiative_group": _("Initiative group"),
    }


def proposal_statuses() -> dict[str, str]:
    return {
        "draft": _("Draft"),
        "submitted": _("Submitted"),
        "eligible": _("Eligible"),
        "ineligible": _("Not eligible"),
        "in_review": _("In review"),
        "scored": _("Scored"),
        "selected": _("Selected"),
        "reserve": _("Reserve list"),
        "not_selected": _("Not selected"),
        "awarded": _("Awarded"),
        "withdrawn": _("Withdrawn"),
    }


def attachment_kinds() -> dict[str, str]:
    return {
        "registration_certificate": _("Registration certificate"),
        "budget": _("Budget"),
        "cv": _("CV"),
        "workplan": _("Work plan"),
        "letter_of_support": _("Letter of support"),
        "report": _("Report"),
        "other": _("Other document"),
    }


def tranche_statuses() -> dict[str, str]:
    return {
        "planned": _("Planned"),
        "due": _("Due"),
        "approved": _("Approved for payment"),
        "disbursed": _("Paid"),
        "cancelled": _("Cancelled"),
    }


def condition_kinds() -> dict[str, str]:
    return {
        "agreement_signed": _("Grant agreement signed"),
        "progress_report_accepted": _("Progress report accepted"),
        "financial_report_accepted": _("Financial report accepted"),
        "indicator_reported": _("Indicator reported"),
    }


def report_kinds() -> dict[str, str]:
    return {"progress": _("Progress report"), "financial": _("Financial report")}


def report_statuses() -> dict[str, str]:
    return {
        "draft": _("Draft"),
        "submitted": _("Submitted"),
        "accepted": _("Accepted"),
        "returned": _("Returned for changes"),
    }


def grant_statuses() -> dict[str, str]:
    return {"active": _("Active"), "completed": _("Completed"), "terminated": _("Terminated")}


def verdicts() -> dict[str, str]:
    return {
        "pass": _("Met"),
        "fail": _("Not met"),
        "needs_information": _("Needs information"),
    }


def decision_outcomes() -> dict[str, str]:
    return {
        "selected": _("Selected for funding"),
        "reserve": _("On the reserve list"),
        "not_selected": _("Not selected"),
    }


def rank_bands() -> dict[str, str]:
    return {
        "top quarter": _("In the top quarter of the ranking"),
        "second quarter": _("In the second quarter of the ranking"),
        "third quarter": _("In the third quarter of the ranking"),
        "bottom quarter": _("In the bottom quarter of the ranking"),
    }


def gender_markers() -> dict[str, str]:
    return {
        "0": _("0 — does not address gender equality"),
        "1": _("1 — gender equality is a minor objective"),
        "2": _("2 — gender equality is a significant objective"),
        "3": _("3 — gender equality is the principal objective"),
    }


TABLES: Mapping[str, Callable[[], dict[str, str]]] = {
    "organisation_kind": organisation_kinds,
    "proposal_status": proposal_statuses,
    "attachment_kind": attachment_kinds,
    "tranche_status": tranche_statuses,
    "condition_kind": condition_kinds,
    "report_kind": report_kinds,
    "report_status": report_statuses,
    "grant_status": grant_statuses,
    "verdict": verdicts,
    "decision_outcome": decision_outcomes,
    "gender_marker": gender_markers,
    "rank_band": rank_bands,
}


def label(value: Any, table: str) -> str:
    """`{{ p.status | label('proposal_status') }}`: the words for a code, the code if unknown."""
    code = str(getattr(value, "value", value))
    return TABLES[table]().get(code, code)


def rule_words(rule: Mapping[str, Any], territory_names: Mapping[str, str]) -> str:
    """One eligibility rule (docs/eligibility.md) in plain words."""
    kind = rule.get("kind")
    if kind == "organisation_kind_in":
        kinds = organisation_kinds()
        names = ", ".join(kinds.get(str(k), str(k)) for k in rule.get("kinds", []))
        return _("The applicant is one of: %(kinds)s.") % {"kinds": names}
    if kind == "territory_in_window":
        places = ", ".join(territory_names.values())
        if places:
            return _(
                "The organisation is registered in one of the window's territories: %(places)s."
            ) % {"places": places}
        return _("The organisation is registered in one of the window's territories.")
    if kind == "min_years_since_founding":
        return _("The organisation was founded at least %(years)s years ago.") % {
            "years": rule.get("years")
        }
    if kind == "requested_amount_within_window":
        return _("The requested amount is between the window's minimum and maximum grant.")
    if kind == "min_co_funding_share":
        return _("Co-funding is at least %(percent)s%% of the project's total cost.") % {
            "percent": rule.get("percent")
        }
    if kind == "led_by":
        flags = {"women_led": _("women-led"), "youth_led": _("youth-led")}
        names = _(" or ").join(flags.get(str(f), str(f)) for f in rule.get("flags", []))
        if rule.get("mode") == "quota":
            return _("Organisations that are %(flags)s count toward the window's quota.") % {
                "flags": names
            }
        return _("The organisation is %(flags)s.") % {"flags": names}
    if kind == "linked_to_eligible_item":
        return _(
            "The proposal is linked to at least %(n)s of the window's PCC action-plan items."
        ) % {"n": rule.get("min", 1)}
    if kind == "attachments_present":
        kinds = attachment_kinds()
        names = ", ".join(kinds.get(str(k), str(k)) for k in rule.get("kinds", []))
        return _("These documents are attached: %(kinds)s.") % {"kinds": names}
    if kind == "max_active_grants":
        return _("The organisation has at most %(n)s active grants.") % {"n": rule.get("max")}
    if kind == "budget_lines_consistent":
        return _("The budget lines are in the call's currency and add up to the requested amount.")
    if kind == "all":
        return _("All of the following:")
    if kind == "any":
        return _("At least one of the following:")
    return str(kind)


def required_documents(rules: Sequence[Mapping[str, Any]]) -> list[str]:
    """The attachment kinds some `attachments_present` rule asks for, in rule order."""
    found: list[str] = []
    stack = list(reversed(rules))
    while stack:
        rule = stack.pop()
        if rule.get("kind") == "attachments_present":
            for kind in rule.get("kinds", []):
                if kind not in found:
                    found.append(str(kind))
        stack.extend(reversed(list(rule.get("rules", []))))
    return found
