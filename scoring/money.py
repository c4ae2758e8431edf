"""Money in integer minor units: its currencies' exponents, its wording, and arithmetic that
splits an amount without losing a single tiyin.

The one home of money formatting for scoring and the service: a currency's minor-unit exponent
comes from Babel's CLDR data (ISO 4217: 2 for KGS, USD and EUR, 0 for JPY, 3 for KWD); a code CLDR
does not know is refused (:class:`UnknownCurrency`), never printed with a guessed 2 decimals.
Amounts are written with exactly the currency's decimals in each language's CLDR digit grouping
and decimal sign, then the ISO code: "500,000.00 KGS" in English, "500 000,00 KGS" in Russian
and Kyrgyz (a non-breaking space between thousands).

Pure functions: no I/O, no floats. Used to charge a grant to the window's funding sources pro rata,
to split amounts into tranches, and by every reason and export that shows an amount.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Final

from babel.numbers import format_decimal, get_currency_precision, is_currency

LOCALES: Final = {"en": "en", "ru": "ru", "ky": "ky"}
"""The CLDR locale of each UI language."""


class UnknownCurrency(ValueError):
    """The code is not a currency CLDR knows (ISO 4217 alphabetic, upper case)."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        super().__init__(f"unknown currency {currency!r}: not an ISO 4217 code known to CLDR")


def is_known_currency(currency: str) -> bool:
    """Whether ``currency`` is an upper-case ISO 4217 code CLDR knows (``KGS`` yes, ``ZZZ`` and
    ``kgs`` no): what a stored or imported code must be."""
    return isinstance(currency, str) and currency.isupper() and bool(is_currency(currency))


def minor_unit_exponent(currency: str) -> int:
    """Digits after the decimal point of the currency's major unit (CLDR's ISO 4217 data):
    ``KGS`` (or ``kgs``) → 2, ``JPY`` → 0, ``KWD`` → 3. Raises :class:`UnknownCurrency` for a
    code CLDR does not know."""
    code = currency.upper() if isinstance(currency, str) else ""
    if not is_currency(code):
        raise UnknownCurrency(str(currency))
    return int(get_currency_precision(code))


def to_major(minor: int, currency: str) -> Decimal:
    """Integer minor units as an exact Decimal in major units with the currency's decimals:
    ``(123456, "KGS")`` → ``Decimal("1234.56")``, ``(7, "JPY")`` → ``Decimal("7")``."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise TypeError("an amount is an integer number of minor units")
    exponent = minor_unit_exponent(currency)
    return Decimal(minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def to_minor(major: Decimal, currency: str) -> int:
    """The inverse of :func:`to_major`; ``ValueError`` when ``major`` has more decimals than
    the currency has."""
    scaled = Decimal(major).scaleb(minor_unit_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{major} {currency} has more decimals than the currency")
    return int(scaled)


def format_major(minor: int, currency: str) -> str:
    """Minor units as a plain decimal string in major units, for files and machines: no grouping,
    a point, exactly the currency's decimals: ``(123456, "KGS")`` → ``"1234.56"``,
    ``(-5, "USD")`` → ``"-0.05"``, ``(7, "JPY")`` → ``"7"``."""
    return str(to_major(minor, currency))


def number_pattern(currency: str) -> str:
    """The CLDR/Excel number pattern of the currency's amounts: ``#,##0.00``, ``#,##0``…"""
    exponent = minor_unit_exponent(currency)
    return "#,##0." + "0" * exponent if exponent else "#,##0"


def format_money(minor: int, currency: str, language: str = "en") -> str:
    """Minor units for people, in ``language`` (en, ru, ky): CLDR's grouping and decimal sign,
    exactly the currency's decimals, then the ISO code: ``(50000000, "KGS", "en")`` →
    ``"500,000.00 KGS"``, ``(50000000, "KGS", "ru")`` → ``"500\u00a0000,00 KGS"``."""
    if language not in LOCALES:
        raise ValueError(f"unknown language {language!r}: en, ru or ky")
    figures = format_decimal(
        to_major(minor, currency), format=number_pattern(currency), locale=LOCALES[language]
    )
    return f"{figures} {currency.upper()}"


def allocate_pro_rata(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` (minor units, ≥ 0) in proportion to ``weights`` (≥ 0, not all zero).

    Largest-remainder (Hamilton) method: each part is the floor of its exact share, and the units
    left over go one each to the largest fractional remainders, ties to the earlier weight. So the
    parts sum exactly to ``total`` and each differs from its exact share by less than one unit.
    """
    if total < 0:
        raise ValueError("total must be >= 0")
    if not weights:
        raise ValueError("weights must not be empty")
    if any(w < 0 for w in weights):
        raise ValueError("weights must be >= 0")
    weight_sum = sum(weights)
    if weight_sum == 0:
        raise ValueError("at least one weight must be > 0")
    parts = [total * w // weight_sum for w in weights]
    remainders = [total * w % weight_sum for w in weights]
    left = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        parts[i] += 1
    return parts


def round_half_even(value: Fraction) -> int:
    """The integer nearest to ``value``; exact halves go to the even neighbour (banker's rounding,
    so that rounding errors do not drift one way over many conversions)."""
    return round(value)  # Fraction.__round__ rounds half to even, exactly


def convert(amount: int, rate: Fraction | Decimal | str) -> int:
    """``amount`` minor units of currency A in currency B's minor units, where ``rate`` is units
    of A per unit of B (e.g. 89.45 KGS per USD), rounded half to even. Both currencies have the
    same minor-unit exponent (2 for KGS, USD and EUR, the only ones the programme uses)."""
    r = Fraction(Decimal(rate)) if isinstance(rate, str) else Fraction(rate)
    if r <= 0:
        raise ValueError("rate must be > 0")
    if amount < 0:
        raise ValueError("amount must be >= 0")
    return round_half_even(Fraction(amount) / r)


def split_payment(
    amount: int, remaining: Sequence[int], remaining_source: Sequence[int]
) -> list[tuple[int, int]]:
    """Split a payment of ``amount`` over a grant's charges.

    ``remaining[i]`` is what charge i still has unpaid (grant currency) and ``remaining_source[i]``
    the same at the commitment rate in the source's currency. Returns, per charge, the part paid
    from it and that part's value at the commitment rate. The parts sum exactly to ``amount``
    (largest remainder); a part that pays a charge off takes exactly its remaining source value,
    so over a grant's whole schedule the committed source amounts are used up to the last unit and
    nothing is lost in rounding.
    """
    if len(remaining) != len(remaining_source) or not remaining:
        raise ValueError("remaining and remaining_source must be non-empty and of equal length")
    if any(r < 0 for r in remaining) or any(r < 0 for r in remaining_source):
        raise ValueError("remaining amounts must be >= 0")
    if not 0 <= amount <= sum(remaining):
        raise ValueError("amount must be between 0 and the sum of the remaining amounts")
    if amount == 0:
        return [(0, 0) for _ in remaining]
    parts = allocate_pro_rata(amount, remaining)
    out: list[tuple[int, int]] = []
    for part, rem, rem_src in zip(parts, remaining, remaining_source, strict=True):
        if part == rem:
            out.append((part, rem_src))
        else:
            out.append((part, round_half_even(Fraction(part * rem_src, rem))))
    return out
