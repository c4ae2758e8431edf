"""Import of PCC action plans, their items and indicators from a spreadsheet.

One row per (item, indicator); an item without indicators is one row with the indicator columns
blank. The header is row 1; columns in any order, names case-insensitive (`Plan title EN` is
`plan_title_en`). "required" columns must be there and filled; "column" ones must be there and
may be blank; "optional" ones may be left out.

- `territory` (required): territory code, one of alamedin, sokuluk, osh, uzgen, jalal-abad,
  batken, razzakov; the territory's PCC owns the plan.
- `plan_title_en` (required): the plan's English title; with the territory it names the plan.
- `plan_title_ru`, `plan_title_ky` (column): the title in Russian and Kyrgyz.
- `period_start`, `period_end` (required): date cells, or text `YYYY-MM-DD` or `DD.MM.YYYY`;
  the end not before the start.
- `item_code` (required): e.g. `OSH-1.2` (letters, digits, `.`, `_`, `-`); names the item within
  its plan.
- `objective_en` (required), `objective_ru`, `objective_ky` (column): the item's objective.
- `activities` (column): free text.
- `budget` (required): the item's budget estimate in major units (som): `1250000`,
  `1 250 000.50` or a number cell; converted exactly to integer minor units. Negative amounts and
  more than 2 decimals are refused, never rounded; `1,250` is refused as ambiguous.
- `currency` (optional): ISO 4217 code, default KGS.
- `target_groups` (column): `;`-separated, e.g. `youth; women`.
- `gender_responsive`, `conflict_sensitive` (column): yes/no, true/false, 1/0, да/нет, ооба/жок
  or an Excel TRUE/FALSE; blank is no.
- `indicator_name_en` (optional): the indicator's English name; names it within its item.
- `indicator_unit`, `indicator_target` (optional): required when the row has an indicator; the
  target a number with up to 4 decimals.
- `indicator_baseline` (optional): a number with up to 4 decimals.

`territory`, `plan_title_en` and `item_code` are needed on every row; the other plan and item
cells may be left blank on the later rows of the same plan or item (as merged cells read), and
when filled must agree with its first row.

Re-importing is idempotent: a plan is found by (territory's PCC, plan_title_en), an item by
(plan, item_code), an indicator by (item, indicator_name_en). What is found and equal is left
alone; what differs is updated (a plan or item gets a new version); what is not found is created
(plans as drafts). Nothing is ever deleted. Every row created or updated leaves an audit event.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal, TypeVar

import msgspec
from msgspec import UNSET, UnsetType
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.enums import ActionPlanStatus
from contracts.imports import ImportKind, ImportRecordChange, ImportReport
from scoring.money import is_known_currency
from service.changes import record_created, update_versioned
from service.context import RequestContext
from service.imports import base
from service.imports.base import CellError, NoProgress, Progress, Validated
from service.imports.reader import Cell, Columns, Row, Table
from service.persistence.models import ActionPlan, ActionPlanItem, Indicator, Pcc, Territory

T = TypeVar("T")

KIND = ImportKind.ACTION_PLANS
COLUMNS = Columns(
    required=(
        "territory",
        "plan_title_en",
        "plan_title_ru",
        "plan_title_ky",
        "period_start",
        "period_end",
        "item_code",
        "objective_en",
        "objective_ru",
        "objective_ky",
        "activities",
        "budget",
        "target_groups",
        "gender_responsive",
        "conflict_sensitive",
    ),
    optional=(
        "currency",
        "indicator_name_en",
        "indicator_unit",
        "indicator_target",
        "indicator_baseline",
    ),
)
ENTITIES = ("action_plan", "action_plan_item", "indicator")

PLAN_COLUMNS = ("plan_title_ru", "plan_title_ky", "period_start", "period_end")
ITEM_COLUMNS = (
    "objective_en",
    "objective_ru",
    "objective_ky",
    "activities",
    "budget",
    "currency",
    "target_groups",
    "gender_responsive",
    "conflict_sensitive",
)
I18N_MAX = 2000
_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('pcc-grants:import:action_plans'))")


# --- records ------------------------------------------------------------------------------------


@dataclass
class IndicatorRecord:
    row: int
    name_en: str
    unit: str
    target: Decimal
    baseline: Decimal | None


@dataclass
class ItemRecord:
    row: int
    """The item's first row."""
    code: str
    values: dict[str, Any]
    """The item's cells by column (ITEM_COLUMNS), parsed."""
    indicators: dict[str, IndicatorRecord] = field(default_factory=dict)
    rows: list[int] = field(default_factory=list)

    @property
    def objective(self) -> dict[str, str]:
        v = self.values
        return base.i18n(v["objective_en"], v["objective_ru"], v["objective_ky"])


