"""Amounts, dates and words as the documents print them, in the document's language."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import get_currency_precision
from num2words import num2words

from scoring.money import format_money
from service.documents.words_ky import kyrgyz_words

BISHKEK = ZoneInfo("Asia/Bishkek")
LOCALES = {"en": "en_GB", "ru": "ru_RU", "ky": "ky_KG"}

# The currency's unit names: English (singular, plural), Kyrgyz (no plural), Russian (one, few,
# many). Other currencies print their ISO code.
_UNITS: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "KGS": {
        "en": (("som", "soms"), ("tyiyn", "tyiyns")),
        "ru": (("сом", "сома", "сомов"), ("тыйын", "тыйына", "тыйынов")),
        "ky": (("сом",), ("тыйын",)),
    },
    "USD": {
        "en": (("US dollar", "US dollars"), ("cent", "cents")),
        "ru": (("доллар США", "доллара США", "долларов США"), ("цент", "цента", "центов")),
        "ky": (("АКШ доллары",), ("цент",)),
    },
    "EUR": {
        "en": (("euro", "euros"), ("cent", "cents")),
        "ru": (("евро", "евро", "евро"), ("евроцент", "евроцента", "евроцентов")),
        "ky": (("евро",), ("евроцент",)),
    },
}


def money(minor: int, currency: str, lang: str) -> str:
    """Amounts in figures as the whole project prints them (scoring.money.format_money: CLDR
    grouping and decimal sign of the language, the currency's decimals, the ISO code)."""
    return format_money(minor, currency, lang)


def number_words(n: int, lang: str) -> str:
    if lang == "ky":
        return kyrgyz_words(n)
    words: str = num2words(n, lang=lang)
    return words


def _russian_form(n: int, forms: tuple[str, ...]) -> str:
    if n % 100 in range(11, 15):
        return forms[2]
    return forms[0] if n % 10 == 1 else forms[1] if n % 10 in (2, 3, 4) else forms[2]


def _unit(n: int, forms: tuple[str, ...], lang: str) -> str:
    if lang == "ru":
        return _russian_form(n, forms)
    if lang == "en":
        return forms[0] if n == 1 else forms[1]
    return forms[0]


def money_words(minor: int, currency: str, lang: str) -> str:
    """The amount in words as agreements write it: the whole units in words, the minor units in
    figures, e.g. «бир миллион эки жүз элүү миң сом 00 тыйын»."""
    places = get_currency_precision(currency)
    whole, cents = divmod(minor, 10**places) if places else (minor, 0)
    words = number_words(whole, lang)
    units = _UNITS.get(currency, {}).get(lang)
    if units is None:
        text = f"{words} {currency}"
        return text[:1].upper() + text[1:] + (f" {cents:0{places}d}/100" if places else "")
    major, minor_forms = units
    text = f"{words} {_unit(whole, major, lang)}"
    if places:
        text += f" {cents:0{places}d} {_unit(cents, minor_forms, lang)}"
    return text[:1].upper() + text[1:]


def day(value: date | datetime | None, lang: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.astimezone(BISHKEK).date()
    return format_date(value, format="long", locale=LOCALES[lang])


def moment(value: datetime | None, lang: str) -> str:
    """A time as Bishkek sees it (UTC+6)."""
    if value is None:
        return "—"
    return format_datetime(value, format="medium", tzinfo=BISHKEK, locale=LOCALES[lang])
