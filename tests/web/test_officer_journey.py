"""Issue 13's programme officer journey in one piece, in real Chromium (Russian).

An officer of our own sets up, through the web pages, a call (texts en/ru/ky, a contribution)
with two windows (territories, dates; the second blind), rules on the first window, a rubric
with three criteria, and publishes it. Five applicants of our own (two women-led
organisations) submit through the API while the first window is open; the officer sets the
panel (two reviewers of our own, made through the admin API) and assigns automatically on the
panel page; the reviewers score through the API. On the selection page the officer asks "what
if" (htmx) with a 30% women-led share of the budget: the quota is met and the best women-led
proposal is funded instead of the third best. A second officer signs in and approves the run;
the first officer then sees it approved.

The pieces (and their finer checks) are in test_officer_calls.py, test_officer_review.py and
test_officer_selection.py; their page helpers and scores are reused here.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from playwright.async_api import expect

from contracts.client import GrantsClient
from contracts.enums import OrganisationKind, ProposalStatus, Role
from contracts.identity import OrganisationCreate, RegistrationCreate, UserCreate
from contracts.proposals import (
    BudgetLineCreate,
    BudgetLinesReplace,
    ProposalCreate,
    ProposalSubmit,
    ProposalUpdate,
)
from contracts.reviews import ReviewSave, ReviewSubmit
from service.demo import DEMO_PASSWORD
from tests.factories import criterion_scores
from tests.web.conftest import NewPage, demo_email
from tests.web.pages import (
    APPLICANTS,
    OSH,
    REQUEST,
    api_client,
    create_call,
    fill_texts,
    funded_titles,
    officer_visit,
    set_quota,
    t,
)
from web.i18n import BISHKEK

pytestmark = pytest.mark.browser

LANG = "ru"


def _spaces(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


async def test_an_officer_sets_up_a_call_and_a_second_officer_approves_its_selection(
    new_page: NewPage, site: str
) -> None:
    made: list[GrantsClient] = []
    tag = uuid.uuid4().hex[:8]

    def email(who: str) -> str:
        return f"journey-{who}-{tag}@example.org"

    # the people: two officers and two reviewers of our own, through the admin API
    admin = await api_client(site, demo_email("admin"), made)
    people = {}
    for who, role, name in (
        ("officer-a", Role.PROGRAMME_OFFICER, "Айгуль Путь-А"),
        ("officer-b", Role.PROGRAMME_OFFICER, "Бакыт Путь-Б"),
        ("reviewer-1", Role.REVIEWER, "Эксперт Один"),
        ("reviewer-2", Role.REVIEWER, "Эксперт Два"),
    ):
        people[who] = await admin.create_user(
            UserCreate(
                email=email(who),
                password=DEMO_PASSWORD,
                full_name=f"{name} {tag}",
                roles=[role],
                preferred_language=LANG,  # type: ignore[arg-type]  # a Language value
            )
        )

    try:
        # 1. the call, through the web: texts in three languages and a contribution
        a = await officer_visit(new_page, email("officer-a"))
        page = a.page
        call_url = await create_call(page, site, tag)
        assert await page.inner_text("h1") == f"Гранты диалога {tag} " + t(LANG, "Draft")

        # 2. the first window: open since yesterday, 30,000 KGS for three awards, Osh only
        now = datetime.now(BISHKEK)
        await page.goto(call_url + "/windows/new")
        await page.fill("#f-code", f"J-{tag}")  # receipt numbers need a code of our own
        await fill_texts(page, "title", {"en": "Neighbours", "ru": "Соседи", "ky": "Коңшулар"})
        await page.fill("#f-opens-at", (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
        await page.fill("#f-closes-at", (now + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M"))
        await page.fill("#f-min-grant", "5000")
        await page.fill("#f-max-grant", "20000")
        await page.get_by_label(OSH, exact=True).fill("30000")
        await page.get_by_label("город Ош", exact=True).check()
        assert not await page.is_checked("#f-blind-review")
        await page.click("button[value=save]")
        await page.wait_for_url(re.compile(r"/officer/windows/[0-9a-f-]{36}/rules$"))
        w1_url = page.url.removesuffix("/rules")
        window_id = uuid.UUID(w1_url.rsplit("/", 1)[1])

        # its rules (htmx adds each): a CSO, in the window's territories
        for kind in ("organisation_kind_in", "territory_in_window"):
            await page.select_option("#f-new-kind", kind)
            await page.click("button[value=add]")
            await page.wait_for_selector(f"input[name$='.kind'][value={kind}]", state="attached")
        await page.check("#f-rules-0-kinds-cso")
        await page.click("button[value=save]")
        saved = t(LANG, "The rules were saved as version %(version)s.", version=1)
        await page.locator(".flash-success", has_text=saved).wait_for()

        # its rubric: three criteria, a threshold on relevance and an overall one
        await page.goto(w1_url + "/rubric")
        await fill_texts(page, "name", {"en": "Neighbours rubric", "ru": "Рубрика соседей"})
        criteria = [
            ("relevance", "Relevance", "Актуальность", "Актуалдуулук", "40"),
            ("feasibility", "Feasibility", "Выполнимость", "Аткарылышы", "35"),
            ("gender", "Gender", "Гендер", "Гендер", "25"),
        ]
        for n, (code, en, ru, ky, weight) in enumerate(criteria):
            if n:
                await page.click("button[value=add]")
                await page.wait_for_selector(f"#f-criteria-{n}-code")
            await page.fill(f"#f-criteria-{n}-code", code)
            await fill_texts(page, f"criteria-{n}-name", {"en": en, "ru": ru, "ky": ky})
            await page.fill(f"#f-criteria-{n}-weight", weight)
        await page.fill("#f-criteria-0-threshold", "2,5")
        await page.fill("#f-overall-threshold", "2")
        await page.fill("#f-tie-break", "relevance, feasibility")
        await page.click("button[value=save]")
        saved = t(LANG, "The rubric was saved as version %(version)s.", version=1)
        await page.locator(".flash-success", has_text=saved).wait_for()

        # 3. the second window: later, two territories, blind review; a rule (none, no publishing)
        await page.goto(call_url + "/windows/new")
        await page.fill("#f-code", f"K-{tag}")
        await fill_texts(page, "title", {"en": "Women", "ru": "Женщины", "ky": "Аялдар"})
        later = now + timedelta(days=60)
        await page.fill("#f-opens-at", later.strftime("%Y-%m-%dT09:00"))
        await page.fill("#f-closes-at", (later + timedelta(days=30)).strftime("%Y-%m-%dT18:00"))
        await page.fill("#f-min-grant", "20000")
        await page.fill("#f-max-grant", "80000")
        await page.get_by_label(OSH, exact=True).fill("150000")
        await page.get_by_label("город Ош", exact=True).check()
        await page.get_by_label("город Узген", exact=True).check()
        await page.check("#f-blind-review")
        await page.click("button[value=save]")
        await page.wait_for_url(re.compile(r"/officer/windows/[0-9a-f-]{36}/rules$"))
        w2_url = page.url.removesuffix("/rules")
        await page.select_option("#f-new-kind", "territory_in_window")
        await page.click("button[value=add]")
        await page.wait_for_selector(".rule-card")
        await page.click("button[value=save]")
        saved = t(LANG, "The rules were saved as version %(version)s.", version=1)
        await page.locator(".flash-success", has_text=saved).wait_for()

        # 4. publish: the call page lists both windows; the first is open for proposals
        await page.goto(call_url)
        windows = await page.inner_text("section[aria-labelledby=windows]")
        assert f"J-{tag} · Соседи" in windows
        assert f"K-{tag} · Женщины" in windows
        await page.click("form[action$='/transition'] button")
        published = t(LANG, "The call is now: %(status)s.", status=t(LANG, "Published"))
        await page.locator(".flash-success", has_text=published).wait_for()
        await page.goto(w1_url)
        assert t(LANG, "Open for proposals") in await page.inner_text("main")
        await page.goto(w2_url)
        blind = page.locator("dt", has_text=t(LANG, "Blind review")).locator(
            "xpath=following-sibling::dd[1]"
        )
        assert await blind.inner_text() == t(LANG, "Yes")

        # 5. five applicants (two women-led organisations) submit to the open window (API)
        anonymous = GrantsClient.connect(f"{site}/api/v1/")
        made.append(anonymous)
        osh = next(x for x in (await anonymous.list_territories()).items if x.name.ru == "город Ош")
        proposals: dict[str, uuid.UUID] = {}
        titles: dict[str, str] = {}
        for name, women_led, _ in APPLICANTS:
            who = email(f"applicant-{name.lower()}")
            reg = await anonymous.create_registration(
                RegistrationCreate(
                    email=who,
                    password=DEMO_PASSWORD,
                    full_name=f"{name} Applicant {tag}",
                    organisation=OrganisationCreate(
                        name=f"{name} {tag}",
                        kind=OrganisationKind.CSO,
                        territory_id=osh.id,
                        founded_year=2012,
                        women_led=women_led,
                    ),
                )
            )
            assert reg.organisation.women_led is women_led
            applicant = await api_client(site, who, made)
            titles[name] = f"{name}: соседи договариваются {tag}"
            draft = await applicant.create_proposal(
                window_id, ProposalCreate(organisation_id=reg.organisation.id, title=titles[name])
            )
            draft = await applicant.update_proposal(
                draft.id, ProposalUpdate(version=draft.version, requested_amount=REQUEST)
            )
            draft = await applicant.update_budget_lines(
                draft.id,
                BudgetLinesReplace(
                    version=draft.version,
                    lines=[
                        BudgetLineCreate(
                            category="all",
                            description="All costs",
                            quantity=Decimal(1),
                            unit_cost=REQUEST,
                        )
                    ],
                ),
            )
            receipt = await applicant.create_submission(
                draft.id, ProposalSubmit(version=draft.version)
            )
            assert receipt.proposal.status == ProposalStatus.ELIGIBLE, receipt.proposal.eligibility
            proposals[name] = draft.id

        # 6. the panel, through the web: two members, then the automatic assignment
        await page.goto(f"{w1_url}/panel")
        for who in ("reviewer-1", "reviewer-2"):
            await page.check(f"#member-{people[who].id}")
        await page.click("form[action$='/panel/members'] button[type=submit]")
        await page.wait_for_url(f"**/officer/windows/{window_id}/panel")
        await expect(page.locator("table.panel-progress tbody tr")).to_have_count(2)
        await page.click("form[action$='/panel/assign'] button[type=submit]")
        await page.wait_for_url("**/panel")
        # every proposal is assigned to both members: five rows, ten assignments
        await expect(page.locator("table.assignments tbody tr")).to_have_count(10)
        officer_api = await api_client(site, email("officer-a"), made)
        assignments = (await officer_api.list_window_assignments(window_id)).items
        assert sorted(str(a.proposal_id) for a in assignments) == sorted(
            str(p) for p in proposals.values() for _ in range(2)
        )

        # 7. the reviewers score (API); every proposal is then scored
        score_of = {proposals[n]: s for n, _, s in APPLICANTS}
        for who in ("reviewer-1", "reviewer-2"):
            reviewer = await api_client(site, email(who), made)
            for item in (await reviewer.list_assignments()).items:
                assert item.proposal_id in score_of
                await reviewer.create_no_conflict_declaration(item.id)
                review = await reviewer.update_review(
                    item.id,
                    ReviewSave(
                        scores=criterion_scores(*score_of[item.proposal_id]), comment="Ясно."
                    ),
                )
                await reviewer.create_review_submission(
                    item.id, ReviewSubmit(version=review.version)
                )
        for pid in proposals.values():
            assert (await officer_api.get_proposal(pid)).status == ProposalStatus.SCORED

        # 8. the selection: "what if" with at least 30% of the budget to women-led organisations
        selection_url = f"{w1_url}/selection"
        await page.goto(selection_url)
        assert await page.input_value("#f-budget") == "30000.00"  # the window's envelope
        await set_quota(page, 0, "min_share_money", "women_led", "30")
        await page.click("#what-if-submit")
        checks = page.locator("table.quota-checks tbody tr")
        await expect(checks).to_have_count(1)
        await expect(checks.first).to_have_class("met")
        line = _spaces(await checks.first.inner_text())
        assert "9 000,00" in line  # required: 30% of 30,000
        assert "10 000,00" in line  # achieved: one women-led award
        assert page.url == selection_url  # htmx: the result in place
        await expect(page.locator("table.funded tbody tr")).to_have_count(3)
        funded = " ".join(await funded_titles(page))
        for name in ("Alma", "Bereke", "Dilbar"):
            assert titles[name] in funded
        for name in ("Chynar", "Elnura"):
            assert titles[name] not in funded
        run_id = await page.locator("input[name=previous]").input_value()
        assert run_id != ""
        run_url = f"{site}/officer/selection-runs/{run_id}"

        # the officer who computed it is not offered the approval
        await page.goto(run_url)
        await expect(page.locator("#approve-refused")).to_be_visible()
        await expect(page.locator("form.approve-form")).to_have_count(0)

        # 9. a second officer signs in and approves the run
        b = await officer_visit(new_page, email("officer-b"))
        await b.page.goto(run_url)
        await expect(b.page.locator("#approve-refused")).to_have_count(0)
        await b.page.fill("#f-reason", "Утверждено отборочной комиссией")
        await b.page.click("form.approve-form button[type=submit]")
        await expect(b.page.locator(".approved-by")).to_contain_text("Бакыт")

        # 10. the first officer sees it approved, by the other officer, with five decisions
        await page.reload()
        await expect(page.locator(".approved-by")).to_contain_text(f"Бакыт Путь-Б {tag}")
        await expect(page.locator("form.approve-form")).to_have_count(0)
        await expect(page.locator(".decision-row")).to_have_count(5)
        run = await officer_api.get_selection_run(uuid.UUID(run_id))
        assert str(run.status) == "approved"
        assert run.approved_by == people["officer-b"].id
        a.assert_same_origin()
        b.assert_same_origin()
    finally:
        for client in made:
            await client.aclose()
