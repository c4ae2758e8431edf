"""What both imports share: cell parsers (pure, with messages a spreadsheet user can act on),
progress reporting, and the audited update of rows without a version column."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from contracts.imports import ImportReport, ImportRowError
from service.audit.service import record, snapshot
from service.context import RequestContext
from service.imports.reader import Cell, Table

E = TypeVar("E", bound=StrEnum)
R = TypeVar("R")
T = TypeVar("T")


class CellError(ValueError):
    """The value of one cell is not acceptable; the message says why, for the person who typed
    it."""


# --- progress -----------------------------------------------------------------------------------


class Progress(Protocol):
    """Told how far an import has got (the CLI draws a progress bar)."""

    def begin(self, phase: str, total: int) -> None: ...

    def advance(self) -> None: ...


class NoProgress:
    def begin(self, phase: str, total: int) -> None:
        pass

    def advance(self) -> None:
        pass


# --- validation results -------------------------------------------------------------------------


@dataclass
class Validated(Generic[R]):
    """The records built from the good rows, and an error for every bad one."""

    records: list[R]
    errors: list[ImportRowError]
    rows_read: int
    file_errors: bool = False
    """The file itself is unusable (e.g. a missing column): nothing is imported, ever."""
    bad_rows: set[int] = field(default_factory=set)

    def fail(self, row: int, column: str | None, message: str) -> None:
        self.errors.append(ImportRowError(row=row, column=column, message=message))
        self.bad_rows.add(row)


def sorted_errors(errors: Iterable[ImportRowError]) -> list[ImportRowError]:
    """By row; within a row, in the order they were found (the column order of the format)."""
    return sorted(errors, key=lambda e: e.row)


# --- cells --------------------------------------------------------------------------------------

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007]+")
_AMOUNT = re.compile(r"^(?P<whole>\d+)(?:[.,](?P<frac>\d+))?$")
_MINUS = ("-", "\u2212", "\u2013")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DOTTED_DATE = re.compile(r"^(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

TRUE_WORDS = frozenset({"yes", "true", "1", "да", "ооба"})
FALSE_WORDS = frozenset({"no", "false", "0", "нет", "жок"})


def _shown(value: Cell) -> str:
    """The value as the message quotes it."""
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return repr(value) if isinstance(value, str) else str(value)


def _float_text(value: float) -> str:
    return format(Decimal(repr(value)), "f")


def as_text(value: Cell) -> str | None:
    """Any cell as text: whole numbers without `.0` (Excel stores `2015` and `996555…` as
    numbers), dates in ISO form."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return _float_text(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def required_text(value: Cell, *, max_length: int) -> str:
    text = as_text(value)
    if text is None:
        raise CellError("required")
    if len(text) > max_length:
        raise CellError(f"longer than {max_length} characters ({len(text)})")
    return text


def optional_text(value: Cell, *, max_length: int) -> str | None:
    return None if value is None else required_text(value, max_length=max_length)


def code(value: Cell) -> str:
    text = required_text(value, max_length=40)
    if not _CODE.match(text):
        raise CellError(
            f"not a code: {text!r} (letters, digits, '.', '_' and '-', starting with a letter "
            "or digit)"
        )
    return text


def email(value: Cell) -> str | None:
    text = optional_text(value, max_length=254)
    if text is not None and not _EMAIL.match(text):
        raise CellError(f"not an e-mail address: {text!r}")
    return text


