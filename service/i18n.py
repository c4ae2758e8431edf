"""Texts in every UI language: the JSONB dicts of the tables and the contracts' ``I18nText``."""

from __future__ import annotations

from typing import Any

import msgspec

from contracts.common import I18nText


def i18n(value: dict[str, Any] | None) -> I18nText:
    """A stored ``{"en": …, "ru": …, "ky": …}`` as the contracts' type (English always present)."""
    value = value or {}
    return I18nText(en=value.get("en") or "", ru=value.get("ru"), ky=value.get("ky"))


def i18n_dict(text: I18nText) -> dict[str, str]:
    """The contracts' type as the stored dict, without the languages not given."""
    return {k: v for k, v in msgspec.structs.asdict(text).items() if v is not None}
