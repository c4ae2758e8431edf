"""A currency enters only as an ISO 4217 code CLDR knows: any other is a 422 naming the field,
never a 500 later (scoring.money.UnknownCurrency inside eligibility or selection); a stored row
that names another code reads as a clear problem."""

from __future__ import annotations

import string
import uuid
from typing import Any

import httpx
from babel.numbers import list_currencies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar, get

from contracts.currencies import CODES
from contracts.enums import Role
from scoring.money import format_money, is_known_currency
from tests.conftest import MakeUser

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:pcc-grants:problem:"


def test_the_contract_lists_exactly_the_currencies_cldr_knows() -> None:
    assert list(CODES) == sorted(list_currencies())
    assert all(is_known_currency(code) for code in CODES)


def drawn_codes() -> list[str]:
    """Three-letter codes drawn by Hypothesis (derandomized): random upper-case letters, which
    are mostly not currencies, and CLDR's codes, which are."""
    drawn: list[str] = []

    @settings(
        max_examples=40, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(st.text(string.ascii_uppercase, min_size=3, max_size=3) | st.sampled_from(CODES))
    def draw(code: str) -> None:
        drawn.append(code)

    draw()
    return sorted(set(drawn))


def _requests(code: str, n: int) -> list[tuple[str, str, str, dict[str, Any] | None, str]]:
    """(actor, method, path, body, the field the currency is in) for every way a currency
    enters: a call (its windows' currency), a funding source, an exchange rate (both sides),
    an action-plan item, and the money summaries' query parameter."""
    return [
        (
            "officer",
            "POST",
            "calls",
            {"title": {"en": f"Call {n}"}, "description": {"en": "d"}, "currency": code},
            "body.currency",
        ),
        (
            "finance",
            "POST",
            "funding-sources",
            {"code": f"S-{n}", "name": "Source", "kind": "donor", "currency": code},
            "body.currency",
        ),
        (
            "finance",
            "POST",
            "exchange-rates",
            {"currency": code, "quote_currency": "USD", "rate": "1.5", "valid_on": "2026-03-02"},
            "body.currency",
        ),
        (
            "finance",
            "POST",
            "exchange-rates",
            {"currency": "EUR", "quote_currency": code, "rate": "1.5", "valid_on": "2026-03-03"},
            "body.quote_currency",
        ),
        ("finance", "GET", f"finance/summary?by=call&currency={code}", None, "query.currency"),
        ("anonymous", "GET", f"public/grants?currency={code}", None, "query.currency"),
    ]


async def test_random_codes_are_accepted_everywhere_or_refused_with_422(
    make_user: MakeUser, http: httpx.AsyncClient
) -> None:
    officer = await make_user(Role.PROGRAMME_OFFICER)
    finance = await make_user(Role.FINANCE_OFFICER)
    headers = {
        "anonymous": {},
        "officer": {"authorization": f"Bearer {officer.token}"},
        "finance": {"authorization": f"Bearer {finance.token}"},
    }
    codes = drawn_codes()
    known = [c for c in codes if is_known_currency(c)]
    assert len(known) >= 5  # both sides are tried
    assert len(codes) - len(known) >= 5
    for n, code in enumerate(codes):
        for actor, method, path, body, field in _requests(code, n):
            response = await http.request(method, path, json=body, headers=headers[actor])
            where = f"{method} {path} {code}"
            assert response.status_code < 500, where
            fields = (
                {e["field"] for e in response.json().get("errors") or []}
                if response.status_code == 422
                else set()
            )
            if is_known_currency(code):
                assert field not in fields, (where, response.text)
            else:
                assert response.status_code == 422, (where, response.text)
                assert response.headers["content-type"] == PROBLEM_JSON
                assert field in fields, (where, response.text)


async def test_a_rates_key_that_is_no_currency_names_the_rates(
    make_user: MakeUser, http: httpx.AsyncClient
) -> None:
    finance = await make_user(Role.FINANCE_OFFICER)
    response = await http.post(
        f"tranches/{uuid.uuid4()}/disbursements",
        json={
            "amount": 100,
            "value_date": "2026-03-02",
            "reference": "PAY-1",
            "rates": {"ZZZ": "1.5"},
        },
        headers={"authorization": f"Bearer {finance.token}", "idempotency-key": "k-1"},
    )
    assert response.status_code == 422, response.text
    [issue] = response.json()["errors"]
    assert issue["field"] == "body.rates"
    assert "'ZZZ'" in issue["message"]


async def test_a_stored_unknown_currency_reads_as_a_problem_not_a_500(
    app: Litestar, http: httpx.AsyncClient
) -> None:
    @get("/stored-money", operation_id="GetStoredMoney")
    async def stored_money() -> str:
        return format_money(100, "ZZZ")  # as if a row written before the check held "ZZZ"

    app.register(stored_money)

    response = await http.get("http://test/stored-money")

    problem = response.json()
    assert (response.status_code, response.headers["content-type"]) == (409, PROBLEM_JSON)
    assert problem["type"] == TYPE_PREFIX + "stored-currency-unknown"
    assert "'ZZZ'" in problem["detail"]
