"""The reviewer's pages in real Chromium: the queue grouped by window with its deadline and
progress; the conflict-of-interest declaration before anything of the proposal is shown (a
declared conflict leaves the queue); the scoring form with the guidance beside each criterion,
N/A, the live weighted total and autosave; submission with a confirmation; the same form
without JavaScript (save, the 422 beside the criterion left unscored, submit); a PDF attachment
served inline with the API's safe headers; and a blind window whose pages name no one.

Each test builds a world of its own through the API (a blind call with one open window, its
rubric, a reviewer of its own and proposals of registered organisations), so it changes nothing
other tests of the shared demo site rely on.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect

from contracts.calls import (
    AllocationCreate,
    CallCreate,
    CallTransition,
    ContributionCreate,
    WindowCreate,
)
from contracts.client import GrantsClient
from contracts.common import I18nText
from contracts.enums import CallStatus, Language, OrganisationKind, Role
from contracts.identity import OrganisationCreate, RegistrationCreate, UserCreate
from contracts.proposals import BudgetLineCreate, ProposalCreate, ProposalSubmit, ProposalUpdate
from contracts.ranking import ReminderCreate
from contracts.reviews import (
    AssignmentCreate,
    CriterionCreate,
    CriterionScoreInput,
    PanelReplace,
    ReviewReopen,
    ReviewSave,
    ReviewSubmit,
    RubricCreate,
)
from service.demo import DEMO_PASSWORD
from tests.web.conftest import DESKTOP, PHONE, NewPage, Visit, check_page, demo_email
from web.i18n import translations

pytestmark = pytest.mark.browser

PASSWORD = "Ысык-Көл жээгинде 2026"
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n"
    b"0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n160\n%%EOF\n"
)


def t(lang: str, message: str, **values: object) -> str:
    text = translations(lang).gettext(message)
    return text % values if values else text


@dataclass
class Applicant:
    org_name: str
    person: str
    email: str
    file_name: str
    proposal_id: uuid.UUID
    title: str


@dataclass
class World:
    reviewer_email: str
    reviewer_name: str
    window_id: uuid.UUID
    applicants: list[Applicant] = field(default_factory=list)

    def secrets(self) -> list[str]:
        out = []
        for a in self.applicants:
            out += [a.org_name, a.person, a.email, a.file_name, a.file_name.removesuffix(".pdf")]
        return out


async def _signed_in(site: str, email: str, password: str = DEMO_PASSWORD) -> GrantsClient:
    base = GrantsClient.connect(f"{site}/api/v1/")
    token = await base.create_token(email, password)
    return base.as_user(token.access_token)


RUBRIC_GUIDANCE = I18nText(
    en="Does the project answer a priority of the PCC's action plan?",
    ru="Отвечает ли проект приоритету плана действий ОСМ?",
    ky="Долбоор ТКК иш-аракеттер планынын артыкчылыгына жооп береби?",
)


async def build_world(
    site: str, n: int, *, feasibility_na: bool = True, panel_scores: bool = False
) -> World:
    """A blind, published call with an open window and its rubric; `n` organisations each with
    a submitted proposal and a PDF named after it; a new reviewer assigned to all of them.
    `feasibility_na`: whether that criterion may be marked N/A; `panel_scores`: whether the
    window shows reviewers the panel's scores after their own submission."""
    tag = uuid.uuid4().hex[:6]
    admin = await _signed_in(site, demo_email("admin"))
    officer = await _signed_in(site, demo_email("officer"))
    reviewer_email = f"reviewer-{tag}@example.kg"
    reviewer_name = f"Эркин Сыдыков {tag}"
    reviewer = await admin.create_user(
        UserCreate(
            email=reviewer_email,
            password=PASSWORD,
            full_name=reviewer_name,
            roles=[Role.REVIEWER],
            preferred_language=Language.KY,
        )
    )
    sources = (await officer.list_funding_sources()).items
    territories = (await officer.list_territories()).items
    now = datetime.now(UTC)
    call = await officer.create_call(
        CallCreate(
            title=I18nText(
                en=f"Blind call {tag}", ru=f"Слепой конкурс {tag}", ky=f"Сокур сынак {tag}"
            ),
            description=I18nText(en="For the reviewer's tests"),
            contributions=[ContributionCreate(funding_source_id=sources[0].id, amount=900_000_000)],
        )
    )
    window = await officer.create_window(
        call.id,
        WindowCreate(
            code=f"R{tag.upper()}",
            title=I18nText(en="Reviewed window", ru="Окно рецензий", ky="Баалоо терезеси"),
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=5),
            review_deadline=now + timedelta(days=20),
            min_grant=1_000_000,
            max_grant=90_000_000,
            allocations=[AllocationCreate(funding_source_id=sources[0].id, amount=900_000_000)],
            territory_ids=[x.id for x in territories],
            rules=[{"id": "amount", "kind": "requested_amount_within_window"}],
            blind_review=True,
            reviewers_per_proposal=1,
            reviewers_see_panel_scores=panel_scores,
        ),
    )
    await officer.update_window_rubric(
        window.id,
        RubricCreate(
            version=window.version,
            name=I18nText(en="Rubric", ru="Рубрика", ky="Рубрика"),
            criteria=[
                CriterionCreate(
                    code="relevance",
                    name=I18nText(en="Relevance", ru="Актуальность", ky="Актуалдуулук"),
                    guidance=RUBRIC_GUIDANCE,
                    weight=500,
                    threshold=25,
                ),
                CriterionCreate(
                    code="feasibility",
                    name=I18nText(en="Feasibility", ru="Реализуемость", ky="Ишке ашуучулук"),
                    weight=300,
                    na_allowed=feasibility_na,
                ),
                CriterionCreate(
                    code="gender",
                    name=I18nText(en="Gender", ru="Гендер", ky="Гендер"),
                    weight=200,
                ),
            ],
        ),
    )
    fresh = await officer.get_call(call.id)
    await officer.create_call_transition(
        call.id, CallTransition(version=fresh.version, status=CallStatus.PUBLISHED)
    )
    await officer.update_panel(window.id, PanelReplace(reviewer_ids=[reviewer.id]))
    world = World(reviewer_email, reviewer_name, window.id)
    base = GrantsClient.connect(f"{site}/api/v1/")
    for i in range(n):
        org_name = f"Жаштар Борбору {tag}{i}"
        person = f"Гүлнара Асанова {tag}{i}"
        email = f"applicant-{tag}{i}@example.kg"
        registered = await base.create_registration(
            RegistrationCreate(
                email=email,
                password=PASSWORD,
                full_name=person,
                organisation=OrganisationCreate(
                    name=org_name,
                    kind=OrganisationKind.CSO,
                    territory_id=territories[0].id,
                    founded_year=2015,
                ),
            )
        )
        applicant = base.as_user((await base.create_token(email, PASSWORD)).access_token)
        title = f"Диалог аянтчасы {i + 1}"
        draft = await applicant.create_proposal(
            window.id,
            ProposalCreate(
                organisation_id=registered.organisation.id,
                title=title,
                # a six-figure amount: beside its Kyrgyz heading ("Берененин жалпы суммасы")
                # it is wider than a phone's card, and goes under it
                budget_lines=[
                    BudgetLineCreate(
                        category="Иш-чаралар",
                        description="Жолугушуулар жана жайлар",
                        quantity=1,
                        unit_cost=21_000_000,
                    )
                ],
            ),
        )
        draft = await applicant.update_proposal(
            draft.id,
            ProposalUpdate(
                version=draft.version,
                summary="Жаштар менен аялдар үчүн диалог.",
                requested_amount=21_000_000,
            ),
        )
        file_name = f"Бюджет {org_name}.pdf"
        await applicant.create_attachment(draft.id, PDF, file_name, kind="budget")
        current = await applicant.get_proposal(draft.id)
        await applicant.create_submission(draft.id, ProposalSubmit(version=current.version))
        await officer.create_assignment(draft.id, AssignmentCreate(reviewer_id=reviewer.id))
        world.applicants.append(Applicant(org_name, person, email, file_name, draft.id, title))
    return world