@dataclass
class PlanRecord:
    row: int
    territory: str
    pcc_id: uuid.UUID
    title_en: str
    values: dict[str, Any]
    """The plan's cells by column (PLAN_COLUMNS), parsed."""
    items: dict[str, ItemRecord] = field(default_factory=dict)
    rows: list[int] = field(default_factory=list)

    @property
    def title(self) -> dict[str, str]:
        return base.i18n(self.title_en, self.values["plan_title_ru"], self.values["plan_title_ky"])


# --- validation (pure) --------------------------------------------------------------------------


def _territory(territories: Mapping[str, uuid.UUID | None]) -> Callable[[Cell], str]:
    def parse(value: Cell) -> str:
        code = base.required_text(value, max_length=40).strip().lower()
        if code not in territories:
            known = ", ".join(sorted(territories))
            raise CellError(f"unknown territory {code!r} (one of: {known})")
        if territories[code] is None:
            raise CellError(f"territory {code!r} has no PCC")
        return code

    return parse


def _currency(value: Cell) -> str:
    text_ = base.as_text(value)
    if text_ is None:
        return "KGS"
    code = text_.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha() or not is_known_currency(code):
        raise CellError(f"not an ISO 4217 currency code: {text_!r} (e.g. KGS)")
    return code


def _activities(value: Cell) -> str:
    return base.optional_text(value, max_length=20_000) or ""


def _i18n_part(value: Cell) -> str | None:
    return base.optional_text(value, max_length=I18N_MAX)


def _target_groups(value: Cell) -> list[str]:
    return base.split_list(value, max_items=30, max_length=100)


PLAN_PARSERS: dict[str, Callable[[Cell], Any]] = {
    "plan_title_ru": _i18n_part,
    "plan_title_ky": _i18n_part,
    "period_start": base.day,
    "period_end": base.day,
}
ITEM_PARSERS: dict[str, Callable[[Cell], Any]] = {
    "objective_en": lambda v: base.required_text(v, max_length=I18N_MAX),
    "objective_ru": _i18n_part,
    "objective_ky": _i18n_part,
    "activities": _activities,
    "budget": base.money,
    "currency": _currency,
    "target_groups": _target_groups,
    "gender_responsive": base.boolean,
    "conflict_sensitive": base.boolean,
}


class _RowCheck:
    """Parses the cells of one row, recording an error for each bad one."""

    def __init__(self, row: Row, result: Validated[PlanRecord]) -> None:
        self.row = row
        self.result = result
        self.ok = True

    def fail(self, column: str | None, message: str) -> None:
        self.result.fail(self.row.number, column, message)
        self.ok = False

    def parse(self, column: str, parser: Callable[[Cell], T]) -> T | None:
        try:
            return parser(self.row.get(column))
        except CellError as exc:
            self.fail(column, str(exc))
            return None

    def values(
        self,
        parsers: Mapping[str, Callable[[Cell], Any]],
        prior: dict[str, Any] | None,
        prior_row: int,
        what: str,
    ) -> dict[str, Any]:
        """The cells of these columns; blank ones of a plan or item seen before are taken from
        its first row, filled ones must agree with it."""
        out: dict[str, Any] = {}
        for column, parser in parsers.items():
            if prior is not None and self.row.get(column) is None:
                out[column] = prior[column]
                continue
            try:
                value = parser(self.row.get(column))
            except CellError as exc:
                self.fail(column, str(exc))
                out[column] = None
                continue
            out[column] = value
            if prior is not None and value != prior[column]:
                self.fail(column, f"differs from row {prior_row} of the same {what}")
        return out


def _indicator(check: _RowCheck) -> IndicatorRecord | None:
    name = check.parse("indicator_name_en", lambda v: base.optional_text(v, max_length=I18N_MAX))
    unit = check.parse("indicator_unit", lambda v: base.optional_text(v, max_length=40))
    raw_target = check.row.get("indicator_target")
    raw_baseline = check.row.get("indicator_baseline")
    target = check.parse("indicator_target", base.decimal) if raw_target is not None else None
    baseline = check.parse("indicator_baseline", base.decimal) if raw_baseline is not None else None
    if name is None:
        given = [
            c
            for c in ("indicator_unit", "indicator_target", "indicator_baseline")
            if check.row.get(c) is not None
        ]
        if given:
            check.fail("indicator_name_en", f"required when {', '.join(given)} is filled")
        return None
    if unit is None and check.row.get("indicator_unit") is None:
        check.fail("indicator_unit", "required for an indicator")
    if target is None and raw_target is None:
        check.fail("indicator_target", "required for an indicator")
    if not check.ok or unit is None or target is None:
        return None
    return IndicatorRecord(
        row=check.row.number, name_en=name, unit=unit, target=target, baseline=baseline
    )


