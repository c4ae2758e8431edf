"""Open data: the awarded grants of decided windows as a 360Giving data package (JSON; the CSV and
the IATI 2.03 XML carry the same grants). Field names are the 360Giving Data Standard's own
(camelCase), so a 360Giving tool reads the JSON as it is. Money is an exact decimal number in the
currency's major unit (e.g. `150000.00` KGS), computed from integer minor units with the
currency's ISO 4217 exponent, never through a float. No person appears: only organisations."""

from __future__ import annotations

from decimal import Decimal

import msgspec


class GivingOrganization(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    """An organisation (recipient or funder). `id` is an org-id when the organisation has one,
    otherwise the publisher's 360Giving prefix followed by its identifier in this system."""

    id: str
    name: str
    organisation_type: str | None = None
    """The organisation's kind in this system (e.g. `cso`, `community_media`)."""
    address_country: str | None = None
    """ISO 3166-1 alpha-2 country code (`KG`)."""


class GivingLocation(msgspec.Struct, kw_only=True, rename="camel"):
    """Where the beneficiaries are: the territory of the recipient organisation's PCC."""

    id: str
    """The territory's code in this system."""
    name: str
    country_code: str
    """ISO 3166-1 alpha-2 (`KG`)."""


class GivingPeriod(msgspec.Struct, kw_only=True, rename="camel"):
    start_date: str
    """YYYY-MM-DD."""
    end_date: str
    """YYYY-MM-DD."""


class GivingProgramme(msgspec.Struct, kw_only=True):
    code: str
    """The window's code."""
    title: str
    """The call's and the window's titles (English)."""


class GivingTransaction(msgspec.Struct, kw_only=True, rename="camel"):
    """A payment made on the grant (a reversal of a payment is a negative value)."""

    id: str
    transaction_date: str
    """YYYY-MM-DD: the value date."""
    currency: str
    value: Decimal
    """Exact decimal in major units; negative for a reversal."""


class GivingGrant(msgspec.Struct, kw_only=True, rename="camel"):
    """One awarded grant (360Giving grant record)."""

    id: str
    """The publisher's 360Giving prefix followed by the grant's id."""
    title: str
    description: str
    currency: str
    """ISO 4217 code."""
    amount_applied_for: Decimal
    """Exact decimal in major units (the proposal's requested amount)."""
    amount_awarded: Decimal
    """Exact decimal in major units (the grant's amount)."""
    amount_disbursed: Decimal
    """Exact decimal in major units: paid, net of reversals."""
    award_date: str
    """YYYY-MM-DD (Asia/Bishkek): the day the window's selection was approved."""
    planned_dates: list[GivingPeriod]
    recipient_organization: list[GivingOrganization]
    funding_organization: list[GivingOrganization]
    beneficiary_location: list[GivingLocation]
    grant_programme: list[GivingProgramme]
    from_open_call: str
    """`Yes`: every grant comes from an open call."""
    disbursement_transaction: list[GivingTransaction]
    date_modified: str
    """Full date-time (UTC) of the grant's last change here."""


class GivingPublisher(msgspec.Struct, kw_only=True, omit_defaults=True):
    name: str
    identifier: str | None = None


class GivingPackage(msgspec.Struct, kw_only=True):
    """A 360Giving data package: the grants and who publishes them under which licence."""

    version: str
    """The 360Giving schema version (`1.4`)."""
    title: str
    publisher: GivingPublisher
    license: str
    """URI of the licence of the data."""
    modified: str
    """Full date-time (UTC) of the last change of any grant in the package."""
    grants: list[GivingGrant]