@pytest.fixture
async def world(site: str) -> World:
    return await build_world(site, 3)


async def both_widths(visit: Visit, name: str) -> None:
    """axe and a screenshot at desktop and phone width. axe's own inline styles, refused by the
    page's CSP, are console errors the page did not cause: they are forgotten."""
    page = visit.page
    size = page.viewport_size or {"width": DESKTOP, "height": 800}
    for width in (DESKTOP, PHONE):
        await page.set_viewport_size({"width": width, "height": 800})
        await check_page(page, name)
    await page.set_viewport_size(size)
    visit.console_errors.clear()


def _assert_blind(html: str, world: World, where: str) -> None:
    for secret in world.secrets():
        assert secret not in html, (where, secret)


async def sign_in(visit: Visit, world: World, lang: str) -> None:
    """The reviewer's account reads Kyrgyz; another language is chosen in the header."""
    await visit.sign_in(world.reviewer_email, PASSWORD)
    if lang != "ky":
        await visit.page.click(f"form.language button[value={lang}]")
        await visit.page.wait_for_load_state("domcontentloaded")
    assert await visit.page.get_attribute("html", "lang") == lang


async def _row(page: Page, title: str) -> str:
    """The assignment id of the queue's row for `title`."""
    row = page.locator("tr[data-assignment]", has_text=title)
    value = await row.get_attribute("data-assignment")
    assert value
    return value


