"""Benchmark: the open-data files (issue 18) — building the IATI 2.03 XML, the 360Giving JSON and
CSV for N awarded grants (the part that grows with the data; the five queries are fixed in
number), against a floor measured in the same run: the same grants' fields written as plain JSON
by msgspec (no structure of a standard). Ratios, not absolute times, are what to compare.

    pip install -e . && python bench/bench_opendata.py [--short]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contracts.enums import LedgerEntryKind, OrganisationKind  # noqa: E402
from service.opendata import giving, iati  # noqa: E402
from service.opendata.service import (  # noqa: E402
    OpenData,
    OpenFunder,
    OpenGrant,
    OpenPayment,
    OpenTranche,
)
from service.settings import Settings  # noqa: E402

NOW = datetime(2027, 6, 1, tzinfo=UTC)


def grants(n: int) -> OpenData:
    made = []
    for i in range(n):
        g = OpenGrant(
            id=uuid.UUID(int=i + 1),
            title=f"Youth dialogue clubs {i}",
            summary="Dialogue clubs for young people of three villages. " * 4,
            currency="KGS",
            amount=40_000_000,
            requested=45_000_000,
            disbursed=16_000_000,
            start_date=date(2027, 1, 1),
            end_date=date(2028, 6, 30),
            created_at=datetime(2026, 12, 20, tzinfo=UTC),
            awarded_on=date(2026, 12, 15),
            modified_at=datetime(2027, 2, 1, tzinfo=UTC),
            organisation_id=uuid.UUID(int=10**6 + i),
            organisation_name=f"Ынтымак {i}",
            organisation_kind=OrganisationKind.CSO,
            territory_code="osh",
            territory_kind="city",
            territory_name={"en": "Osh", "ru": "Ош", "ky": "Ош"},
            territory_region={"en": "Osh region", "ru": "Ошская область", "ky": "Ош облусу"},
            window_code="W1",
            window_title={"en": "Window 1"},
            call_title={"en": "Call 2026"},
            funders=[OpenFunder("PBF", "Peacebuilding Fund", 40_000_000)],
            payments=[
                OpenPayment(
                    uuid.uuid4(), LedgerEntryKind.DISBURSEMENT, 16_000_000, date(2027, 1, 20)
                )
            ],
            tranches=[
                OpenTranche(16_000_000, date(2027, 1, 15)),
                OpenTranche(12_000_000, date(2027, 9, 1)),
                OpenTranche(12_000_000, date(2028, 3, 1)),
            ],
        )
        made.append(g)
    return OpenData(grants=made, modified_at=NOW)


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median seconds of `repeat` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def floor(data: OpenData) -> bytes:
    return msgspec.json.encode(
        [
            {
                "id": str(g.id),
                "title": g.title,
                "summary": g.summary,
                "amount": g.amount,
                "organisation": g.organisation_name,
                "payments": [[str(p.id), p.amount, p.value_date.isoformat()] for p in g.payments],
            }
            for g in data.grants
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--short", action="store_true")
    args = parser.parse_args()
    settings = Settings(environment="test")
    sizes = (100, 1000) if args.short else (100, 1000, 10_000)
    repeat = 3 if args.short else 5
    print("grants  floor(ms)  iati.xml(ms)  x-floor  360giving.json(ms)  x-floor  csv(ms)  xml MB")
    for n in sizes:
        data = grants(n)
        base = timed(lambda data=data: floor(data), repeat)
        xml_body = iati.activities_xml(data, settings, now=NOW)
        t_xml = timed(lambda data=data: iati.activities_xml(data, settings, now=NOW), repeat)
        t_json = timed(
            lambda data=data: giving.package_json(giving.package(data, settings, now=NOW)), repeat
        )
        t_csv = timed(
            lambda data=data: giving.package_csv(giving.package(data, settings, now=NOW)), repeat
        )
        print(
            f"{n:>6}  {base * 1000:>9.1f}  {t_xml * 1000:>12.1f}  {t_xml / base:>7.0f}"
            f"  {t_json * 1000:>18.1f}  {t_json / base:>7.0f}  {t_csv * 1000:>7.1f}"
            f"  {len(xml_body) / 1e6:>6.1f}"
        )


if __name__ == "__main__":
    main()
