"""The programme officer's calls, windows, eligibility rules and rubrics in real Chromium (ru).

The demo officer sets up a call of their own (unique titles), so nothing the other tests rely on
changes. Texts are compared as the catalogue of the page's language translates them.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page

from contracts.calls import CallUpdate
from contracts.client import GrantsClient
from contracts.common import I18nText
from contracts.enums import OrganisationKind
from contracts.identity import OrganisationCreate, RegistrationCreate
from contracts.proposals import ProposalCreate
from service.demo import DEMO_PASSWORD
from tests.web.conftest import DESKTOP, PHONE, NewPage, check_page, demo_email
from tests.web.pages import OSH, create_call, fill_texts, t
from web.forms import FormErrors
from web.i18n import BISHKEK
from web.routes.officer_calls import (
    CriterionRow,
    RubricDraft,
    RuleRow,
    parse_local,
    parse_rubric,
    rule_rows,
)

pytestmark = pytest.mark.browser

OFFICER = demo_email("officer")


async def both_widths(page: Page, name: str) -> None:
    size = page.viewport_size or {"width": DESKTOP, "height": 800}
    for width in (DESKTOP, PHONE):
        await page.set_viewport_size({"width": width, "height": 800})
        await check_page(page, name)
    await page.set_viewport_size(size)


async def test_officer_home_and_a_window_hub(new_page: NewPage) -> None:
    visit = await new_page("ru")
    await visit.sign_in(OFFICER)
    page = visit.page
    await page.goto(f"{visit.site}/officer")
    assert await page.inner_text("h1") == t("ru", "Calls for proposals")
    await both_widths(page, "officer-home")
    hub = page.locator("main a[href^='/officer/windows/']").first
    href = await hub.get_attribute("href")
    assert href is not None
    assert re.fullmatch(r"/officer/windows/[0-9a-f-]{36}", href)
    await page.goto(visit.site + href)
    nav = page.locator(".window-nav nav a[aria-current=page]")
    assert await nav.inner_text() == t("ru", "Overview")
    await both_widths(page, "officer-window-hub")
    visit.assert_same_origin()


async def test_officer_sets_up_a_two_window_call(new_page: NewPage) -> None:
    lang = "ru"
    visit = await new_page(lang)
    await visit.sign_in(OFFICER)
    page = visit.page
    tag = uuid.uuid4().hex[:6]
    yesterday = (datetime.now(BISHKEK) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    await page.goto(f"{visit.site}/officer/calls/new")
    await both_widths(page, "officer-call-new")
    call_url = await create_call(page, visit.site, tag)
    assert await page.inner_text("h1") == f"Гранты диалога {tag} " + t(lang, "Draft")
    assert "3 000 000,00" in (await page.inner_text("section[aria-labelledby=funding]")).replace(
        "\u00a0", " "
    )
    await both_widths(page, "officer-call")

    # publishing without a window is refused, in words
    await page.click("form[action$='/transition'] button")
    summary = page.locator(".error-summary")
    assert t(lang, "A call needs at least one window before it is published.") in (
        await summary.inner_text()
    )

    # the first window: closing before opening is refused next to the field
    await page.goto(call_url + "/windows/new")
    await both_widths(page, "officer-window-new")
    await fill_texts(page, "title", {"en": "Youth", "ru": "Молодёжь", "ky": "Жаштар"})
    await page.fill("#f-opens-at", "2027-03-10T09:00")
    await page.fill("#f-closes-at", "2027-03-01T18:00")
    await page.fill("#f-min-grant", "100000")
    await page.fill("#f-max-grant", "500000")
    osh_alloc = page.get_by_label(OSH, exact=True)
    await osh_alloc.fill("1000000")
    await page.get_by_label("город Ош", exact=True).check()
    await page.click("button[value=save]")
    error = page.locator("#f-closes-at-error")
    assert t(lang, "The closing time must be after the opening time.") in await error.inner_text()
    assert await page.get_attribute("#f-closes-at", "aria-invalid") == "true"
    await both_widths(page, "officer-window-refused")
    await page.fill("#f-opens-at", yesterday)
    await page.fill("#f-closes-at", "2027-04-30T18:00")
    await page.click("button[value=save]")
    await page.wait_for_url(re.compile(r"/officer/windows/[0-9a-f-]{36}/rules$"))
    w1_url = page.url.removesuffix("/rules")

    # W1's rules: three kinds, added one by one (htmx), a refusal next to its field, then saved
    await both_widths(page, "officer-rules-empty")
    for kind in ("organisation_kind_in", "min_years_since_founding", "territory_in_window"):
        await page.select_option("#f-new-kind", kind)
        await page.click("button[value=add]")
        await page.wait_for_selector(f"input[name$='.kind'][value={kind}]", state="attached")
    assert await page.locator(".rule-card").count() == 3
    await page.check("#f-rules-0-kinds-cso")
    await page.check("#f-rules-0-kinds-initiative_group")
    await page.fill("#f-rules-1-years", "-1")
    await page.click("button[value=save]")
    error = page.locator("#f-rules-1-years-error")
    await error.wait_for()
    assert t(lang, "Enter a whole number, at least %(n)s.", n="0") in await error.inner_text()
    await both_widths(page, "officer-rules-refused")
    await page.fill("#f-rules-1-years", "2")
    await page.click("button[value=save]")
    saved = t(lang, "The rules were saved as version %(version)s.", version=1)
    await page.locator(".flash-success", has_text=saved).wait_for()
    assert await page.input_value("#f-rules-1-years") == "2"
    # a group: women-led, or at least 10% co-funding (added inside the group, then saved)
    await page.select_option("#f-new-kind", "any")
    await page.click("button[value=add]")
    await page.wait_for_selector("#f-rules-3-new-kind")
    for kind in ("led_by", "min_co_funding_share"):
        await page.select_option("#f-rules-3-new-kind", kind)
        await page.click("button[value='add_child:3']")
        await page.wait_for_selector(
            f"input[name^='rules.3.rules.'][value={kind}]", state="attached"
        )
    await page.fill("#f-rules-3-rules-1-percent", "12,5")
    await page.click("button[value=save]")
    saved2 = t(lang, "The rules were saved as version %(version)s.", version=2)
    await page.locator(".flash-success", has_text=saved2).wait_for()
    assert await page.input_value("#f-rules-3-rules-1-percent") == "12.5"
    assert await page.is_checked("#f-rules-3-rules-0-flags-women_led")
    await both_widths(page, "officer-rules-group")
    # a draft window has no proposals of its own: the preview takes one of another window
    other = page.locator("#f-proposal optgroup option").first
    await page.select_option("#f-proposal", await other.get_attribute("value"))
    await page.click("form[method=get] button")
    await page.locator("#rules-preview .verdict > .verdicts").wait_for()
    assert await page.locator("#rules-preview .verdict > .verdicts > li").count() == 4

    # the second window, with two territories
    await page.goto(call_url + "/windows/new")
    assert await page.input_value("#f-code") == "W2"
    await fill_texts(page, "title", {"en": "Women", "ru": "Женщины", "ky": "Аялдар"})
    await page.fill("#f-opens-at", "2027-03-01T09:00")
    await page.fill("#f-closes-at", "2027-05-31T18:00")
    await page.fill("#f-min-grant", "200000")
    await page.fill("#f-max-grant", "800000")
    await page.get_by_label(OSH, exact=True).fill("1500000")
    await page.get_by_label("город Ош", exact=True).check()
    await page.get_by_label("город Узген", exact=True).check()
    await page.check("#f-blind-review")
    assert not await page.is_checked("#f-reviewers-see-panel-scores")  # off by default
    await page.check("#f-reviewers-see-panel-scores")
    await page.click("button[value=save]")
    await page.wait_for_url(re.compile(r"/officer/windows/[0-9a-f-]{36}/rules$"))
    w2_url = page.url.removesuffix("/rules")
    await page.select_option("#f-new-kind", "territory_in_window")
    await page.click("button[value=add]")
    await page.wait_for_selector(".rule-card")
    await page.click("button[value=save]")
    await page.locator(".flash-success", has_text=saved).wait_for()
    await page.goto(call_url)
    windows = await page.inner_text("section[aria-labelledby=windows]")
    assert "W1 · Молодёжь" in windows
    assert "W2 · Женщины" in windows
    await page.goto(w2_url + "/edit")
    assert await page.is_checked("#f-reviewers-see-panel-scores")

    # W1's rubric: three criteria (the form starts with one; "add" gives one more each time)
    await page.goto(w1_url + "/rubric")
    await both_widths(page, "officer-rubric-empty")
    await fill_texts(page, "name", {"en": "Dialogue rubric", "ru": "Рубрика диалога"})
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
        await fill_texts(
            page,
            f"criteria-{n}-guidance",
            {"en": f"How to score {en}", "ru": f"Как оценивать: {ru}"},
        )
        await page.fill(f"#f-criteria-{n}-weight", weight)
    # N/A is allowed by default; gender must always be scored
    assert await page.is_checked("#f-criteria-0-na-allowed")
    await page.uncheck("#f-criteria-2-na-allowed")
    await page.fill("#f-criteria-0-threshold", "7")
    await page.fill("#f-tie-break", "relevance, gender")
    await page.click("button[value=save]")
    error = page.locator("#f-criteria-0-threshold-error")
    await error.wait_for()
    assert t(lang, "The threshold must lie on the scale.") in await error.inner_text()
    await both_widths(page, "officer-rubric-refused")
    await page.fill("#f-criteria-0-threshold", "2,5")
    await page.fill("#f-overall-threshold", "3")
    await page.click("button[value=save]")
    saved = t(lang, "The rubric was saved as version %(version)s.", version=1)
    await page.locator(".flash-success", has_text=saved).wait_for()
    assert await page.input_value("#f-criteria-2-code") == "gender"
    assert await page.input_value("#f-criteria-0-threshold") == "2.5"
    assert await page.input_value("#f-criteria-1-name-ky") == "Аткарылышы"
    await page.reload()  # the saved rubric as the API reads it
    assert [await page.is_checked(f"#f-criteria-{n}-na-allowed") for n in range(3)] == [
        True,
        True,
        False,
    ]
    await both_widths(page, "officer-rubric")

    # publish; then the hub shows the stage, rules and rubric
    await page.goto(call_url)
    await page.click("form[action$='/transition'] button")
    published = t(lang, "The call is now: %(status)s.", status=t(lang, "Published"))
    await page.locator(".flash-success", has_text=published).wait_for()
    await page.goto(w1_url)
    hub = await page.inner_text("main")
    assert t(lang, "Open for proposals") in hub
    assert "Рубрика" in hub or t(lang, "Rubric") in hub

    await page.goto(call_url + "/edit")
    await both_widths(page, "officer-call-edit-published")
    assert await page.locator("#f-contributions-0-amount").is_disabled()

    # once published, only the window's texts can change
    await page.goto(w1_url + "/edit")
    assert t(
        lang,
        "The call is published: only the window's texts and its review deadline can change now.",
    ) in (await page.inner_text(".notice"))
    assert await page.locator("#f-opens-at").count() == 0
    await both_widths(page, "officer-window-edit-published")
    await page.fill("#f-title-ru", "Молодёжь и диалог")
    await page.fill("#f-review-deadline", "2027-04-01T18:00")  # before the window closes
    await page.click("button[value=save]")
    error = t(lang, "The review deadline must be after the window closes.")
    assert error in await page.inner_text("#f-review-deadline-error")
    await page.fill("#f-review-deadline", "2027-05-15T18:00")
    await page.click("button[value=save]")
    await page.wait_for_url(w1_url)
    assert "Молодёжь и диалог" in await page.inner_text("h1")
    await page.goto(w1_url + "/edit")
    assert await page.input_value("#f-review-deadline") == "2027-05-15T18:00"

    # an applicant's draft in W1; the rules' preview on it
    base = GrantsClient.connect(f"{visit.site}/api/v1/")
    try:
        osh = next(x for x in (await base.list_territories()).items if x.name.ru == "город Ош")
        email = f"officer-calls-{tag}@example.kg"
        registered = await base.create_registration(
            RegistrationCreate(
                email=email,
                password="Баткен тоолору 2026",
                full_name="Preview Applicant",
                organisation=OrganisationCreate(
                    name=f"Preview org {tag}",
                    kind=OrganisationKind.COMMUNITY_MEDIA,
                    territory_id=osh.id,
                    founded_year=2015,
                ),
            )
        )
        token = await base.create_token(email, "Баткен тоолору 2026")
        applicant = base.as_user(token.access_token)
        await applicant.create_proposal(
            uuid.UUID(w1_url.rsplit("/", 1)[1]),
            ProposalCreate(organisation_id=registered.organisation.id, title=f"Радио {tag}"),
        )
    finally:
        await base.aclose()
    await page.goto(w1_url + "/rules")
    await page.select_option("#f-proposal", label=f"Радио {tag} · Preview org {tag}")
    await page.click("#rules-preview ~ form button, form[method=get] button")
    verdicts = page.locator("#rules-preview .verdict > .verdicts")
    await verdicts.wait_for()
    text = await verdicts.inner_text()
    assert text.count(t(lang, "Met")) == 2  # founded 2015, in Osh
    assert t(lang, "Not met") in text  # community media is not a CSO or initiative group
    await both_widths(page, "officer-rules-preview")
    visit.assert_same_origin()
    # the browser logs each refused (422) answer; axe's own measuring styles are refused by the
    # page's CSP while it runs: neither is the page's doing
    unexpected = [
        e for e in visit.console_errors if "status of 422" not in e and "inline style" not in e
    ]
    assert unexpected == []


async def test_the_call_form_and_a_rule_work_without_javascript(new_page: NewPage) -> None:
    lang = "ru"  # the demo officer's own language (signing in brings it back)
    visit = await new_page(lang, js=False, width=PHONE)
    await visit.sign_in(OFFICER)
    page = visit.page
    tag = uuid.uuid4().hex[:6]
    await page.goto(f"{visit.site}/officer/calls/new")
    await page.click("button[value=add_contribution]")
    assert await page.locator("select[name$='.funding_source_id']").count() == 2
    await check_page(page, "officer-call-new-nojs")
    call_url = await create_call(page, visit.site, tag)
    # the texts change later; a blank English title is refused next to its field
    await page.goto(call_url + "/edit")
    await page.fill("#f-title-en", "")
    await page.fill("#f-title-ky", f"Медиа гранттары {tag}")
    await page.click("button[value=save]")
    assert await page.get_attribute("#f-title-en", "aria-invalid") == "true"
    assert await page.input_value("#f-title-ky") == f"Медиа гранттары {tag}"
    await check_page(page, "officer-call-edit-refused-nojs")
    await page.fill("#f-title-en", f"Media grants {tag}")
    # meanwhile someone else saves the call: the form says so and shows their version
    base = GrantsClient.connect(f"{visit.site}/api/v1/")
    try:
        token = await base.create_token(OFFICER, DEMO_PASSWORD)
        officer = base.as_user(token.access_token)
        call_id = uuid.UUID(call_url.rsplit("/", 1)[1])
        current = await officer.get_call(call_id)
        await officer.update_call(
            call_id, CallUpdate(version=current.version, title=I18nText(en=f"Other {tag}"))
        )
    finally:
        await base.aclose()
    await page.click("button[value=save]")
    stale = t(
        lang,
        "Someone else changed this in the meantime. The page now shows their version: "
        "make your change again.",
    )
    assert stale in await page.inner_text(".error-summary")
    assert await page.input_value("#f-title-en") == f"Other {tag}"
    await page.fill("#f-title-en", f"Media grants {tag}")
    await page.fill("#f-title-ky", f"Медиа гранттары {tag}")
    await page.click("button[value=save]")
    assert page.url == call_url
    assert f"Медиа гранттары {tag}" in await page.inner_text("section[aria-labelledby=texts]")
    await page.goto(call_url + "/windows/new")
    await fill_texts(page, "title", {"en": "Media"})
    await page.fill("#f-opens-at", "2027-03-01T09:00")
    await page.fill("#f-closes-at", "2027-04-01T18:00")
    await page.fill("#f-min-grant", "1000")
    await page.fill("#f-max-grant", "2000")
    await page.get_by_label("город Ош", exact=True).check()
    await page.click("button[value=save]")
    await page.wait_for_url(re.compile(r"/rules$"))
    await page.select_option("#f-new-kind", "max_active_grants")
    await page.click("button[value=add]")
    assert await page.input_value("#f-rules-0-max") == "1"
    await page.fill("#f-rules-0-max", "2")
    await check_page(page, "officer-rules-nojs")
    await page.click("button[value=save]")
    saved = t(lang, "The rules were saved as version %(version)s.", version=1)
    assert saved in await page.inner_text(".flash-success")
    assert await page.input_value("#f-rules-0-max") == "2"


async def test_officer_pages_are_for_programme_officers(new_page: NewPage) -> None:
    visit = await new_page("ru", js=False)
    await visit.page.goto(f"{visit.site}/officer/calls/new")
    assert "/signin" in visit.page.url
    await visit.sign_in(demo_email("applicant.koytash"))
    response = await visit.page.goto(f"{visit.site}/officer")
    assert response is not None
    assert response.status == 403
    response = await visit.page.goto(f"{visit.site}/officer/calls/new")
    assert response is not None
    assert response.status == 403


def test_bishkek_wall_time_is_sent_as_utc() -> None:
    assert parse_local("2027-03-01T09:00") == datetime(2027, 3, 1, 3, 0, tzinfo=UTC)


def test_rules_round_trip_through_the_form_rows() -> None:
    rules = [
        {"id": "kind", "kind": "organisation_kind_in", "kinds": ["cso"]},
        {"id": "age", "kind": "min_years_since_founding", "years": 2},
        {"id": "cofund", "kind": "min_co_funding_share", "percent": "12.5"},
        {"id": "led", "kind": "led_by", "flags": ["women_led"], "mode": "quota"},
        {"id": "group", "kind": "any", "rules": [{"id": "x", "kind": "territory_in_window"}]},
    ]
    assert [row.to_json() for row in rule_rows(rules)] == rules
    typed = RuleRow(id="age", kind="min_years_since_founding", years="two")
    assert typed.to_json() == {"id": "age", "kind": "min_years_since_founding", "years": "two"}


def test_rubric_points_and_weights_become_tenths_and_thousandths() -> None:
    draft = RubricDraft(
        name={"en": "R", "ru": "", "ky": ""},
        criteria=[
            CriterionRow(
                code="a",
                name={"en": "A", "ru": "", "ky": ""},
                weight="12,5",
                scale_min="0",
                scale_max="5",
                scale_step="0.5",
                threshold="2,5",
            )
        ],
        overall_threshold="3",
        tie_break="a",
    )
    errors = FormErrors()
    body = parse_rubric(draft, 4, errors)
    assert not errors
    assert body is not None
    (c,) = body.criteria
    assert (c.weight, c.scale_min, c.scale_max, c.scale_step, c.threshold) == (125, 0, 50, 5, 25)
    assert (body.version, body.overall_threshold, body.tie_break) == (4, 30, ["a"])
    assert c.na_allowed is True
    draft.criteria[0].na_allowed = False
    body = parse_rubric(draft, 4, errors)
    assert body is not None
    assert body.criteria[0].na_allowed is False
    draft.criteria[0].threshold = "2.55"
    assert parse_rubric(draft, 4, errors) is None
    assert list(errors.fields) == ["criteria.0.threshold"]
