"""The programme officer's screening, panel and ranking pages in real Chromium (Kyrgyz).

The window is the test's own, made through the API in a fixture: three organisations, three
proposals judged eligible on submission, three reviewers and an officer of our own. The journey
overrides a verdict with a reason, sets the panel with a load cap, assigns automatically, sees
a declared conflict, removes and adds an assignment, watches the progress and reminds a
reviewer; the override and a manual assignment also run without JavaScript (422 and 409 in
words next to the field). The ranking board is the demo's reviewed window's (W1).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from babel.numbers import format_decimal
from playwright.async_api import Page

from contracts.calls import (
    AllocationCreate,
    CallCreate,
    CallTransition,
    ContributionCreate,
    WindowCreate,
)
from contracts.client import GrantsClient
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
from contracts.ranking import WindowRankingRead
from contracts.reviews import (
    AssignmentCreate,
    AssignmentRead,
    ConflictCreate,
    ReviewSave,
    ReviewSubmit,
)
from service.demo import DEMO_PASSWORD
from tests.factories import criterion_scores, make_rubric
from tests.web.conftest import DESKTOP, PHONE, NewPage, Visit, check_page, demo_email
from web.i18n import translations

pytestmark = pytest.mark.browser

LANG = "ky"
REQUEST = 1_000_000
NAMES = ("Aidai", "Bakai", "Cholpon")


def t(message: str, **values: object) -> str:
    text = translations(LANG).gettext(message)
    return text % values if values else text


@dataclass
class World:
    window_id: uuid.UUID
    proposals: dict[str, uuid.UUID]
    titles: dict[str, str]
    officer: str
    reviewers: dict[str, uuid.UUID]
    reviewer_names: dict[str, str]
    reviewer_emails: dict[str, str]
    site: str


async def _client(site: str, email: str, made: list[GrantsClient]) -> GrantsClient:
    base = GrantsClient.connect(f"{site}/api/v1/")
    made.append(base)
    token = await base.create_token(email, DEMO_PASSWORD)
    return base.as_user(token.access_token)


@pytest.fixture(scope="module")
async def world(site: str) -> AsyncIterator[World]:
    made: list[GrantsClient] = []
    tag = uuid.uuid4().hex[:8]
    admin = await _client(site, demo_email("admin"), made)
    anonymous = GrantsClient.connect(f"{site}/api/v1/")
    made.append(anonymous)

    def email(who: str) -> str:
        return f"rev-{who}-{tag}@example.org"

    people = {}
    for who, role, name in (
        ("officer", Role.PROGRAMME_OFFICER, "Нургүл Officer"),
        ("r1", Role.REVIEWER, "Асел R1"),
        ("r2", Role.REVIEWER, "Бекболот R2"),
        ("r3", Role.REVIEWER, "Гүлзат R3"),
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
    officer = await _client(site, email("officer"), made)
    territory = (await officer.list_territories()).items[0]
    source = (await officer.list_funding_sources()).items[0]
    now = datetime.now(UTC)
    call = await officer.create_call(
        CallCreate(
            title=I18nText(en=f"Review test {tag}", ky=f"Баалоо сынагы {tag}"),
            description=I18nText(en="A call of the review web test"),
            contributions=[ContributionCreate(funding_source_id=source.id, amount=10 * REQUEST)],
        )
    )
    window = await officer.create_window(
        call.id,
        WindowCreate(
            code="R1",
            title=I18nText(en=f"Review window {tag}", ky=f"Баалоо терезеси {tag}"),
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
    for name in NAMES:
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
                ),
            )
        )
        client = await _client(site, who, made)
        titles[name] = f"{name}: жаштар диалогу {tag}"
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
    yield World(
        window_id=window.id,
        proposals=proposals,
        titles=titles,
        officer=email("officer"),
        reviewers={k: people[k].id for k in ("r1", "r2", "r3")},
        reviewer_names={k: people[k].full_name for k in ("r1", "r2", "r3")},
        reviewer_emails={k: email(k) for k in ("r1", "r2", "r3")},
        site=site,
    )
    for client in made:
        await client.aclose()


async def _officer(
    new_page: NewPage, email: str, *, js: bool = True, width: int = DESKTOP
) -> Visit:
    visit = await new_page(LANG, js=js, width=width)
    await visit.sign_in(email)
    return visit


async def both_widths(page: Page, name: str) -> None:
    size = page.viewport_size or {"width": DESKTOP, "height": 800}
    for width in (DESKTOP, PHONE):
        await page.set_viewport_size({"width": width, "height": 800})
        await check_page(page, name)
        if width == PHONE:
            # nothing wider than the phone's screen: wide tables stack or scroll in their region
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name}: {overflow}px wider than the screen"
    await page.set_viewport_size(size)


async def _r1_assignment(api: GrantsClient, world: World) -> AssignmentRead:
    mine = [
        a
        for a in (await api.list_window_assignments(world.window_id)).items
        if a.reviewer_id == world.reviewers["r1"]
    ]
    assert len(mine) == 1
    return mine[0]


async def _row_cells(page: Page, table: str, header: str) -> list[str]:
    row = page.locator(f"{table} tbody tr", has=page.locator("th", has_text=header))
    return [x.strip() for x in await row.locator("td").all_inner_texts()]


async def test_screening_override_with_a_reason(new_page: NewPage, world: World) -> None:
    visit = await _officer(new_page, world.officer)
    page = visit.page
    base = f"{visit.site}/officer/windows/{world.window_id}"
    await page.goto(f"{base}/screening")
    assert await page.inner_text("h1") == t("Screening")
    nav = page.locator(".window-nav nav a[aria-current=page]")
    assert await nav.inner_text() == t("Screening")
    cards = page.locator(".screening-list > li")
    assert await cards.count() == 3
    card = page.locator(f"#p-{world.proposals['Bakai']}")
    await card.locator("summary").click()
    verdicts = card.locator(".verdicts li")
    assert await verdicts.count() == 1  # one rule: the territory, in words
    assert (await verdicts.inner_text()).strip() != ""
    await both_widths(page, "officer-screening")

    await card.get_by_role("link", name=re.compile(t("Override the verdict"))).click()
    await page.wait_for_url(f"**/screening/{world.proposals['Bakai']}")
    await both_widths(page, "officer-override")
    await page.fill("#f-reason", "Каттоо күбөлүгү жасалма экени аныкталды")
    await page.click("main form button[type=submit]")
    await page.wait_for_url("**/screening#p-*")
    assert t("The verdict is overridden and the reason recorded.") in await page.inner_text("body")
    card = page.locator(f"#p-{world.proposals['Bakai']}")
    assert t("Overridden: not eligible") in await card.inner_text()
    assert "жасалма" in await card.inner_text()
    # the filters: one overridden, two eligible, one not eligible
    await page.goto(f"{base}/screening?show=overridden")
    assert await page.locator(".screening-list > li").count() == 1
    await page.goto(f"{base}/screening?show=eligible")
    assert await page.locator(".screening-list > li").count() == 2
    await page.goto(f"{base}/screening?show=ineligible")
    assert await page.locator(".screening-list > li").count() == 1
    visit.assert_same_origin()


async def test_screening_override_without_javascript_shows_the_422_by_the_field(
    new_page: NewPage, world: World
) -> None:
    visit = await _officer(new_page, world.officer, js=False)
    page = visit.page
    url = f"{visit.site}/officer/windows/{world.window_id}/screening/{world.proposals['Cholpon']}"
    await page.goto(url)
    await page.fill("#f-reason", "кыска")
    response_status: list[int] = []
    page.on(
        "response",
        lambda r: response_status.append(r.status) if r.request.method == "POST" else None,
    )
    await page.click("main form button[type=submit]")
    await page.wait_for_load_state()
    assert response_status == [422]
    error = page.locator("#f-reason-error")
    assert t("Enter at least %(n)s characters.", n=10) in await error.inner_text()
    assert await page.get_attribute("#f-reason", "aria-invalid") == "true"
    await check_page(page, "officer-override-422-nojs")
    # put right, it goes through: Cholpon becomes not eligible, then eligible again
    await page.fill("#f-reason", "Текшерүүдө жаңылыштык табылды")
    await page.click("main form button[type=submit]")
    await page.wait_for_url("**/screening#p-*")
    card = page.locator(f"#p-{world.proposals['Cholpon']}")
    assert t("Overridden: not eligible") in await card.inner_text()
    await page.goto(url)
    await page.fill("#f-reason", "Документтер кайра текшерилди, баары туура")
    await page.click("main form button[type=submit]")
    await page.wait_for_url("**/screening#p-*")
    card = page.locator(f"#p-{world.proposals['Cholpon']}")
    assert t("Overridden: eligible") in await card.inner_text()


async def test_panel_members_caps_assignment_conflicts_progress_and_reminders(
    new_page: NewPage, world: World, site: str
) -> None:
    made: list[GrantsClient] = []
    visit = await _officer(new_page, world.officer)
    page = visit.page
    base = f"{visit.site}/officer/windows/{world.window_id}"
    await page.goto(f"{base}/panel")
    assert await page.inner_text("h1") == t("Panel and assignments")
    for k in ("r1", "r2", "r3"):
        await page.check(f"#member-{world.reviewers[k]}")
    await page.click("form[action$='/panel/members'] button[type=submit]")
    await page.wait_for_url(f"**/officer/windows/{world.window_id}/panel")
    assert t("The panel has %(num)d members.", num=3) in await page.inner_text("body") or (
        "3" in await page.inner_text(".flash")
    )
    progress = page.locator("table.panel-progress tbody tr")
    assert await progress.count() == 3

    # a load cap of 1 for r1; r2 and r3 without a cap
    await page.fill(f"#f-cap-{world.reviewers['r1']}", "1")
    await page.click("form[action$='/panel/assign'] button[type=submit]")
    await page.wait_for_url("**/panel")
    api = await _client(site, world.officer, made)
    assignments = (await api.list_window_assignments(world.window_id)).items
    load = {k: sum(a.reviewer_id == rid for a in assignments) for k, rid in world.reviewers.items()}
    # Aidai and Cholpon are eligible (Bakai was overridden): two reviewers each
    assert len(assignments) == 4
    assert load["r1"] <= 1
    r1_cells = await _row_cells(page, "table.panel-progress", world.reviewer_names["r1"])
    assert r1_cells[0] == str(load["r1"])
    # the caps are stored with the panel: prefilled on the page, read back from the API
    assert await page.input_value(f"#f-cap-{world.reviewers['r1']}") == "1"
    assert await page.input_value(f"#f-cap-{world.reviewers['r2']}") == ""
    stored = {r.id: r.load_cap for r in (await api.get_panel(world.window_id)).reviewers}
    assert (stored[world.reviewers["r1"]], stored[world.reviewers["r2"]]) == (1, None)

    # r2 declares a conflict on one of its proposals: the board shows it, declared
    r2 = await _client(site, world.reviewer_emails["r2"], made)
    r2_items = (await r2.list_assignments()).items
    mine = [a for a in r2_items if a.window_id == world.window_id]
    conflicted = mine[0]
    await r2.create_conflict(conflicted.id, ConflictCreate(reason="Уюмдун кеңешинин мүчөсүмүн"))
    await page.reload()
    conflicts = page.locator("table.conflicts tbody tr")
    assert await conflicts.count() == 1
    text = await conflicts.first.inner_text()
    assert t("Declared by the reviewer") in text
    assert world.reviewer_names["r2"] in text
    assert conflicted.proposal_title in text
    # assigning r2 to it again by hand is refused in words, by the reviewer field (409)
    await page.select_option("#f-proposal-id", str(conflicted.proposal_id))
    await page.select_option("#f-reviewer-id", str(world.reviewers["r2"]))
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await page.click("form[action$='/panel/assignments'] button[type=submit]")
    assert (await answer.value).status == 409
    message = await page.locator("form[action$='/panel/assignments'] .field-error").inner_text()
    assert t("This reviewer has a conflict of interest with the proposal.") in message
    assert await page.get_attribute("#f-reviewer-id", "aria-invalid") == "true"

    # a reviewer scores one proposal: progress counts it
    r3 = await _client(site, world.reviewer_emails["r3"], made)
    r3_items = [a for a in (await r3.list_assignments()).items if a.window_id == world.window_id]
    await r3.create_no_conflict_declaration(r3_items[0].id)
    saved = await r3.update_review(r3_items[0].id, ReviewSave(scores=criterion_scores(40, 35, 30)))
    await r3.create_review_submission(r3_items[0].id, ReviewSubmit(version=saved.version))
    await page.reload()
    cells = await _row_cells(page, "table.panel-progress", world.reviewer_names["r3"])
    assert cells[:4] == [str(len(r3_items)), "1", str(len(r3_items) - 1), "0"]

    # a manual change: take r1's proposal (its only one, cap 1) away, then give it back by hand
    target = await _r1_assignment(api, world)
    row = page.locator(
        "table.assignments tbody tr",
        has=page.locator("td", has_text=world.reviewer_names["r1"]),
    ).filter(has_text=target.proposal_title)
    await row.locator("button").click()
    await page.wait_for_url("**/panel#assignments")
    left = (await api.list_window_assignments(world.window_id)).items
    assert target.id not in {a.id for a in left}
    assert await page.locator("table.assignments tbody tr").count() == len(left)
    await page.select_option("#f-proposal-id", str(target.proposal_id))
    await page.select_option("#f-reviewer-id", str(world.reviewers["r1"]))
    await page.click("form[action$='/panel/assignments'] button[type=submit]")
    await page.wait_for_url("**/panel#assignments")
    again = await _r1_assignment(api, world)
    assert (again.proposal_id, again.id != target.id) == (target.proposal_id, True)

    # a reminder to a reviewer who still owes a review (r1 does): the board says when
    owing = ""
    for k in ("r1", "r2", "r3"):
        if (await _row_cells(page, "table.panel-progress", world.reviewer_names[k]))[2] != "0":
            owing = k
            break
    assert owing

    row = page.locator(
        "table.panel-progress tbody tr",
        has=page.locator("th", has_text=world.reviewer_names[owing]),
    )
    await row.locator("button").click()
    await page.wait_for_url("**/panel#progress")
    row = page.locator(
        "table.panel-progress tbody tr",
        has=page.locator("th", has_text=world.reviewer_names[owing]),
    )
    reminded = await row.locator(".reminded").inner_text()
    assert t("Reminded on %(date)s", date="").strip() in reminded
    reviewer = await _client(site, world.reviewer_emails[owing], made)
    assert [x.window_id for x in (await reviewer.list_reminders()).items] == [world.window_id]
    await both_widths(page, "officer-panel")
    visit.assert_same_origin()
    for client in made:
        await client.aclose()


async def test_manual_assignment_without_javascript(
    new_page: NewPage, world: World, site: str
) -> None:
    """After the panel journey: r1 assigned again to its proposal is refused (409) by the field;
    its assignment removed and made again, each a plain POST → 303 → the board."""
    made: list[GrantsClient] = []
    api = await _client(site, world.officer, made)
    visit = await _officer(new_page, world.officer, js=False)
    page = visit.page
    await page.goto(f"{visit.site}/officer/windows/{world.window_id}/panel")
    target = await _r1_assignment(api, world)
    await page.select_option("#f-proposal-id", str(target.proposal_id))
    await page.select_option("#f-reviewer-id", str(world.reviewers["r1"]))
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if r.request.method == "POST" else None)
    await page.click("form[action$='/panel/assignments'] button[type=submit]")
    await page.wait_for_load_state()
    assert statuses == [409]
    message = await page.locator("form[action$='/panel/assignments'] .field-error").inner_text()
    assert t("This reviewer is already assigned to the proposal.") in message
    assert await page.get_attribute("#f-reviewer-id", "aria-invalid") == "true"
    await check_page(page, "officer-panel-409-nojs")
    # r1's assignment removed and made again by hand
    await page.click(f"form[action$='/panel/assignments/{target.id}/remove'] button")
    await page.wait_for_url("**/panel#assignments")
    assert target.id not in {
        a.id for a in (await api.list_window_assignments(world.window_id)).items
    }
    await page.select_option("#f-proposal-id", str(target.proposal_id))
    await page.select_option("#f-reviewer-id", str(world.reviewers["r1"]))
    await page.click("form[action$='/panel/assignments'] button[type=submit]")
    await page.wait_for_url("**/panel#assignments")
    assert (await _r1_assignment(api, world)).proposal_id == target.proposal_id
    assert t("The proposal is assigned to the reviewer.") in await page.inner_text("body")
    for client in made:
        await client.aclose()


def _dec(value: str | None, lang: str) -> str:
    if value is None:
        return "—"
    places = len(value.split(".")[1])
    return format_decimal(Decimal(value), format="#,##0." + "0" * places, locale=lang)


async def test_ranking_board_of_the_demo_reviewed_window(new_page: NewPage, site: str) -> None:
    """The demo's W1: four reviewers who agree (alpha 1), the lottery's seed hash and seed."""
    made: list[GrantsClient] = []
    api = await _client(site, demo_email("officer"), made)
    calls = (await api.list_calls(limit=200)).items
    reviewed = next(
        w for c in calls for w in c.windows if w.code == "W1" and w.rubric_id is not None
    )
    board = await api.get_window_ranking(reviewed.id)
    assert board.alpha is not None
    assert board.entries
    assert board.lottery is not None
    visit = await new_page(LANG)
    await visit.sign_in(demo_email("officer"))
    page = visit.page
    await page.goto(f"{site}/officer/windows/{reviewed.id}/ranking")
    await _board_matches(page, board, "officer-ranking")
    assert board.lottery.seed_hash is not None
    assert board.lottery.seed_hash in await page.inner_text("main")
    assert any(e.decided_by == "lottery" for e in board.entries)
    visit.assert_same_origin()
    for client in made:
        await client.aclose()


async def test_ranking_board_flags_reviewers_far_apart(
    new_page: NewPage, world: World, site: str
) -> None:
    """Our window, after the panel journey: every reviewer still owing a review scores, r1 high
    and r2 low, so that a proposal's reviewers end up two points or more apart."""
    made: list[GrantsClient] = []
    high_low = {"r1": (50, 50, 50), "r2": (10, 15, 10), "r3": (30, 30, 30)}
    api = await _client(site, world.officer, made)
    target = await _r1_assignment(api, world)
    others = [
        a
        for a in (await api.list_window_assignments(world.window_id)).items
        if a.proposal_id == target.proposal_id
        and a.reviewer_id != world.reviewers["r1"]
        and str(a.status) != "declined"
    ]
    if not others:  # r2 stepped back from it: r3 (no conflict) joins
        await api.create_assignment(
            target.proposal_id, AssignmentCreate(reviewer_id=world.reviewers["r3"])
        )
    for k, values in high_low.items():
        reviewer = await _client(site, world.reviewer_emails[k], made)
        for a in (await reviewer.list_assignments()).items:
            if a.window_id != world.window_id or "submitted" in (
                str(a.review_status),
                str(a.status),
            ):
                continue
            if str(a.status) != "assigned":
                continue
            if a.no_conflict_declared_at is None:
                await reviewer.create_no_conflict_declaration(a.id)
            saved = await reviewer.update_review(a.id, ReviewSave(scores=criterion_scores(*values)))
            await reviewer.create_review_submission(a.id, ReviewSubmit(version=saved.version))
    board = await api.get_window_ranking(world.window_id)
    assert any(v.disagreement for e in board.entries for v in e.criteria)
    visit = await _officer(new_page, world.officer)
    await visit.page.goto(f"{site}/officer/windows/{world.window_id}/ranking")
    await _board_matches(visit.page, board, "officer-ranking-flags")
    assert await visit.page.locator("table.ranking-board .flag").count() > 0
    for client in made:
        await client.aclose()


async def _board_matches(page: Page, board: WindowRankingRead, name: str) -> None:
    """The page shows the API's numbers, each in the page's locale."""
    lang = await page.get_attribute("html", "lang") or LANG
    assert await page.inner_text("h1") == translations(lang).gettext("Ranking")
    assert (await page.inner_text("dd.alpha")).strip() == _dec(board.alpha, lang)
    rows = page.locator("table.ranking-board tbody tr")
    assert await rows.count() == len(board.entries)
    first = [x.strip() for x in await rows.first.locator("td").all_inner_texts()]
    assert first[1] == _dec(board.entries[0].raw_score, lang)
    assert first[2] == _dec(board.entries[0].calibrated_score, lang)
    flags = sum(v.disagreement for e in board.entries for v in e.criteria)
    assert await page.locator("table.ranking-board .flag").count() == flags
    outliers = sum(r.outlier for r in board.reviewers)
    assert await page.locator("table.ranking-reviewers .badge-fail").count() == outliers
    cells = page.locator("table.ranking-criteria tbody td:last-child")
    alphas = [x.strip() for x in await cells.all_inner_texts()]
    assert alphas == [_dec(c.alpha, lang) for c in board.criteria]
    await both_widths(page, name)