def boolean(value: Cell) -> bool:
    """yes/no, true/false, 1/0, да/нет, ооба/жок (any case), or an Excel TRUE/FALSE; blank is no."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    word = as_text(value)
    if word is not None:
        word = word.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise CellError(
        f"not yes or no: {_shown(value)} (write yes/no, true/false, 1/0, да/нет or ооба/жок)"
    )


def _number(value: Cell, *, what: str, example: str) -> tuple[bool, str, str]:
    """(negative, whole digits, fraction digits) of a number cell or of text like
    `1 250 000.50` (spaces group the thousands; `.` or `,` marks the decimals)."""
    if value is None:
        raise CellError("required")
    if isinstance(value, bool | datetime | date | time):
        raise CellError(f"not {what}: {_shown(value)}")
    if isinstance(value, float) and (value != value or abs(value) == float("inf")):
        raise CellError(f"not {what}: {_shown(value)}")
    text = _SPACES.sub("", as_text(value) or "")
    negative = text.startswith(_MINUS)
    if negative:
        text = text[1:]
    match = _AMOUNT.match(text)
    if match is None:
        raise CellError(f"not {what}: {_shown(value)} (write e.g. {example})")
    frac = match["frac"] or ""
    if isinstance(value, str) and "," in text and len(frac) == 3:
        raise CellError(
            f"ambiguous: {_shown(value)} (group thousands with spaces, e.g. 1 250, "
            "or write the decimals with a point)"
        )
    return negative, match["whole"], frac


MAX_MINOR_UNITS = 10**15
INDICATOR_LIMIT = Decimal(10) ** 14  # NUMERIC(18, 4)


def money(value: Cell) -> int:
    """Major units (som) to integer minor units (tyiyn), exactly: `1 250 000.50` → 125000050.
    Negative amounts and more than two decimals are refused, never rounded."""
    negative, whole, frac = _number(value, what="an amount", example="1250000 or 1 250 000.50")
    amount = Decimal(f"{whole}.{frac or '0'}")
    if negative and amount != 0:
        raise CellError(f"must not be negative: {_shown(value)}")
    if len(frac) > 2:
        raise CellError(f"has more than 2 decimal places: {_shown(value)}")
    minor = int(amount * 100)  # exact: at most two decimals
    if minor > MAX_MINOR_UNITS:
        raise CellError(f"too large: {_shown(value)}")
    return minor


def decimal(value: Cell, *, places: int = 4) -> Decimal:
    """A decimal number (indicator values: NUMERIC(18, 4)), negative allowed, never rounded."""
    negative, whole, frac = _number(value, what="a number", example="250 or 54.5")
    frac = frac.rstrip("0")
    if len(frac) > places:
        raise CellError(f"has more than {places} decimal places: {_shown(value)}")
    number = Decimal(f"{'-' if negative else ''}{whole}.{frac or '0'}")
    if abs(number) >= INDICATOR_LIMIT:
        raise CellError(f"too large: {_shown(value)}")
    return number


def day(value: Cell) -> date:
    """An Excel date cell, or text `YYYY-MM-DD` or `DD.MM.YYYY`."""
    if value is None:
        raise CellError("required")
    if isinstance(value, datetime):
        if value.time() != time(0, 0):
            raise CellError(f"a date without a time of day is expected: {_shown(value)}")
        return value.date()
    if isinstance(value, date):
        return value
    text = as_text(value) if isinstance(value, str) else None
    try:
        if text is not None and _ISO_DATE.match(text):
            return date.fromisoformat(text)
        if text is not None and (m := _DOTTED_DATE.match(text)):
            return date(int(m["y"]), int(m["m"]), int(m["d"]))
    except ValueError:
        raise CellError(f"no such date: {_shown(value)}") from None
    raise CellError(f"not a date: {_shown(value)} (write YYYY-MM-DD or use a date cell)")


def year(value: Cell, *, low: int = 1900, high: int = 2100) -> int:
    if value is None:
        raise CellError("required")
    text = as_text(value) if not isinstance(value, bool) else None
    if text is None or not text.isdigit():
        raise CellError(f"not a year: {_shown(value)}")
    result = int(text)
    if not low <= result <= high:
        raise CellError(f"not a plausible year: {result} (between {low} and {high})")
    return result


def choice(value: Cell, enum: type[E], *, what: str) -> E:
    text = as_text(value)
    if text is None:
        raise CellError("required")
    key = re.sub(r"[\s\-]+", "_", text.strip().lower())
    for member in enum:
        if member.value == key:
            return member
    allowed = ", ".join(m.value for m in enum)
    raise CellError(f"unknown {what} {text!r} (one of: {allowed})")


def split_list(value: Cell, *, max_items: int, max_length: int) -> list[str]:
    """`;`-separated values, trimmed, blanks and repeats dropped, order kept."""
    text = as_text(value)
    if text is None:
        return []
    items: list[str] = []
    for part in text.split(";"):
        part = part.strip()
        if not part or part in items:
            continue
        if len(part) > max_length:
            raise CellError(f"{part[:20]!r}… is longer than {max_length} characters")
        items.append(part)
    if len(items) > max_items:
        raise CellError(f"more than {max_items} entries ({len(items)})")
    return items


def i18n(en: str, ru: str | None, ky: str | None) -> dict[str, str]:
    """Text in the three languages as stored: languages without text are left out."""
    return {k: v for k, v in (("en", en), ("ru", ru), ("ky", ky)) if v}


def same_i18n(stored: dict[str, Any] | None, wanted: dict[str, str]) -> bool:
    """Equal text, whether or not the stored value keeps empty languages as null."""
    return {k: v for k, v in (stored or {}).items() if v} == wanted


# --- writing ------------------------------------------------------------------------------------


async def update_audited(
    session: AsyncSession,
    ctx: RequestContext,
    row: SQLModel,
    changes: dict[str, Any],
    *,
    entity: str,
) -> None:
    """Set the changed columns of a row that has no version, and record before → after."""
    before = snapshot(row)
    for name, value in changes.items():
        setattr(row, name, value)
    await session.flush()
    await record(
        session,
        ctx,
        action=f"{entity}.updated",
        entity=entity,
        entity_id=getattr(row, "id"),  # noqa: B009  (every audited row has an id)
        before=before,
        after=snapshot(row),
    )


async def run(
    session: AsyncSession,
    ctx: RequestContext,
    table: Table,
    load_territories: Callable[[AsyncSession], Awaitable[Mapping[str, T]]],
    validate: Callable[[Table, Mapping[str, T], Progress | None], Validated[R]],
    apply: Callable[..., Awaitable[ImportReport]],
    *,
    dry_run: bool,
    skip_invalid: bool,
    progress: Progress | None = None,
) -> ImportReport:
    """One import of a read table: its territories loaded, every row validated, the good ones
    applied with ``apply(session, ctx, validated, dry_run=, skip_invalid=, progress=)``."""
    territories = await load_territories(session)
    # pure Python over up to 10,000 rows: in a worker thread, so the server keeps answering
    validated = await to_thread.run_sync(validate, table, territories, progress)
    return await apply(
        session, ctx, validated, dry_run=dry_run, skip_invalid=skip_invalid, progress=progress
    )
