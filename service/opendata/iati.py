"""The awarded grants as an IATI 2.03 activity file: one `iati-activity` per grant, with the
reporting and participating organisations, the activity's dates and status, the recipient
country (KG) and the territory as location, the DAC sector 15220 (civilian peace-building,
conflict prevention and resolution), yearly budgets from the tranches, the commitment (type 2)
and every disbursement (type 3; a reversal as a negative disbursement).

Elements follow the order of the 2.03 schema (`iati-activities-schema.xsd`); budget periods
are at most one year (ruleset 7.5.3); the XML is written with the standard library
(ElementTree: building and serialising only, nothing parsed)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from xml.etree import ElementTree as ET

from contracts.enums import OrganisationKind
from service.finance.views import format_major
from service.opendata.service import OpenData, OpenGrant
from service.settings import Settings

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
IATI_VERSION = "2.03"
COUNTRY = "KG"
SECTOR_PEACEBUILDING = "15220"
ORG_TYPE_MULTILATERAL = "40"
ORG_TYPE_PARTNER_COUNTRY_NGO = "24"
ORG_TYPE_OTHER = "90"
ROLE_FUNDING, ROLE_EXTENDING, ROLE_IMPLEMENTING = "1", "3", "4"
DATE_PLANNED_START, DATE_ACTUAL_START, DATE_PLANNED_END = "1", "2", "3"
STATUS_IMPLEMENTATION, STATUS_FINALISATION = "2", "3"
TRANSACTION_COMMITMENT, TRANSACTION_DISBURSEMENT = "2", "3"
BUDGET_ORIGINAL, BUDGET_COMMITTED = "1", "2"
LOCATION_CLASS_ADMINISTRATIVE, LOCATION_CLASS_POPULATED_PLACE = "1", "2"


def activity_identifier(settings: Settings, g: OpenGrant) -> str:
    return f"{settings.open_data_publisher_ref}-PCCG-{g.id}"


def _sub(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, tag, {k.replace("_", "-"): v for k, v in attrs.items()})


def _narratives(parent: ET.Element, text: dict[str, str] | str) -> None:
    if isinstance(text, str):
        ET.SubElement(parent, "narrative").text = text
        return
    for lang in ("en", "ru", "ky"):
        if text.get(lang):
            n = ET.SubElement(parent, "narrative")
            if lang != "en":
                n.set(XML_LANG, lang)
            n.text = text[lang]


def _value(parent: ET.Element, amount: int, currency: str, on: date) -> None:
    v = _sub(parent, "value", currency=currency, value_date=on.isoformat())
    v.text = format_major(amount, currency)


def _add_year(d: date) -> date:
    try:
        return d.replace(year=d.year + 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year + 1, day=28)


def budget_periods(g: OpenGrant) -> list[tuple[date, date, int]]:
    """Consecutive periods of at most one year from the grant's start to its end, each with the
    tranches planned in it (a tranche planned before the start counts in the first period, one
    after the end in the last). They sum to the grant's tranches not cancelled."""
    bounds: list[tuple[date, date]] = []
    start = g.start_date
    while True:
        end = min(_add_year(start) - timedelta(days=1), g.end_date)
        bounds.append((start, end))
        if end >= g.end_date:
            break
        start = end + timedelta(days=1)
    sums = [0] * len(bounds)
    for t in g.tranches:
        index = next((i for i, b in enumerate(bounds) if t.planned_date <= b[1]), len(bounds) - 1)
        sums[index] += t.amount
    result = [(b[0], b[1], s) for b, s in zip(bounds, sums, strict=True) if s]
    return result or [(bounds[0][0], bounds[0][1], g.amount)]


