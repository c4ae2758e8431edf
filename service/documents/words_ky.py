"""Whole numbers in Kyrgyz words (num2words 0.5.14 has no Kyrgyz: `lang="ky"` raises).

Kyrgyz numerals compose without inflection: hundreds, tens and units in that order, then the
scale word (миң, миллион, миллиард, триллион). A lone hundred is «жүз»; a lone thousand and the
higher scales keep «бир» («бир миң», «бир миллион»), as amounts are written in documents.
"""

from __future__ import annotations

UNITS = ["", "бир", "эки", "үч", "төрт", "беш", "алты", "жети", "сегиз", "тогуз"]
TENS = ["", "он", "жыйырма", "отуз", "кырк", "элүү", "алтымыш", "жетимиш", "сексен", "токсон"]
HUNDRED = "жүз"
SCALES = ["", "миң", "миллион", "миллиард", "триллион"]
ZERO = "нөл"
LIMIT = 10**15
"""Up to 999 триллион …: more than any amount the service holds (minor units ≤ 10^15)."""


def _below_thousand(n: int) -> list[str]:
    hundreds, rest = divmod(n, 100)
    tens, units = divmod(rest, 10)
    words: list[str] = []
    if hundreds:
        if hundreds > 1:
            words.append(UNITS[hundreds])
        words.append(HUNDRED)
    if tens:
        words.append(TENS[tens])
    if units:
        words.append(UNITS[units])
    return words


def kyrgyz_words(n: int) -> str:
    """`n` (0 ≤ n < 10^15) in Kyrgyz words, e.g. 1_250_000 → «бир миллион эки жүз элүү миң»."""
    if not 0 <= n < LIMIT:
        raise ValueError(f"{n} is outside 0 … {LIMIT - 1}")
    if n == 0:
        return ZERO
    groups: list[int] = []
    while n:
        n, group = divmod(n, 1000)
        groups.append(group)
    words: list[str] = []
    for scale in range(len(groups) - 1, -1, -1):
        group = groups[scale]
        if not group:
            continue
        part = _below_thousand(group)
        if scale and group == 1:
            part = [UNITS[1]]
        words.extend(part)
        if scale:
            words.append(SCALES[scale])
    return " ".join(words)