async def test_a_reviewer_declares_a_conflict_then_scores_and_submits_in_kyrgyz(
    new_page: NewPage, world: World
) -> None:
    visit = await new_page("ky")
    page = visit.page
    await sign_in(visit, world, "ky")
    pages: dict[str, str] = {}

    await page.goto(f"{visit.site}/review")
    assert await page.get_attribute("html", "lang") == "ky"
    group = page.locator("section.review-window", has_text="Баалоо терезеси")
    await expect(group).to_contain_text("Сокур сынак")
    await expect(group.locator(".review-progress")).to_have_text(
        t("ky", "%(done)s of %(total)s done", done=0, total=3)
    )
    await expect(group.locator(".time-left")).to_be_visible()
    first, second = world.applicants[0], world.applicants[1]
    assert (await group.locator("tr[data-assignment]").count()) == 3
    await expect(group.locator("tr", has_text=first.title).locator(".review-state")).to_have_text(
        t("ky", "Declare conflicts first")
    )
    pages["queue"] = await page.content()
    await both_widths(visit, "reviewer-queue-ky")

    # the first proposal: a conflict is declared before anything of it is shown
    conflicted = await _row(page, first.title)
    await page.goto(f"{visit.site}/review/assignments/{conflicted}")
    assert await page.locator(".review-attachments").count() == 0
    assert await page.locator("#review-form").count() == 0
    await expect(page.locator("h2#declare-h")).to_be_visible()
    pages["declare"] = await page.content()
    await both_widths(visit, "reviewer-declare-ky")
    await page.check("#f-choice-conflict")
    await page.fill("#f-reason", "Бул уюмга 2025-жылы кеңеш бергем.")
    await page.click("main form button[type=submit]")
    await page.wait_for_url("**/review")
    assert await page.locator("tr[data-assignment]", has_text=first.title).count() == 0
    await expect(page.locator("#declined-h")).to_be_visible()
    await expect(page.locator(".declined-list")).to_contain_text(first.title)
    pages["queue-with-conflict"] = await page.content()
    await expect(page.locator(".review-progress")).to_have_text(
        t("ky", "%(done)s of %(total)s done", done=0, total=2)
    )

    # the second: no conflict, then the form
    scored = await _row(page, second.title)
    await page.goto(f"{visit.site}/review/assignments/{scored}")
    await page.check("#f-choice-none")
    await page.click("main form button[type=submit]")
    await page.wait_for_url(f"**/review/assignments/{scored}")
    form = page.locator("#review-form")
    await expect(form).to_be_visible()
    await expect(page.locator("fieldset#f-score-relevance .guidance")).to_contain_text(
        RUBRIC_GUIDANCE.ky or ""
    )
    await expect(page.locator("#review-total")).to_have_text("—")
    pages["form"] = await page.content()
    links = page.locator(".review-attachments a")
    assert await links.count() == 1
    pages["links"] = " ".join(await links.all_inner_texts())
    await both_widths(visit, "reviewer-form-ky")

    # live total: relevance 4 (weight 500), feasibility 3 (300), gender N/A → (20+9)/8 = 3.625
    await page.check("#f-score-relevance-40")
    await page.check("#f-score-feasibility-30")
    await page.check("#f-score-gender-na")
    await expect(page.locator("#review-total")).to_have_text(re.compile(r"^3[,.]63$"))
    await page.fill("#f-comment-relevance", "ТККнын планына так байланыштуу.")
    # autosave: the state says saved, the version moves on
    await expect(page.locator("#save-state")).to_contain_text(
        t("ky", "Draft saved at %(time)s", time="").strip(), timeout=10_000
    )
    await expect(page.locator("#version")).not_to_have_value("0")
    before = await page.locator("#version").input_value()
    await page.fill("#f-comment", "Бюджет реалдуу.")
    await page.select_option("#f-recommendation", "fund")
    await expect(page.locator("#version")).not_to_have_value(before, timeout=10_000)
    await expect(page.locator("#save-state")).to_contain_text(
        t("ky", "Draft saved at %(time)s", time="").strip()
    )

    # reload: what autosave kept is there, and the server's total
    await page.reload()
    await expect(page.locator("#f-score-feasibility-30")).to_be_checked()
    await expect(page.locator("#f-score-gender-na")).to_be_checked()
    await expect(page.locator("#f-comment")).to_have_value("Бюджет реалдуу.")
    await expect(page.locator("#review-total")).to_have_text(re.compile(r"^3[,.]63$"))

    # submit, with a confirmation
    await page.click("button[name=action][value=submit]")
    await page.wait_for_url(f"**/review/assignments/{scored}/submit")
    await expect(page.locator("table.review-scores")).to_contain_text("Актуалдуулук")
    pages["confirm"] = await page.content()
    await both_widths(visit, "reviewer-confirm-ky")
    await page.click("main form[action$='/submission'] button[type=submit]")
    await page.wait_for_url(f"**/review/assignments/{scored}")
    await expect(page.locator("#mine-h")).to_be_visible()
    assert await page.locator("#review-form").count() == 0
    await expect(page.locator("table.review-scores tfoot")).to_contain_text(re.compile(r"3[,.]63"))
    pages["submitted"] = await page.content()
    await both_widths(visit, "reviewer-submitted-ky")

    await page.goto(f"{visit.site}/review")
    await expect(page.locator(".review-progress")).to_have_text(
        t("ky", "%(done)s of %(total)s done", done=1, total=2)
    )
    await expect(page.locator("tr", has_text=second.title).locator(".review-state")).to_have_text(
        t("ky", "Submitted")
    )

    # the blind walk: no organisation, person, e-mail or file name in any page
    for where, html in pages.items():
        _assert_blind(html, world, where)
    assert visit.console_errors == []
    visit.assert_same_origin()


