"""The keyset indexes (issue 16, migration 0009): one per list order and per filter of a list.

Every list pages by a row comparison ``(sort, id) > ($1, $2)`` ordered by ``(sort, id)``
(`service.pagination.keyset`); an index on ``(filter…, sort, id)`` lets PostgreSQL start an index
scan at the cursor and stop after the page: no sort, no scan of the rows before it, the same cost
at 100,000 rows as at 11 (`tests/service/test_pagination_plans.py` checks the plans). Declared here,
in one place, on the tables of the other modules; `alembic check` compares them with 0009."""

from __future__ import annotations

import sqlalchemy as sa

from service.persistence.models.awards import Grant, LedgerEntry, Report, Tranche
from service.persistence.models.calls import Call
from service.persistence.models.finance import ExchangeRate, FundingSource
from service.persistence.models.identity import ApiKey, AppUser, Organisation
from service.persistence.models.pcc import ActionPlan
from service.persistence.models.proposals import Proposal


def _keyset(table: sa.Table, *columns: str, where: str | None = None) -> sa.Index:
    name = "ix_" + table.name + "_keyset_" + "_".join(columns)
    cols = [table.c[c] for c in columns]
    if where is None:
        return sa.Index(name, *cols)
    return sa.Index(name, *cols, postgresql_where=sa.text(where))


def _t(model: type) -> sa.Table:
    table: sa.Table = model.__table__  # type: ignore[attr-defined]  # SQLModel tables have one
    return table


KEYSET_INDEXES: tuple[sa.Index, ...] = (
    # ListProposals: the default order, the caller's sorts, and each filter on the proposal
    _keyset(_t(Proposal), "created_at", "id"),
    _keyset(_t(Proposal), "status", "created_at", "id"),
    _keyset(_t(Proposal), "window_id", "created_at", "id"),
    _keyset(_t(Proposal), "organisation_id", "created_at", "id"),  # an applicant's own
    _keyset(_t(Proposal), "requested_amount", "id"),
    _keyset(_t(Proposal), "title", "id"),
    # ListUsers, ListOrganisations, ListApiKeys, ListFundingSources
    _keyset(_t(AppUser), "created_at", "id"),
    _keyset(_t(Organisation), "created_at", "id"),
    _keyset(_t(ApiKey), "created_at", "id"),
    _keyset(_t(FundingSource), "created_at", "id"),
    # ListCalls (status filter), ListActionPlans (per PCC)
    _keyset(_t(Call), "created_at", "id"),
    _keyset(_t(Call), "status", "created_at", "id"),
    _keyset(_t(ActionPlan), "created_at", "id"),
    _keyset(_t(ActionPlan), "pcc_id", "created_at", "id"),
    # ListGrants and its filters; the ledger and its per-grant / per-tranche filters
    _keyset(_t(Grant), "created_at", "id"),
    _keyset(_t(Grant), "window_id", "created_at", "id"),
    _keyset(_t(Grant), "organisation_id", "created_at", "id"),
    _keyset(_t(Grant), "status", "created_at", "id"),
    _keyset(_t(LedgerEntry), "created_at", "id"),
    _keyset(_t(LedgerEntry), "grant_id", "created_at", "id"),
    _keyset(_t(LedgerEntry), "tranche_id", "created_at", "id"),
    # a grant's reports; the report queue (submitted reports, oldest submission first)
    _keyset(_t(Report), "grant_id", "created_at", "id"),
    _keyset(_t(Report), "submitted_at", "id", where="status <> 'draft'"),
    # ListExchangeRates (newest day first, per currency); the tranches awaiting payment
    _keyset(_t(ExchangeRate), "valid_on", "id"),
    _keyset(_t(ExchangeRate), "currency", "valid_on", "id"),
    _keyset(_t(Tranche), "planned_date", "id"),
)