def validate(
    table: Table,
    territories: Mapping[str, uuid.UUID | None],
    progress: Progress | None = None,
) -> Validated[PlanRecord]:
    """Check every row; build the plans, items and indicators of the good ones.

    `territories` maps each territory code to its PCC (None: the territory has none)."""
    progress = progress or NoProgress()
    result: Validated[PlanRecord] = Validated(
        records=[], errors=list(table.errors), rows_read=len(table.rows)
    )
    if table.errors:
        result.file_errors = True
        return result
    plans: dict[tuple[str, str], PlanRecord] = {}
    parse_territory = _territory(territories)
    progress.begin("checking rows", len(table.rows))
    for row in table.rows:
        progress.advance()
        check = _RowCheck(row, result)
        territory = check.parse("territory", parse_territory)
        title_en = check.parse(
            "plan_title_en", lambda v: base.required_text(v, max_length=I18N_MAX)
        )
        code = check.parse("item_code", base.code)
        plan = plans.get((territory, title_en)) if territory and title_en else None
        item = plan.items.get(code) if plan is not None and code else None
        plan_values = check.values(
            PLAN_PARSERS, plan.values if plan else None, plan.row if plan else 0, "action plan"
        )
        start, end = plan_values["period_start"], plan_values["period_end"]
        if plan is None and isinstance(start, date) and isinstance(end, date) and end < start:
            check.fail("period_end", f"ends before period_start ({start})")
        item_values = check.values(
            ITEM_PARSERS, item.values if item else None, item.row if item else 0, "item"
        )
        indicator = _indicator(check)
        if indicator is not None and item is not None and indicator.name_en in item.indicators:
            first = item.indicators[indicator.name_en].row
            check.fail("indicator_name_en", f"the item has this indicator already in row {first}")
        if not check.ok or territory is None or title_en is None or code is None:
            continue
        if plan is None:
            pcc_id = territories[territory]
            assert pcc_id is not None  # checked by the territory parser
            plan = PlanRecord(
                row=row.number,
                territory=territory,
                pcc_id=pcc_id,
                title_en=title_en,
                values=plan_values,
            )
            plans[territory, title_en] = plan
        if item is None:
            item = ItemRecord(row=row.number, code=code, values=item_values)
            plan.items[code] = item
        plan.rows.append(row.number)
        item.rows.append(row.number)
        if indicator is not None:
            item.indicators[indicator.name_en] = indicator
    result.records = list(plans.values())
    return result


# --- what the database has, and what changes ------------------------------------------------------


class _PlanUpdate(msgspec.Struct, kw_only=True):
    version: int
    title: dict[str, str] | UnsetType = UNSET
    period_start: date | UnsetType = UNSET
    period_end: date | UnsetType = UNSET


class _ItemUpdate(msgspec.Struct, kw_only=True):
    version: int
    objective: dict[str, str] | UnsetType = UNSET
    activities: str | UnsetType = UNSET
    budget_estimate: int | UnsetType = UNSET
    currency: str | UnsetType = UNSET
    target_groups: list[str] | UnsetType = UNSET
    gender_responsive: bool | UnsetType = UNSET
    conflict_sensitive: bool | UnsetType = UNSET


@dataclass
class _IndicatorChange:
    record: IndicatorRecord
    row: Indicator | None
    changes: dict[str, Any]


@dataclass
class _ItemChange:
    record: ItemRecord
    row: ActionPlanItem | None
    changes: dict[str, Any]
    indicators: list[_IndicatorChange]


@dataclass
class _PlanChange:
    record: PlanRecord
    row: ActionPlan | None
    changes: dict[str, Any]
    items: list[_ItemChange]


def _plan_changes(record: PlanRecord, row: ActionPlan) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if not base.same_i18n(row.title, record.title):
        changes["title"] = record.title
    for name in ("period_start", "period_end"):
        if getattr(row, name) != record.values[name]:
            changes[name] = record.values[name]
    return changes


