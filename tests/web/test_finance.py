"""The finance officers' pages, in real Chromium and in Russian: the queues, a tranche approved by
a programme officer, confirmed by a second finance officer (its amount is above the threshold of
the test settings), paid by a third person with a double click and a resubmission of the same
rendered form (one payment, checked in the ledger through the API), then reversed by a finance
officer who did not pay it (the payer may not), the tranche due again; a small tranche paid
without JavaScript (two real clicks: two POSTs with one key); the ledger, its CSV and XLSX
exports; the funding sources and adding one; the exchange rates of the day and their history.

The grant is made here: a window of its own (closed, with its own funding source) over a demo
PCC's action-plan item, a selected proposal written directly, and the grant created through the
API by the demo programme officer — so no other test's tranches are touched.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator, Page, expect
from sqlalchemy import select
from sqlmodel import col

from contracts.awards import GrantCreate, TrancheInput
from contracts.client import GrantsClient
from contracts.enums import (
    ActionPlanStatus,
    CallStatus,
    FundingSourceKind,
    OrganisationKind,
    ProposalStatus,
)
from service.demo import DEMO_PASSWORD
from service.persistence.database import Database
from service.persistence.models import (
    ActionPlan,
    ActionPlanItem,
    AppUser,
    Call,
    CallContribution,
    CallWindow,
    FundingSource,
    Organisation,
    Pcc,
    Proposal,
    ProposalActionPlanItem,
    WindowActionPlanItem,
    WindowAllocation,
)
from tests.conftest import TEST_SETTINGS
from tests.web.conftest import DESKTOP, PHONE, NewPage, Visit, check_page, demo_email
from web.i18n import translations

pytestmark = pytest.mark.browser

OFFICER = demo_email("officer")  # approves (Russian)
PAYER = demo_email("finance")  # pays (Russian)
SECOND = demo_email("finance2")  # confirms, reverses
BIG = TEST_SETTINGS.second_confirmation_above + 5_000_000  # needs a second confirmation
SMALL = 3_000_000  # does not

Api = Callable[[str], Awaitable[GrantsClient]]


@dataclass
class World:
    grant_id: uuid.UUID
    big: uuid.UUID  # tranche ids
    small: uuid.UUID
    window_id: uuid.UUID
    source_id: uuid.UUID


@pytest.fixture
async def api(site: str) -> AsyncIterator[Api]:
    made: list[GrantsClient] = []

    async def sign_in(email: str) -> GrantsClient:
        base = GrantsClient.connect(f"{site}/api/v1/")
        made.append(base)
        token = await base.create_token(email, DEMO_PASSWORD)
        return base.as_user(token.access_token)

    yield sign_in
    for client in made:
        await client.aclose()


@pytest.fixture
async def world(demo_site_db: tuple[str, Path], api: Api) -> World:
    """A selected proposal of a new organisation in a closed window of its own (with its own KGS
    funding source) over a demo PCC's active action-plan item; its grant made by the demo
    programme officer through the API: a large tranche and a small one, both due at once."""
    url, _storage = demo_site_db
    tag = uuid.uuid4().hex[:6]
    database = Database.from_url(url)
    async with database.session() as session:
        officer = (
            await session.execute(select(AppUser).where(col(AppUser.email) == OFFICER))
        ).scalar_one()
        item, pcc = (
            await session.execute(
                select(ActionPlanItem, Pcc)
                .join(ActionPlan, col(ActionPlan.id) == ActionPlanItem.action_plan_id)
                .join(Pcc, col(Pcc.id) == ActionPlan.pcc_id)
                .where(col(ActionPlan.status) == ActionPlanStatus.ACTIVE)
                .order_by(col(ActionPlanItem.code))
                .limit(1)
            )
        ).one()
        source = FundingSource(
            code=f"FT-{tag}", name=f"Finance test {tag}", kind=FundingSourceKind.DONOR
        )
        org = Organisation(
            name=f"Финтест {tag}",
            kind=OrganisationKind.CSO,
            territory_id=pcc.territory_id,
            founded_year=2016,
            registration_number=f"FIN-{tag}",
        )
        session.add_all([source, org])
        await session.flush()
        call = Call(
            title={"en": f"Finance test {tag}"},
            description={"en": "x"},
            status=CallStatus.CLOSED,
            created_by=officer.id,
        )
        session.add(call)
        await session.flush()
        session.add(
            CallContribution(
                call_id=call.id,
                funding_source_id=source.id,
                amount=50_000_000,
                currency="KGS",
                rate=Decimal(1),
            )
        )
        now = datetime.now().astimezone()
        window = CallWindow(
            call_id=call.id,
            code=f"F{tag}",
            position=0,
            title={"en": "Window"},
            opens_at=now - timedelta(days=60),
            closes_at=now - timedelta(days=30),
            min_grant=1_000_000,
            max_grant=50_000_000,
            calibration={},
            status=CallStatus.CLOSED,
        )
        session.add(window)
        await session.flush()
        session.add_all(
            [
                WindowAllocation(
                    window_id=window.id, funding_source_id=source.id, amount=50_000_000
                ),
                WindowActionPlanItem(window_id=window.id, action_plan_item_id=item.id),
            ]
        )
        proposal = Proposal(
            window_id=window.id,
            organisation_id=org.id,
            title=f"Диалог {tag}",
            summary="s",
            status=ProposalStatus.SELECTED,
            requested_amount=BIG + SMALL,
            snapshot={},
            receipt_number=f"FIN-{tag}",
            submitted_at=now - timedelta(days=40),
            created_by=officer.id,
        )
        session.add(proposal)
        await session.flush()
        session.add(ProposalActionPlanItem(proposal_id=proposal.id, action_plan_item_id=item.id))
        await session.commit()
        proposal_id, item_id = proposal.id, item.id
        window_id, source_id = window.id, source.id
    await database.dispose()
    officer_api = await api(OFFICER)
    start = datetime.now(ZoneInfo("Asia/Bishkek")).date()
    grant = await officer_api.create_grant(
        GrantCreate(
            proposal_id=proposal_id,
            amount=BIG + SMALL,
            start_date=start,
            end_date=start + timedelta(days=300),
            agreement_reference=f"FIN-{tag}",
            tranches=[
                TrancheInput(amount=BIG, planned_date=start, action_plan_item_ids=[item_id]),
                TrancheInput(
                    amount=SMALL,
                    planned_date=start + timedelta(days=30),
                    action_plan_item_ids=[item_id],
                ),
            ],
        )
    )
    assert [t.status for t in grant.tranches] == ["due", "due"]
    return World(
        grant_id=grant.id,
        big=grant.tranches[0].id,
        small=grant.tranches[1].id,
        window_id=window_id,
        source_id=source_id,
    )


async def _person(new_page: NewPage, email: str, *, js: bool = True, width: int = DESKTOP) -> Visit:
    visit = await new_page("ru", js=js, width=width)
    await visit.sign_in(email)
    return visit


async def _payments(client: GrantsClient, tranche_id: uuid.UUID) -> list[str]:
    return [e.kind for e in (await client.list_ledger_entries(tranche_id=tranche_id)).items]


async def submit(target: Page | Locator, selector: str, url: str, **click: Any) -> None:
    """Click (a form's button) and wait for the page it leads to (POST → 303 → GET)."""
    page = target if isinstance(target, Page) else target.page
    try:
        async with page.expect_navigation(url=url):
            if isinstance(target, Page):
                await target.click(selector, **click)
            else:
                await target.click(**click)
    except PlaywrightError as exc:
        # a double click sends the form twice: the browser may abort the first navigation for
        # the second, and the wait may have been on the aborted one — wait for where they end
        if click.get("click_count", 1) < 2 or "ERR_ABORTED" not in str(exc):
            raise
        await page.wait_for_url(url)
    if click.get("click_count", 1) > 1:
        # and the other click's request done too: nothing sent for half a second
        await page.wait_for_load_state("networkidle")


def _row(page: Page, tranche_id: uuid.UUID) -> str:
    return f"tr:has(a[href='/finance/tranches/{tranche_id}'])"


async def test_approve_confirm_double_click_pay_once_then_reversal_by_another(
    new_page: NewPage, api: Api, world: World, site: str
) -> None:
    # the programme officer sees the tranche due, with its grant, PCC, item and conditions met
    officer = await _person(new_page, OFFICER)
    page = officer.page
    await page.goto(f"{site}/finance")
    assert await page.get_attribute("html", "lang") == "ru"
    due_row = page.locator(f"#q-due ~ div {_row(page, world.big)}")
    await expect(due_row).to_contain_text("FIN-")
    await expect(due_row).to_contain_text("Финтест")
    await expect(due_row.locator("td.num")).to_contain_text("200")
    await check_page(page, "finance-queues-officer")
    await submit(
        page, f"a[href='/finance/tranches/{world.big}'].button", f"**/finance/tranches/{world.big}"
    )
    await check_page(page, "finance-tranche-due")
    await submit(
        page,
        f"form[action='/finance/tranches/{world.big}/approval'] button",
        f"**/finance/tranches/{world.big}",
    )
    await expect(page.locator(".badge")).to_have_attribute("class", re.compile("approved"))

    # the payer may not pay yet: a second finance officer must confirm first
    payer = await _person(new_page, PAYER)
    await payer.page.goto(f"{site}/finance")
    confirm_row = payer.page.locator(f"#q-confirm ~ div {_row(payer.page, world.big)}")
    await expect(confirm_row).to_contain_text("Nazgul Turdubaeva")  # who approved, by name
    await payer.page.goto(f"{site}/finance/tranches/{world.big}")
    assert await payer.page.locator("form.pay-form").count() == 0

    # the second finance officer confirms
    second = await _person(new_page, SECOND)
    await second.page.goto(f"{site}/finance/tranches/{world.big}")
    await submit(
        second.page,
        f"form[action='/finance/tranches/{world.big}/confirmation'] button",
        f"**/finance/tranches/{world.big}",
    )
    assert await second.page.locator("form.pay-form").count() == 0  # the confirmer never pays
    finance = await api(PAYER)
    tranche = await finance.get_tranche(world.big)
    assert tranche.confirmed_by is not None

    # the payer: the tranche is now in the pay queue; the form is filled and double-clicked
    await payer.page.goto(f"{site}/finance")
    pay_row = payer.page.locator(f"#q-pay ~ div {_row(payer.page, world.big)}")
    await expect(pay_row).to_be_visible()
    await payer.page.goto(f"{site}/finance/tranches/{world.big}")
    await check_page(payer.page, "finance-tranche-pay")
    key = await payer.page.input_value("input[name=idempotency_key]")
    assert uuid.UUID(key)
    csrf = await payer.page.input_value("form.pay-form input[name=_csrf_token]")
    value_date = await payer.page.input_value("form.pay-form input[name=value_date]")
    await payer.page.fill("#f-reference", "PP-0001")
    await submit(
        payer.page, "#pay-button", f"**/finance/tranches/{world.big}", click_count=2, delay=0
    )
    await payer.page.wait_for_load_state("networkidle")
    assert await _payments(finance, world.big) == ["disbursement"]
    await expect(payer.page.locator("table.finance-ledger tbody tr")).to_have_count(1)
    await expect(payer.page.locator(".four-eyes")).to_contain_text("Olga Sokolova")  # confirmer

    # the same rendered form again (as the back button and resubmit would send it): one payment
    again = await payer.page.request.post(
        f"{site}/finance/tranches/{world.big}/disbursements",
        form={
            "_csrf_token": csrf,
            "idempotency_key": key,
            "amount": str(BIG),
            "value_date": value_date,
            "reference": "PP-0001",
            "bank_account": "",
        },
    )
    assert again.status == 200
    assert again.url.endswith(f"/finance/tranches/{world.big}")
    assert await _payments(finance, world.big) == ["disbursement"]
    # the back button: the form page comes back, and sending it still pays nothing more
    await payer.page.go_back()
    if await payer.page.locator("#pay-button").count():
        await submit(payer.page, "#pay-button", "**/finance/tranches/*")
    assert await _payments(finance, world.big) == ["disbursement"]
    entries = (await finance.list_ledger_entries(grant_id=world.grant_id)).items
    assert [(e.kind, e.amount, e.reference) for e in entries] == [("disbursement", BIG, "PP-0001")]

    # the payer may not reverse their own payment: no form, and the API's 403 said in words
    await payer.page.goto(f"{site}/finance/tranches/{world.big}")
    assert await payer.page.locator("form[action*='/reversal']").count() == 0
    refused = await payer.page.request.post(
        f"{site}/finance/ledger/{entries[0].id}/reversal",
        form={
            "_csrf_token": csrf,
            "reason": "ошибка",
            "reversal_reference": "R-1",
            "idempotency_key": "",
        },
    )
    assert refused.status == 403
    ru = translations("ru")
    assert (
        ru.gettext("Four eyes: you made this payment, so another finance officer reverses it.")
        in await refused.text()
    )

    # the second finance officer reverses it, with a reason; the tranche is due again
    await second.page.goto(f"{site}/finance/tranches/{world.big}")
    await check_page(second.page, "finance-tranche-paid")
    form = second.page.locator("form[action*='/reversal']")
    await form.locator("textarea[name=reason]").fill("Неверный счёт получателя")
    await form.locator("input[name=reversal_reference]").fill("RV-0001")
    await submit(form.locator("button"), "", f"**/finance/tranches/{world.big}")
    assert sorted(await _payments(finance, world.big)) == ["disbursement", "reversal"]
    assert (await finance.get_tranche(world.big)).status == "due"
    await expect(second.page.locator(".badge")).to_have_attribute("class", re.compile("due"))

    # phone width: the queues and the tranche page
    phone = await _person(new_page, PAYER, width=PHONE)
    await phone.page.goto(f"{site}/finance")
    await check_page(phone.page, "finance-queues")
    await phone.page.goto(f"{site}/finance/tranches/{world.big}")
    await check_page(phone.page, "finance-tranche-reversed")
    for visit in (officer, payer, second, phone):
        visit.assert_same_origin()
        assert visit.console_errors == []


async def test_pay_without_javascript_two_clicks_one_payment_ledger_and_sources(
    new_page: NewPage, api: Api, world: World, site: str
) -> None:
    officer = await _person(new_page, OFFICER, js=False)
    await officer.page.goto(f"{site}/finance/tranches/{world.small}")
    await submit(
        officer.page,
        f"form[action='/finance/tranches/{world.small}/approval'] button",
        f"**/finance/tranches/{world.small}",
    )
    finance = await api(PAYER)
    assert (await finance.get_tranche(world.small)).status == "approved"

    payer = await _person(new_page, PAYER, js=False)
    page = payer.page
    await page.goto(f"{site}/finance/tranches/{world.small}")
    # a missing reference is refused next to its field, and the form keeps its key
    key = await page.input_value("input[name=idempotency_key]")
    await page.fill("#f-reference", "   ")  # passes the browser's `required`, not the page
    await submit(page, "#pay-button", f"**/finance/tranches/{world.small}/disbursements")
    await expect(page.locator("#f-reference-error")).to_be_visible()
    assert await page.input_value("input[name=idempotency_key]") == key
    assert await _payments(finance, world.small) == []
    await check_page(page, "finance-pay-refused-nojs")
    # two real clicks without JavaScript: the browser sends the form twice, with one key
    await page.fill("#f-reference", "PP-0002")
    await submit(page, "#pay-button", f"**/finance/tranches/{world.small}", click_count=2, delay=0)
    assert await _payments(finance, world.small) == ["disbursement"]
    await expect(page.locator("table.finance-ledger tbody tr")).to_have_count(1)
    assert await page.locator("form.pay-form").count() == 0
    # the same key with other details is refused (the API's 422 for a reused key), in words
    csrf = await page.input_value("input[name=_csrf_token]")
    other = await page.request.post(
        f"{site}/finance/tranches/{world.small}/disbursements",
        form={
            "_csrf_token": csrf,
            "idempotency_key": key,
            "amount": str(SMALL),
            "value_date": "2027-01-02",
            "reference": "PP-OTHER",
            "bank_account": "",
        },
    )
    assert other.status == 422
    assert (
        translations("ru").gettext(
            "This form was already sent with other details. "
            "Open the tranche again to see what was paid."
        )
        in await other.text()
    )
    assert await _payments(finance, world.small) == ["disbursement"]

    # the ledger, filtered by window and source (the form), then by a period without it
    await page.goto(f"{site}/finance/ledger")
    await page.select_option("#f-window", str(world.window_id))
    await page.select_option("#f-source", str(world.source_id))
    await submit(page, "form.report-filters button", "**/finance/ledger?*")
    await expect(page.locator("table.finance-ledger tbody tr")).to_have_count(1)
    await expect(page.locator("table.finance-ledger")).to_contain_text("PP-0002")
    await page.fill("#f-to", "2020-01-01")
    await submit(page, "form.report-filters button", "**/finance/ledger?*")
    assert await page.locator("table.finance-ledger").count() == 0
    assert await page.input_value("#f-to") == "2020-01-01"
    # the exports download with their type and name
    csv = await page.request.get(f"{site}/finance/ledger/export/csv")
    assert csv.status == 200
    assert csv.headers["content-type"].startswith("text/csv")
    disposition = csv.headers["content-disposition"]
    assert re.search(r'filename="ledger-\d{4}-\d{2}-\d{2}\.csv"', disposition)
    assert "PP-0002" in (await csv.body()).decode("utf-8-sig")
    xlsx = await page.request.get(f"{site}/finance/ledger/export/xlsx")
    assert xlsx.status == 200
    assert "spreadsheetml" in xlsx.headers["content-type"]
    assert (await xlsx.body())[:2] == b"PK"
    assert (await page.request.get(f"{site}/finance/ledger/export/pdf")).status == 404

    # funding sources: a blank form refused field by field, then a source added
    await page.goto(f"{site}/finance/sources")
    await submit(page, "form[action='/finance/sources'] button", "**/finance/sources")
    await expect(page.locator("#f-code-error")).to_be_visible()
    await expect(page.locator("#f-kind-error")).to_be_visible()
    code = f"NEW-{uuid.uuid4().hex[:5]}"
    await page.fill("#f-code", code)
    await page.fill("#f-name", "Фонд миростроительства")
    await page.select_option("#f-kind", "donor")
    await page.fill("#f-currency", "zzz")  # three letters, but no ISO 4217 currency
    await submit(page, "form[action='/finance/sources'] button", "**/finance/sources")
    await expect(page.locator("#f-currency-error")).to_contain_text("ISO 4217")
    await page.fill("#f-currency", "usd")
    await submit(page, "form[action='/finance/sources'] button", "**/finance/sources")
    await expect(page.locator("table")).to_contain_text(code)
    sources = (await finance.list_funding_sources(limit=200)).items
    assert [(s.name, s.currency) for s in sources if s.code == code] == [
        ("Фонд миростроительства", "USD")
    ]

    # an exchange rate of the day: recorded (a decimal comma accepted), shown in the history
    # with who entered it; the same currency and day again is refused beside the date
    for attempt in range(2):
        await page.fill("#f-rate-currency", "eur")
        await page.fill("#f-rate", "95,25")
        await page.fill("#f-rate-source", "НБКР")
        await submit(page, "form[action='/finance/rates'] button", "**/finance/*")
        if attempt == 0:
            await expect(page.locator("table.finance-rates tbody tr").first).to_contain_text(
                "1 EUR = 95.25 KGS"
            )
            await expect(page.locator("table.finance-rates")).to_contain_text("Marat Isakov")
    await expect(page.locator("#f-rate-valid-on-error")).to_be_visible()
    eur = (await finance.list_exchange_rates(currency="EUR")).items
    assert [(r.rate, r.source) for r in eur] == [("95.25", "НБКР")]
    await check_page(page, "finance-rate-refused-nojs")

    # the same pages with JavaScript, for axe, at both widths
    for width in (PHONE, DESKTOP):
        visit = await _person(new_page, PAYER, width=width)
        for path, name in (
            (f"/finance/ledger?grant={world.grant_id}", "finance-ledger"),
            ("/finance/sources", "finance-sources"),
        ):
            await visit.page.goto(f"{site}{path}")
            await check_page(visit.page, name)


async def test_finance_pages_refused_to_others(new_page: NewPage, site: str) -> None:
    reviewer = await _person(new_page, demo_email("reviewer1"), js=False)
    for path in ("/finance", "/finance/ledger", "/finance/sources"):
        response = await reviewer.page.goto(f"{site}{path}")
        assert response is not None
        assert response.status == 403
    anonymous = await new_page("ru", js=False)
    await anonymous.page.goto(f"{site}/finance")
    assert "/signin" in anonymous.page.url
