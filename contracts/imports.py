"""Bulk imports of spreadsheets (XLSX or CSV): the report of one import.

The formats of the files are described in `docs/imports.md`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

import msgspec


class ImportKind(StrEnum):
    ACTION_PLANS = "action_plans"
    ORGANISATIONS = "organisations"


class ImportRowError(msgspec.Struct, kw_only=True):
    """One bad row: its number as the spreadsheet shows it (the header is row 1), the column
    (None when the error is about the whole row or file) and what is wrong."""

    row: int
    column: str | None
    message: str


class ImportRecordChange(msgspec.Struct, kw_only=True):
    """One record a (dry-run) import creates, updates or finds unchanged: the row it starts on,
    its entity (e.g. `action_plan_item`), its natural key as the file names it (a plan's
    English title, an item's code, an indicator's English name), what happens to it, and the
    fields an update changes."""

    row: int
    entity: str
    key: str
    action: Literal["create", "update", "unchanged"]
    fields: list[str] = []


class ImportReport(msgspec.Struct, kw_only=True):
    """What an import did, or (`dry_run`) would do.

    `created` and `updated` count rows per entity (e.g. `action_plan_item`); `unchanged` counts
    the rows found identical to the file. `applied` is true when the good rows were written: never
    on a dry run, and never when a row is bad unless `skip_invalid` was asked for."""

    kind: ImportKind
    dry_run: bool
    rows_read: int
    created: dict[str, int]
    updated: dict[str, int]
    unchanged: int
    errors: list[ImportRowError]
    applied: bool
    records: list[ImportRecordChange] = []
    """Each record created, updated or unchanged, in file order (for action plans; the
    organisation import leaves it empty)."""
