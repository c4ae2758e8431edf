"""The awarded grants as 360Giving grant records: a JSON data package and a CSV file whose
column titles are the standard's own ("Identifier", "Amount Awarded", "Recipient Org:0:Name" …)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import msgspec

from contracts import opendata as c
from service.opendata.service import OpenData, OpenGrant, major
from service.settings import Settings

COUNTRY = "KG"
SCHEMA_VERSION = "1.4"


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _en(text: dict[str, str]) -> str:
    return text.get("en") or next(iter(text.values()), "")


def grant_record(g: OpenGrant, settings: Settings) -> c.GivingGrant:
    prefix = settings.open_data_360giving_prefix
    return c.GivingGrant(
        id=f"{prefix}-{g.id}",
        title=g.title,
        description=g.summary or g.title,
        currency=g.currency,
        amount_applied_for=major(g.requested, g.currency),
        amount_awarded=major(g.amount, g.currency),
        amount_disbursed=major(g.disbursed, g.currency),
        award_date=g.awarded_on.isoformat(),
        planned_dates=[
            c.GivingPeriod(start_date=g.start_date.isoformat(), end_date=g.end_date.isoformat())
        ],
        recipient_organization=[
            c.GivingOrganization(
                id=f"{prefix}-org-{g.organisation_id}",
                name=g.organisation_name,
                organisation_type=g.organisation_kind.value,
                address_country=COUNTRY,
            )
        ],
        funding_organization=[
            c.GivingOrganization(
                id=settings.open_data_publisher_ref, name=settings.open_data_publisher_name
            )
        ],
        beneficiary_location=[
            c.GivingLocation(id=g.territory_code, name=_en(g.territory_name), country_code=COUNTRY)
        ],
        grant_programme=[
            c.GivingProgramme(
                code=g.window_code, title=f"{_en(g.call_title)} — {_en(g.window_title)}"
            )
        ],
        from_open_call="Yes",
        disbursement_transaction=[
            c.GivingTransaction(
                id=f"{prefix}-payment-{p.id}",
                transaction_date=p.value_date.isoformat(),
                currency=g.currency,
                value=major(p.amount, g.currency),
            )
            for p in g.payments
        ],
        date_modified=_iso(g.modified_at),
    )


def package(data: OpenData, settings: Settings, *, now: datetime) -> c.GivingPackage:
    return c.GivingPackage(
        version=SCHEMA_VERSION,
        title="PCC grants: awarded grants of decided windows",
        publisher=c.GivingPublisher(
            name=settings.open_data_publisher_name, identifier=settings.open_data_publisher_ref
        ),
        license=settings.open_data_license,
        modified=_iso(data.modified_at or now),
        grants=[grant_record(g, settings) for g in data.grants],
    )


_JSON = msgspec.json.Encoder(decimal_format="number")


def package_json(pkg: c.GivingPackage) -> bytes:
    """The package as JSON, its amounts exact JSON numbers (`150000.00`), as the 360Giving schema
    asks (type number), written from Decimal without a float."""
    return _JSON.encode(pkg)


CSV_COLUMNS = [
    "Identifier",
    "Title",
    "Description",
    "Currency",
    "Amount Applied For",
    "Amount Awarded",
    "Amount Disbursed",
    "Award Date",
    "Planned Dates:0:Start Date",
    "Planned Dates:0:End Date",
    "Recipient Org:0:Identifier",
    "Recipient Org:0:Name",
    "Recipient Org:0:Organisation Type",
    "Recipient Org:0:Country",
    "Funding Org:0:Identifier",
    "Funding Org:0:Name",
    "Beneficiary Location:0:Name",
    "Beneficiary Location:0:Country Code",
    "Grant Programme:0:Code",
    "Grant Programme:0:Title",
    "From An Open Call?",
    "Last Modified",
]


def package_csv(pkg: c.GivingPackage) -> bytes:
    """One row per grant (payments are in the JSON), UTF-8 with a byte-order mark for
    spreadsheets; money as exact decimal strings."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for g in pkg.grants:
        rec, fund = g.recipient_organization[0], g.funding_organization[0]
        loc, prog, period = g.beneficiary_location[0], g.grant_programme[0], g.planned_dates[0]
        writer.writerow(
            [
                g.id,
                g.title,
                g.description,
                g.currency,
                str(g.amount_applied_for),
                str(g.amount_awarded),
                str(g.amount_disbursed),
                g.award_date,
                period.start_date,
                period.end_date,
                rec.id,
                rec.name,
                rec.organisation_type or "",
                rec.address_country or "",
                fund.id,
                fund.name,
                loc.name,
                loc.country_code,
                prog.code,
                prog.title,
                g.from_open_call,
                g.date_modified,
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
