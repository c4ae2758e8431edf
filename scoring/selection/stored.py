"""Quotas in their stored form (JSON, as a window or a selection run keeps them).

``{"kind": "min_share_money", "group": "women_led", "value": "0.3"}``: a share as a decimal
string (a fraction of 1), any other kind as a whole number. :func:`quota_from_json` reads one,
:func:`quota_to_json` writes one back, :func:`check_quotas` names every invalid quota of a list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction

from scoring.selection.types import _SHARE_KINDS, Quota

__all__ = ["check_quotas", "quota_from_json", "quota_to_json"]


def quota_from_json(q: Mapping[str, object]) -> Quota:
    """The quota stored as ``q``; ``ValueError``/``KeyError``/``TypeError``/``ArithmeticError``
    when it is not one."""
    value = q["value"]
    kind = q["kind"]
    group = q["group"]
    if not isinstance(kind, str) or not isinstance(group, str):
        raise ValueError("kind and group must be strings")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("value must be a decimal string or a number")
    parsed: int | Fraction = Fraction(str(value)) if kind in _SHARE_KINDS else int(value)
    return Quota(kind=kind, group=group, value=parsed)  # type: ignore[arg-type]  # Quota checks the kind


def quota_to_json(quota: Quota) -> dict[str, str]:
    """The stored form of ``quota``; :func:`quota_from_json` reads it back equal. A share is
    written as an exact decimal when it has one, else as ``n/d``."""
    value = quota.value
    if quota.kind in _SHARE_KINDS:
        share = Fraction(value)
        places = next((p for p in range(7) if (share * 10**p).denominator == 1), None)
        if places is None:
            text = f"{share.numerator}/{share.denominator}"
        else:
            scaled = share.numerator * 10**places // share.denominator
            whole, part = divmod(scaled, 10**places)
            text = f"{whole}.{part:0{places}d}" if places else str(whole)
    else:
        text = str(int(value))
    return {"kind": quota.kind, "group": quota.group, "value": text}


def check_quotas(quotas: Sequence[object]) -> list[str]:
    """Problems with quotas as stored (JSON), one message each, ``quotas[n]: …``, in order;
    empty when all are valid. Never raises on any JSON value."""
    problems = []
    for n, q in enumerate(quotas):
        if not isinstance(q, Mapping):
            problems.append(f"quotas[{n}]: a quota must be an object")
            continue
        try:
            quota_from_json(q)
        except KeyError as exc:
            problems.append(f"quotas[{n}]: missing {exc}")
        except (ValueError, TypeError, ArithmeticError) as exc:
            problems.append(f"quotas[{n}]: {exc}")
    return problems
