"""Import of organisations from a spreadsheet.

One row per organisation. Columns (header in row 1, any order, names case-insensitive):

===================  ========  ====================================================================
column               required  value
===================  ========  ====================================================================
name                 yes       up to 300 characters
kind                 yes       cso, community_media, youth_group, women_led_organisation,
                               human_rights_organisation, initiative_group (`Youth group` is read
                               as youth_group)
registration_number  yes       the organisation's registration number: it names the organisation,
                               so it must be filled and appear once in the file
territory            yes       territory code: alamedin, sokuluk, osh, uzgen, jalal-abad, batken,
                               razzakov
founded_year         yes       e.g. 2015 (1900–2100)
women_led            column    yes/no, true/false, 1/0, да/нет, ооба/жок (blank: no)
youth_led            column    same
email                no        an e-mail address
phone                no        up to 40 characters
address              no        up to 500 characters
===================  ========  ====================================================================

"column" means the column must be there, its cells may be blank. Re-importing is idempotent: an
organisation is found by its registration number; found and equal is left alone, found and
different is updated (a new version), not found is created. A blank email, phone or address
clears the stored one; a column left out of the file leaves it as it is. Nothing is deleted, and
members are never touched. Every row created or updated leaves an audit event.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.enums import OrganisationKind
from contracts.identity import OrganisationUpdate
from contracts.imports import ImportKind, ImportReport
from service.changes import record_created, update_versioned
from service.context import RequestContext
from service.imports import base
from service.imports.base import CellError, NoProgress, Progress, Validated
from service.imports.reader import Cell, Columns, Table
from service.persistence.models import Organisation, Territory

KIND = ImportKind.ORGANISATIONS
COLUMNS = Columns(
    required=(
        "name",
        "kind",
        "registration_number",
        "territory",
        "founded_year",
        "women_led",
        "youth_led",
    ),
    optional=("email", "phone", "address"),
)
ENTITIES = ("organisation",)
OPTIONAL_FIELDS = ("email", "phone", "address")
_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('pcc-grants:import:organisations'))")


@dataclass
class OrganisationRecord:
    row: int
    registration_number: str
    fields: dict[str, Any]
    """The columns of the organisation, as stored (territory as `territory_id`)."""


def _name(value: Cell) -> str:
    name = base.required_text(value, max_length=300)
    if not name.strip():
        raise CellError("required")
    return name


def _kind(value: Cell) -> OrganisationKind:
    return base.choice(value, OrganisationKind, what="kind")


def _registration_number(value: Cell) -> str:
    return base.required_text(value, max_length=64)


def _territory(territories: Mapping[str, uuid.UUID]) -> Callable[[Cell], uuid.UUID]:
    def parse(value: Cell) -> uuid.UUID:
        code = base.required_text(value, max_length=40).strip().lower()
        if code not in territories:
            known = ", ".join(sorted(territories))
            raise CellError(f"unknown territory {code!r} (one of: {known})")
        return territories[code]

    return parse


def validate(
    table: Table, territories: Mapping[str, uuid.UUID], progress: Progress | None = None
) -> Validated[OrganisationRecord]:
    """Check every row; `territories` maps each territory code to its id."""
    progress = progress or NoProgress()
    result: Validated[OrganisationRecord] = Validated(
        records=[], errors=list(table.errors), rows_read=len(table.rows)
    )
    if table.errors:
        result.file_errors = True
        return result
    parsers: dict[str, tuple[str, Callable[[Cell], Any]]] = {
        "name": ("name", _name),
        "kind": ("kind", _kind),
        "registration_number": ("registration_number", _registration_number),
        "territory": ("territory_id", _territory(territories)),
        "founded_year": ("founded_year", base.year),
        "women_led": ("women_led", base.boolean),
        "youth_led": ("youth_led", base.boolean),
        "email": ("email", base.email),
        "phone": ("phone", lambda v: base.optional_text(v, max_length=40)),
        "address": ("address", lambda v: base.optional_text(v, max_length=500)),
    }
    present = set(table.columns)
    first_row: dict[str, int] = {}
    progress.begin("checking rows", len(table.rows))
    for row in table.rows:
        progress.advance()
        fields: dict[str, Any] = {}
        ok = True
        for column, (name, parse) in parsers.items():
            if column not in present:
                continue  # an optional column left out: the stored value stays
            try:
                fields[name] = parse(row.get(column))
            except CellError as exc:
                result.fail(row.number, column, str(exc))
                ok = False
        number = fields.get("registration_number")
        if isinstance(number, str):
            if number in first_row:
                result.fail(
                    row.number,
                    "registration_number",
                    f"appears already in row {first_row[number]}",
                )
                ok = False
            else:
                first_row[number] = row.number
        if ok:
            result.records.append(
                OrganisationRecord(
                    row=row.number,
                    registration_number=fields["registration_number"],
                    fields=fields,
                )
            )
    return result


async def apply(
    session: AsyncSession,
    ctx: RequestContext,
    validated: Validated[OrganisationRecord],
    *,
    dry_run: bool,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Write the good rows (all-or-nothing unless `skip_invalid`), or with `dry_run` only say
    what would be written. Flushes, never commits."""
    progress = progress or NoProgress()
    will_apply = not validated.file_errors and (skip_invalid or not validated.errors)
    created = dict.fromkeys(ENTITIES, 0)
    updated = dict.fromkeys(ENTITIES, 0)
    unchanged = 0
    if will_apply and validated.records:
        lock = not dry_run
        if lock:
            await session.execute(_LOCK)  # one import of organisations at a time
        numbers = [r.registration_number for r in validated.records]
        stmt = select(Organisation).where(col(Organisation.registration_number).in_(numbers))
        existing = {
            o.registration_number: o
            for o in (await session.execute(stmt.with_for_update() if lock else stmt)).scalars()
        }
        progress.begin("importing", len(validated.records))
        for record in validated.records:
            org = existing.get(record.registration_number)
            if org is None:
                created["organisation"] += 1
                if not dry_run:
                    org = Organisation(**record.fields)
                    session.add(org)
                    await session.flush()
                    await session.refresh(org)
                    await record_created(session, ctx, "organisation", org)
            else:
                changes = {k: v for k, v in record.fields.items() if getattr(org, k) != v}
                if not changes:
                    unchanged += 1
                else:
                    updated["organisation"] += 1
                    if not dry_run:
                        body = OrganisationUpdate(version=org.version, **changes)
                        await update_versioned(session, ctx, org, body, entity="organisation")
            progress.advance()
    return ImportReport(
        kind=KIND,
        dry_run=dry_run,
        rows_read=validated.rows_read,
        created=created,
        updated=updated,
        unchanged=unchanged,
        errors=base.sorted_errors(validated.errors),
        applied=will_apply and not dry_run,
    )


async def load_territories(session: AsyncSession) -> dict[str, uuid.UUID]:
    rows = await session.execute(select(Territory.code, Territory.id))
    return {code: territory_id for code, territory_id in rows}
