"""The programme officer's selection in real Chromium (Russian): the "what if" recomputing
through the engine with htmx (the quota check and what changed shown in place), the same form
without JavaScript, four eyes on the approval (the officer who computed the run is not offered
it; a second officer approves), and a change of decision after approval confirmed by the other
officer.

The window is the test's own, made through the API in a fixture: five organisations (two
women-led), five proposals of 10,000 KGS scored by a panel of two, a budget for three awards.
Without a quota the three best (none women-led) are funded; a 30% women-led share of the
budget (9,000 KGS) needs one women-led award, so the best women-led proposal replaces the
third-best.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
import pytest
from playwright.async_api import expect

from contracts.calls import (
    AllocationCreate,
    CallCreate,
    CallTransition,
    ContributionCreate,
    WindowCreate,
)
from contracts.client import ApiError, GrantsClient
from contracts.common import I18nText
from contracts.enums import CallStatus, OrganisationKind, ProposalStatus, Role
from contracts.identity import OrganisationCreate, RegistrationCreate, UserCreate
from contracts.proposals import (
    BudgetLineCreate,
    BudgetLinesReplace,
    ProposalCreate,
    ProposalSubmit,
    ProposalUpdate,
)
from contracts.reviews import AutoAssign, PanelReplace, ReviewSave, ReviewSubmit
from contracts.selection import FEEDBACK_NOT_PUBLISHED, DeclineCreate
from service.demo import DEMO_PASSWORD
from tests.factories import criterion_scores, make_rubric
from tests.web.conftest import DESKTOP, PHONE, NewPage, check_page, demo_email
from tests.web.pages import APPLICANTS, REQUEST, api_client, funded_titles, officer_visit, set_quota
from web.routes.officer_selection import Result, Row, compare, form_from_config, parse_form

BUDGET_KGS = "30000"
# (name, women-led, the scores both reviewers give, in tenths: half points on a 0-5 scale)


@dataclass
class World:
    window_id: uuid.UUID
    proposals: dict[str, uuid.UUID]
    titles: dict[str, str]
    officer_a: str
    officer_b: str
    applicants: dict[str, str]


@pytest.fixture
async def world(site: str) -> AsyncIterator[World]:
    made: list[GrantsClient] = []
    yield await build_world(site, made)
    for client in made:
        await client.aclose()


async def build_world(site: str, made: list[GrantsClient]) -> World:
    """A published window of our own with five scored proposals; two officers of our own."""
    tag = uuid.uuid4().hex[:8]
    admin = await api_client(site, demo_email("admin"), made)
    anonymous = GrantsClient.connect(f"{site}/api/v1/")
    made.append(anonymous)

    def email(who: str) -> str:
        return f"sel-{who}-{tag}@example.org"

    people = {}
    for who, role, name in (
        ("officer-a", Role.PROGRAMME_OFFICER, "Айгуль Officer-A"),
        ("officer-b", Role.PROGRAMME_OFFICER, "Бакыт Officer-B"),
        ("reviewer-1", Role.REVIEWER, "Reviewer One"),
        ("reviewer-2", Role.REVIEWER, "Reviewer Two"),
    ):
        people[who] = await admin.create_user(
            UserCreate(
                email=email(who),
                password=DEMO_PASSWORD,
                full_name=f"{name} {tag}",
                roles=[role],
                preferred_language="ru",  # type: ignore[arg-type]  # a Language value
            )
        )
    officer = await api_client(site, email("officer-a"), made)
    territory = (await officer.list_territories()).items[0]
    source = (await officer.list_funding_sources()).items[0]
    now = datetime.now(UTC)
    call = await officer.create_call(
        CallCreate(
            title=I18nText(en=f"Selection test {tag}", ru=f"Отбор, тест {tag}"),
            description=I18nText(en="A call of the selection web test"),
            contributions=[ContributionCreate(funding_source_id=source.id, amount=10 * REQUEST)],
        )
    )
    window = await officer.create_window(
        call.id,
        WindowCreate(
            # receipt numbers are <year>-<window code>-<n>, unique across calls: a code of our own
            code=f"S-{tag}",
            title=I18nText(en=f"Selection window {tag}", ru=f"Окно отбора {tag}"),
            opens_at=now - timedelta(days=5),
            closes_at=now + timedelta(days=5),
            min_grant=REQUEST // 2,
            max_grant=2 * REQUEST,
            allocations=[AllocationCreate(funding_source_id=source.id, amount=3 * REQUEST)],
            territory_ids=[territory.id],
            rules=[{"id": "place", "kind": "territory_in_window"}],
        ),
    )
    window = await officer.get_window(window.id)
    await officer.update_window_rubric(window.id, make_rubric(window.version))
    current = await officer.get_call(call.id)
    await officer.create_call_transition(
        call.id, CallTransition(version=current.version, status=CallStatus.PUBLISHED)
    )
    proposals: dict[str, uuid.UUID] = {}
    titles: dict[str, str] = {}
    applicants: dict[str, str] = {}
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
                    territory_id=territory.id,
                    founded_year=2012,
                    women_led=women_led,
                ),
            )
        )
        applicants[name] = who
        client = await api_client(site, who, made)
        titles[name] = f"{name}: диалог соседей {tag}"
        draft = await client.create_proposal(
            window.id, ProposalCreate(organisation_id=reg.organisation.id, title=titles[name])
        )
        draft = await client.update_proposal(
            draft.id, ProposalUpdate(version=draft.version, requested_amount=REQUEST)
        )
        draft = await client.update_budget_lines(
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
        receipt = await client.create_submission(draft.id, ProposalSubmit(version=draft.version))
        assert receipt.proposal.status == ProposalStatus.ELIGIBLE, receipt.proposal.eligibility
        proposals[name] = draft.id
    reviewers = [people["reviewer-1"].id, people["reviewer-2"].id]
    await officer.update_panel(window.id, PanelReplace(reviewer_ids=reviewers))
    await officer.create_assignments(window.id, AutoAssign(seed=f"sel-{tag}"))
    score_of = {proposals[n]: s for n, _, s in APPLICANTS}
    for who in ("reviewer-1", "reviewer-2"):
        reviewer = await api_client(site, email(who), made)
        for a in (await reviewer.list_assignments()).items:
            if a.proposal_id not in score_of:
                continue
            await reviewer.create_no_conflict_declaration(a.id)
            saved = await reviewer.update_review(
                a.id,
                ReviewSave(
                    scores=criterion_scores(*score_of[a.proposal_id]), comment="Clear and feasible."
                ),
            )
            await reviewer.create_review_submission(a.id, ReviewSubmit(version=saved.version))
    for pid in proposals.values():
        assert (await officer.get_proposal(pid)).status == ProposalStatus.SCORED
    return World(
        window_id=window.id,
        proposals=proposals,
        titles=titles,
        officer_a=email("officer-a"),
        officer_b=email("officer-b"),
        applicants=applicants,
    )


@pytest.mark.browser
async def test_what_if_with_a_women_led_quota_then_four_eyes_approval(
    world: World, new_page: NewPage, site: str
) -> None:
    url = f"{site}/officer/windows/{world.window_id}/selection"
    # the second officer, on a phone, finds the page before any run
    b = await officer_visit(new_page, world.officer_b, width=PHONE)
    await b.page.goto(url)
    await expect(b.page.locator(".selection-result")).to_have_count(1)
    await expect(b.page.locator("table.funded")).to_have_count(0)
    await check_page(b.page, "officer-selection-empty")

    a = await officer_visit(new_page, world.officer_a)
    page = a.page
    await page.goto(url)
    await expect(page.locator("h1")).to_have_count(1)
    await expect(page.locator("form.selection-form")).to_be_visible()
    # the form starts from the window: its envelope as the budget, no quota
    assert await page.input_value("#f-budget") == "30000.00"

    # what if 1: no quota — the three best are funded, none women-led
    await page.click("#what-if-submit")
    await expect(page.locator("table.funded tbody tr")).to_have_count(3)
    assert page.url == url  # htmx: still on the page
    funded = " ".join(await funded_titles(page))
    for name in ("Alma", "Bereke", "Chynar"):
        assert world.titles[name] in funded
    assert world.titles["Dilbar"] not in funded
    await expect(page.locator("#what-if-status")).not_to_be_empty()
    first_run = await page.locator("input[name=previous]").input_value()
    assert first_run != ""

    # what if 2: at least 30% of the budget to women-led organisations
    await set_quota(page, 0, "min_share_money", "women_led", "30")
    await page.click("#what-if-submit")
    checks = page.locator("table.quota-checks tbody tr")
    await expect(checks).to_have_count(1)
    await expect(checks.first).to_have_class("met")
    row = await checks.first.inner_text()
    assert "30" in row
    assert "9 000,00" in row.replace("\u00a0", " ").replace("\u202f", " ")  # required
    assert "10 000,00" in row.replace("\u00a0", " ").replace("\u202f", " ")  # achieved
    changes = page.locator(".changes")
    await expect(changes.locator(".newly-funded")).to_have_count(1)
    await expect(changes.locator(".newly-funded")).to_contain_text(world.titles["Dilbar"])
    await expect(changes.locator(".dropped")).to_have_count(1)
    await expect(changes.locator(".dropped")).to_contain_text(world.titles["Chynar"])
    await expect(changes.locator(".reserve-moved")).not_to_have_count(0)
    await expect(changes).to_contain_text(first_run[:8])
    funded = " ".join(await funded_titles(page))
    assert world.titles["Dilbar"] in funded
    assert world.titles["Chynar"] not in funded
    # the reasons, one per proposal, and the reserve
    await expect(page.locator("ol.reasons li")).to_have_count(5)
    await expect(page.locator("table.reserve tbody th").first).to_contain_text(
        world.titles["Chynar"]
    )
    styled = await page.evaluate(
        "Array.from(document.querySelectorAll('[style]')).map(e => e.outerHTML.slice(0, 120))"
    )
    assert (a.console_errors, styled) == ([], [])
    await check_page(page, "officer-selection-what-if")
    second_run = await page.locator("input[name=previous]").input_value()
    assert second_run not in ("", first_run)

    # an invalid quota: the message next to its field, nothing computed
    await set_quota(page, 1, "min_count", "women_led", "abc")
    await page.click("#what-if-submit")
    await expect(page.locator("#f-quota-1-value-error")).to_be_visible()
    await expect(page.locator(".error-summary")).to_be_visible()
    assert await page.locator("input[name=previous]").input_value() == second_run
    await page.fill("#f-quota-1-value", "")
    await page.select_option("#f-quota-1-kind", "")

    # quotas that cannot all be met (two women-led proposals, three asked): the engine's
    # diagnosis in the summary and above the quotas; the run is left pending, nothing shown
    await set_quota(page, 0, "min_count", "women_led", "3")
    await page.click("#what-if-submit")
    await expect(page.locator(".error-summary")).to_contain_text("cannot all be met")
    await expect(page.locator("#f-quotas-error")).to_contain_text("min_count women_led")
    assert await page.locator("input[name=previous]").input_value() == second_run

    # a rank-order policy does not enforce a minimum quota: the check says so, with numbers
    await page.select_option("#f-policy", "strict_funding_line")
    await set_quota(page, 0, "min_share_money", "women_led", "30")
    await page.click("#what-if-submit")
    unmet = page.locator("table.quota-checks tbody tr.unmet")
    await expect(unmet).to_have_count(1)
    shown = (await unmet.inner_text()).replace("\u00a0", " ").replace("\u202f", " ")
    assert "9 000,00" in shown  # required
    assert "0,00" in shown.split("9 000,00")[1]  # achieved: nothing to women-led organisations
    await expect(page.locator(".changes .dropped")).to_contain_text(world.titles["Dilbar"])
    await expect(page.locator("ul.notes")).to_contain_text("does not enforce minimum quotas")

    # the run's page: the one who computed it is not offered the approval
    await page.goto(f"{site}/officer/selection-runs/{second_run}")
    await expect(page.locator(".four-eyes")).to_contain_text("Айгуль")
    await expect(page.locator("#approve-refused")).to_be_visible()
    await expect(page.locator("form.approve-form")).to_have_count(0)
    await expect(page.locator(".run-facts")).to_contain_text("Айгуль")
    await page.click("#replay-button")
    await expect(page.locator(".replay-result")).to_have_class("replay-result ok")
    await check_page(page, "officer-selection-run")

    # a second officer approves, with a reason
    await b.page.goto(f"{site}/officer/selection-runs/{second_run}")
    await expect(b.page.locator("#approve-refused")).to_have_count(0)
    await check_page(b.page, "officer-selection-run-approve")
    # a second tab holds the same form: once the run is approved, it is refused with a message
    stale = await b.context.new_page()
    await stale.goto(f"{site}/officer/selection-runs/{second_run}")
    await b.page.fill("#f-reason", "Утверждено на заседании отборочной комиссии")
    await b.page.click("form.approve-form button[type=submit]")
    await expect(b.page.locator(".approved-by")).to_be_visible()
    async with stale.expect_response(lambda r: r.request.method == "POST") as answer:
        await stale.click("form.approve-form button[type=submit]")
    assert (await answer.value).status == 409
    await expect(stale.locator(".error-summary")).to_contain_text("only a computed run")
    await stale.close()
    await expect(b.page.locator(".approved-by")).to_be_visible()
    await expect(b.page.locator(".approved-by")).to_contain_text("Бакыт")
    await expect(b.page.locator(".decision-row")).to_have_count(5)
    await check_page(b.page, "officer-selection-decisions")
    # approved, the feedback not published: the officer previews what an applicant will see;
    # the applicant is told, in words, that it is not published yet (and the API answers 409)
    publication = b.page.locator("section.publication")
    await expect(publication.locator(".published-on")).to_have_count(0)
    await expect(publication.locator("form.publish-form")).to_have_count(1)
    await expect(publication.locator("a.feedback-preview")).to_have_count(1)
    await b.page.locator(f"#d-{world.proposals['Dilbar']} a.feedback-link").click()
    await expect(b.page.locator(".error-page")).to_have_count(0)
    await expect(b.page.locator(".decision .outcome")).to_have_count(1)
    await expect(b.page.locator(".not-published")).to_have_count(0)
    dilbar = await new_page("ru", width=PHONE)
    await dilbar.sign_in(world.applicants["Dilbar"])
    await dilbar.page.goto(f"{site}/proposals/{world.proposals['Dilbar']}/feedback")
    await expect(dilbar.page.locator(".not-published")).to_be_visible()
    await expect(dilbar.page.locator("#scores-h")).to_have_count(0)
    await check_page(dilbar.page, "applicant-feedback-not-published")
    await dilbar.page.set_viewport_size({"width": DESKTOP, "height": 900})
    await check_page(dilbar.page, "applicant-feedback-not-published")
    made: list[GrantsClient] = []
    applicant = await api_client(site, world.applicants["Dilbar"], made)
    with pytest.raises(ApiError) as unpublished:
        await applicant.get_feedback(world.proposals["Dilbar"])
    assert (unpublished.value.status, unpublished.value.type) == (409, FEEDBACK_NOT_PUBLISHED)

    # after approval: officer A asks to change a decision; the change waits for officer B
    await page.goto(f"{site}/officer/selection-runs/{second_run}")
    target = world.proposals["Chynar"]
    card = page.locator(f"#d-{target}")
    await card.locator("summary").click()
    await card.locator("select[name=outcome]").select_option("selected")
    await card.locator("textarea[name=reason]").fill("коротко")
    await card.locator("button[type=submit]").click()
    card = page.locator(f"#d-{target}")
    await expect(card.locator(".field-error")).to_be_visible()
    await card.locator("textarea[name=reason]").fill("Дополнительное софинансирование от мэрии")
    await card.locator("button[type=submit]").click()
    pending = page.locator(".pending-change")
    await expect(pending).to_have_count(1)
    await expect(pending.locator("button[value=confirm]")).to_have_count(0)  # not for its author
    await expect(page.locator(f"#d-{target} .current-status")).to_contain_text("Резервный список")
    # the publication waits for the change's second officer
    await expect(page.locator(".publication-waits")).to_be_visible()
    await expect(page.locator("form.publish-form")).to_have_count(0)
    await check_page(page, "officer-selection-pending")

    await b.page.goto(f"{site}/officer/selection-runs/{second_run}")
    await b.page.locator(".pending-change button[value=confirm]").click()
    await expect(b.page.locator("#decisions")).to_be_visible()
    await expect(b.page.locator(".pending-change")).to_have_count(0)
    await expect(b.page.locator(".settled-changes li")).to_have_count(1)
    await expect(b.page.locator(f"#d-{target} .current-status")).to_contain_text("Отобрано")
    history = b.page.locator("table.decision-history tbody tr")
    await expect(history).to_have_count(6)  # the run's five, then the confirmed change

    # another change, rejected by the other officer with a reason: nothing moves
    bereke = world.proposals["Bereke"]
    await page.goto(f"{site}/officer/selection-runs/{second_run}")
    card = page.locator(f"#d-{bereke}")
    await card.locator("summary").click()
    await card.locator("select[name=outcome]").select_option("not_selected")
    await card.locator("textarea[name=reason]").fill("Сомнения в бюджете мероприятия")
    await card.locator("button[type=submit]").click()
    await expect(page.locator(".pending-change")).to_have_count(1)
    await b.page.reload()
    await b.page.fill(".pending-change input[name=reason]", "Бюджет проверен, всё верно")
    await b.page.locator(".pending-change button[value=reject]").click()
    await expect(b.page.locator(".settled-changes li")).to_have_count(2)
    await expect(b.page.locator(".settled-changes")).to_contain_text("Бюджет проверен, всё верно")
    await expect(b.page.locator(f"#d-{bereke} .current-status")).to_contain_text("Отобрано")
    await expect(history).to_have_count(6)

    # nothing waits now: officer B publishes the feedback; a second tab's publication is refused
    stale = await b.context.new_page()
    await stale.goto(f"{site}/officer/selection-runs/{second_run}")
    await b.page.locator("form.publish-form button[type=submit]").click()
    await expect(b.page.locator(".published-on")).to_contain_text("Бакыт")
    await expect(b.page.locator("form.publish-form")).to_have_count(0)
    async with stale.expect_response(lambda r: r.request.method == "POST") as answer:
        await stale.click("form.publish-form button[type=submit]")
    assert (await answer.value).status == 409
    await expect(stale.locator(".publication-refused")).to_contain_text("already published")
    await stale.close()
    await check_page(b.page, "officer-selection-published")
    await page.reload()  # officer A, on a desktop, reads who published it
    await expect(page.locator(".published-on")).to_contain_text("Бакыт")
    await check_page(page, "officer-selection-published")
    # the applicant reads the decision and the panel's feedback now
    await dilbar.page.reload()
    await expect(dilbar.page.locator(".not-published")).to_have_count(0)
    await expect(dilbar.page.locator(".decision .outcome")).to_be_visible()
    await expect(dilbar.page.locator("#scores-h")).to_be_visible()
    assert (await applicant.get_feedback(world.proposals["Dilbar"])).decision is not None
    for client in made:
        await client.aclose()

    # Alma's organisation declines: the first reserve proposal still in reserve (Elnura) moves up
    made = []
    alma = await api_client(site, world.applicants["Alma"], made)
    await alma.create_declination(world.proposals["Alma"], DeclineCreate(reason="Слияние"))
    await made[0].aclose()
    await b.page.reload()
    await expect(history).to_have_count(8)
    await expect(b.page.locator(f"#d-{world.proposals['Alma']} .current-status")).to_contain_text(
        "Не отобрано"
    )
    elnura = b.page.locator(f"#d-{world.proposals['Elnura']} .current-status")
    await expect(elnura).to_contain_text("Отобрано")
    await expect(elnura.locator(".moved-up")).to_have_count(1)
    # Chynar was moved by the confirmed change, not by the reserve list: its reason says so
    await expect(b.page.locator(f"#d-{target} .moved-up")).to_have_count(0)
    await expect(b.page.locator(f"#d-{target} .current-reason")).to_contain_text("софинансирование")
    newest = await history.nth(0).inner_text() + await history.nth(1).inner_text()
    assert world.titles["Alma"] in newest
    assert world.titles["Elnura"] in newest
    await check_page(b.page, "officer-selection-history")
    # the window is decided: a new what-if is refused, and the page says why
    await page.goto(url)
    await page.click("#what-if-submit")
    await expect(page.locator(".error-summary")).to_contain_text("no scored proposal")
    a.assert_same_origin()
    b.assert_same_origin()


@pytest.mark.browser
async def test_what_if_without_javascript_goes_to_the_run_page(
    world: World, new_page: NewPage, site: str
) -> None:
    visit = await officer_visit(new_page, world.officer_b, js=False)
    page = visit.page
    await page.goto(f"{site}/officer/windows/{world.window_id}/selection")
    await page.fill("#f-budget", "20 000")
    await set_quota(page, 0, "min_count", "women_led", "1")
    await page.click("#what-if-submit")
    assert "/officer/selection-runs/" in page.url
    await expect(page.locator("table.funded tbody tr")).to_have_count(2)
    await expect(page.locator("table.quota-checks tbody tr.met")).to_have_count(1)
    await expect(page.locator(".four-eyes")).to_be_visible()
    await check_page(page, "officer-selection-run-nojs")
    # a budget that is not an amount: 422, the message next to the field
    await page.goto(f"{site}/officer/windows/{world.window_id}/selection")
    await page.fill("#f-budget", "много")
    response = await page.request.fetch(page.url)  # the page itself still answers
    assert response.status == 200
    await page.click("#what-if-submit")
    await expect(page.locator("#f-budget-error")).to_be_visible()
    assert await page.get_attribute("#f-budget", "aria-invalid") == "true"


@pytest.mark.browser
async def test_the_demo_window_selection_reads_in_kyrgyz(new_page: NewPage, site: str) -> None:
    """The demo's first window (decided: a women-led quota, a lottery for an exact tie, the run
    approved by the second demo officer) as the second officer reads it, in Kyrgyz."""
    made: list[GrantsClient] = []
    officer = await api_client(site, demo_email("officer2"), made)
    call = next(
        c for c in (await officer.list_calls(limit=100)).items if c.title.en.startswith("Trust")
    )
    w1 = next(w for w in call.windows if w.code == "W1")
    runs = await officer.list_selection_runs(w1.id)
    approved = next(r for r in runs if r.status == "approved")
    outputs = (await officer.get_selection_run(approved.id)).outputs
    assert outputs is not None
    lottery = [e.ticket for e in outputs.entries if e.decided_by == "lottery"]
    assert len(lottery) == 1  # Ayalzat and Koy-Tash tie exactly
    for client in made:
        await client.aclose()
    visit = await new_page("ky", width=PHONE)
    await visit.sign_in(demo_email("officer2"))
    page = visit.page
    await page.goto(f"{site}/officer/windows/{w1.id}/selection")
    await expect(page.locator("table.funded tbody tr")).not_to_have_count(0)
    await expect(page.locator("table.runs-table tbody tr")).to_have_count(len(runs))
    await check_page(page, "officer-selection-demo")
    await page.goto(f"{site}/officer/selection-runs/{approved.id}")
    await expect(page.locator(".approved-by")).to_contain_text(approved.approved_by_name or "-")
    await expect(page.locator("table.decision-history tbody tr")).not_to_have_count(0)
    await expect(page.locator("form.approve-form")).to_have_count(0)  # decided already
    drawn = page.locator("ol.reasons .ahead").filter(has_text=lottery[0][:12])
    await expect(drawn).to_have_count(1)
    await check_page(page, "officer-selection-demo-run")


# --- the form and the comparison, without a browser ---------------------------------------


def test_the_form_reads_shares_in_per_cent_and_amounts_in_major_units() -> None:
    form = {
        "policy": "optimal",
        "budget": "30 000,50",
        "quota.0.kind": "min_share_money",
        "quota.0.group": "women_led",
        "quota.0.value": "30",
        "quota.1.kind": "max_money",
        "quota.1.group": "territory:osh",
        "quota.1.value": "12500",
        "quota.2.kind": "",
        "quota.2.group": "youth_led",  # a group alone is an empty row
        "quota.2.value": "",
        "floor": "80",
        "reserve": "",
        "calibration": "",
    }
    _shown, body, errors = parse_form(form, "KGS")
    assert not errors
    assert body is not None
    assert body.budget == 3_000_050
    assert [(q.kind, q.group, q.value) for q in body.quotas or []] == [
        ("min_share_money", "women_led", "0.3"),
        ("max_money", "territory:osh", "1250000"),
    ]
    assert (body.partial_funding_floor_pct, body.reserve_size, body.calibration) == (80, None, None)
    # what the form shows again after a run: per cent and major units
    again = form_from_config(
        {
            "policy": "optimal",
            "budget": 3_000_050,
            "quotas": [msgspec.to_builtins(q) for q in body.quotas or []],
        },
        "KGS",
    )
    assert [(q.kind, q.value) for q in again.quotas] == [
        ("min_share_money", "30"),
        ("max_money", "12500.00"),
    ]
    assert again.budget == "30000.50"


def test_the_form_refuses_what_is_not_a_number_next_to_its_field() -> None:
    _, body, errors = parse_form(
        {
            "budget": "много",
            "quota.0.kind": "min_share_count",
            "quota.0.group": "any",
            "quota.0.value": "120",
            "quota.1.kind": "min_count",
            "quota.1.group": "",
            "quota.1.value": "2",
            "floor": "0",
        },
        "KGS",
    )
    assert body is None
    assert set(errors.fields) == {"budget", "quota.0.value", "quota.1.value", "floor"}


def _result(rows: list[tuple[str, str, int, int | None]]) -> Result:
    made = [
        Row(
            proposal_id=pid,
            receipt=pid,
            title=pid,
            organisation="",
            requested=100,
            rank=n + 1,
            score="",
            status=status,
            amount=amount,
            reason="",
            reserve_position=place,
            current="scored",
        )
        for n, (pid, status, amount, place) in enumerate(rows)
    ]
    return Result(
        rows=made,
        funded=[r for r in made if r.status == "funded"],
        reserve=sorted(
            (r for r in made if r.reserve_position), key=lambda r: r.reserve_position or 0
        ),
        others=[],
        funded_total=sum(r.amount for r in made if r.status == "funded"),
        quotas=[],
        notes=[],
        currency="KGS",
    )


def test_what_changed_between_two_runs() -> None:
    before = _result(
        [
            ("a", "funded", 100, None),
            ("b", "funded", 100, None),
            ("c", "reserve", 0, 1),
            ("d", "reserve", 0, 2),
            ("e", "not_funded", 0, None),
        ]
    )
    after = _result(
        [
            ("a", "funded", 80, None),
            ("b", "reserve", 0, 1),
            ("c", "funded", 100, None),
            ("d", "reserve", 0, 2),
            ("e", "reserve", 0, 3),
        ]
    )
    changes = compare(before, after)
    assert changes is not None
    assert [r.proposal_id for r in changes.newly_funded] == ["c"]
    assert [r.proposal_id for r in changes.dropped] == ["b"]
    assert [(r.proposal_id, old, new) for r, old, new in changes.amount_changed] == [("a", 100, 80)]
    assert [(r.proposal_id, old, new) for r, old, new in changes.reserve_moved] == [
        ("b", None, 1),
        ("c", 1, None),
        ("e", None, 3),
    ]
    assert not compare(after, after)
    assert compare(None, after) is None
