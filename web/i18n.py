"""Languages: gettext catalogues (Babel), the request's locale, and locale-aware formatting.

The catalogues are `web/locale/<lang>/LC_MESSAGES/messages.po`, extracted with
`pybabel extract -F babel.cfg -o web/locale/messages.pot .` and compiled in memory at start-up
(no compiled files to forget). The locale of a request lives in a context variable set by the
app's middleware, so templates, filters and Python code all read the same one.
"""

from __future__ import annotations

import contextvars
import io
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import (
    format_currency,
    format_decimal,
    get_currency_precision,
    get_decimal_symbol,
    get_group_symbol,
)
from babel.support import NullTranslations, Translations

LANGUAGES: tuple[str, ...] = ("en", "ru", "ky")
LANGUAGE_NAMES: Mapping[str, str] = {"en": "English", "ru": "Русский", "ky": "Кыргызча"}
DEFAULT_LANGUAGE = "en"
BISHKEK = ZoneInfo("Asia/Bishkek")
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("web_lang", default="en")


@cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalogue of `lang` (English is the source language: no catalogue)."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT_LANGUAGE or not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(buf)


def set_language(lang: str) -> contextvars.Token[str]:
    return _current.set(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)


def current_language() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


_ = gettext


def negotiate(accept_language: str | None) -> str:
    """The best of our languages for an `Accept-Language` header (English when none fits)."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        piece = part.strip()
        if not piece:
            continue
        tag, _sep, params = piece.partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        weighted.append((-q, index, tag.strip().lower()))
    for neg_q, _index, tag in sorted(weighted):
        if neg_q >= 0:
            continue
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
        if primary == "kg":  # a common mistake for Kyrgyz (kg is the country code)
            return "ky"
    return DEFAULT_LANGUAGE


# --- formatting ---------------------------------------------------------------------------------


def localised(text: Any) -> str:
    """An `I18nText`-shaped value in the current language, falling back to English."""
    if text is None:
        return ""
    lang = _current.get()
    value = getattr(text, lang, None) if not isinstance(text, Mapping) else text.get(lang)
    if value:
        return str(value)
    english = getattr(text, "en", None) if not isinstance(text, Mapping) else text.get("en")
    return str(english or "")


def money(minor: int | None, currency: str | None = "KGS") -> str:
    """Integer minor units → the locale's currency format ("1 500,00 сом", "KGS 1,500.00")."""
    if minor is None:
        return ""
    code = (currency or "KGS").upper()
    exponent = get_currency_precision(code)
    amount = Decimal(minor).scaleb(-exponent)
    return format_currency(amount, code, locale=_current.get())


def major_units(minor: int | None, currency: str | None = "KGS") -> str:
    """Minor units as a plain decimal string for an input field ("1500.00"), no grouping."""
    if minor is None:
        return ""
    exponent = get_currency_precision((currency or "KGS").upper())
    return f"{Decimal(minor).scaleb(-exponent):.{exponent}f}"


def parse_major_units(text: str, currency: str = "KGS") -> int:
    """ "1 500,50" / "1500.5" → 150050 minor units; ValueError when it is not an amount."""
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "").replace("\u202f", "")
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    if not cleaned or not all(c.isdigit() or c == "." for c in cleaned) or cleaned.count(".") > 1:
        raise ValueError(text)
    exponent = get_currency_precision(currency.upper())
    value = Decimal(cleaned).scaleb(exponent)
    if value != value.to_integral_value():
        raise ValueError(text)
    return int(value)


def number_symbols() -> tuple[str, str]:
    """The current language's decimal and group separators (CLDR): the page gives them to
    app.js, whose totals then read like the server's whatever the browser knows of the
    language (Debian's Chromium has no Kyrgyz number format: Intl fell back to "1,500.00")."""
    lang = _current.get()
    return get_decimal_symbol(lang), get_group_symbol(lang)


def number(value: int | Decimal | float | None) -> str:
    if value is None:
        return ""
    return format_decimal(value, locale=_current.get())


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def when(value: datetime | None, fmt: str = "medium") -> str:
    """A moment in Bishkek time, in the locale's words (date, then hours and minutes)."""
    if value is None:
        return ""
    local = _aware(value).astimezone(BISHKEK)
    lang = _current.get()
    return (
        f"{format_date(local.date(), fmt, locale=lang)}, {format_time(local, 'short', locale=lang)}"
    )


def when_exact(value: datetime | None) -> str:
    """A moment to the second (receipts): date, time with seconds, Bishkek."""
    if value is None:
        return ""
    return format_datetime(_aware(value), "medium", tzinfo=BISHKEK, locale=_current.get())


def day(value: Any, fmt: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _aware(value).astimezone(BISHKEK).date()
    return format_date(value, fmt, locale=_current.get())


def time_left(deadline: datetime | None, now: datetime | None = None) -> str:
    """ "3 days" / "5 hours" to a deadline; empty once it has passed."""
    if deadline is None:
        return ""
    moment = now or datetime.now(UTC)
    delta = _aware(deadline) - moment
    if delta.total_seconds() <= 0:
        return ""
    return format_timedelta(delta, threshold=1.5, locale=_current.get())


def local_input(value: datetime | None) -> str:
    """For `<input type=datetime-local>`: Bishkek wall time, minutes."""
    if value is None:
        return ""
    return _aware(value).astimezone(BISHKEK).strftime("%Y-%m-%dT%H:%M")


def language_name(lang: str) -> str:
    return LANGUAGE_NAMES.get(lang, lang)


def locale_display(lang: str) -> str:
    return Locale.parse(lang).get_display_name(lang) or lang


FILTERS: Mapping[str, Any] = {
    "money": money,
    "major_units": major_units,
    "number": number,
    "when": when,
    "when_exact": when_exact,
    "day": day,
    "time_left": time_left,
    "localised": localised,
    "local_input": local_input,
}


def all_catalogue_languages() -> Iterable[str]:
    return (lang for lang in LANGUAGES if lang != DEFAULT_LANGUAGE)