def _item_fields(record: ItemRecord) -> dict[str, Any]:
    v = record.values
    return {
        "activities": v["activities"],
        "budget_estimate": v["budget"],
        "currency": v["currency"],
        "target_groups": v["target_groups"],
        "gender_responsive": v["gender_responsive"],
        "conflict_sensitive": v["conflict_sensitive"],
    }


def _item_changes(record: ItemRecord, row: ActionPlanItem) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if not base.same_i18n(row.objective, record.objective):
        changes["objective"] = record.objective
    for name, value in _item_fields(record).items():
        if getattr(row, name) != value:
            changes[name] = value
    return changes


def _indicator_changes(record: IndicatorRecord, row: Indicator) -> dict[str, Any]:
    wanted = {"unit": record.unit, "target": record.target, "baseline": record.baseline}
    return {k: v for k, v in wanted.items() if getattr(row, k) != v}


async def _diff(
    session: AsyncSession, validated: Validated[PlanRecord], *, lock: bool
) -> list[_PlanChange]:
    """Match the records with the rows they name; ambiguous names are row errors."""
    records = validated.records
    stmt = select(ActionPlan).where(col(ActionPlan.pcc_id).in_({r.pcc_id for r in records}))
    plans = list((await session.execute(stmt.with_for_update() if lock else stmt)).scalars())
    by_title: dict[tuple[uuid.UUID, str], list[ActionPlan]] = defaultdict(list)
    for plan in sorted(plans, key=lambda p: (p.created_at, p.id)):
        by_title[plan.pcc_id, (plan.title or {}).get("en") or ""].append(plan)

    kept: list[tuple[PlanRecord, ActionPlan | None]] = []
    for record in records:
        found = by_title.get((record.pcc_id, record.title_en), [])
        if len(found) > 1:
            for number in record.rows:
                validated.fail(
                    number,
                    "plan_title_en",
                    f"{len(found)} action plans of the PCC of {record.territory} have this "
                    "title: rename all but one first",
                )
            continue
        kept.append((record, found[0] if found else None))

    plan_ids = [p.id for _, p in kept if p is not None]
    stmt_i = select(ActionPlanItem).where(col(ActionPlanItem.action_plan_id).in_(plan_ids))
    items = list((await session.execute(stmt_i.with_for_update() if lock else stmt_i)).scalars())
    items_by_code = {(i.action_plan_id, i.code): i for i in items}
    stmt_n = select(Indicator).where(col(Indicator.action_plan_item_id).in_([i.id for i in items]))
    indicators = list(
        (await session.execute(stmt_n.with_for_update() if lock else stmt_n)).scalars()
    )
    indicators_by_name: dict[tuple[uuid.UUID, str], list[Indicator]] = defaultdict(list)
    for stored in sorted(indicators, key=lambda i: str(i.id)):
        key = (stored.action_plan_item_id, (stored.name or {}).get("en") or "")
        indicators_by_name[key].append(stored)

    out: list[_PlanChange] = []
    for record, plan_row in kept:
        plan_change = _PlanChange(
            record=record,
            row=plan_row,
            changes=_plan_changes(record, plan_row) if plan_row else {},
            items=[],
        )
        for item in record.items.values():
            item_row = items_by_code.get((plan_row.id, item.code)) if plan_row else None
            item_change = _ItemChange(
                record=item,
                row=item_row,
                changes=_item_changes(item, item_row) if item_row else {},
                indicators=[],
            )
            for ind in item.indicators.values():
                same_name = (
                    indicators_by_name.get((item_row.id, ind.name_en), []) if item_row else []
                )
                if len(same_name) > 1:
                    validated.fail(
                        ind.row,
                        "indicator_name_en",
                        f"the item has {len(same_name)} indicators with this name: rename all "
                        "but one first",
                    )
                    continue
                ind_row = same_name[0] if same_name else None
                item_change.indicators.append(
                    _IndicatorChange(
                        record=ind,
                        row=ind_row,
                        changes=_indicator_changes(ind, ind_row) if ind_row else {},
                    )
                )
            plan_change.items.append(item_change)
        out.append(plan_change)
    return out


