"""The eligibility engine: every rule kind's verdicts and reasons, validation, and properties."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from fractions import Fraction
from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.eligibility import (
    ATTACHMENT_KIND_NAMES,
    MAX_RULES,
    ORGANISATION_KIND_NAMES,
    AllOf,
    AnyOf,
    ApplicationFacts,
    AttachmentsPresent,
    BudgetLineFacts,
    BudgetLinesConsistent,
    Evaluation,
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
    RuleResult,
    RuleSet,
    RuleSetError,
    TerritoryInWindow,
    Verdict,
    WindowFacts,
    evaluate,
    parse_rules,
    rules_to_json,
)

AS_OF = date(2026, 3, 15)

WINDOW = WindowFacts(
    currency="KGS",
    min_grant=5_000_000,  # 50,000.00 KGS
    max_grant=50_000_000,  # 500,000.00 KGS
    territories=frozenset({"osh", "uzgen"}),
    territory_names={
        "osh": {"en": "Osh", "ru": "город Ош", "ky": "Ош шаары"},
        "uzgen": {"en": "Uzgen", "ru": "город Узген", "ky": "Өзгөн шаары"},
        "batken": {"en": "Batken", "ru": "город Баткен", "ky": "Баткен шаары"},
    },
    action_plan_items=frozenset({"item-1", "item-2", "item-3"}),
)


def judge(
    rule: Mapping[str, object], app: ApplicationFacts, window: WindowFacts = WINDOW
) -> RuleResult:
    """The result of one rule, parsed from its stored form."""
    evaluation = evaluate(parse_rules([rule]), app, window, AS_OF)
    assert len(evaluation.results) == 1
    return evaluation.results[0]


def texts(en: str, ru: str, ky: str) -> dict[str, str]:
    return {"en": en, "ru": ru, "ky": ky}


# --- organisation_kind_in ---------------------------------------------------------------------

KIND_RULE: dict[str, object] = {
    "id": "kind",
    "kind": "organisation_kind_in",
    "kinds": ["cso", "youth_group"],
}


def test_organisation_kind_in_passes_for_a_listed_kind() -> None:
    result = judge(KIND_RULE, ApplicationFacts(organisation_kind="youth_group"))
    assert result.verdict == Verdict.PASS
    assert result.reason == texts(
        "youth group: among the eligible organisation kinds "
        "(civil-society organisation, youth group)",
        "молодёжная группа: входит в допустимые виды организаций "
        "(организация гражданского общества, молодёжная группа)",
        "жаштар тобу: уюмдардын жол берилген түрлөрүнө кирет (жарандык коом уюму, жаштар тобу)",
    )


def test_organisation_kind_in_fails_for_another_kind() -> None:
    result = judge(KIND_RULE, ApplicationFacts(organisation_kind="community_media"))
    assert result.verdict == Verdict.FAIL
    assert result.rule_id == "kind"
    assert result.kind == "organisation_kind_in"
    assert result.reason == texts(
        "community media: not among the eligible organisation kinds "
        "(civil-society organisation, youth group)",
        "местное СМИ: не входит в допустимые виды организаций "
        "(организация гражданского общества, молодёжная группа)",
        "жергиликтүү ЖМК: уюмдардын жол берилген түрлөрүнө кирбейт "
        "(жарандык коом уюму, жаштар тобу)",
    )


def test_organisation_kind_in_needs_the_kind() -> None:
    result = judge(KIND_RULE, ApplicationFacts())
    assert result.verdict == Verdict.NEEDS_INFORMATION
    assert result.reason == texts(
        "missing information: organisation kind",
        "нет сведений: вид организации",
        "маалымат жок: уюмдун түрү",
    )


# --- territory_in_window ----------------------------------------------------------------------

TERRITORY_RULE: dict[str, object] = {"id": "where", "kind": "territory_in_window"}


def test_territory_in_window_passes_for_a_window_territory() -> None:
    result = judge(TERRITORY_RULE, ApplicationFacts(territory="uzgen"))
    assert result.verdict == Verdict.PASS
    assert result.reason == texts(
        "registered in Uzgen: one of the funding window's territories (Osh, Uzgen)",
        "территория регистрации — город Узген: входит в территории окна финансирования "
        "(город Ош, город Узген)",
        "уюм катталган аймак — Өзгөн шаары: каржылоо терезесинин аймактарына кирет "
        "(Ош шаары, Өзгөн шаары)",
    )


def test_territory_in_window_fails_elsewhere() -> None:
    result = judge(TERRITORY_RULE, ApplicationFacts(territory="batken"))
    assert result.verdict == Verdict.FAIL
    assert result.reason == texts(
        "registered in Batken: not one of the funding window's territories (Osh, Uzgen)",
        "территория регистрации — город Баткен: не входит в территории окна финансирования "
        "(город Ош, город Узген)",
        "уюм катталган аймак — Баткен шаары: каржылоо терезесинин аймактарына кирбейт "
        "(Ош шаары, Өзгөн шаары)",
    )


def test_territory_in_window_names_an_unnamed_territory_by_its_code() -> None:
    window = replace(WINDOW, territory_names={}, territories=frozenset({"osh"}))
    result = judge(TERRITORY_RULE, ApplicationFacts(territory="razzakov"), window)
    assert result.verdict == Verdict.FAIL
    assert result.reason["en"] == (
        "registered in razzakov: not one of the funding window's territories (osh)"
    )


def test_territory_in_window_fails_when_the_window_has_no_territories() -> None:
    window = replace(WINDOW, territories=frozenset())
    result = judge(TERRITORY_RULE, ApplicationFacts(territory="osh"), window)
    assert result.verdict == Verdict.FAIL
    assert result.reason["en"] == (
        "registered in Osh: not one of the funding window's territories (none)"
    )


def test_territory_in_window_needs_the_territory() -> None:
    result = judge(TERRITORY_RULE, ApplicationFacts(founded_year=2000))
    assert result.verdict == Verdict.NEEDS_INFORMATION
    assert result.reason == texts(
        "missing information: territory of registration",
        "нет сведений: территория регистрации",
        "маалымат жок: уюм катталган аймак",
    )


# --- min_years_since_founding -----------------------------------------------------------------

YEARS_RULE: dict[str, object] = {"id": "age", "kind": "min_years_since_founding", "years": 2}


def test_min_years_since_founding_passes_on_the_year_it_is_reached() -> None:
    result = judge(YEARS_RULE, ApplicationFacts(founded_year=2024))
    assert result.verdict == Verdict.PASS
    assert result.reason == texts(
        "founded 2024: needs at least 2 years (has 2)",
        "основана в 2024 г.: нужно не менее 2 лет (есть 2)",
        "2024-жылы негизделген: кеминде 2 жыл керек (2 жыл бар)",
    )


def test_min_years_since_founding_fails_when_too_young() -> None:
    result = judge(YEARS_RULE, ApplicationFacts(founded_year=2025))
    assert result.verdict == Verdict.FAIL
    assert result.reason == texts(
        "founded 2025: needs at least 2 years (has 1)",
        "основана в 2025 г.: нужно не менее 2 лет (есть 1)",
        "2025-жылы негизделген: кеминде 2 жыл керек (1 жыл бар)",
    )


@pytest.mark.parametrize(
    ("years", "en", "ru"),
    [
        (1, "at least 1 year ", "не менее 1 года "),
        (5, "at least 5 years ", "не менее 5 лет "),
        (11, "at least 11 years ", "не менее 11 лет "),
        (21, "at least 21 years ", "не менее 21 года "),
        (22, "at least 22 years ", "не менее 22 лет "),
    ],
)
def test_min_years_since_founding_agrees_the_number(years: int, en: str, ru: str) -> None:
    rule = {**YEARS_RULE, "years": years}
    result = judge(rule, ApplicationFacts(founded_year=2026))
    assert en in result.reason["en"]
    assert ru in result.reason["ru"]


def test_min_years_since_founding_needs_the_year() -> None:
    result = judge(YEARS_RULE, ApplicationFacts(organisation_kind="cso"))
    assert result.verdict == Verdict.NEEDS_INFORMATION
    assert result.reason == texts(
        "missing information: year founded",
        "нет сведений: год основания",
        "маалымат жок: негизделген жылы",
    )


# --- requested_amount_within_window -----------------------------------------------------------

AMOUNT_RULE: dict[str, object] = {"id": "amount", "kind": "requested_amount_within_window"}


def test_requested_amount_within_window_passes_at_the_bounds() -> None:
    for amount in (WINDOW.min_grant, WINDOW.max_grant):
        result = judge(AMOUNT_RULE, ApplicationFacts(requested_amount=amount))
        assert result.verdict == Verdict.PASS
    result = judge(AMOUNT_RULE, ApplicationFacts(requested_amount=10_000_000))
    assert result.reason == texts(
        "requested 100,000.00 KGS: within the funding window's range "
        "of 50,000.00 KGS to 500,000.00 KGS",
        "запрошено 100\u00a0000,00 KGS: в пределах окна финансирования "
        "(от 50\u00a0000,00 KGS до 500\u00a0000,00 KGS)",
        "суралган сумма 100\u00a0000,00 KGS: каржылоо терезесинин чегинде "
        "(50\u00a0000,00 KGS – 500\u00a0000,00 KGS)",
    )


def test_requested_amount_within_window_fails_below_the_minimum() -> None:
    result = judge(AMOUNT_RULE, ApplicationFacts(requested_amount=4_999_999))
    assert result.verdict == Verdict.FAIL
    assert result.reason == texts(
        "requested 49,999.99 KGS: below the funding window's minimum of 50,000.00 KGS",
        "запрошено 49\u00a0999,99 KGS: меньше минимальной суммы окна финансирования "
        "(50\u00a0000,00 KGS)",
        "суралган сумма 49\u00a0999,99 KGS: каржылоо терезесинин минималдык суммасынан аз "
        "(50\u00a0000,00 KGS)",
    )


def test_requested_amount_within_window_fails_above_the_maximum() -> None:
    result = judge(AMOUNT_RULE, ApplicationFacts(requested_amount=60_000_000))
    assert result.verdict == Verdict.FAIL
    assert result.reason == texts(
        "requested 600,000.00 KGS: above the funding window's maximum of 500,000.00 KGS",
        "запрошено 600\u00a0000,00 KGS: больше максимальной суммы окна финансирования "
        "(500\u00a0000,00 KGS)",
        "суралган сумма 600\u00a0000,00 KGS: каржылоо терезесинин максималдык суммасынан көп "
        "(500\u00a0000,00 KGS)",
    )


def test_requested_amount_within_window_needs_the_amount() -> None:
    result = judge(AMOUNT_RULE, ApplicationFacts(co_funding_amount=100))
    assert result.verdict == Verdict.NEEDS_INFORMATION
    assert result.reason == texts(
        "missing information: requested amount",
        "нет сведений: запрашиваемая сумма",
        "маалымат жок: суралган сумма",
    )


# --- min_co_funding_share ---------------------------------------------------------------------

CO_FUNDING_RULE: dict[str, object] = {
    "id": "co-funding",
    "kind": "min_co_funding_share",
    "percent": "12.5",
}


def test_min_co_funding_share_passes_at_exactly_the_share() -> None:
    # 12,500 of 100,000 is exactly 12.5 %.
    result = judge(
        CO_FUNDING_RULE, ApplicationFacts(requested_amount=8_750_000, co_funding_amount=1_250_000)
    )
    assert result.verdict == Verdict.PASS
    assert result.reason == texts(
        "co-funding 12,500.00 KGS of 100,000.00 KGS in total: needs at least 12.5% (has 12.50%)",
        "софинансирование 12\u00a0500,00 KGS из общей суммы 100\u00a0000,00 KGS: "
        "нужно не менее 12.5% (есть 12.50%)",
        "биргелешип каржылоо 12\u00a0500,00 KGS (жалпы сумма 100\u00a0000,00 KGS): "
        "кеминде 12.5% керек (12.50% бар)",
    )


def test_min_co_funding_share_fails_one_tiyin_short() -> None:
    result = judge(
        CO_FUNDING_RULE, ApplicationFacts(requested_amount=8_750_001, co_funding_amount=1_249_999)
    )
    assert result.verdict == Verdict.FAIL
    # The share (12.49999 %) is rounded down, so it is never shown as reaching the requirement.
    assert result.reason == texts(
        "co-funding 12,499.99 KGS of 100,000.00 KGS in total: needs at least 12.5% (has 12.49%)",
        "софинансирование 12\u00a0499,99 KGS из общей суммы 100\u00a0000,00 KGS: "
        "нужно не менее 12.5% (есть 12.49%)",
        "биргелешип каржылоо 12\u00a0499,99 KGS (жалпы сумма 100\u00a0000,00 KGS): "
        "кеминде 12.5% керек (12.49% бар)",
    )


def test_min_co_funding_share_shows_as_many_places_as_the_requirement() -> None:
    rule = {**CO_FUNDING_RULE, "percent": "33.3333"}
    result = judge(rule, ApplicationFacts(requested_amount=200, co_funding_amount=100))
    assert result.verdict == Verdict.PASS
    assert result.reason["en"] == (
        "co-funding 1.00 KGS of 3.00 KGS in total: needs at least 33.3333% (has 33.3333%)"
    )


def test_min_co_funding_share_of_nothing_is_zero() -> None:
    result = judge(CO_FUNDING_RULE, ApplicationFacts(requested_amount=0, co_funding_amount=0))
    assert result.verdict == Verdict.FAIL
    zero = {**CO_FUNDING_RULE, "percent": 0}
    assert judge(zero, ApplicationFacts(requested_amount=0, co_funding_amount=0)).verdict == (
        Verdict.PASS
    )


def test_min_co_funding_share_needs_both_amounts() -> None:
    result = judge(CO_FUNDING_RULE, ApplicationFacts(requested_amount=100))
    assert result.verdict == Verdict.NEEDS_INFORMATION
    assert result.reason == texts(
        "missing information: co-funding amount",
        "нет сведений: сумма софинансирования",
        "маалымат жок: биргелешип каржылоонун суммасы",
    )
    result = judge(CO_FUNDING_RULE, ApplicationFacts())
    assert result.reason["en"] == "missing information: requested amount, co-funding amount"


# --- led_by -----------------------------------------------------------------------------------

LED_REQUIRED: dict[str, object] = {
    "id": "led",
    "kind": "led_by",
    "flags": ["women_led", "youth_led"],
    "mode": "required",
}
LED_QUOTA: dict[str, object] = {
    "id": "quota",
    "kind": "led_by",
    "flags": ["women_led"],
    "mode": "quota",
}


def test_led_by_required_passes_with_one_flag() -> None:
    result = judge(LED_REQUIRED, ApplicationFacts(women_led=False, youth_led=True))
    assert result.verdict == Verdict.PASS
    assert result.reason == texts(
        "must be women-led or youth-led (women-led: no; youth-led: yes)",
        "организацией должны руководить женщины или молодёжь "
        "(руководят женщины: нет; руководит молодёжь: да)",
        "уюмду аялдар же жаштар жетектеши керек (аялдар жетектейт: жок; жаштар жетектейт: ооба)",
    )


def test_led_by_required_passes_with_one_flag_while_the_other_is_unknown() -> None:
    result = judge(LED_REQUIRED, ApplicationFacts(women_led=True))
    assert result.verdict == Verdict.PASS
    assert (
        result.reason["en"] == "must be women-led or youth-led (women-led: yes; youth-led: unknown)"
    )


def test_led_by_required_fails_with_no_flag() -> None:
    result = judge(LED_REQUIRED, ApplicationFacts(women_led=False, youth_led=False))
    assert result.verdict == Verdict.FAIL
    assert result.reason == texts(
        "must be women-led or youth-led (women-led: no; youth-led: no)",
        "организацией должны руководить женщины или молодёжь "
        "(руководят женщины: нет; руководит молодёжь: нет)",
        "уюмду аялдар же жаштар жетектеши керек (аялдар жетектейт: жок; жаштар жетектейт: жок)",
    )


def test_led_by_required_youth_alone_agrees_the_verb() -> None:
    rule = {**LED_REQUIRED, "flags": ["youth_led"]}
    result = judge(rule, ApplicationFacts(youth_led=False))
    assert result.verdict == Verdict.FAIL
    assert result.reason == texts(
        "must be youth-led (youth-led: no)",
        "организацией должна руководить молодёжь (руководит молодёжь: нет)",
        "уюмду жаштар жетектеши керек (жаштар жетектейт: жок)",
    )


def test_led_by_required_needs_the_unknown_flags() -> None:
    result = judge(LED_REQUIRED, ApplicationFacts(women_led=False))
    assert result.verdict == Verdict.NEEDS_INFORMATION
    assert result.reason == texts(
        "missing information: whether the organisation is youth-led",
        "нет сведений: руководит ли организацией молодёжь",
        "маалымат жок: уюмду жаштар жетектейби",
    )


def test_led_by_quota_passes_and_counts() -> None:
    result = judge(LED_QUOTA, ApplicationFacts(women_led=True))
    assert result.verdict == Verdict.PASS
    assert result.reason == texts(
        "counts toward the women-led quota (women-led: yes)",
        "учитывается в квоте для организаций под руководством женщин (руководят женщины: да)",
        "аялдар жетектеген уюмдардын квотасына кирет (аялдар жетектейт: ооба)",
    )


def test_led_by_quota_passes_without_counting() -> None:
    rule = {**LED_QUOTA, "flags": ["women_led", "youth_led"]}
    result = judge(rule, ApplicationFacts(women_led=False, youth_led=False))
    assert result.verdict == Verdict.PASS
    assert result.reason == texts(
        "does not count toward the women-led or youth-led quota (women-led: no; youth-led: no)",
        "не учитывается в квоте для организаций под руководством женщин или молодёжи "
        "(руководят женщины: нет; руководит молодёжь: нет)",
        "аялдар же жаштар жетектеген уюмдардын квотасына кирбейт "
        "(аялдар жетектейт: жок; жаштар жетектейт: жок)",
    )


def test_led_by_quota_passes_when_unknown_and_says_so() -> None:
    result = judge(LED_QUOTA, ApplicationFacts())
    assert result.verdict == Verdict.PASS
    assert result.reason == texts(
        "not yet known whether it counts toward the women-led quota (women-led: unknown)",
        "пока неизвестно, учитывается ли в квоте для организаций под руководством женщин "
        "(руководят женщины: неизвестно)",
        "аялдар жетектеген уюмдардын квотасына кирери азырынча белгисиз "
        "(аялдар жетектейт: белгисиз)",
    )


# --- linked_to_eligible_item ------------------------------------------------------------------

LINKED_RULE: dict[str, object] = {"id": "items", "kind": "linked_to_eligible_item", "min": 2}


def test_linked_to_eligible_item_passes_with_enough_eligible_items() -> None:
    app = ApplicationFacts(action_plan_items=frozenset({"item-1", "item-3", "elsewhere"}))
    result = judge(LINKED_RULE, app)
    assert result.verdict == Verdict.PASS
    assert result.reason == texts(
        "linked action-plan items eligible in this funding window: "
        "needs at least 2 (has 2 of 3 linked)",
        "связанные пункты плана действий, допустимые в этом окне финансирования: "
        "нужно не менее 2 (есть 2 из 3 связанных)",
        "ушул каржылоо терезесинде жол берилген байланышкан иш-аракеттер планынын пункттары: "
        "кеминде 2 керек (байланышкан 3 пункттан 2 бар)",
    )


def test_linked_to_eligible_item_fails_counting_only_eligible_items() -> None:
    app = ApplicationFacts(action_plan_items=frozenset({"item-2", "elsewhere"}))
    result = judge(LINKED_RULE, app)
    assert result.verdict == Verdict.FAIL
    assert result.reason == texts(
        "linked action-plan items eligible in this funding window: "
        "needs at least 2 (has 1 of 2 linked)",
        "связанные пункты плана действий, допустимые в этом окне финансирования: "
        "нужно не менее 2 (есть 1 из 2 связанных)",
        "ушул каржылоо терезесинде жол берилген байланышкан иш-аракеттер планынын пункттары: "
        "кеминде 2 керек (байланышкан 2 пункттан 1 бар)",
    )


def test_linked_to_eligible_item_needs_the_items() -> None:
    result = judge(LINKED_RULE, ApplicationFacts())
    assert result.verdict == Verdict.NEEDS_INFORMATION
    assert result.reason == texts(
        "missing information: linked action-plan items",
        "нет сведений: связанные пункты плана действий",
        "маалымат жок: байланышкан иш-аракеттер планынын пункттары",
    )


def test_linked_to_eligible_item_with_no_links_fails_rather_than_asks() -> None:
    result = judge(LINKED_RULE, ApplicationFacts(action_plan_items=frozenset()))
    assert result.verdict == Verdict.FAIL


# --- attachments_present ----------------------------------------------------------------------

ATTACHMENTS_RULE: dict[str, object] = {
    "id": "documents",
    "kind": "attachments_present",
    "kinds": ["registration_certificate", "budget", "cv"],
}


def test_attachments_present_passes_with_every_kind() -> None:
    kinds = frozenset({"cv", "budget", "registration_certificate", "other"})
    result = judge(ATTACHMENTS_RULE, ApplicationFacts(attachment_kinds=kinds))
    assert result.verdict == Verdict.PASS
    assert result.reason == texts(
        "all required attachments present (registration certificate, budget, CV)",
        "все требуемые приложения есть (свидетельство о регистрации, бюджет, резюме)",
        "талап кылынган бардык тиркемелер бар (каттоо күбөлүгү, бюджет, резюме)",
    )


def test_attachments_present_fails_naming_the_missing_kinds() -> None:
    result = judge(ATTACHMENTS_RULE, ApplicationFacts(attachment_kinds=frozenset({"budget"})))
    assert result.verdict == Verdict.FAIL
    assert result.reason == texts(
        "missing attachments: registration certificate, CV "
        "(required: registration certificate, budget, CV)",
        "не хватает приложений: свидетельство о регистрации, резюме "
        "(требуются: свидетельство о регистрации, бюджет, резюме)",
        "жетишпеген тиркемелер: каттоо күбөлүгү, резюме "
        "(талап кылынат: каттоо күбөлүгү, бюджет, резюме)",
    )


def test_attachments_present_needs_the_attachments() -> None:
    result = judge(ATTACHMENTS_RULE, ApplicationFacts())
    assert result.verdict == Verdict.NEEDS_INFORMATION
    assert result.reason == texts(
        "missing information: attached documents",
        "нет сведений: приложенные документы",
        "маалымат жок: тиркелген документтер",
    )


# --- max_active_grants ------------------------------------------------------------------------

ACTIVE_RULE: dict[str, object] = {"id": "active", "kind": "max_active_grants", "max": 1}


def test_max_active_grants_passes_at_the_limit() -> None:
    result = judge(ACTIVE_RULE, ApplicationFacts(active_grants=1))
    assert result.verdict == Verdict.PASS
    assert result.reason == texts(
        "active grants in the programme: at most 1 allowed (has 1)",
        "действующие гранты в программе: допускается не более 1 (есть 1)",
        "программадагы активдүү гранттар: көп дегенде 1 уруксат берилет (1 бар)",
    )


def test_max_active_grants_fails_above_the_limit() -> None:
    result = judge(ACTIVE_RULE, ApplicationFacts(active_grants=2))
    assert result.verdict == Verdict.FAIL
    assert result.reason == texts(
        "active grants in the programme: at most 1 allowed (has 2)",
        "действующие гранты в программе: допускается не более 1 (есть 2)",
        "программадагы активдүү гранттар: көп дегенде 1 уруксат берилет (2 бар)",
    )


def test_max_active_grants_needs_the_count() -> None:
    result = judge(ACTIVE_RULE, ApplicationFacts())
    assert result.verdict == Verdict.NEEDS_INFORMATION
    assert result.reason == texts(
        "missing information: number of active grants",
        "нет сведений: число действующих грантов",
        "маалымат жок: активдүү гранттардын саны",
    )


# --- budget_lines_consistent ------------------------------------------------------------------

BUDGET_RULE: dict[str, object] = {"id": "budget", "kind": "budget_lines_consistent"}


def lines(*amounts: int, currency: str = "KGS") -> tuple[BudgetLineFacts, ...]:
    return tuple(BudgetLineFacts(currency=currency, total=a) for a in amounts)


def test_budget_lines_consistent_passes_when_they_sum_to_the_request() -> None:
    app = ApplicationFacts(requested_amount=10_000_000, budget_lines=lines(6_000_000, 4_000_000))
    result = judge(BUDGET_RULE, app)
    assert result.verdict == Verdict.PASS
    assert result.reason == texts(
        "budget lines sum to 100,000.00 KGS, equal to the requested amount",
        "строки бюджета в сумме дают 100\u00a0000,00 KGS, что равно запрошенной сумме",
        "бюджеттин саптары жалпысынан 100\u00a0000,00 KGS түзөт, суралган суммага барабар",
    )


def test_budget_lines_consistent_fails_on_a_difference() -> None:
    app = ApplicationFacts(requested_amount=10_000_000, budget_lines=lines(6_000_000, 3_500_000))
    result = judge(BUDGET_RULE, app)
    assert result.verdict == Verdict.FAIL
    assert result.reason == texts(
        "budget lines sum to 95,000.00 KGS but 100,000.00 KGS is requested",
        "строки бюджета в сумме дают 95\u00a0000,00 KGS, а запрошено 100\u00a0000,00 KGS",
        "бюджеттин саптары жалпысынан 95\u00a0000,00 KGS түзөт, "
        "ал эми 100\u00a0000,00 KGS суралган",
    )


def test_budget_lines_consistent_fails_on_another_currency() -> None:
    app = ApplicationFacts(
        requested_amount=300,
        budget_lines=lines(100) + lines(100, currency="USD") + lines(100, currency="EUR"),
    )
    result = judge(BUDGET_RULE, app)
    assert result.verdict == Verdict.FAIL
    assert result.reason == texts(
        "budget lines in other currencies (EUR, USD): every line must be in KGS",
        "строки бюджета в других валютах (EUR, USD): все строки должны быть в KGS",
        "бюджеттин башка валютадагы саптары (EUR, USD): бардык саптар KGS менен болушу керек",
    )


def test_budget_lines_consistent_needs_the_lines_and_the_request() -> None:
    result = judge(BUDGET_RULE, ApplicationFacts(requested_amount=100))
    assert result.verdict == Verdict.NEEDS_INFORMATION
    assert result.reason == texts(
        "missing information: budget lines",
        "нет сведений: строки бюджета",
        "маалымат жок: бюджеттин саптары",
    )
    result = judge(BUDGET_RULE, ApplicationFacts(budget_lines=()))
    assert result.reason["en"] == "missing information: requested amount"


# --- all / any --------------------------------------------------------------------------------


def group(kind: str, rule_id: str = "group") -> dict[str, object]:
    return {
        "id": rule_id,
        "kind": kind,
        "rules": [
            {"id": "age", "kind": "min_years_since_founding", "years": 2},
            {"id": "active", "kind": "max_active_grants", "max": 0},
            {"id": "where", "kind": "territory_in_window"},
        ],
    }


def test_all_passes_when_every_rule_passes() -> None:
    app = ApplicationFacts(founded_year=2000, active_grants=0, territory="osh")
    result = judge(group("all"), app)
    assert result.verdict == Verdict.PASS
    assert [c.verdict for c in result.children] == [Verdict.PASS] * 3
    assert result.reason == texts(
        "all conditions met (3 of 3)",
        "все условия выполнены (3 из 3)",
        "бардык шарттар аткарылды (3 шарттан 3)",
    )


def test_all_fails_when_a_rule_fails_even_if_another_needs_information() -> None:
    app = ApplicationFacts(founded_year=2026, active_grants=1)
    result = judge(group("all"), app)
    assert result.verdict == Verdict.FAIL
    assert result.reason == texts(
        "conditions not met (2 of 3): age, active",
        "условия не выполнены (2 из 3): age, active",
        "шарттар аткарылган жок (3 шарттан 2): age, active",
    )


def test_all_needs_information_when_nothing_fails() -> None:
    result = judge(group("all"), ApplicationFacts(founded_year=2000))
    assert result.verdict == Verdict.NEEDS_INFORMATION
    assert result.reason == texts(
        "information missing for conditions (2 of 3): active, where",
        "не хватает сведений для условий (2 из 3): active, where",
        "шарттар үчүн маалымат жок (3 шарттан 2): active, where",
    )


def test_any_passes_when_one_rule_passes_even_if_others_fail() -> None:
    app = ApplicationFacts(founded_year=2026, active_grants=0)
    result = judge(group("any"), app)
    assert result.verdict == Verdict.PASS
    assert result.reason == texts(
        "conditions met (1 of 3): active; at least one needed",
        "условия выполнены (1 из 3): active; нужно хотя бы одно",
        "шарттар аткарылды (3 шарттан 1): active; жок дегенде бирөө керек",
    )


def test_any_fails_when_every_rule_fails() -> None:
    app = ApplicationFacts(founded_year=2026, active_grants=1, territory="batken")
    result = judge(group("any"), app)
    assert result.verdict == Verdict.FAIL
    assert result.reason == texts(
        "no condition met (0 of 3); at least one needed",
        "ни одно условие не выполнено (0 из 3); нужно хотя бы одно",
        "бир да шарт аткарылган жок (3 шарттан 0); жок дегенде бирөө керек",
    )


def test_any_needs_information_when_nothing_passes() -> None:
    result = judge(group("any"), ApplicationFacts(founded_year=2026))
    assert result.verdict == Verdict.NEEDS_INFORMATION
    assert result.reason == texts(
        "no condition met yet; information missing for conditions (2 of 3): active, where",
        "ни одно условие пока не выполнено; "
        "не хватает сведений для условий (2 из 3): active, where",
        "азырынча бир да шарт аткарылган жок; "
        "шарттар үчүн маалымат жок (3 шарттан 2): active, where",
    )


# --- evaluations ------------------------------------------------------------------------------

NESTED_RULES: list[dict[str, object]] = [
    {"id": "where", "kind": "territory_in_window"},
    {
        "id": "track",
        "kind": "any",
        "rules": [
            {"id": "young", "kind": "led_by", "flags": ["youth_led"], "mode": "required"},
            {
                "id": "established",
                "kind": "all",
                "rules": [
                    {"id": "age", "kind": "min_years_since_founding", "years": 3},
                    {"id": "active", "kind": "max_active_grants", "max": 0},
                ],
            },
        ],
    },
    {"id": "amount", "kind": "requested_amount_within_window"},
]


def test_evaluation_lists_failed_leaves_depth_first() -> None:
    app = ApplicationFacts(
        territory="batken",
        youth_led=False,
        founded_year=2025,
        active_grants=0,
        requested_amount=10_000_000,
    )
    evaluation = evaluate(parse_rules(NESTED_RULES), app, WINDOW, AS_OF)
    assert evaluation.verdict == Verdict.FAIL
    assert evaluation.failed_rule_ids() == ["where", "young", "age"]


def test_evaluation_does_not_blame_a_failed_alternative_of_a_passing_any() -> None:
    app = ApplicationFacts(
        territory="batken",
        youth_led=True,
        founded_year=2025,
        active_grants=0,
        requested_amount=10_000_000,
    )
    evaluation = evaluate(parse_rules(NESTED_RULES), app, WINDOW, AS_OF)
    assert evaluation.failed_rule_ids() == ["where"]


def test_evaluation_to_json_is_ready_to_store() -> None:
    app = ApplicationFacts(territory="osh", youth_led=True, requested_amount=10_000_000)
    evaluation = evaluate(parse_rules(NESTED_RULES[:2]), app, WINDOW, AS_OF)
    stored = evaluation.to_json()
    assert json.loads(json.dumps(stored)) == stored
    assert stored == {
        "verdict": "pass",
        "results": [
            {
                "rule_id": "where",
                "kind": "territory_in_window",
                "verdict": "pass",
                "reason": judge(NESTED_RULES[0], app).reason,
                "children": [],
            },
            {
                "rule_id": "track",
                "kind": "any",
                "verdict": "pass",
                "reason": judge(NESTED_RULES[1], app).reason,
                "children": [result.to_json() for result in judge(NESTED_RULES[1], app).children],
            },
        ],
        "failed_rule_ids": [],
    }
    assert [c["verdict"] for c in stored["results"][1]["children"]] == [  # type: ignore[index]
        "pass",
        "needs_information",
    ]


def test_an_empty_rule_set_passes() -> None:
    evaluation = evaluate(parse_rules([]), ApplicationFacts(), WINDOW, AS_OF)
    assert evaluation == Evaluation(Verdict.PASS, ())


# --- validation -------------------------------------------------------------------------------


def problems_of(data: object) -> list[tuple[str, str]]:
    with pytest.raises(RuleSetError) as caught:
        parse_rules(data)
    return caught.value.problems


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        ({"id": "a"}, ("rules", "must be a list of rules")),
        (["a"], ("rules[0]", "must be an object with an id and a kind")),
        ([{"kind": "territory_in_window"}], ("rules[0].id", "is required")),
        ([{"id": 7, "kind": "territory_in_window"}], ("rules[0].id", "must be a string")),
        (
            [{"id": "has space", "kind": "territory_in_window"}],
            (
                "rules[0].id",
                "must be 1 to 64 letters, digits, “_”, “.” or “-”, starting with a letter or digit",
            ),
        ),
        ([{"id": "a"}], ("rules[0].kind", "is required")),
        (
            [{"id": "a", "kind": "is_nice"}],
            (
                "rules[0].kind",
                "unknown kind “is_nice”; expected one of: organisation_kind_in, "
                "territory_in_window, min_years_since_founding, requested_amount_within_window, "
                "min_co_funding_share, led_by, linked_to_eligible_item, attachments_present, "
                "max_active_grants, budget_lines_consistent, all, any",
            ),
        ),
        (
            [{"id": "a", "kind": "min_years_since_founding"}],
            ("rules[0].years", "is required"),
        ),
        (
            [{"id": "a", "kind": "territory_in_window", "territories": ["osh"]}],
            (
                "rules[0].territories",
                "unknown parameter for kind “territory_in_window” (parameters: none)",
            ),
        ),
        (
            [{"id": "a", "kind": "min_years_since_founding", "years": 2, "min_years": 3}],
            (
                "rules[0].min_years",
                "unknown parameter for kind “min_years_since_founding” (parameters: years)",
            ),
        ),
        (
            [{"id": "a", "kind": "min_years_since_founding", "years": "2"}],
            ("rules[0].years", "must be an integer"),
        ),
        (
            [{"id": "a", "kind": "min_years_since_founding", "years": True}],
            ("rules[0].years", "must be an integer"),
        ),
        (
            [{"id": "a", "kind": "min_years_since_founding", "years": -1}],
            ("rules[0].years", "must not be negative"),
        ),
        (
            [{"id": "a", "kind": "max_active_grants", "max": -2}],
            ("rules[0].max", "must not be negative"),
        ),
        (
            [{"id": "a", "kind": "linked_to_eligible_item", "min": 0}],
            ("rules[0].min", "must be ≥ 1"),
        ),
        (
            [{"id": "a", "kind": "min_co_funding_share", "percent": 101}],
            ("rules[0].percent", "must be between 0 and 100"),
        ),
        (
            [{"id": "a", "kind": "min_co_funding_share", "percent": "-0.5"}],
            ("rules[0].percent", "must be between 0 and 100"),
        ),
        (
            [{"id": "a", "kind": "min_co_funding_share", "percent": 12.5}],
            ("rules[0].percent", "must be a whole number or a decimal string such as “12.5”"),
        ),
        (
            [{"id": "a", "kind": "min_co_funding_share", "percent": "1e1"}],
            ("rules[0].percent", "must be a whole number or a decimal string such as “12.5”"),
        ),
        (
            [{"id": "a", "kind": "min_co_funding_share", "percent": "12.34567"}],
            ("rules[0].percent", "must have at most 4 decimal places"),
        ),
        (
            [{"id": "a", "kind": "organisation_kind_in", "kinds": ["cso", "ngo"]}],
            (
                "rules[0].kinds[1]",
                "unknown organisation kind “ngo”; expected one of: cso, community_media, "
                "youth_group, women_led_organisation, human_rights_organisation, initiative_group",
            ),
        ),
        (
            [{"id": "a", "kind": "organisation_kind_in", "kinds": []}],
            ("rules[0].kinds", "must name at least one organisation kind"),
        ),
        (
            [{"id": "a", "kind": "organisation_kind_in", "kinds": "cso"}],
            ("rules[0].kinds", "must be a list of organisation kinds"),
        ),
        (
            [{"id": "a", "kind": "attachments_present", "kinds": ["cv", "cv"]}],
            ("rules[0].kinds[1]", "duplicate attachment kind “cv”"),
        ),
        (
            [{"id": "a", "kind": "attachments_present", "kinds": ["passport"]}],
            (
                "rules[0].kinds[0]",
                "unknown attachment kind “passport”; expected one of: registration_certificate, "
                "budget, cv, workplan, letter_of_support, report, other",
            ),
        ),
        (
            [{"id": "a", "kind": "led_by", "flags": ["rich"], "mode": "required"}],
            ("rules[0].flags[0]", "unknown flag “rich”; expected one of: women_led, youth_led"),
        ),
        (
            [{"id": "a", "kind": "led_by", "flags": ["women_led"], "mode": "preferred"}],
            ("rules[0].mode", "must be one of: required, quota"),
        ),
        (
            [{"id": "a", "kind": "all", "rules": []}],
            ("rules[0].rules", "must contain at least one rule"),
        ),
        ([{"id": "a", "kind": "any", "rules": {}}], ("rules[0].rules", "must be a list of rules")),
        (
            [
                {"id": "a", "kind": "territory_in_window"},
                {"id": "b", "kind": "any", "rules": [{"id": "a", "kind": "territory_in_window"}]},
            ],
            ("rules[1].rules[0].id", "duplicate id “a” (first used at rules[0])"),
        ),
    ],
)
def test_parse_rules_refuses_bad_input_naming_the_path(
    rules: object, problem: tuple[str, str]
) -> None:
    assert problems_of(rules) == [problem]


def test_parse_rules_lists_every_problem_in_document_order() -> None:
    rules = [
        {"id": "a", "kind": "min_years_since_founding", "years": -1, "extra": 1},
        {"id": "a", "kind": "all", "rules": []},
        {"kind": "nope"},
        {
            "id": "b",
            "kind": "any",
            "rules": [
                {"id": "c", "kind": "min_co_funding_share", "percent": "101"},
                {"id": "d", "kind": "led_by", "flags": ["women_led", "women_led"]},
            ],
        },
        {"id": "e", "kind": "all"},
    ]
    assert [path for path, _ in problems_of(rules)] == [
        "rules[0].extra",
        "rules[0].years",
        "rules[1].id",
        "rules[1].rules",
        "rules[2].id",
        "rules[2].kind",
        "rules[3].rules[0].percent",
        "rules[3].rules[1].mode",
        "rules[4].rules",
    ]


def test_parse_rules_reports_problems_inside_an_incomplete_group() -> None:
    rules = [{"kind": "all", "rules": [{"id": "x", "kind": "max_active_grants", "max": "1"}]}]
    assert problems_of(rules) == [
        ("rules[0].id", "is required"),
        ("rules[0].rules[0].max", "must be an integer"),
    ]


def nest(levels: int) -> dict[str, object]:
    rule: dict[str, object] = {"id": f"leaf{levels}", "kind": "territory_in_window"}
    for level in range(levels - 1, 0, -1):
        rule = {"id": f"group{level}", "kind": "all", "rules": [rule]}
    return rule


def test_parse_rules_allows_five_levels_and_no_more() -> None:
    leaf: Rule = TerritoryInWindow("leaf5")
    for level in (4, 3, 2, 1):
        leaf = AllOf(f"group{level}", (leaf,))
    assert parse_rules([nest(5)]) == RuleSet((leaf,))
    assert problems_of([nest(6)]) == [
        (
            "rules[0].rules[0].rules[0].rules[0].rules[0].rules[0]",
            "nested too deeply: at most 5 levels of rules",
        )
    ]


def test_parse_rules_allows_a_hundred_rules_and_no_more() -> None:
    rules = [{"id": f"r{i}", "kind": "territory_in_window"} for i in range(MAX_RULES)]
    assert len(parse_rules(rules).rules) == MAX_RULES
    inner = [{"id": f"r{i}", "kind": "territory_in_window"} for i in range(MAX_RULES - 1)]
    too_many = [
        {"id": "g", "kind": "any", "rules": inner},
        {"id": "x", "kind": "all", "rules": [{"id": "y", "kind": "territory_in_window"}]},
    ]
    assert problems_of(too_many) == [
        ("rules", "too many rules: 102, at most 100 (nested ones count)")
    ]


def test_rule_set_error_is_a_value_error_with_a_readable_message() -> None:
    with pytest.raises(ValueError, match=r"rules\[0\]\.years: is required"):
        parse_rules([{"id": "a", "kind": "min_years_since_founding"}])


def test_parse_rules_builds_the_rule_tree() -> None:
    rule_set = parse_rules([*NESTED_RULES, CO_FUNDING_RULE, LED_QUOTA])
    assert rule_set == RuleSet(
        (
            TerritoryInWindow("where"),
            AnyOf(
                "track",
                (
                    LedBy("young", (LeadershipFlag.YOUTH_LED,), LedByMode.REQUIRED),
                    AllOf(
                        "established",
                        (MinYearsSinceFounding("age", 3), MaxActiveGrants("active", 0)),
                    ),
                ),
            ),
            RequestedAmountWithinWindow("amount"),
            MinCoFundingShare("co-funding", Fraction(25, 2)),
            LedBy("quota", (LeadershipFlag.WOMEN_LED,), LedByMode.QUOTA),
        )
    )


def test_rules_to_json_is_canonical() -> None:
    stored = [
        {"kind": "min_co_funding_share", "percent": "12.50", "id": "a"},
        {"percent": "20.0", "id": "b", "kind": "min_co_funding_share"},
        {"id": "c", "kind": "min_co_funding_share", "percent": 7},
    ]
    assert rules_to_json(parse_rules(stored)) == [
        {"id": "a", "kind": "min_co_funding_share", "percent": "12.5"},
        {"id": "b", "kind": "min_co_funding_share", "percent": 20},
        {"id": "c", "kind": "min_co_funding_share", "percent": 7},
    ]


def test_a_valid_rule_set_round_trips() -> None:
    stored = [
        KIND_RULE,
        TERRITORY_RULE,
        YEARS_RULE,
        AMOUNT_RULE,
        CO_FUNDING_RULE,
        LED_REQUIRED,
        LED_QUOTA,
        LINKED_RULE,
        ATTACHMENTS_RULE,
        ACTIVE_RULE,
        BUDGET_RULE,
        {
            "id": "g1",
            "kind": "all",
            "rules": [
                {**YEARS_RULE, "id": "g1-age"},
                {"id": "g2", "kind": "any", "rules": [{**LED_QUOTA, "id": "g2-quota"}]},
            ],
        },
    ]
    rule_set = parse_rules(stored)
    assert rules_to_json(rule_set) == stored
    assert parse_rules(json.loads(json.dumps(rules_to_json(rule_set)))) == rule_set


# --- properties -------------------------------------------------------------------------------

ORGANISATION_KINDS = tuple(ORGANISATION_KIND_NAMES)
ATTACHMENT_KINDS = tuple(ATTACHMENT_KIND_NAMES)
TERRITORIES = ("osh", "uzgen", "batken", "sokuluk")
ITEMS = ("item-1", "item-2", "item-3", "item-4")


T = TypeVar("T")


def maybe(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    """Known three times in four."""
    return st.one_of(st.none(), strategy, strategy, strategy)


amounts = st.sampled_from([0, 1, 4_999_999, 5_000_000, 10_000_000, 50_000_000, 50_000_001])

facts = st.builds(
    ApplicationFacts,
    organisation_kind=maybe(st.sampled_from(ORGANISATION_KINDS)),
    territory=maybe(st.sampled_from(TERRITORIES)),
    founded_year=maybe(st.integers(min_value=2015, max_value=2027)),
    women_led=maybe(st.booleans()),
    youth_led=maybe(st.booleans()),
    requested_amount=maybe(amounts | st.integers(min_value=0, max_value=10**8)),
    co_funding_amount=maybe(amounts | st.integers(min_value=0, max_value=10**7)),
    action_plan_items=maybe(st.frozensets(st.sampled_from(ITEMS))),
    attachment_kinds=maybe(st.frozensets(st.sampled_from(ATTACHMENT_KINDS))),
    active_grants=maybe(st.integers(min_value=0, max_value=3)),
    budget_lines=maybe(
        st.lists(
            st.builds(
                BudgetLineFacts,
                currency=st.sampled_from(["KGS", "KGS", "KGS", "USD"]),
                total=st.sampled_from([0, 5_000_000, 10_000_000]) | st.integers(0, 10**7),
            ),
            max_size=3,
        ).map(tuple)
    ),
)

windows = st.builds(
    WindowFacts,
    currency=st.just("KGS"),
    min_grant=st.sampled_from([0, 5_000_000]),
    max_grant=st.sampled_from([10_000_000, 50_000_000]),
    territories=st.frozensets(st.sampled_from(TERRITORIES)),
    territory_names=st.just(WINDOW.territory_names),
    action_plan_items=st.frozensets(st.sampled_from(ITEMS)),
)


def some(values: tuple[str, ...]) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True).map(tuple)


# Leaves with a blank id: ids are given afterwards, unique in the whole set (see `numbered`).
leaves: st.SearchStrategy[Rule] = st.one_of(
    st.builds(OrganisationKindIn, id=st.just(""), kinds=some(ORGANISATION_KINDS)),
    st.just(TerritoryInWindow("")),
    st.builds(MinYearsSinceFounding, id=st.just(""), years=st.integers(0, 12)),
    st.just(RequestedAmountWithinWindow("")),
    st.builds(
        MinCoFundingShare,
        id=st.just(""),
        percent=st.sampled_from([Fraction(0), Fraction(10), Fraction(25, 2), Fraction(100)]),
    ),
    st.builds(
        LedBy,
        id=st.just(""),
        flags=st.lists(st.sampled_from(LeadershipFlag), min_size=1, unique=True).map(tuple),
        mode=st.sampled_from(LedByMode),
    ),
    st.builds(LinkedToEligibleItem, id=st.just(""), min_items=st.integers(1, 3)),
    st.builds(AttachmentsPresent, id=st.just(""), kinds=some(ATTACHMENT_KINDS)),
    st.builds(MaxActiveGrants, id=st.just(""), max_grants=st.integers(0, 2)),
    st.just(BudgetLinesConsistent("")),
)


def trees(depth: int) -> st.SearchStrategy[Rule]:
    """Rules nested at most `depth` levels deep, at most 3 children a group."""
    if depth <= 1:
        return leaves
    children = st.lists(trees(depth - 1), min_size=1, max_size=3).map(tuple)
    return st.one_of(
        leaves,
        st.builds(AllOf, id=st.just(""), rules=children),
        st.builds(AnyOf, id=st.just(""), rules=children),
    )


def numbered(rules: tuple[Rule, ...], prefix: str = "r") -> tuple[Rule, ...]:
    """The rules with ids r1, r2, … depth-first."""
    counter = iter(range(1, MAX_RULES + 1))

    def number(rule: Rule) -> Rule:
        rule_id = f"{prefix}{next(counter)}"
        if isinstance(rule, AllOf | AnyOf):
            return replace(rule, id=rule_id, rules=tuple(number(r) for r in rule.rules))
        return replace(rule, id=rule_id)

    return tuple(number(r) for r in rules)


# At most 3 levels and 4 × 13 rules: wrapping a rule in any(r, r2) keeps it within the limits.
rule_sets = st.lists(trees(3), min_size=1, max_size=4).map(lambda rs: RuleSet(numbered(tuple(rs))))


def ids_in(rules: tuple[Rule, ...]) -> list[str]:
    out: list[str] = []
    for rule in rules:
        out.append(rule.id)
        if isinstance(rule, AllOf | AnyOf):
            out.extend(ids_in(rule.rules))
    return out


def shuffled(rules: tuple[Rule, ...], rnd: random.Random) -> tuple[Rule, ...]:
    out = [
        replace(r, rules=shuffled(r.rules, rnd)) if isinstance(r, AllOf | AnyOf) else r
        for r in rules
    ]
    rnd.shuffle(out)
    return tuple(out)


def paths(rules: tuple[Rule, ...], prefix: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    out: list[tuple[int, ...]] = []
    for i, rule in enumerate(rules):
        out.append((*prefix, i))
        if isinstance(rule, AllOf | AnyOf):
            out.extend(paths(rule.rules, (*prefix, i)))
    return out


def wrapped(rules: tuple[Rule, ...], path: tuple[int, ...], other: Rule) -> tuple[Rule, ...]:
    """The rules with the one at `path` replaced by any(it, other)."""
    i, rest = path[0], path[1:]
    rule = rules[i]
    if rest:
        assert isinstance(rule, AllOf | AnyOf)
        new: Rule = replace(rule, rules=wrapped(rule.rules, rest, other))
    else:
        new = AnyOf("wrap", (rule, other))
    return (*rules[:i], new, *rules[i + 1 :])


def all_results(results: tuple[RuleResult, ...]) -> list[RuleResult]:
    out: list[RuleResult] = []
    for result in results:
        out.append(result)
        out.extend(all_results(result.children))
    return out


RANK = {Verdict.FAIL: 0, Verdict.NEEDS_INFORMATION: 1, Verdict.PASS: 2}


@given(rule_sets)
def test_generated_rule_sets_round_trip(rule_set: RuleSet) -> None:
    stored = json.loads(json.dumps(rules_to_json(rule_set)))
    assert parse_rules(stored) == rule_set


@given(rule_sets, facts, windows, st.randoms(use_true_random=False))
def test_verdict_is_independent_of_the_order_of_rules(
    rule_set: RuleSet, app: ApplicationFacts, window: WindowFacts, rnd: random.Random
) -> None:
    original = evaluate(rule_set, app, window, AS_OF)
    reordered = evaluate(RuleSet(shuffled(rule_set.rules, rnd)), app, window, AS_OF)
    assert reordered.verdict == original.verdict
    # …and so is the verdict of every rule in it.
    verdicts = {r.rule_id: r.verdict for r in all_results(original.results)}
    assert {r.rule_id: r.verdict for r in all_results(reordered.results)} == verdicts
    assert sorted(reordered.failed_rule_ids()) == sorted(original.failed_rule_ids())


@given(rule_sets, facts, windows, trees(2), st.data())
def test_wrapping_a_rule_in_any_never_makes_things_worse(
    rule_set: RuleSet, app: ApplicationFacts, window: WindowFacts, other: Rule, data: st.DataObject
) -> None:
    if not rule_set.rules:
        return
    path = data.draw(st.sampled_from(paths(rule_set.rules)))
    widened = RuleSet(wrapped(rule_set.rules, path, numbered((other,), prefix="x")[0]))
    assert parse_rules(rules_to_json(widened)) == widened  # still a valid rule set
    before = evaluate(rule_set, app, window, AS_OF).verdict
    after = evaluate(widened, app, window, AS_OF).verdict
    assert RANK[after] >= RANK[before]
    if before == Verdict.PASS:
        assert after == Verdict.PASS


@given(rule_sets, facts, windows)
def test_a_failed_evaluation_names_failed_leaf_rules_of_the_set(
    rule_set: RuleSet, app: ApplicationFacts, window: WindowFacts
) -> None:
    evaluation = evaluate(rule_set, app, window, AS_OF)
    failed = evaluation.failed_rule_ids()
    if evaluation.verdict != Verdict.FAIL:
        assert failed == []
        return
    assert failed != []
    assert set(failed) <= set(ids_in(rule_set.rules))
    by_id = {r.rule_id: r for r in all_results(evaluation.results)}
    for rule_id in failed:
        assert by_id[rule_id].verdict == Verdict.FAIL
        assert by_id[rule_id].children == ()


@given(rule_sets, facts, windows)
def test_evaluation_is_deterministic(
    rule_set: RuleSet, app: ApplicationFacts, window: WindowFacts
) -> None:
    first = evaluate(rule_set, app, window, AS_OF)
    again = evaluate(parse_rules(rules_to_json(rule_set)), app, window, AS_OF)
    assert first == again
    assert json.dumps(first.to_json(), ensure_ascii=False) == json.dumps(
        again.to_json(), ensure_ascii=False
    )


@given(rule_sets, facts, windows)
def test_every_result_has_a_reason_in_every_language(
    rule_set: RuleSet, app: ApplicationFacts, window: WindowFacts
) -> None:
    evaluation = evaluate(rule_set, app, window, AS_OF)
    results = all_results(evaluation.results)
    assert [r.rule_id for r in results] == ids_in(rule_set.rules)
    for result in results:
        assert set(result.reason) == {"en", "ru", "ky"}
        assert all(text.strip() for text in result.reason.values())


@given(
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=0, max_value=100),
    st.sampled_from(["", ".5", ".25", ".125", ".3333"]),
)
def test_co_funding_share_is_exact(requested: int, co_funding: int, whole: int, part: str) -> None:
    percent = f"{min(whole, 99)}{part}"
    rule = {"id": "c", "kind": "min_co_funding_share", "percent": percent}
    verdict = judge(
        rule, ApplicationFacts(requested_amount=requested, co_funding_amount=co_funding)
    )
    total = requested + co_funding
    expected = co_funding * 100 >= Fraction(percent) * total if total else Fraction(percent) == 0
    assert verdict.verdict == (Verdict.PASS if expected else Verdict.FAIL)
