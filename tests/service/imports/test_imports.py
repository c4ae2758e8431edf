"""Spreadsheet imports of action plans and organisations: every bad row reported with its number,
all or nothing (or the good rows alone), dry runs, idempotent re-imports, the API and the CLI."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlmodel import SQLModel, col, select

from contracts.client import ApiError
from contracts.common import ValidationIssue
from contracts.enums import ActionPlanStatus, OrganisationKind, Role
from contracts.imports import ImportKind, ImportReport, ImportRowError
from service.context import RequestContext
from service.imports import action_plans, import_file
from service.imports.base import CellError, money
from service.imports.reader import (
    MAX_ROWS,
    MAX_UPLOAD_BYTES,
    ReadTimeLimit,
    TooManyRows,
    read_rows,
    read_table,
)
from service.persistence.models import (
    ActionPlan,
    ActionPlanItem,
    AuditEvent,
    Indicator,
    Organisation,
    Pcc,
    Territory,
)
from tests.conftest import MakeUser, run_cli
from tests.factories import PLAN_HEADER, sheet_of_rows_without_numbers, xlsx

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)

CTX = RequestContext.system("test-import")
PROBLEM = "urn:pcc-grants:problem:"

# --- the places ---------------------------------------------------------------------------------

WITH_PCC = ("osh", "uzgen", "batken")
WITHOUT_PCC = ("razzakov",)
KNOWN = "batken, osh, razzakov, uzgen"


async def add_places(session: AsyncSession) -> None:
    for code in (*WITH_PCC, *WITHOUT_PCC):
        territory = Territory(
            code=code,
            kind="city",
            name={"en": code.title()},
            region={"en": f"{code.title()} region"},
        )
        session.add(territory)
        await session.flush()
        if code in WITH_PCC:
            session.add(Pcc(territory_id=territory.id, name={"en": f"PCC of {code.title()}"}))
    await session.flush()


@pytest.fixture
async def places(session: AsyncSession) -> None:
    await add_places(session)


# --- files --------------------------------------------------------------------------------------

ORG_HEADER = [
    "name",
    "kind",
    "registration_number",
    "territory",
    "founded_year",
    "women_led",
    "youth_led",
    "email",
    "phone",
    "address",
]


def plan_row(**cells: Any) -> list[Any]:
    """A row in PLAN_HEADER order; unnamed cells blank."""
    return [cells.get(column) for column in PLAN_HEADER]


OSH_PLAN = "Osh action plan 2026–2027"
UZGEN_PLAN = "Uzgen action plan 2026–2027"

GOOD_PLAN_ROWS = [
    plan_row(  # row 2
        territory="osh",
        plan_title_en=OSH_PLAN,
        plan_title_ru="План действий КСМ г. Ош",
        plan_title_ky="Ош шаарынын иш-аракеттер планы",
        period_start=date(2026, 1, 1),
        period_end=date(2027, 12, 31),
        item_code="OSH-1",
        objective_en="Strengthen inter-ethnic dialogue",
        objective_ru="Укрепление межэтнического диалога",
        activities="Dialogue platforms in schools",
        budget=1250000,
        currency="KGS",
        target_groups="youth; women; youth",
        gender_responsive="yes",
        conflict_sensitive="да",
        indicator_name_en="Young people reached",
        indicator_unit="persons",
        indicator_target=600,
        indicator_baseline=0,
    ),
    plan_row(  # row 3: the same item's second indicator; its other cells as merged cells read
        territory="OSH",
        plan_title_en=OSH_PLAN,
        item_code="OSH-1",
        indicator_name_en="Local mediators trained",
        indicator_unit="persons",
        indicator_target="20",
    ),
    plan_row(  # row 4: a second item of the same plan
        territory="osh",
        plan_title_en=OSH_PLAN,
        item_code="OSH-2",
        objective_en="Women in local decision making",
        activities="Public hearings",
        budget="1 250 000.50",
        gender_responsive="ооба",
        conflict_sensitive="жок",
    ),
    plan_row(  # row 5: another territory's plan; dates as text
        territory="uzgen",
        plan_title_en=UZGEN_PLAN,
        period_start="2026-01-01",
        period_end="31.12.2027",
        item_code="UZ-1",
        objective_en="Water and pasture disputes",
        activities="Joint irrigation schedules",
        budget=300000.5,
        target_groups="farmers",
        gender_responsive=True,
        conflict_sensitive=1,
        indicator_name_en="Share of women among participants",
        indicator_unit="%",
        indicator_target=45.5,
        indicator_baseline="22",
    ),
]
BAD_PLAN_ROWS = [
    plan_row(  # row 6
        territory="bishkek",
        plan_title_en="Bishkek plan",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
        item_code="B-1",
        objective_en="Dialogue",
        budget=1000,
    ),
    plan_row(  # row 7
        territory="osh",
        plan_title_en=OSH_PLAN,
        item_code="OSH-3",
        objective_en="Hate speech monitoring",
        budget=-100,
    ),
    plan_row(  # row 8
        territory="osh",
        plan_title_en=OSH_PLAN,
        item_code="OSH-4",
        objective_en="Media literacy",
        budget="12.345",
    ),
    plan_row(  # row 9
        territory="batken",
        plan_title_en="Batken plan",
        period_start="next week",
        period_end=date(2026, 12, 31),
        item_code="BAT-1",
        objective_en="Border cooperation",
        budget=5000,
    ),
    plan_row(  # row 10
        territory="razzakov",
        plan_title_en="Razzakov plan",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
        item_code="R-1",
        objective_en="Dialogue",
        budget=1000,
    ),
]
PLAN_ROW_ERRORS = [
    ImportRowError(
        row=6, column="territory", message=f"unknown territory 'bishkek' (one of: {KNOWN})"
    ),
    ImportRowError(row=7, column="budget", message="must not be negative: -100"),
    ImportRowError(row=8, column="budget", message="has more than 2 decimal places: '12.345'"),
    ImportRowError(
        row=9,
        column="period_start",
        message="not a date: 'next week' (write YYYY-MM-DD or use a date cell)",
    ),
    ImportRowError(row=10, column="territory", message="territory 'razzakov' has no PCC"),
]
GOOD_PLANS = xlsx(PLAN_HEADER, GOOD_PLAN_ROWS)
MIXED_PLANS = xlsx(PLAN_HEADER, GOOD_PLAN_ROWS + BAD_PLAN_ROWS)
PLAN_ENTITIES = {"action_plan": 2, "action_plan_item": 3, "indicator": 3}
NONE_OF_THEM = {"action_plan": 0, "action_plan_item": 0, "indicator": 0}

GOOD_ORG_ROWS: list[list[Any]] = [
    [
        "Osh Youth Initiative",
        "youth_group",
        "REG-001",
        "osh",
        2018,
        "no",
        "yes",
        "info@oshyouth.kg",
        996555123456,
        "Osh, Lenin st. 1",
    ],
    ["Uzgen Women's Council", "Women-led organisation", 70021, "uzgen", "2009", "да", "нет"],
]
BAD_ORG_ROWS: list[list[Any]] = [
    ["Batken NGO", "ngo", "REG-003", "batken", 2015, "no", "no"],  # row 4
    ["Osh Youth again", "youth_group", "REG-001", "osh", 2019, "no", "yes"],  # row 5
    ["Bishkek media", "community_media", "REG-005", "bishkek", 2012, "no", "no"],  # row 6
]
KINDS = ", ".join(k.value for k in OrganisationKind)
ORG_ROW_ERRORS = [
    ImportRowError(row=4, column="kind", message=f"unknown kind 'ngo' (one of: {KINDS})"),
    ImportRowError(row=5, column="registration_number", message="appears already in row 2"),
    ImportRowError(
        row=6, column="territory", message=f"unknown territory 'bishkek' (one of: {KNOWN})"
    ),
]


# --- probes -------------------------------------------------------------------------------------


async def row_counts(session: AsyncSession) -> dict[str, int]:
    """The number of rows of every table (audit_event included)."""
    names = [t.name for t in SQLModel.metadata.sorted_tables]
    # The table names come from the models' metadata, not from any input.
    counts = ", ".join(f'(SELECT count(*) FROM "{name}")' for name in names)  # noqa: S608
    row = (await session.execute(text("SELECT " + counts))).one()
    return dict(zip(names, row, strict=True))


async def audit_count(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(AuditEvent))).scalar_one())


async def items_by_code(session: AsyncSession) -> dict[str, ActionPlanItem]:
    rows = await session.execute(select(ActionPlanItem).execution_options(populate_existing=True))
    return {i.code: i for i in rows.scalars()}


async def import_plans(
    session: AsyncSession, data: bytes, *, dry_run: bool = False, skip_invalid: bool = False
) -> ImportReport:
    return await import_file(
        session, CTX, ImportKind.ACTION_PLANS, data, dry_run=dry_run, skip_invalid=skip_invalid
    )


async def import_orgs(
    session: AsyncSession, data: bytes, *, dry_run: bool = False, skip_invalid: bool = False
) -> ImportReport:
    return await import_file(
        session, CTX, ImportKind.ORGANISATIONS, data, dry_run=dry_run, skip_invalid=skip_invalid
    )


# --- action plans -------------------------------------------------------------------------------


async def test_action_plan_import_with_bad_rows_reports_each_and_changes_nothing(
    session: AsyncSession, places: None
) -> None:
    before = await row_counts(session)

    report = await import_plans(session, MIXED_PLANS)

    assert report.errors == PLAN_ROW_ERRORS
    assert (report.applied, report.rows_read) == (False, 9)
    assert (report.created, report.updated, report.unchanged) == (NONE_OF_THEM, NONE_OF_THEM, 0)
    assert await row_counts(session) == before


async def test_action_plan_import_of_good_rows_stores_them_exactly(
    session: AsyncSession, places: None
) -> None:
    events = await audit_count(session)

    report = await import_plans(session, GOOD_PLANS)

    assert [(r.entity, r.action) for r in report.records].count(("action_plan", "create")) == 2
    assert len(report.records) == 8
    assert msgspec.structs.replace(report, records=[]) == ImportReport(
        kind=ImportKind.ACTION_PLANS,
        dry_run=False,
        rows_read=4,
        created=PLAN_ENTITIES,
        updated=NONE_OF_THEM,
        unchanged=0,
        errors=[],
        applied=True,
    )
    assert await audit_count(session) == events + 8  # one event per row created
    plans = {p.title["en"]: p for p in (await session.execute(select(ActionPlan))).scalars()}
    osh = plans[OSH_PLAN]
    assert osh.title == {
        "en": OSH_PLAN,
        "ru": "План действий КСМ г. Ош",
        "ky": "Ош шаарынын иш-аракеттер планы",
    }
    assert (osh.period_start, osh.period_end, osh.status) == (
        date(2026, 1, 1),
        date(2027, 12, 31),
        ActionPlanStatus.DRAFT,
    )
    assert (plans[UZGEN_PLAN].period_start, plans[UZGEN_PLAN].period_end) == (
        date(2026, 1, 1),
        date(2027, 12, 31),
    )
    items = await items_by_code(session)
    one, two, uz = items["OSH-1"], items["OSH-2"], items["UZ-1"]
    assert (one.budget_estimate, two.budget_estimate, uz.budget_estimate) == (
        125_000_000,
        125_000_050,
        30_000_050,
    )
    assert one.objective == {
        "en": "Strengthen inter-ethnic dialogue",
        "ru": "Укрепление межэтнического диалога",
    }
    assert one.target_groups == ["youth", "women"]
    assert (one.gender_responsive, one.conflict_sensitive) == (True, True)
    assert (two.gender_responsive, two.conflict_sensitive, two.currency) == (True, False, "KGS")
    indicators = {
        i.name["en"]: (i.unit, i.target, i.baseline)
        for i in (await session.execute(select(Indicator))).scalars()
    }
    assert indicators == {
        "Young people reached": ("persons", Decimal(600), Decimal(0)),
        "Local mediators trained": ("persons", Decimal(20), None),
        "Share of women among participants": ("%", Decimal("45.5"), Decimal(22)),
    }


async def test_action_plan_import_skip_invalid_imports_only_the_good_rows(
    session: AsyncSession, places: None
) -> None:
    report = await import_plans(session, MIXED_PLANS, skip_invalid=True)

    assert report.errors == PLAN_ROW_ERRORS
    assert (report.applied, report.created) == (True, PLAN_ENTITIES)
    assert set(await items_by_code(session)) == {"OSH-1", "OSH-2", "UZ-1"}


async def test_action_plan_dry_run_reports_counts_and_writes_nothing(
    session: AsyncSession, places: None
) -> None:
    before = await row_counts(session)

    report = await import_plans(session, GOOD_PLANS, dry_run=True)

    assert (report.dry_run, report.applied, report.created, report.errors) == (
        True,
        False,
        PLAN_ENTITIES,
        [],
    )
    assert await row_counts(session) == before
    # each record the file would create, in file order, named by its natural key
    assert len(report.records) == sum(PLAN_ENTITIES.values())
    assert {r.action for r in report.records} == {"create"}
    assert [r.row for r in report.records] == sorted(r.row for r in report.records)
    assert [(r.row, r.entity) for r in report.records][:2] == [
        (2, "action_plan"),
        (2, "action_plan_item"),
    ]


async def test_action_plan_reimport_is_idempotent(session: AsyncSession, places: None) -> None:
    await import_plans(session, GOOD_PLANS)
    before = await row_counts(session)

    again = await import_plans(session, GOOD_PLANS)

    assert (again.created, again.updated, again.unchanged) == (NONE_OF_THEM, NONE_OF_THEM, 8)
    assert again.applied
    assert await row_counts(session) == before  # audit_event included: no new event


async def test_action_plan_reimport_updates_exactly_the_changed_item(
    session: AsyncSession, places: None
) -> None:
    await import_plans(session, GOOD_PLANS)
    untouched = {code: item.version for code, item in (await items_by_code(session)).items()}
    events = await audit_count(session)
    rows = [list(r) for r in GOOD_PLAN_ROWS]
    rows[2][PLAN_HEADER.index("budget")] = "1 300 000"

    report = await import_plans(session, xlsx(PLAN_HEADER, rows))

    assert (report.created, report.updated, report.unchanged) == (
        NONE_OF_THEM,
        {"action_plan": 0, "action_plan_item": 1, "indicator": 0},
        7,
    )
    changed = [(r.row, r.entity, r.key, r.fields) for r in report.records if r.action == "update"]
    assert changed == [(4, "action_plan_item", "OSH-2", ["budget_estimate"])]
    assert sum(r.action == "unchanged" for r in report.records) == 7
    items = await items_by_code(session)
    assert {code: item.version for code, item in items.items()} == {**untouched, "OSH-2": 2}
    assert items["OSH-2"].budget_estimate == 130_000_000
    assert await audit_count(session) == events + 1
    event = (
        await session.execute(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1))
    ).scalar_one()
    assert (event.action, event.entity_id, event.actor) == (
        "action_plan_item.updated",
        str(items["OSH-2"].id),
        "test-import",
    )
    assert event.before is not None
    assert event.after is not None
    assert (event.before["budget_estimate"], event.after["budget_estimate"]) == (
        125_000_050,
        130_000_000,
    )
    assert (event.before["version"], event.after["version"]) == (1, 2)


async def test_action_plan_import_missing_column_is_one_error_and_changes_nothing(
    session: AsyncSession, places: None
) -> None:
    before = await row_counts(session)
    header = [c for c in PLAN_HEADER if c != "budget"]
    rows = [
        [v for c, v in zip(PLAN_HEADER, r, strict=True) if c != "budget"] for r in GOOD_PLAN_ROWS
    ]

    for skip_invalid in (False, True):
        report = await import_plans(session, xlsx(header, rows), skip_invalid=skip_invalid)

        assert report.errors == [
            ImportRowError(row=1, column="budget", message="required column is missing")
        ]
        assert (report.applied, report.rows_read) == (False, 4)
    assert await row_counts(session) == before


async def test_action_plan_import_misspelt_and_repeated_columns_are_named(
    session: AsyncSession, places: None
) -> None:
    header = [*PLAN_HEADER[:-1], "Indicator Basline", "budget"]

    report = await import_plans(session, xlsx(header, GOOD_PLAN_ROWS))

    assert report.errors == [
        ImportRowError(
            row=1,
            column="indicator_basline",
            message="unknown column (did you mean indicator_baseline?)",
        ),
        ImportRowError(
            row=1, column="budget", message="the column appears twice (columns L and U)"
        ),
    ]


async def test_action_plan_rows_of_one_item_must_agree(session: AsyncSession, places: None) -> None:
    rows = [list(r) for r in GOOD_PLAN_ROWS]
    rows[1][PLAN_HEADER.index("budget")] = 999  # row 3 repeats OSH-1 with another budget
    rows[1][PLAN_HEADER.index("period_end")] = date(2028, 1, 1)
    rows.append(list(rows[0]))  # row 6 repeats row 2's indicator

    report = await import_plans(session, xlsx(PLAN_HEADER, rows))

    assert report.errors == [
        ImportRowError(
            row=3, column="period_end", message="differs from row 2 of the same action plan"
        ),
        ImportRowError(row=3, column="budget", message="differs from row 2 of the same item"),
        ImportRowError(
            row=6,
            column="indicator_name_en",
            message="the item has this indicator already in row 2",
        ),
    ]


async def test_action_plan_names_that_match_two_stored_plans_are_refused(
    session: AsyncSession, places: None
) -> None:
    osh_pcc = (
        await session.execute(
            select(Pcc.id)
            .join(Territory, col(Territory.id) == col(Pcc.territory_id))
            .where(Territory.code == "osh")
        )
    ).scalar_one()
    for _ in range(2):
        session.add(
            ActionPlan(
                pcc_id=osh_pcc,
                title={"en": OSH_PLAN},
                period_start=date(2026, 1, 1),
                period_end=date(2027, 12, 31),
            )
        )
    await session.flush()
    rows = [list(r) for r in GOOD_PLAN_ROWS]
    rows[3][PLAN_HEADER.index("period_end")] = "2025-12-31"  # row 5 ends before it starts
    ambiguous = "2 action plans of the PCC of osh have this title: rename all but one first"

    report = await import_plans(session, xlsx(PLAN_HEADER, rows))

    assert report.errors == [
        ImportRowError(row=2, column="plan_title_en", message=ambiguous),
        ImportRowError(row=3, column="plan_title_en", message=ambiguous),
        ImportRowError(row=4, column="plan_title_en", message=ambiguous),
        ImportRowError(row=5, column="period_end", message="ends before period_start (2026-01-01)"),
    ]
    assert report.applied is False


async def test_action_plan_csv_with_bom_and_semicolons(session: AsyncSession, places: None) -> None:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(PLAN_HEADER)
    cells = plan_row(
        territory="osh",
        plan_title_en="CSV plan",
        period_start="01.01.2026",
        period_end="2026-12-31",
        item_code="CSV-1",
        objective_en="Dialogue",
        activities="Meetings",
        budget="1 250 000,50",
        currency="kgs",
        target_groups="youth; women",
        gender_responsive="Да",
        conflict_sensitive="false",
        indicator_name_en="Meetings held",
        indicator_unit="events",
        indicator_target="12,5",
    )
    writer.writerow(["" if c is None else c for c in cells])
    data = ("\ufeff" + out.getvalue()).encode()

    report = await import_plans(session, data)

    assert (report.errors, report.created) == (
        [],
        {"action_plan": 1, "action_plan_item": 1, "indicator": 1},
    )
    item = (await items_by_code(session))["CSV-1"]
    assert (item.budget_estimate, item.target_groups, item.gender_responsive) == (
        125_000_050,
        ["youth", "women"],
        True,
    )


@pytest.mark.parametrize(
    ("cell", "minor"),
    [
        (1250000, 125_000_000),
        ("1 250 000.50", 125_000_050),
        ("1\u00a0250\u00a0000,5", 125_000_050),
        (0.1, 10),
        (1250000.05, 125_000_005),
        ("0", 0),
    ],
)
def test_money_is_converted_exactly(cell: Any, minor: int) -> None:
    assert money(cell) == minor


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (
            "1,250",
            "ambiguous: '1,250' (group thousands with spaces, e.g. 1 250, or write the "
            "decimals with a point)",
        ),
        (0.125, "has more than 2 decimal places: 0.125"),
        ("1e5", "not an amount: '1e5' (write e.g. 1250000 or 1 250 000.50)"),
        ("-0.5", "must not be negative: '-0.5'"),
        (True, "not an amount: True"),
    ],
)
def test_money_refuses_what_it_cannot_convert_exactly(cell: Any, message: str) -> None:
    with pytest.raises(CellError) as caught:
        money(cell)
    assert str(caught.value) == message


async def test_blank_rows_are_skipped_and_rows_keep_their_numbers() -> None:
    rows = [GOOD_PLAN_ROWS[0], [None] * len(PLAN_HEADER), ["  "] + [None] * 19, GOOD_PLAN_ROWS[2]]

    table = await read_table(xlsx(PLAN_HEADER, rows), action_plans.COLUMNS)

    assert [r.number for r in table.rows] == [2, 5]


# --- organisations ------------------------------------------------------------------------------


async def test_organisation_import_with_bad_rows_reports_each_and_changes_nothing(
    session: AsyncSession, places: None
) -> None:
    before = await row_counts(session)

    report = await import_orgs(session, xlsx(ORG_HEADER, GOOD_ORG_ROWS + BAD_ORG_ROWS))

    assert report.errors == ORG_ROW_ERRORS
    assert (report.applied, report.rows_read, report.created) == (False, 5, {"organisation": 0})
    assert await row_counts(session) == before


async def test_organisation_import_skip_invalid_then_reimport(
    session: AsyncSession, places: None
) -> None:
    data = xlsx(ORG_HEADER, GOOD_ORG_ROWS + BAD_ORG_ROWS)

    first = await import_orgs(session, data, skip_invalid=True)
    counts = await row_counts(session)
    second = await import_orgs(session, data, skip_invalid=True)

    assert (first.applied, first.created, first.errors) == (
        True,
        {"organisation": 2},
        ORG_ROW_ERRORS,
    )
    assert (second.created, second.updated, second.unchanged) == (
        {"organisation": 0},
        {"organisation": 0},
        2,
    )
    assert await row_counts(session) == counts
    orgs = {
        o.registration_number: o for o in (await session.execute(select(Organisation))).scalars()
    }
    youth, women = orgs["REG-001"], orgs["70021"]
    assert (youth.kind, youth.founded_year, youth.youth_led, youth.phone) == (
        OrganisationKind.YOUTH_GROUP,
        2018,
        True,
        "996555123456",
    )
    assert (women.kind, women.founded_year, women.women_led, women.email) == (
        OrganisationKind.WOMEN_LED,
        2009,
        True,
        None,
    )


async def test_organisation_reimport_updates_the_changed_one(
    session: AsyncSession, places: None
) -> None:
    await import_orgs(session, xlsx(ORG_HEADER, GOOD_ORG_ROWS))
    rows = [list(r) for r in GOOD_ORG_ROWS]
    rows[0][0] = "Osh Youth Initiative (renamed)"
    events = await audit_count(session)

    report = await import_orgs(session, xlsx(ORG_HEADER, rows))

    assert (report.updated, report.unchanged) == ({"organisation": 1}, 1)
    org = (
        await session.execute(
            select(Organisation)
            .where(Organisation.registration_number == "REG-001")
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    assert (org.name, org.version) == ("Osh Youth Initiative (renamed)", 2)
    assert await audit_count(session) == events + 1


# --- the API ------------------------------------------------------------------------------------


async def test_api_officer_imports_action_plans(
    session: AsyncSession, places: None, make_user: MakeUser
) -> None:
    officer = await make_user(Role.PROGRAMME_OFFICER)

    dry = await officer.client.create_action_plan_import(GOOD_PLANS, "plans.xlsx", dry_run=True)
    report = await officer.client.create_action_plan_import(GOOD_PLANS, "plans.xlsx")
    again = await officer.client.create_action_plan_import(GOOD_PLANS, "plans.xlsx")

    assert (dry.applied, dry.created) == (False, PLAN_ENTITIES)
    assert (report.applied, report.created) == (True, PLAN_ENTITIES)
    assert (again.created, again.unchanged) == (NONE_OF_THEM, 8)
    actors = set(
        (
            await session.execute(
                select(AuditEvent.actor_id).where(AuditEvent.entity == "action_plan_item")
            )
        ).scalars()
    )
    assert actors == {officer.id}


async def test_api_bad_rows_are_a_422_problem_listing_each(
    session: AsyncSession, places: None, make_user: MakeUser
) -> None:
    officer = await make_user(Role.PROGRAMME_OFFICER)
    before = await row_counts(session)

    with pytest.raises(ApiError) as caught:
        await officer.client.create_action_plan_import(MIXED_PLANS, "plans.xlsx")

    problem = caught.value.problem
    assert (problem.status, problem.type) == (422, PROBLEM + "import-rejected")
    assert problem.detail == (
        "5 of 9 rows have errors; nothing was imported (fix them, or import the good rows "
        "alone with skip_invalid=true)"
    )
    assert problem.errors == [
        ValidationIssue(field=f"row {e.row}: {e.column}", message=e.message)
        for e in PLAN_ROW_ERRORS
    ]
    assert await row_counts(session) == before

    partial = await officer.client.create_action_plan_import(
        MIXED_PLANS, "plans.xlsx", skip_invalid=True
    )
    assert (partial.applied, partial.created, partial.errors) == (
        True,
        PLAN_ENTITIES,
        PLAN_ROW_ERRORS,
    )


async def test_api_organisation_import_by_admin(
    session: AsyncSession, places: None, make_user: MakeUser
) -> None:
    admin = await make_user(Role.ADMIN)
    data = (
        "\ufeff"
        + "\n".join([",".join(ORG_HEADER[:7]), "Osh media,community_media,M-1,osh,2012,no,no"])
    ).encode()

    report = await admin.client.create_organisation_import(data, "organisations.csv")

    assert (report.kind, report.created, report.applied) == (
        ImportKind.ORGANISATIONS,
        {"organisation": 1},
        True,
    )


async def test_api_refuses_a_png_with_415(places: None, make_user: MakeUser) -> None:
    officer = await make_user(Role.PROGRAMME_OFFICER)
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"

    with pytest.raises(ApiError) as caught:
        await officer.client.create_action_plan_import(png, "plans.xlsx")

    assert (caught.value.status, caught.value.type) == (415, PROBLEM + "unsupported-media-type")


async def test_api_refuses_a_zip_that_is_no_workbook_with_415(
    places: None, make_user: MakeUser
) -> None:

    officer = await make_user(Role.PROGRAMME_OFFICER)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")

    with pytest.raises(ApiError) as caught:
        await officer.client.create_organisation_import(out.getvalue(), "organisations.xlsx")

    assert (caught.value.status, caught.value.problem.detail) == (
        415,
        "a ZIP archive that is not an Excel workbook (.xlsx)",
    )


async def test_api_refuses_more_than_5_mb_with_413(places: None, make_user: MakeUser) -> None:
    officer = await make_user(Role.PROGRAMME_OFFICER)
    just_over = b"name\n" + b"x" * (MAX_UPLOAD_BYTES - 5) + b"\n"
    far_over = b"x" * (6 * 1024 * 1024)

    for data in (just_over, far_over):
        with pytest.raises(ApiError) as caught:
            await officer.client.create_organisation_import(data, "organisations.csv")
        assert (caught.value.status, caught.value.type) == (413, PROBLEM + "payload-too-large")


async def test_api_applicant_may_not_import(places: None, make_user: MakeUser) -> None:
    applicant = await make_user()

    with pytest.raises(ApiError) as caught:
        await applicant.client.create_organisation_import(b"name\n", "organisations.csv")

    assert caught.value.status == 403


# --- the CLI ------------------------------------------------------------------------------------


@pytest.fixture
async def cli_db(fresh_db: str) -> str:
    """A database of its own with the places committed, for the CLI in its own process."""
    engine = create_async_engine(fresh_db)
    try:
        async with AsyncSession(engine) as s:
            await add_places(s)
            await s.commit()
    finally:
        await engine.dispose()
    return fresh_db


async def _plan_count(url: str) -> tuple[int, int, int]:
    engine = create_async_engine(url)
    try:
        async with AsyncSession(engine) as s:
            counts = [
                int((await s.execute(select(func.count()).select_from(m))).scalar_one())
                for m in (ActionPlanItem, Indicator, AuditEvent)
            ]
    finally:
        await engine.dispose()
    return counts[0], counts[1], counts[2]


async def test_cli_imports_action_plans(cli_db: str, tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.xlsx"
    mixed.write_bytes(MIXED_PLANS)
    good = tmp_path / "good.xlsx"
    good.write_bytes(GOOD_PLANS)

    refused = run_cli("import", "action-plans", str(mixed), url=cli_db)
    assert refused.returncode == 1, refused.stderr
    assert refused.stdout.splitlines() == [
        *(f"row {e.row}, {e.column}: {e.message}" for e in PLAN_ROW_ERRORS),
        "mixed.xlsx: 9 rows read; created: action_plan 0, action_plan_item 0, indicator 0; "
        "updated: action_plan 0, action_plan_item 0, indicator 0; unchanged: 0",
        "nothing imported: 5 rows with errors (--skip-invalid imports the good rows alone)",
    ]
    assert await _plan_count(cli_db) == (0, 0, 0)

    dry = run_cli("import", "action-plans", str(good), "--dry-run", url=cli_db)
    assert (dry.returncode, dry.stdout.splitlines()[-1]) == (0, "dry run: nothing was written")
    assert await _plan_count(cli_db) == (0, 0, 0)

    done = run_cli("import", "action-plans", str(good), url=cli_db)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "good.xlsx: 4 rows read; created: action_plan 2, action_plan_item 3, indicator 3; "
        "updated: action_plan 0, action_plan_item 0, indicator 0; unchanged: 0",
        "imported",
    ]
    assert "importing" in done.stderr  # the progress bar
    assert await _plan_count(cli_db) == (3, 3, 8)

    again = run_cli("import", "action-plans", str(good), url=cli_db)
    assert again.returncode == 0, again.stderr
    assert "unchanged: 8" in again.stdout
    assert await _plan_count(cli_db) == (3, 3, 8)


async def test_cli_imports_organisations_skipping_bad_rows(cli_db: str, tmp_path: Path) -> None:
    path = tmp_path / "organisations.xlsx"
    path.write_bytes(xlsx(ORG_HEADER, GOOD_ORG_ROWS + BAD_ORG_ROWS))

    done = run_cli("import", "organisations", str(path), "--skip-invalid", url=cli_db)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "imported the good rows; skipped 3 rows with errors"
    assert f"row 4, kind: unknown kind 'ngo' (one of: {KINDS})" in done.stdout.splitlines()


def test_cli_refuses_a_file_that_is_no_spreadsheet(tmp_path: Path) -> None:
    path = tmp_path / "picture.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")

    refused = run_cli(
        "import", "organisations", str(path), url=f"postgresql+asyncpg://u@/x{uuid.uuid4().hex}"
    )

    assert refused.returncode == 1
    assert "neither an Excel workbook (.xlsx) nor UTF-8 text (.csv)" in refused.stderr


# --- hostile files: limits, and the server answers meanwhile -------------------------------------


async def test_api_endless_blank_rows_are_refused_while_the_server_answers(
    places: None, make_user: MakeUser
) -> None:
    """The file is read off the event loop: while it is read (seconds: 30 cells a row), a
    health check is answered at once; and its blank rows count toward the row limit, so it is
    refused by name instead of read to its end."""
    officer = await make_user(Role.PROGRAMME_OFFICER)
    data = sheet_of_rows_without_numbers(MAX_ROWS + 2_000, 30)
    assert len(data) < 100_000

    started = time.monotonic()
    upload = asyncio.create_task(
        officer.client.create_action_plan_import(data, "plans.xlsx", dry_run=True)
    )
    await asyncio.sleep(0.2)  # the import is under way
    asked = time.monotonic()
    health = await officer.client.get_liveness()
    answered = time.monotonic()
    import_running = not upload.done()
    with pytest.raises(ApiError) as caught:
        await upload
    finished = time.monotonic()

    assert health.status == "ok"
    assert import_running, "the health check was answered only after the import ended"
    assert answered - asked < 0.5, f"the health check took {answered - asked:.2f} s"
    assert finished - started > answered - started
    problem = caught.value.problem
    assert (problem.status, problem.type) == (422, PROBLEM + "import-too-many-rows")
    assert problem.detail is not None
    assert f"more than {MAX_ROWS:,} rows after the header (blank rows count too)" in problem.detail


async def test_the_row_limit_counts_every_row_read_blank_ones_too() -> None:
    at_limit = b"territory\n" + b"\n" * 5
    assert len(await read_rows("csv", at_limit, max_rows=5)) == 6
    with pytest.raises(TooManyRows) as caught:
        await read_rows("csv", at_limit + b"\n", max_rows=5)
    assert caught.value.detail is not None
    assert caught.value.detail.startswith("the file has more than 5 rows after the header")


async def test_a_file_that_takes_too_long_to_read_is_refused_by_the_time_limit() -> None:
    one_wide_row = sheet_of_rows_without_numbers(1, 400_000)

    started = time.monotonic()
    with pytest.raises(ReadTimeLimit) as caught:
        await read_table(one_wide_row, action_plans.COLUMNS, time_limit=0.5)
    elapsed = time.monotonic() - started

    assert caught.value.status == 422
    assert caught.value.detail == (
        "reading the file took longer than the limit of 0.5 seconds: split it into smaller files"
    )
    assert elapsed < 3, f"the reader was not stopped at its time limit ({elapsed:.1f} s)"


async def test_action_plan_currency_unknown_to_iso_4217_is_refused(
    session: AsyncSession, places: None
) -> None:
    rows = [list(r) for r in GOOD_PLAN_ROWS]
    rows[0][PLAN_HEADER.index("currency")] = "zzz"  # three letters, but no currency

    report = await import_plans(session, xlsx(PLAN_HEADER, rows))

    assert report.errors[0] == ImportRowError(
        row=2, column="currency", message="not an ISO 4217 currency code: 'zzz' (e.g. KGS)"
    )
    assert report.applied is False