def _activity(root: ET.Element, g: OpenGrant, settings: Settings, today: date) -> None:
    a = _sub(
        root,
        "iati-activity",
        last_updated_datetime=g.modified_at.isoformat(timespec="seconds"),
        default_currency=g.currency,
    )
    a.set(XML_LANG, "en")
    ET.SubElement(a, "iati-identifier").text = activity_identifier(settings, g)
    reporting = _sub(
        a, "reporting-org", ref=settings.open_data_publisher_ref, type=ORG_TYPE_MULTILATERAL
    )
    _narratives(reporting, settings.open_data_publisher_name)
    _narratives(ET.SubElement(a, "title"), g.title)
    _narratives(_sub(a, "description", type="1"), g.summary or g.title)

    for funder in g.funders:
        _narratives(_sub(a, "participating-org", role=ROLE_FUNDING), funder.name)
    extending = _sub(
        a,
        "participating-org",
        ref=settings.open_data_publisher_ref,
        role=ROLE_EXTENDING,
        type=ORG_TYPE_MULTILATERAL,
    )
    _narratives(extending, settings.open_data_publisher_name)
    org_type = (
        ORG_TYPE_OTHER
        if g.organisation_kind == OrganisationKind.INITIATIVE_GROUP
        else ORG_TYPE_PARTNER_COUNTRY_NGO
    )
    implementing = _sub(a, "participating-org", role=ROLE_IMPLEMENTING, type=org_type)
    _narratives(implementing, g.organisation_name)

    _sub(
        a,
        "activity-status",
        code=STATUS_IMPLEMENTATION if today <= g.end_date else STATUS_FINALISATION,
    )
    _sub(a, "activity-date", iso_date=g.start_date.isoformat(), type=DATE_PLANNED_START)
    if g.start_date <= today:
        _sub(a, "activity-date", iso_date=g.start_date.isoformat(), type=DATE_ACTUAL_START)
    _sub(a, "activity-date", iso_date=g.end_date.isoformat(), type=DATE_PLANNED_END)

    _sub(a, "recipient-country", code=COUNTRY, percentage="100")
    location = _sub(a, "location", ref=f"{COUNTRY}-{g.territory_code}")
    _sub(location, "location-reach", code="1")
    _narratives(ET.SubElement(location, "name"), g.territory_name)
    if g.territory_region:
        _narratives(ET.SubElement(location, "description"), g.territory_region)
    is_city = g.territory_kind == "city"
    _sub(
        location,
        "location-class",
        code=LOCATION_CLASS_POPULATED_PLACE if is_city else LOCATION_CLASS_ADMINISTRATIVE,
    )
    _sub(a, "sector", vocabulary="1", code=SECTOR_PEACEBUILDING, percentage="100")

    for start, end, amount in budget_periods(g):
        budget = _sub(a, "budget", type=BUDGET_ORIGINAL, status=BUDGET_COMMITTED)
        _sub(budget, "period-start", iso_date=start.isoformat())
        _sub(budget, "period-end", iso_date=end.isoformat())
        _value(budget, amount, g.currency, start)

    # the commitment is an instant (the grant's making), dated like the file, in UTC (see
    # activities_xml); a payment's value date is a bank's calendar day, published once that day
    # has come in UTC too, with its own date
    committed_on = g.created_at.astimezone(UTC).date()
    _transaction(a, g, TRANSACTION_COMMITMENT, g.amount, committed_on, settings)
    for p in g.payments:
        if p.value_date <= today:
            _transaction(a, g, TRANSACTION_DISBURSEMENT, p.amount, p.value_date, settings)


def _transaction(
    a: ET.Element, g: OpenGrant, kind: str, amount: int, on: date, settings: Settings
) -> None:
    t = ET.SubElement(a, "transaction")
    _sub(t, "transaction-type", code=kind)
    _sub(t, "transaction-date", iso_date=on.isoformat())
    _value(t, amount, g.currency, on)
    provider = _sub(t, "provider-org", ref=settings.open_data_publisher_ref)
    _narratives(provider, settings.open_data_publisher_name)
    _narratives(_sub(t, "receiver-org"), g.organisation_name)


def activities_xml(data: OpenData, settings: Settings, *, now: datetime) -> bytes:
    root = ET.Element(
        "iati-activities",
        {
            "version": IATI_VERSION,
            # the data's last change (not the request's time), so that the file and its ETag
            # stay the same until the grants change
            "generated-datetime": (data.modified_at or now).isoformat(timespec="seconds"),
        },
    )
    # IATI's dates carry no zone, and its validators and rulesets compare them with their own
    # day, in UTC ("must not be in the future"). Bishkek is six hours ahead: from midnight to 6:00
    # there a Bishkek date is still tomorrow in UTC. The file's "today" is therefore the UTC day,
    # which is never after the Bishkek one (statuses and actual starts follow it too).
    today = now.astimezone(UTC).date()
    for g in data.grants:
        _activity(root, g, settings, today)
    ET.indent(root)
    # serialised to text, then encoded once: ElementTree's "utf-8" writer resets its codec on
    # every piece and took ~60% of the time (bench/bench_opendata.py)
    text = ET.tostring(root, encoding="unicode")
    return b"<?xml version='1.0' encoding='utf-8'?>\n" + text.encode("utf-8")
