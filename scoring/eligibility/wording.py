"""The words of the reasons in English, Russian and Kyrgyz: money (per language, from
:mod:`scoring.money`), exact decimals, the names of
facts, organisation kinds, attachment kinds and leadership flags.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Final, TypeAlias

from scoring.eligibility.rules import (
    LANGUAGES,
    LeadershipFlag,
    Verdict,
    WindowFacts,
)
from scoring.money import format_money

# --- wording ----------------------------------------------------------------------------------


def _money(minor: int, currency: str) -> tuple[str, str, str]:
    """An amount in English, Russian and Kyrgyz (:func:`scoring.money.format_money`): "95,000.00
    KGS", "95 000,00 KGS", "95 000,00 KGS"; an unknown currency raises ``UnknownCurrency``."""
    en, ru, ky = (format_money(minor, currency, language) for language in LANGUAGES)
    return en, ru, ky


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