async def test_the_form_without_javascript_in_russian(new_page: NewPage, world: World) -> None:
    visit = await new_page("ru", js=False)
    page = visit.page
    await sign_in(visit, world, "ru")
    await page.goto(f"{visit.site}/review")
    third = world.applicants[2]
    aid = await _row(page, third.title)
    await page.goto(f"{visit.site}/review/assignments/{aid}")
    # a declaration without a choice is refused with the message next to it
    await page.click("main form button[type=submit]")
    await expect(page.locator("#f-choice-error")).to_be_visible()
    await page.check("#f-choice-none")
    await page.click("main form button[type=submit]")
    await page.wait_for_url(f"**/review/assignments/{aid}")

    # save two of three with "Save and next": saved, and on to another open assignment
    await page.check("#f-score-relevance-50")
    await page.check("#f-score-feasibility-20")
    await page.click("button[name=action][value=next]")
    await page.wait_for_url(re.compile(r"/review/assignments/[0-9a-f-]{36}$"))
    assert aid not in page.url
    await expect(page.locator(".flash-success")).to_be_visible()
    await expect(page.locator("h2#declare-h")).to_be_visible()
    # back: the server's total of what was saved
    await page.goto(f"{visit.site}/review/assignments/{aid}")
    # (50·500 + 20·300) / 800 = 38.75 tenths
    await expect(page.locator("#review-total")).to_have_text(re.compile(r"^3,88$"))

    # submitting with gender unscored: 422, the message beside the gender criterion
    await page.click("button[name=action][value=submit]")
    await page.wait_for_url(f"**/review/assignments/{aid}/submit")
    await expect(page.locator(".notice")).to_contain_text("Гендер")
    await page.click("main form[action$='/submission'] button[type=submit]")
    await expect(page.locator("#f-score-gender-error")).to_have_text(
        re.compile(re.escape(t("ru", "Score this criterion, or mark it not applicable.")))
    )
    assert await page.locator("#f-score-relevance-error").count() == 0
    await expect(page.locator(".error-summary a[href='#f-score-gender']")).to_be_visible()
    await check_page(page, "reviewer-form-422-nojs-ru")

    await page.check("#f-score-gender-30")
    await page.click("button[name=action][value=submit]")
    await page.wait_for_url(f"**/review/assignments/{aid}/submit")
    await page.click("main form[action$='/submission'] button[type=submit]")
    await page.wait_for_url(f"**/review/assignments/{aid}")
    await expect(page.locator("#mine-h")).to_be_visible()
    _assert_blind(await page.content(), world, "submitted-nojs")


