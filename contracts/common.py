"""Types every part of the contract uses: problems, localised text, money, pages."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.currencies import KGS, Iso4217Code

# --- scalar aliases -------------------------------------------------------------------------

MinorUnits = Annotated[int, Meta(ge=0, le=10**15, description="Amount in integer minor units")]
PositiveMinorUnits = Annotated[
    int, Meta(gt=0, le=10**15, description="Amount > 0 in integer minor units")
]
CurrencyCode = Annotated[
    Iso4217Code,
    Meta(
        description="ISO 4217 alphabetic code, upper case, one CLDR knows (another is a 422)",
        examples=[KGS],
    ),
]
ShortText = Annotated[str, Meta(min_length=1, max_length=200)]
NameText = Annotated[str, Meta(min_length=1, max_length=300)]
LongText = Annotated[str, Meta(max_length=20_000)]
Email = Annotated[str, Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Password = Annotated[str, Meta(min_length=10, max_length=200)]
Code = Annotated[str, Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Cursor = Annotated[str, Meta(max_length=200)]
Limit = Annotated[int, Meta(ge=1, le=200)]


class Request(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of every request body: unknown fields are refused."""


class I18nText(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Text in the three UI languages; English is required, the others fall back to it."""

    en: Annotated[str, Meta(min_length=1, max_length=2000)]
    ru: Annotated[str, Meta(max_length=2000)] | None = None
    ky: Annotated[str, Meta(max_length=2000)] | None = None


class ValidationIssue(msgspec.Struct, kw_only=True):
    """One invalid input: where (e.g. `body.name`) and what is wrong with it."""

    field: str
    message: str


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """RFC 9457 problem details (`application/problem+json`)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[ValidationIssue] | None = None
    current_version: int | None = None
    allowed: list[str] | None = None


class HealthRead(msgspec.Struct, kw_only=True):
    status: str
    database: str | None = None
