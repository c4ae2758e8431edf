"""The password rule: long enough (the contract's 10 characters) and not easy to guess.

"Easy to guess" is judged by zxcvbn (Dropbox's estimator, the maintained `zxcvbn` package on
PyPI, MIT licence): it knows the 30,000 most common passwords of real breaches, English words,
names, keyboard patterns, repeats, sequences and dates, and the words of the person's own account
(their e-mail address and name), and estimates how many guesses a password needs. A password it
scores below 3 of 4 (fewer than ~10^8 guesses: `aaaaaaaaaa`, `1234567890`, `password12`, the
e-mail address itself) is refused with 422 naming the field.
"""

from __future__ import annotations

import re

import anyio.to_thread
from zxcvbn import zxcvbn  # type: ignore[import-untyped]  # zxcvbn ships no type hints

from contracts.common import ValidationIssue
from service.problems import InvalidInput

MIN_SCORE = 3
"""zxcvbn's score: 3 is "safely unguessable: moderate protection from offline slow-hash
scenario" (< 10^10 guesses), 4 "very unguessable"."""
_JUDGED_LENGTH = 100
"""zxcvbn's time grows with the length: it judges the first 100 characters (a longer password
that is strong in its first 100 is strong)."""

TOO_EASY = "This password is too easy to guess"
"""The start of the refusal's message (the web recognises it to word it in the person's
language)."""


def _account_words(email: str, full_name: str | None) -> list[str]:
    words = [email, *re.split(r"[@._+-]+", email)]
    if full_name:
        words += [full_name, *full_name.split()]
    return [w for w in words if len(w) >= 3]


def weakness(password: str, *, email: str, full_name: str | None = None) -> str | None:
    """Why `password` is too easy to guess, in words; None when it is not."""
    result = zxcvbn(password[:_JUDGED_LENGTH], user_inputs=_account_words(email, full_name))
    if int(result["score"]) >= MIN_SCORE:
        return None
    feedback = result.get("feedback") or {}
    hints = [str(feedback.get("warning") or "").strip()]
    hints += [str(s).strip() for s in feedback.get("suggestions") or []]
    said = " ".join(h if h.endswith(".") else h + "." for h in hints if h)
    if password.lower() in {w.lower() for w in _account_words(email, full_name)}:
        said = "It is your e-mail address or name. " + said
    return f"{TOO_EASY}: {said or 'use a longer passphrase of uncommon words.'}".strip()


async def check_password(
    password: str, *, email: str, full_name: str | None = None, field: str = "body.password"
) -> None:
    """422 `invalid-input` naming `field` when the password is too easy to guess."""
    why = await anyio.to_thread.run_sync(
        lambda: weakness(password, email=email, full_name=full_name)
    )
    if why is not None:
        raise InvalidInput(
            "the password is too easy to guess", [ValidationIssue(field=field, message=why)]
        )