async def test_an_attachment_opens_inline_with_safe_headers_and_no_name(
    new_page: NewPage, world: World
) -> None:
    visit = await new_page("ru")
    page = visit.page
    await sign_in(visit, world, "ru")
    await page.goto(f"{visit.site}/review")
    aid = await _row(page, world.applicants[0].title)
    href = f"/review/assignments/{aid}"
    # before the declaration, the file is not served either
    api = await _signed_in(visit.site, world.reviewer_email, PASSWORD)
    view_refused = await page.request.get(f"{visit.site}{href}/attachments/{uuid.uuid4()}")
    assert view_refused.status == 404
    await page.goto(f"{visit.site}{href}")
    await page.check("#f-choice-none")
    await page.click("main form button[type=submit]")
    await page.wait_for_url(f"**{href}")
    link = page.locator(".review-attachments a").first
    url = await link.get_attribute("href")
    assert url
    assert url.startswith(f"{href}/attachments/")
    text = await link.inner_text()
    _assert_blind(text, world, "link")
    answer = await page.request.get(f"{visit.site}{url}")
    assert answer.status == 200
    headers = answer.headers
    assert headers["content-type"].startswith("application/pdf")
    assert headers["content-disposition"].startswith("inline")
    assert headers["x-content-type-options"] == "nosniff"
    _assert_blind(headers["content-disposition"], world, "content-disposition")
    assert "%D0%91" not in headers["content-disposition"]  # nor the name percent-encoded
    assert (await answer.body()).startswith(b"%PDF")
    assignments = (await api.list_assignments()).items
    assert {a.blind for a in assignments} == {True}
    await api.aclose()


async def test_the_queue_and_pages_at_phone_width_in_russian(
    new_page: NewPage, world: World
) -> None:
    visit = await new_page("ru", width=PHONE)
    page = visit.page
    await sign_in(visit, world, "ru")
    await page.goto(f"{visit.site}/review")
    await expect(page.locator("h1")).to_have_text(t("ru", "Your reviews"))
    await expect(page.locator("section.review-window")).to_contain_text("Окно рецензий")
    await both_widths(visit, "reviewer-queue-ru")
    _assert_blind(await page.content(), world, "queue-ru")


