"""The web's pages, one module per audience; `ROUTES` is what the app serves."""

from __future__ import annotations

from typing import Any

from web.routes import (
    account,
    admin,
    applicant,
    audit,
    dashboards,
    documents,
    finance,
    grants,
    officer_calls,
    officer_plans,
    officer_reports,
    officer_review,
    officer_selection,
    pcc_progress,
    public,
    reviewer,
    transparency,
)

ROUTES: list[Any] = [
    *public.ROUTES,
    *dashboards.ROUTES,
    *account.ROUTES,
    *applicant.ROUTES,
    *grants.ROUTES,
    *documents.ROUTES,
    *finance.ROUTES,
    *officer_calls.ROUTES,
    *officer_selection.ROUTES,
    *officer_plans.ROUTES,
    *officer_reports.ROUTES,
    *officer_review.ROUTES,
    *pcc_progress.ROUTES,
    *reviewer.ROUTES,
    *transparency.ROUTES,
    *audit.ROUTES,
    *admin.ROUTES,
]