def _count(
    changes: list[_PlanChange],
) -> tuple[dict[str, int], dict[str, int], int, list[ImportRecordChange]]:
    created = dict.fromkeys(ENTITIES, 0)
    updated = dict.fromkeys(ENTITIES, 0)
    unchanged = 0
    records: list[ImportRecordChange] = []

    def tally(entity: str, line: int, key: str, row: object, changes_: dict[str, Any]) -> None:
        nonlocal unchanged
        if row is None:
            created[entity] += 1
            action: Literal["create", "update", "unchanged"] = "create"
        elif changes_:
            updated[entity] += 1
            action = "update"
        else:
            unchanged += 1
            action = "unchanged"
        fields = sorted(changes_) if action == "update" else []
        records.append(
            ImportRecordChange(row=line, entity=entity, key=key, action=action, fields=fields)
        )

    for plan in changes:
        tally("action_plan", plan.record.row, plan.record.title_en, plan.row, plan.changes)
        for item in plan.items:
            tally("action_plan_item", item.record.row, item.record.code, item.row, item.changes)
            for ind in item.indicators:
                tally("indicator", ind.record.row, ind.record.name_en, ind.row, ind.changes)
    records.sort(key=lambda r: (r.row, ENTITIES.index(r.entity)))
    return created, updated, unchanged, records


# --- writing ------------------------------------------------------------------------------------


async def _write(
    session: AsyncSession, ctx: RequestContext, changes: list[_PlanChange], progress: Progress
) -> None:
    for pc in changes:
        plan = pc.row
        if plan is None:
            plan = ActionPlan(
                pcc_id=pc.record.pcc_id,
                title=pc.record.title,
                period_start=pc.record.values["period_start"],
                period_end=pc.record.values["period_end"],
                status=ActionPlanStatus.DRAFT,
            )
            session.add(plan)
            await session.flush()
            await session.refresh(plan)
            await record_created(session, ctx, "action_plan", plan)
        elif pc.changes:
            body = _PlanUpdate(version=plan.version, **pc.changes)
            await update_versioned(session, ctx, plan, body, entity="action_plan")
        progress.advance()
        for ic in pc.items:
            item = ic.row
            if item is None:
                item = ActionPlanItem(
                    action_plan_id=plan.id,
                    code=ic.record.code,
                    objective=ic.record.objective,
                    **_item_fields(ic.record),
                )
                session.add(item)
                await session.flush()
                await session.refresh(item)
                await record_created(session, ctx, "action_plan_item", item)
            elif ic.changes:
                item_body = _ItemUpdate(version=item.version, **ic.changes)
                await update_versioned(session, ctx, item, item_body, entity="action_plan_item")
            progress.advance()
            for nc in ic.indicators:
                if nc.row is None:
                    ind = Indicator(
                        action_plan_item_id=item.id,
                        name={"en": nc.record.name_en},
                        unit=nc.record.unit,
                        target=nc.record.target,
                        baseline=nc.record.baseline,
                    )
                    session.add(ind)
                    await session.flush()
                    await record_created(session, ctx, "indicator", ind)
                elif nc.changes:
                    await base.update_audited(session, ctx, nc.row, nc.changes, entity="indicator")
                progress.advance()


async def apply(
    session: AsyncSession,
    ctx: RequestContext,
    validated: Validated[PlanRecord],
    *,
    dry_run: bool,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Write the good rows (all-or-nothing unless `skip_invalid`), or with `dry_run` only say
    what would be written. Flushes, never commits."""
    progress = progress or NoProgress()
    changes: list[_PlanChange] = []
    if not validated.file_errors and validated.records:
        lock = not dry_run and (skip_invalid or not validated.errors)
        if lock:
            await session.execute(_LOCK)  # one import of plans at a time: no duplicate plans
        changes = await _diff(session, validated, lock=lock)
    will_apply = not validated.file_errors and (skip_invalid or not validated.errors)
    records: list[ImportRecordChange] = []
    if will_apply:
        created, updated, unchanged, records = _count(changes)
    else:
        created, updated, unchanged = dict.fromkeys(ENTITIES, 0), dict.fromkeys(ENTITIES, 0), 0
    if will_apply and not dry_run:
        total = sum(1 + sum(1 + len(i.indicators) for i in p.items) for p in changes)
        progress.begin("importing", total)
        await _write(session, ctx, changes, progress)
    return ImportReport(
        kind=KIND,
        dry_run=dry_run,
        rows_read=validated.rows_read,
        created=created,
        updated=updated,
        unchanged=unchanged,
        errors=base.sorted_errors(validated.errors),
        applied=will_apply and not dry_run,
        records=records,
    )


async def load_territories(session: AsyncSession) -> dict[str, uuid.UUID | None]:
    """Territory code → the id of its PCC (None when it has none)."""
    rows = await session.execute(
        select(Territory.code, Pcc.id).outerjoin(Pcc, col(Pcc.territory_id) == col(Territory.id))
    )
    return {code: pcc_id for code, pcc_id in rows}