async def test_a_reopened_review_is_editable_again_and_a_newer_save_is_not_overwritten(
    site: str, new_page: NewPage, world: World
) -> None:
    reviewer = await _signed_in(site, world.reviewer_email, PASSWORD)
    officer = await _signed_in(site, demo_email("officer"))
    a = next(
        x
        for x in (await reviewer.list_assignments()).items
        if x.proposal_id == world.applicants[0].proposal_id
    )
    await reviewer.create_no_conflict_declaration(a.id)
    saved = await reviewer.update_review(
        a.id,
        ReviewSave(
            scores=[
                CriterionScoreInput(criterion="relevance", value=30),
                CriterionScoreInput(criterion="feasibility", value=30),
                CriterionScoreInput(criterion="gender", value=None),
            ]
        ),
    )
    done = await reviewer.create_review_submission(a.id, ReviewSubmit(version=saved.version))
    await officer.create_review_reopening(
        done.id, ReviewReopen(version=done.version, reason="Please score gender as well")
    )

    visit = await new_page("ru")
    page = visit.page
    await sign_in(visit, world, "ru")
    await page.goto(f"{visit.site}/review/assignments/{a.id}")
    await expect(page.locator(".notice-returned")).to_contain_text(
        t("ru", "Your review was reopened")
    )
    await expect(page.locator("#review-form")).to_be_visible()
    await expect(page.locator("#f-score-relevance-30")).to_be_checked()
    await both_widths(visit, "reviewer-reopened-ru")

    # someone (another tab) saves first: the autosave says so and overwrites nothing
    current = await reviewer.get_review(a.id)
    await reviewer.update_review(
        a.id,
        ReviewSave(
            version=current.version,
            scores=[CriterionScoreInput(criterion="relevance", value=45)],
        ),
    )
    await page.check("#f-score-gender-20")
    await expect(page.locator("#save-state")).to_contain_text(
        t("ru", "Not saved: a newer version was saved elsewhere."), timeout=10_000
    )
    kept = await reviewer.get_review(a.id)
    assert [(s.criterion, s.value) for s in kept.scores] == [("relevance", 45)]

    # a conflict seen late is still declared from the form: the proposal leaves the queue
    await page.goto(f"{visit.site}/review/assignments/{a.id}")
    await page.click("details.late-conflict summary")
    await page.fill("details.late-conflict textarea[name=reason]", "Я вижу, что консультировал их.")
    await page.click("details.late-conflict button[type=submit]")
    await page.wait_for_url("**/review")
    await expect(page.locator(".declined-list")).to_contain_text(world.applicants[0].title)
    assert (
        await page.locator("tr[data-assignment]", has_text=world.applicants[0].title).count() == 0
    )
    await reviewer.aclose()
    await officer.aclose()


