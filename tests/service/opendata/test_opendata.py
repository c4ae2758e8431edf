"""Open data (GetIatiActivities, GetGivingPackage, GetGivingCsv): the demo's awarded grants as an
IATI 2.03 file valid against the official schema and the IATI rulesets, and as 360Giving records
valid against the 360Giving JSON schema; money exact; no person; conditional requests."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.enums import LedgerEntryKind, TrancheStatus
from service.demo import load_demo_data
from service.finance.views import minor_unit_exponent
from service.opendata.iati import activities_xml
from service.opendata.service import OpenPayment, awarded_grants, major
from service.persistence.models import (
    AppUser,
    Grant,
    LedgerEntry,
    Organisation,
    PccMember,
    Proposal,
    SelectionRun,
    Tranche,
)
from service.settings import Settings

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)

STANDARDS = Path(__file__).resolve().parents[2] / "data" / "standards"
IATI = STANDARDS / "iati-2.03"
GIVING = STANDARDS / "360giving"


async def _decided_grants(session: AsyncSession) -> dict[uuid.UUID, Grant]:
    decided = select(SelectionRun.window_id).where(col(SelectionRun.approved_at).is_not(None))
    grants = (
        await session.execute(select(Grant).where(col(Grant.window_id).in_(decided)))
    ).scalars()
    return {g.id: g for g in grants}


# --- IATI ----------------------------------------------------------------------------------


def _values(el: Any, path: str) -> list[str]:
    found = el.xpath(path)
    if not isinstance(found, list):
        return [str(found)]
    return [v if isinstance(v, str) else (v.text or "") for v in found]


def _date(value: str, today: date) -> date:
    return today if value == "NOW" else date.fromisoformat(value[:10])


def ruleset_failures(doc: Any, rulesets: dict[str, Any], today: date) -> list[str]:
    """The IATI standard rulesets (IATI-Rulesets' rule kinds) checked on an activity file;
    `loop` (aid-type vocabularies, none here) and the organisation file's rules do not apply."""
    failures: list[str] = []
    for path, rules in rulesets.items():
        if path.startswith("/iati-organisations"):
            continue
        for el in doc.xpath(path):
            for kind, spec in rules.items():
                if kind == "loop":
                    continue
                for case in spec["cases"]:
                    rule = case["ruleInfo"]["id"]
                    if "condition" in case and not el.xpath(f"boolean({case['condition']})"):
                        continue
                    ok = _check(el, kind, case, today)
                    if not ok:
                        failures.append(f"{rule} ({kind}) at {el.getroottree().getpath(el)}")
    return failures


def _check(el: Any, kind: str, case: dict[str, Any], today: date) -> bool:
    paths = case.get("paths", [])
    if kind == "atleast_one":
        return any(el.xpath(p) for p in paths)
    if kind == "no_more_than_one":
        return sum(len(el.xpath(p)) for p in paths) <= 1
    if kind == "no_spaces":
        return all(v == v.strip() for p in paths for v in _values(el, p))
    if kind == "regex_matches":
        return all(re.search(case["regex"], v) for p in paths for v in _values(el, p))
    if kind == "unique":
        values = [v for p in paths for v in _values(el, p)]
        return len(values) == len(set(values))
    if kind == "startswith":
        prefixes = [
            v + case.get("separator", "")
            for p in case["prefix"]
            if p != "ORG-ID-PREFIX"  # the org-id register's agency codes: not shipped
            for v in _values(el, p)
        ]
        if not prefixes:
            return True
        return all(any(v.startswith(x) for x in prefixes) for p in paths for v in _values(el, p))
    if kind == "one_or_all":
        return bool(el.xpath(case["one"])) or all(
            n.get(case["all"]) for n in el.iter("narrative", "value")
        )
    if kind == "date_now":
        return all(
            datetime.fromisoformat(v) <= datetime.now(UTC) for v in _values(el, case["date"])
        )
    if kind == "date_order":
        less = (
            [_date(v, today) for v in _values(el, case["less"])]
            if case["less"] != "NOW"
            else [today]
        )
        more = (
            [_date(v, today) for v in _values(el, case["more"])]
            if case["more"] != "NOW"
            else [today]
        )
        strict = "NOW" not in (case["less"], case["more"])
        return all((a < b) if strict else (a <= b) for a in less for b in more)
    if kind == "time_limit":
        starts, ends = _values(el, case["start"]), _values(el, case["end"])
        return all(
            (date.fromisoformat(e) - date.fromisoformat(s)).days <= 365
            for s, e in zip(starts, ends, strict=True)
        )
    if kind == "strict_sum":
        return sum(Decimal(v) for p in paths for v in _values(el, p)) == Decimal(case["sum"])
    if kind == "if_then":
        return not el.xpath(f"boolean({case['if']})") or bool(el.xpath(f"boolean({case['then']})"))
    if kind == "range":
        return all(
            Decimal(case.get("min", "-Infinity"))
            <= Decimal(v)
            <= Decimal(case.get("max", "Infinity"))
            for p in paths
            for v in _values(el, p)
        )
    raise AssertionError(f"rule kind {kind} not checked")


async def test_iati_file_is_valid_against_the_2_03_schema_and_the_rulesets(
    session: AsyncSession, http: httpx.AsyncClient, storage_dir: Path
) -> None:
    await load_demo_data(session, storage_dir)
    expected = await _decided_grants(session)
    assert len(expected) == 3

    response = await http.get("open-data/iati.xml")  # anonymous
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    doc = etree.fromstring(response.content)

    schema = etree.XMLSchema(etree.parse(str(IATI / "iati-activities-schema.xsd")))
    assert schema.validate(doc), schema.error_log
    rulesets = json.loads((IATI / "rulesets-standard.json").read_text())
    today = datetime.now(UTC).date()  # the rulesets' NOW: the checker's day, in UTC
    assert ruleset_failures(doc, rulesets, today) == []
    # the checker bites: a two-year budget, sectors not summing to 100, a future transaction
    broken = etree.fromstring(response.content)
    first = broken.find("iati-activity")
    first.find("budget/period-end").set("iso-date", "2099-12-31")
    first.find("sector").set("percentage", "60")
    etree.SubElement(first.find("sector").getparent(), "sector", code="15110", percentage="30")
    first.find("transaction/transaction-date").set("iso-date", "2099-01-01")
    rules_broken = {f.split(" ")[0] for f in ruleset_failures(broken, rulesets, today)}
    assert {"7.5.3", "2.1.2", "11.2.1"} <= rules_broken

    activities = doc.findall("iati-activity")
    assert doc.get("version") == "2.03"
    assert len(activities) == len(expected)
    transaction_types = set(
        etree.parse(str(IATI / "codelists" / "TransactionType.xml")).xpath(
            "//codelist-item/code/text()"
        )
    )
    for a in activities:
        grant_id = uuid.UUID(a.findtext("iati-identifier").rsplit("-PCCG-", 1)[1])
        grant = expected[grant_id]
        exp = minor_unit_exponent(grant.currency)
        assert a.get("default-currency") == grant.currency
        assert a.find("recipient-country").get("code") == "KG"
        assert a.find("sector").get("code") == "15220"
        assert a.find("location/name/narrative").text
        assert {
            t.get("code") for t in a.iterfind("transaction/transaction-type")
        } <= transaction_types

        # budgets: the tranches not cancelled, which sum to the grant's amount
        tranches = (
            await session.execute(
                select(Tranche.amount).where(
                    Tranche.grant_id == grant.id, Tranche.status != TrancheStatus.CANCELLED
                )
            )
        ).scalars()
        budgets = [Decimal(v.text) for v in a.iterfind("budget/value")]
        assert (
            sum(budgets)
            == Decimal(sum(tranches)).scaleb(-exp)
            == major(grant.amount, grant.currency)
        )

        def of_type(code: str, a: Any = a) -> list[Decimal]:
            return [
                Decimal(t.findtext("value"))
                for t in a.iterfind("transaction")
                if t.find("transaction-type").get("code") == code
            ]

        assert of_type("2") == [major(grant.amount, grant.currency)]
        entries = (
            (await session.execute(select(LedgerEntry).where(LedgerEntry.grant_id == grant.id)))
            .scalars()
            .all()
        )
        assert len(of_type("3")) == len(entries)
        assert sum(of_type("3")) == major(grant.disbursed_amount, grant.currency)
        for entry in entries:
            if entry.kind == LedgerEntryKind.REVERSAL:
                assert -major(entry.amount, grant.currency) in of_type("3")
        for v in a.iter("value"):  # exact decimals with the currency's exponent
            assert re.fullmatch(rf"-?\d+\.\d{{{exp}}}", v.text), v.text


async def test_the_demo_has_a_reversal_that_the_iati_file_shows_as_a_negative_disbursement(
    session: AsyncSession, http: httpx.AsyncClient, storage_dir: Path
) -> None:
    await load_demo_data(session, storage_dir)
    doc = etree.fromstring((await http.get("open-data/iati.xml")).content)
    negatives = doc.xpath("//transaction[transaction-type/@code='3']/value[starts-with(., '-')]")
    reversals = (
        (
            await session.execute(
                select(LedgerEntry).where(LedgerEntry.kind == LedgerEntryKind.REVERSAL)
            )
        )
        .scalars()
        .all()
    )
    assert len(negatives) == len(reversals) >= 1


# --- 360Giving -----------------------------------------------------------------------------


def _giving_validator() -> jsonschema.Draft202012Validator:
    grant = json.loads((GIVING / "360-giving-schema.json").read_text())
    package = json.loads((GIVING / "360-giving-package-schema.json").read_text())
    # their `$schema` is written http://…/draft/2020-12/schema, which `referencing` does not know
    resource = Resource(contents=grant, specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resources(
        [(grant["$id"], resource), (grant["$id"].replace("1.4.3", "1.4.2"), resource)]
    )
    return jsonschema.Draft202012Validator(
        package, registry=registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


async def test_360giving_package_is_valid_and_its_money_exact(
    session: AsyncSession, http: httpx.AsyncClient, storage_dir: Path
) -> None:
    await load_demo_data(session, storage_dir)
    expected = await _decided_grants(session)

    response = await http.get("open-data/360giving.json")
    assert response.status_code == 200
    errors = [e.message for e in _giving_validator().iter_errors(response.json())]
    assert errors == []

    package = json.loads(response.content, parse_float=Decimal)
    assert {g["id"].rsplit("-", 5)[0] for g in package["grants"]} == {"360G-pccgrants"}
    by_id = {uuid.UUID(g["id"].split("360G-pccgrants-", 1)[1]): g for g in package["grants"]}
    assert set(by_id) == set(expected)
    for grant_id, g in by_id.items():
        grant = expected[grant_id]
        assert g["amountAwarded"] == major(grant.amount, grant.currency)
        assert str(g["amountAwarded"]) == str(major(grant.amount, grant.currency))
        assert g["amountDisbursed"] == major(grant.disbursed_amount, grant.currency)
        assert sum(t["value"] for t in g["disbursementTransaction"]) == g["amountDisbursed"]
        assert g["beneficiaryLocation"][0]["countryCode"] == "KG"
        org = await session.get(Organisation, grant.organisation_id)
        assert org is not None
        assert g["recipientOrganization"][0]["name"] == org.name

    # the CSV: the same grants, the same amounts as decimal strings
    response = await http.get("open-data/360giving.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {r["Identifier"]: r["Amount Awarded"] for r in rows} == {
        g["id"]: str(g["amountAwarded"]) for g in package["grants"]
    }


async def test_open_data_names_no_person(
    session: AsyncSession, http: httpx.AsyncClient, storage_dir: Path
) -> None:
    await load_demo_data(session, storage_dir)
    personal: set[str] = set()
    for name, email in await session.execute(select(AppUser.full_name, AppUser.email)):
        personal |= {name, email}
    personal |= set((await session.execute(select(PccMember.full_name))).scalars())
    for email, phone in await session.execute(select(Organisation.email, Organisation.phone)):
        personal |= {v for v in (email, phone) if v}
    assert len(personal) > 10
    for path in ("iati.xml", "360giving.json", "360giving.csv"):
        body = (await http.get(f"open-data/{path}")).content.decode("utf-8")
        found = sorted(p for p in personal if p in body)
        assert found == [], path


async def test_only_decided_windows_are_published(
    session: AsyncSession, http: httpx.AsyncClient, storage_dir: Path
) -> None:
    await load_demo_data(session, storage_dir)
    before = await http.get("open-data/360giving.json")
    assert len(before.json()["grants"]) == 3
    # the demo's decided window, as if its selection had never been approved
    await session.execute(
        update(SelectionRun)
        .where(col(SelectionRun.approved_at).is_not(None))
        .values(approved_at=None, approved_by=None, status="superseded")
    )
    await session.flush()
    assert (await http.get("open-data/360giving.json")).json()["grants"] == []
    assert etree.fromstring((await http.get("open-data/iati.xml")).content).findall("*") == []


async def test_open_data_is_cacheable_and_revalidated_by_etag(
    session: AsyncSession, http: httpx.AsyncClient, storage_dir: Path
) -> None:
    await load_demo_data(session, storage_dir)
    paths = ("iati.xml", "360giving.json", "360giving.csv")
    etags = {}
    for path in paths:
        first = await http.get(f"open-data/{path}")
        etag = etags[path] = first.headers["etag"]
        assert first.headers["cache-control"].startswith("public"), path
        assert first.headers["last-modified"].endswith("GMT"), path
        again = await http.get(f"open-data/{path}", headers={"If-None-Match": etag})
        assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)

    proposal_id = (await session.execute(select(Grant.proposal_id).limit(1))).scalar_one()
    await session.execute(
        update(Proposal).where(col(Proposal.id) == proposal_id).values(title="Renamed project")
    )
    await session.flush()
    for path in paths:
        changed = await http.get(f"open-data/{path}", headers={"If-None-Match": etags[path]})
        assert changed.status_code == 200, path
        assert changed.headers["etag"] != etags[path]
        assert b"Renamed project" in changed.content


@given(
    amount=st.integers(min_value=-(10**15), max_value=10**15),
    currency=st.sampled_from(["KGS", "USD", "EUR", "JPY", "KWD"]),
)
def test_major_units_are_exact(amount: int, currency: str) -> None:
    exponent = minor_unit_exponent(currency)
    value = major(amount, currency)
    assert value.scaleb(exponent) == amount
    assert value.as_tuple().exponent == -exponent


async def test_iati_dates_are_never_in_the_future_of_a_checker_in_utc(
    session: AsyncSession, storage_dir: Path
) -> None:
    """From midnight to 6:00 in Bishkek its date is still tomorrow in UTC, the day IATI's
    validators call NOW (CI failed on this at 00:44 Bishkek): a commitment made then is dated
    by its UTC day; a payment value-dated that Bishkek day waits until the day has come in
    UTC, then appears with its own date."""
    await load_demo_data(session, storage_dir)
    data = await awarded_grants(session)
    rulesets = json.loads((IATI / "rulesets-standard.json").read_text())
    grant = data.grants[0]
    night = datetime(2026, 12, 6, 18, 44, tzinfo=UTC)  # 00:44 on 7 December in Bishkek
    bishkek_day = date(2026, 12, 7)
    grant.created_at = night
    grant.start_date = bishkek_day
    grant.payments.append(OpenPayment(uuid.uuid4(), LedgerEntryKind.DISBURSEMENT, 100, bishkek_day))
    settings = Settings()

    def transactions(now: datetime) -> list[str]:
        doc = etree.fromstring(activities_xml(data, settings, now=now))
        assert ruleset_failures(doc, rulesets, now.astimezone(UTC).date()) == []
        first = doc.find("iati-activity")
        assert first.findtext("iati-identifier").endswith(str(grant.id))
        actual_start = first.xpath("activity-date[@type='2']/@iso-date")
        assert actual_start == ([] if now < datetime(2026, 12, 7, tzinfo=UTC) else ["2026-12-07"])
        return [str(d) for d in first.xpath("transaction/transaction-date/@iso-date")]

    before = transactions(night)
    assert before[0] == "2026-12-06"  # the commitment
    assert "2026-12-07" not in before
    after = transactions(datetime(2026, 12, 7, 0, 1, tzinfo=UTC))
    assert after[0] == "2026-12-06"  # the same, later
    assert after[1:].count("2026-12-07") == 1  # the payment, with its own day
    assert len(after) == len(before) + 1