async def test_na_only_where_allowed_the_panels_scores_and_a_reminder_in_russian(
    new_page: NewPage, site: str
) -> None:
    """Feasibility allows no N/A: no N/A option for it, and a 422 with nothing saved if sent
    anyway (the API's own 422 is tested in tests/service/reviews/test_review_settings.py). The
    window shows
    the panel's scores: after submitting, the reviewer sees a second reviewer's scores as
    "Reviewer 2", never named (a blind window). The officer's reminder shows in the queue."""
    world = await build_world(site, 1, feasibility_na=False, panel_scores=True)
    first = world.applicants[0]
    officer = await _signed_in(site, demo_email("officer"))
    admin = await _signed_in(site, demo_email("admin"))
    tag = uuid.uuid4().hex[:6]
    other_name = f"Айбек Токтогулов {tag}"
    other = await admin.create_user(
        UserCreate(
            email=f"second-{tag}@example.kg",
            password=PASSWORD,
            full_name=other_name,
            roles=[Role.REVIEWER],
        )
    )
    await officer.update_panel(
        world.window_id,
        PanelReplace(
            reviewer_ids=[
                r.id for r in (await officer.get_panel(world.window_id)).reviewers if r.member
            ]
            + [other.id]
        ),
    )
    await officer.create_assignment(first.proposal_id, AssignmentCreate(reviewer_id=other.id))
    second = await _signed_in(site, f"second-{tag}@example.kg", PASSWORD)
    (a2,) = (await second.list_assignments()).items
    await second.create_no_conflict_declaration(a2.id)
    saved = await second.update_review(
        a2.id,
        ReviewSave(
            scores=[
                CriterionScoreInput(criterion="relevance", value=20),
                CriterionScoreInput(criterion="feasibility", value=30),
                CriterionScoreInput(criterion="gender", value=None),
            ]
        ),
    )
    await second.create_review_submission(a2.id, ReviewSubmit(version=saved.version))
    me = await _signed_in(site, world.reviewer_email, PASSWORD)
    (mine,) = (await me.list_assignments()).items
    await officer.create_reminder(world.window_id, ReminderCreate(reviewer_id=mine.reviewer_id))

    visit = await new_page("ru")
    page = visit.page
    await sign_in(visit, world, "ru")
    await page.goto(f"{visit.site}/review")
    reminder = page.locator("section.review-window .review-reminder")
    await expect(reminder).to_contain_text("Окно рецензий")
    await expect(reminder).to_contain_text(str(datetime.now(UTC).year))
    assert "1" in await reminder.inner_text()

    aid = await _row(page, first.title)
    await page.goto(f"{visit.site}/review/assignments/{aid}")
    await page.check("#f-choice-none")
    await page.click("main form button[type=submit]")
    await page.wait_for_url(f"**/review/assignments/{aid}")
    # N/A on relevance and gender, none on feasibility
    assert await page.locator("#f-score-relevance-na").count() == 1
    assert await page.locator("#f-score-gender-na").count() == 1
    assert await page.locator("#f-score-feasibility-na").count() == 0
    assert await page.locator("#f-score-feasibility-none").count() == 1  # "not scored yet"
    # forced through anyway (a stale page): refused beside the criterion, nothing saved
    refused = await page.request.post(
        f"{visit.site}/review/assignments/{aid}",
        form={
            "_csrf_token": await page.locator("#review-form input[name=_csrf_token]").get_attribute(
                "value"
            )
            or "",
            "version": "0",
            "score.relevance": "40",
            "score.feasibility": "na",
            "score.gender": "",
            "action": "save",
        },
    )
    assert refused.status == 422
    assert t("ru", "This criterion cannot be marked not applicable.") in await refused.text()
    assert (await me.list_assignments()).items[0].review_status is None

    # the live total leaves out N/A relevance: (40·300) / 300 = 4
    await page.check("#f-score-relevance-na")
    await page.check("#f-score-feasibility-40")
    await page.check("#f-score-gender-na")
    await expect(page.locator("#review-total")).to_have_text("4")
    await page.click("button[name=action][value=submit]")
    await page.wait_for_url(f"**/review/assignments/{aid}/submit")
    await page.click("main form[action$='/submission'] button[type=submit]")
    await page.wait_for_url(f"**/review/assignments/{aid}")

    table = page.locator("table.panel-scores")
    await expect(table).to_be_visible()
    heads = await table.locator("thead th").all_inner_texts()
    assert heads[1:3] == [t("ru", "Your review"), t("ru", "Reviewer %(n)s", n=2)]
    rows = {
        (await r.locator("th").inner_text()): await r.locator("td").all_inner_texts()
        for r in await table.locator("tbody tr").all()
    }
    assert rows["Реализуемость"] == ["4", "3", "3,5"]
    assert rows["Актуальность"] == [t("ru", "N/A"), "2", "2"]
    html = await page.content()
    assert other_name not in html
    assert f"second-{tag}" not in html
    _assert_blind(html, world, "panel-scores")
    await both_widths(visit, "reviewer-panel-scores-ru")
    await page.goto(f"{visit.site}/review")
    await both_widths(visit, "reviewer-queue-reminder-ru")
    for client in (officer, admin, second, me):
        await client.aclose()
