"""The applicant's proposal journey in real Chromium: register, draft, budget with live totals,
upload, check eligibility, submit with a last confirmation, receipt; the same submission without
JavaScript; autosave and the stale-version message with two tabs on one draft; refused uploads;
withdrawal; axe and screenshots of every page of the journey at phone and desktop width.

Each test registers an organisation of its own (a unique e-mail), so it changes nothing that
other tests of the shared demo world rely on. Texts are compared as the catalogue of the page's
language translates them, so the assertions hold before and after translation.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from babel.numbers import format_decimal
from playwright.async_api import FilePayload, Page, expect

from contracts.client import ApiError, GrantsClient
from contracts.enums import OrganisationKind
from contracts.identity import OrganisationCreate, RegistrationCreate
from contracts.proposals import ProposalCreate, ProposalSubmit, ProposalUpdate
from tests.web.conftest import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    NewPage,
    Visit,
    check_page,
    demo_email,
)
from web.i18n import translations
from web.routes.applicant import Draft, Line, Step, line_total, parse_draft

pytestmark = pytest.mark.browser

# A one-page PDF (catalog, pages, page, xref, trailer).
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n"
    b"0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n160\n%%EOF\n"
)
PDF_TYPE = "application/pdf"
RECEIPT = re.compile(r"^\d{4}-W2-\d{5}$")
RECEIPT_ANY = re.compile(r"^\d{4}-W\d-\d{5}$")


def t(lang: str, message: str, **values: object) -> str:
    """`message` as the page in `lang` shows it."""
    text = translations(lang).gettext(message)
    return text % values if values else text


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


async def both_widths(page: Page, name: str) -> None:
    """axe and a screenshot at desktop width, then at phone width; back to where it was."""
    size = page.viewport_size or {"width": DESKTOP, "height": 800}
    for width in (DESKTOP, PHONE):
        await page.set_viewport_size({"width": width, "height": 800})
        await check_page(page, name)
    await page.set_viewport_size(size)
    # axe leaves an empty `style=""` on the inputs it measured; htmx's settle would copy it onto
    # the swapped-in elements, which the strict CSP refuses (a console error that real people
    # never cause). Take axe's residue away.
    await page.evaluate(
        "document.querySelectorAll('[style=\"\"]').forEach(e => e.removeAttribute('style'))"
    )


async def register(visit: Visit, name: str) -> str:
    """A new organisation (a CSO founded in 2015: eligible for window 2) and its first user."""
    page = visit.page
    email = f"applicant-{uuid.uuid4().hex[:8]}@example.kg"
    password = "Баткен тоолору 2026"
    await page.goto(f"{visit.site}/register")
    await page.fill("#f-full-name", "Айгүл Осмонова")
    await page.fill("#f-email", email)
    await page.fill("#f-password", password)
    await page.fill("#f-password-again", password)
    await page.fill("#f-organisation-name", f"{name} {uuid.uuid4().hex[:6]}")
    await page.select_option("#f-organisation-kind", "cso")
    await page.select_option("#f-organisation-territory-id", index=1)
    await page.fill("#f-organisation-founded-year", "2015")
    await page.click("main form button[type=submit]")
    await page.wait_for_url("**/my")
    return email


async def start_proposal(visit: Visit, lang: str, *, check: bool = False) -> str:
    """From the dashboard to the open window's call page, "Start a proposal": the editor's URL."""
    page = visit.page
    await page.goto(f"{visit.site}/my")
    if check:
        await both_widths(page, f"applicant-dashboard-empty-{lang}")
    await page.click(".open-windows a[href^='/calls/']")
    await page.wait_for_load_state("domcontentloaded")
    await page.click("form[action$='/proposals'] button[type=submit]")
    await page.wait_for_url(re.compile(r"/proposals/[0-9a-f-]{36}$"))
    return page.url


async def fill_fields(page: Page) -> None:
    """Everything but the budget and the documents, as an applicant in Batken would."""
    today = datetime.now(UTC).date()
    await page.fill("#f-title", "Баткен жаштарынын тынчтык мектеби")
    await page.fill("#f-summary", "Чек арадагы айылдардын жаштары үчүн диалог мектеби.")
    await page.fill("#f-problem-statement", "Суу жана жер боюнча талаштар жаштардын ортосунда.")
    await page.fill("#f-activities", "Тренингдер, биргелешкен долбоорлор, жамааттык форум.")
    await page.fill("#f-target-groups", "Жаштар\nАялдар")
    await page.fill("#f-requested-amount", "500000")
    await page.fill("#f-co-funding-amount", "60000")
    await page.select_option("#f-gender-marker", "2")
    await page.fill("#f-gender-justification", "Кыздар менен жигиттер тең катышат.")
    await page.fill("#f-conflict-sensitivity", "Ар бир айылдан бирдей катышуучу.")
    await page.fill("#f-timeline-0-activity", "Тренингдер")
    await page.fill("#f-timeline-0-start", (today + timedelta(days=60)).isoformat())
    await page.fill("#f-timeline-0-end", (today + timedelta(days=120)).isoformat())
    await page.check("#items input[type=checkbox] >> nth=0")


async def upload(page: Page, kind: str, name: str, data: bytes, mime: str = PDF_TYPE) -> None:
    await page.select_option("#f-kind", kind)
    payload: FilePayload = {"name": name, "mimeType": mime, "buffer": data}
    await page.set_input_files("#f-file", files=[payload])
    await page.click("#attachments form.upload-form button[type=submit]")


async def test_the_journey_in_kyrgyz_with_javascript(new_page: NewPage) -> None:
    visit = await new_page("ky")
    page = visit.page
    await register(visit, "Баткен жаштары")
    editor = await start_proposal(visit, "ky", check=True)
    await both_widths(page, "applicant-editor-new-ky")
    await fill_fields(page)

    # the budget: live line, category and grand totals while typing
    await page.fill("#f-lines-0-category", "Жол кире")
    await page.fill("#f-lines-0-description", "Автобус, 2 сапар")
    await page.fill("#f-lines-0-quantity", "2")
    await page.fill("#f-lines-0-unit-cost", "1500,50")
    row = page.locator("[data-budget-row]").nth(0)
    # written by app.js as the server writes it ("3 001,00"), though this Chromium's Intl has
    # no Kyrgyz number format (it wrote "3,001.00")
    await expect(row.locator("[data-line-total]")).to_have_text(
        format_decimal(Decimal("3001.00"), format="#,##0.00", locale="ky")
    )
    assert digits(await page.inner_text("[data-budget-total]")) == "300100"
    assert "Жол кире" in await page.inner_text("[data-category-totals]")
    # another line: "Add a budget line" saves and comes back with an empty row
    await page.click("button[name=action][value=add_line]")
    await page.wait_for_url(re.compile(r"lines=\d"))
    assert await page.input_value("#f-title") == "Баткен жаштарынын тынчтык мектеби"
    await page.fill("#f-lines-1-category", "Жай жана тамак")
    await page.fill("#f-lines-1-description", "Форум, 3 күн")
    await page.fill("#f-lines-1-quantity", "1")
    await page.fill("#f-lines-1-unit-cost", "496999")
    assert digits(await page.inner_text("[data-budget-total]")) == "50000000"
    cats = await page.inner_text("[data-category-totals]")
    assert "Жай жана тамак" in cats
    assert "Жол кире" in cats
    # autosave: the state says saved, the version moves on
    version = int(await page.input_value("#version"))
    await expect(page.locator("#save-state")).to_have_text(
        re.compile(re.escape(t("ky", "Saved at %(time)s", time=""))), timeout=15_000
    )
    await expect(page.locator("#version")).not_to_have_value(str(version), timeout=15_000)
    await page.reload()
    assert await page.input_value("#f-lines-1-unit-cost") == "496999.00"
    # the server renders the same totals
    assert digits(await page.inner_text("[data-budget-total]")) == "50000000"
    await both_widths(page, "applicant-editor-filled-ky")

    # documents: an htmx upload with its progress bar, the list swapped in place
    await page.evaluate(
        """window.progressSeen = [];
        document.addEventListener("htmx:xhr:progress", function () {
          var bar = document.querySelector("progress[data-upload-progress]");
          window.progressSeen.push(bar && !bar.hidden && bar.value > 0);
        });"""
    )
    await upload(page, "budget", "budget.pdf", PDF)
    await expect(page.locator(".attachment-list li")).to_have_count(1)
    assert True in await page.evaluate("window.progressSeen")
    await upload(page, "registration_certificate", "kuboluk.pdf", PDF)
    await expect(page.locator(".attachment-list li")).to_have_count(2)
    assert page.url.startswith(editor)

    # check eligibility: every rule met
    await page.click("button[name=action][value=check]")
    await page.wait_for_url(re.compile(r"/check"))
    await expect(page.locator("#eligibility .verdict")).to_have_class(re.compile("verdict-pass"))
    assert await page.locator("#eligibility .badge-fail").count() == 0
    await both_widths(page, "applicant-eligibility-ky")

    # submission with a last confirmation, then the receipt
    await page.click("button[name=action][value=submit]")
    await page.wait_for_url("**/submit")
    await both_widths(page, "applicant-confirm-ky")
    await page.click("form[action$='/submission'] button[type=submit]")
    await page.wait_for_url("**/receipt")
    number = (await page.inner_text("#receipt-number")).strip()
    assert RECEIPT.match(number), number
    assert re.search(r"\d{1,2}:\d{2}:\d{2}", await page.inner_text("#receipt-time"))
    await both_widths(page, "applicant-receipt-ky")

    # the submitted proposal reads without inputs; the dashboard lists it with its receipt
    await page.goto(editor)
    assert await page.locator("form#editor").count() == 0
    assert await page.locator("main input[name=title]").count() == 0
    assert number in await page.inner_text("main")
    main_text = await page.inner_text("main")
    assert "496" in main_text
    assert "Суу жана жер боюнча талаштар жаштардын ортосунда." in main_text  # the problem
    assert "Тренингдер, биргелешкен долбоорлор, жамааттык форум." in main_text  # activities
    await both_widths(page, "applicant-submitted-ky")
    await page.goto(f"{visit.site}/my")
    assert number in await page.inner_text("main")
    await both_widths(page, "applicant-dashboard-ky")

    # withdrawal before the deadline, with its confirmation and a reason
    await page.goto(f"{editor}/withdraw")
    await both_widths(page, "applicant-withdraw-ky")
    await page.fill("#f-reason", "Долбоорду кийинки жылы беребиз.")
    await page.click("form[action$='/withdrawal'] button[type=submit]")
    await page.wait_for_url(editor)
    assert t("ky", "Withdrawn") in await page.inner_text(".proposal-facts")
    assert await page.locator("a[href$='/withdraw']").count() == 0
    assert visit.console_errors == []
    visit.assert_same_origin()


async def test_the_submission_without_javascript(new_page: NewPage) -> None:
    visit = await new_page("ky", js=False)
    page = visit.page
    await register(visit, "Ош медиа")
    editor = await start_proposal(visit, "ky")
    await fill_fields(page)
    await page.fill("#f-lines-0-category", "Жабдык")
    await page.fill("#f-lines-0-description", "Микрофондор")
    await page.fill("#f-lines-0-quantity", "4")
    await page.fill("#f-lines-0-unit-cost", "125000")
    # a wrong amount comes back with its message next to the field, the rest kept
    await page.fill("#f-co-funding-amount", "алтымыш миң")
    await page.click("button[name=action][value=save]")
    assert await page.locator("#f-co-funding-amount-error").count() == 1
    assert await page.input_value("#f-lines-0-unit-cost") == "125000"
    assert await page.locator(".error-summary a[href='#f-co-funding-amount']").count() == 1
    # no axe without JavaScript; a screenshot to look at
    shot = SCREENSHOTS / "applicant-editor-422-nojs-ky-1280.png"
    await page.screenshot(path=str(shot), full_page=True)
    await page.fill("#f-co-funding-amount", "60000")
    # "Add a budget line" saves (POST → 303 → GET) and adds an empty row
    await page.click("button[name=action][value=add_line]")
    await page.wait_for_url(re.compile(r"lines=\d"))
    assert await page.input_value("#f-lines-0-unit-cost") == "125000.00"
    assert digits(await page.inner_text("[data-line-total] >> nth=0")) == "50000000"
    assert digits(await page.inner_text("[data-budget-total]")) == "50000000"
    await page.fill("#f-lines-1-category", "Башка")
    await page.fill("#f-lines-1-description", "Тизме")
    await page.fill("#f-lines-1-quantity", "1")
    await page.fill("#f-lines-1-unit-cost", "1")
    await page.click("button[name=action][value=save]")
    await page.wait_for_url(editor)
    assert await page.locator("[data-budget-row]").count() == 3  # two lines and an empty row
    # "Remove line 2" removes it
    await page.click("button[name=remove_line][value='1']")
    await page.wait_for_url(re.compile(r"#editor$"))
    assert await page.input_value("#f-lines-1-category") == ""
    # documents without htmx: a plain multipart POST, then back to the list
    await upload(page, "budget", "budget.pdf", PDF)
    await page.wait_for_url(re.compile(r"#attachments$"))
    await upload(page, "registration_certificate", "certificate.pdf", PDF)
    await page.wait_for_url(re.compile(r"#attachments$"))
    assert await page.locator(".attachment-list li").count() == 2
    await page.click("button[name=action][value=check]")
    await page.wait_for_url(re.compile(r"/check"))
    assert await page.locator("#eligibility .verdict-pass").count() == 1
    await page.click("button[name=action][value=submit]")
    await page.wait_for_url("**/submit")
    await page.click("form[action$='/submission'] button[type=submit]")
    await page.wait_for_url("**/receipt")
    assert RECEIPT.match((await page.inner_text("#receipt-number")).strip())
    # a second submission of the same page (back button) is not a second proposal
    await page.goto(f"{editor}/submit")
    assert page.url == editor
    visit.assert_same_origin()


async def test_autosave_and_a_newer_version_saved_in_another_tab(new_page: NewPage) -> None:
    visit = await new_page("ru")
    first = visit.page
    await register(visit, "Соседи Узгена")
    editor = await start_proposal(visit, "ru")
    second = await visit.context.new_page()
    second.on("request", lambda r: visit.requests.append(r.url))
    await second.goto(editor)
    stale_version = await second.input_value("#version")

    await first.fill("#f-title", "Фестиваль соседей")
    await expect(first.locator("#save-state")).to_have_text(
        re.compile(re.escape(t("ru", "Saved at %(time)s", time=""))), timeout=15_000
    )
    await expect(first.locator("#version")).not_to_have_value(stale_version, timeout=15_000)

    # the other tab still holds the old version: its autosave is refused, never overwriting
    await second.fill("#f-summary", "Текст из второй вкладки")
    state = second.locator("#save-state")
    await expect(state).to_have_class(re.compile("conflict"), timeout=15_000)
    assert await state.locator(f"a[href='{editor.removeprefix(visit.site)}']").count() == 1
    assert await second.input_value("#version") == stale_version
    await both_widths(second, "applicant-autosave-conflict-ru")
    # its full save too: 409, the typed text kept on the page, a way to load the newest version
    await second.click("button[name=action][value=save]")
    await expect(second.locator(".conflict-box")).to_be_visible()
    assert await second.input_value("#f-summary") == "Текст из второй вкладки"
    await both_widths(second, "applicant-save-conflict-ru")
    await second.click(".conflict-box a")
    await second.wait_for_url(editor)
    assert await second.input_value("#f-title") == "Фестиваль соседей"
    assert await second.input_value("#f-summary") == ""
    # the draft's other pages in Russian: the dashboard's next action, the last confirmation
    # (not eligible yet: it says so), the withdrawal's confirmation
    await second.goto(f"{visit.site}/my")
    assert (
        await second.locator(f".proposal-card a[href='{editor.removeprefix(visit.site)}']").count()
        >= 1
    )
    await both_widths(second, "applicant-dashboard-draft-ru")
    await second.goto(f"{editor}/submit")
    assert await second.locator(".verdict-pass").count() == 0
    assert await second.locator("form[action$='/submission']").count() == 1
    await both_widths(second, "applicant-confirm-ru")
    await second.goto(f"{editor}/withdraw")
    await both_widths(second, "applicant-withdraw-ru")

    # signed out elsewhere (the API token revoked): the autosave says so and keeps the text
    other = await new_page("ru")
    await other.context.add_cookies(await visit.context.cookies())  # type: ignore[arg-type]  # the same cookies, as Playwright lists them
    await other.page.goto(f"{visit.site}/my")
    await other.page.click("form.signout button")
    await other.page.wait_for_url(f"{visit.site}/")
    await first.fill("#f-summary", "Текст после выхода")
    await expect(first.locator("#save-state")).to_contain_text(
        t(
            "ru",
            "Not saved: you are signed out. Copy your latest text, sign in again in another "
            "tab, then press Save.",
        ),
        timeout=15_000,
    )
    assert first.url == editor
    assert await first.input_value("#f-summary") == "Текст после выхода"
    visit.assert_same_origin()


async def test_refused_uploads_say_why(new_page: NewPage) -> None:
    visit = await new_page("ru", width=PHONE)
    page = visit.page
    await register(visit, "Медиа Джалал-Абада")
    await start_proposal(visit, "ru")
    await upload(page, "budget", "budget.txt", b"this is not a PDF\n", "text/plain")
    error = page.locator("#attachments .field-error")
    await expect(error).to_contain_text(
        t(
            "ru",
            "This type of file is not accepted. Upload a PDF, Word (DOCX), Excel (XLSX), "
            "JPEG or PNG file.",
        )
    )
    await both_widths(page, "applicant-upload-refused-ru")
    big = PDF + b"0" * (10 * 1024 * 1024)
    await upload(page, "budget", "big.pdf", big)
    await expect(error).to_contain_text(
        t(
            "ru",
            "The file is too large. A file may be at most 10 MB, and the attachments of a "
            "proposal at most 40 MB together.",
        )
    )
    assert await page.locator(".attachment-list li").count() == 0
    # larger than the web itself takes (12 MB): the same words, not an error page
    await page.reload()
    await upload(page, "budget", "huge.pdf", PDF + b"0" * (13 * 1024 * 1024))
    await expect(error).to_contain_text(
        t(
            "ru",
            "The file is too large. A file may be at most 10 MB, and the attachments of a "
            "proposal at most 40 MB together.",
        )
    )
    # a good one after the refusals is attached, and deleted again
    await upload(page, "budget", "budget.pdf", PDF)
    await expect(page.locator(".attachment-list li")).to_have_count(1)
    href = await page.get_attribute(".attachment-list li a", "href")
    assert href is not None
    download = await page.request.get(f"{visit.site}{href}")
    assert download.status == 200
    assert download.headers["content-type"] == PDF_TYPE
    assert await download.body() == PDF
    await page.click(".attachment-list form button")
    await expect(page.locator(".attachment-list li")).to_have_count(0)
    visit.assert_same_origin()


async def test_the_russian_applicants_pages(new_page: NewPage) -> None:
    """A demo applicant reading Russian: the dashboard with an awarded proposal and its
    read-only page."""
    visit = await new_page("ru")
    await visit.sign_in(demo_email("applicant.koytash"))
    page = visit.page
    await page.goto(f"{visit.site}/my")
    await both_widths(page, "applicant-dashboard-ru")
    await page.click(".proposal-card h3 a >> nth=0")
    await page.wait_for_url(re.compile(r"/proposals/[0-9a-f-]{36}$"))
    assert await page.locator("form#editor").count() == 0
    await both_widths(page, "applicant-readonly-ru")
    await page.click(".proposal-facts a[href$='/receipt']")
    await page.wait_for_url("**/receipt")
    assert RECEIPT_ANY.match((await page.inner_text("#receipt-number")).strip())
    await both_widths(page, "applicant-receipt-ru")
    visit.assert_same_origin()


def test_the_editor_reads_blank_rows_as_nothing_and_names_each_wrong_cell() -> None:
    """The form's parsing (no browser): empty rows are ignored, amounts take a decimal comma,
    and each wrong cell gets a message under its own name, numbered as the page shows it."""
    draft = Draft(
        version=3,
        title="Festival",
        requested_amount="1 500,50",
        timeline=[Step(), Step("Training", "2027-03-10", "2027-03-01")],
        lines=[Line(), Line("Travel", "Bus", "2", "10,5"), Line("Staff", "", "0", "x")],
    )
    parsed = parse_draft(draft, "KGS")
    assert parsed.fields["requested_amount"] == 150050
    assert "timeline" not in parsed.fields
    assert parsed.lines is None
    assert sorted(parsed.errors.fields) == [
        "lines.1.description",
        "lines.1.quantity",
        "lines.1.unit_cost",
        "timeline.0.end",
    ]
    good = parse_draft(Draft(version=1, title="T", lines=[Line("A", "B", "1.5", "0.03")]), "KGS")
    assert good.errors.fields == {}
    assert good.lines is not None
    assert [(ln.quantity, ln.unit_cost) for ln in good.lines] == [(Decimal("1.5"), 3)]
    assert line_total(Decimal("1.5"), 3) == 4  # 4.5 minor units, half to even
    assert line_total(Decimal("2.5"), 3) == 8  # 7.5 → 8


async def test_my_proposals_lists_only_the_persons_own_organisations(new_page: NewPage) -> None:
    """A programme officer reads every proposal through the API, but `/my` is a member's page:
    it lists none for staff without an organisation."""
    visit = await new_page("en")
    await visit.sign_in(demo_email("officer"))
    page = visit.page
    await page.goto(f"{visit.site}/my")
    assert await page.locator(".proposal-card").count() == 0
    applicant = await new_page("en")
    await applicant.sign_in(demo_email("applicant.koytash"))
    await applicant.page.goto(f"{applicant.site}/my")
    assert await applicant.page.locator(".proposal-card").count() >= 1


async def test_the_api_keeps_the_problem_statement_and_the_activities(site: str) -> None:
    """The two fields the editor added to the API (no browser): written by PATCH, read back,
    limited to 5,000 characters like the other statements, kept at submission."""
    base = GrantsClient.connect(f"{site}/api/v1/")
    try:
        territory = (await base.list_territories()).items[0]
        email = f"api-{uuid.uuid4().hex[:8]}@example.kg"
        registered = await base.create_registration(
            RegistrationCreate(
                email=email,
                password="Баткен тоолору 2026",
                full_name="Api Applicant",
                organisation=OrganisationCreate(
                    name=f"Api org {uuid.uuid4().hex[:6]}",
                    kind=OrganisationKind.CSO,
                    territory_id=territory.id,
                    founded_year=2015,
                ),
            )
        )
        token = await base.create_token(email, "Баткен тоолору 2026")
        client = base.as_user(token.access_token)
        calls = (await client.list_calls(status="published")).items
        window = next(w for c in calls for w in c.windows if w.is_open)
        draft = await client.create_proposal(
            window.id, ProposalCreate(organisation_id=registered.organisation.id, title="API")
        )
        assert (draft.problem_statement, draft.activities) == (None, None)
        updated = await client.update_proposal(
            draft.id,
            ProposalUpdate(
                version=draft.version,
                problem_statement="Water disputes",
                activities="Dialogue circles",
                requested_amount=window.min_grant,
            ),
        )
        assert (updated.problem_statement, updated.activities) == (
            "Water disputes",
            "Dialogue circles",
        )
        with pytest.raises(ApiError) as refused:
            await client.request(
                "PATCH",
                f"proposals/{draft.id}",
                None,
                body={"version": updated.version, "problem_statement": "x" * 5001},
            )
        assert refused.value.status == 422
        receipt = await client.create_submission(draft.id, ProposalSubmit(version=updated.version))
        assert receipt.proposal.problem_statement == "Water disputes"
        assert receipt.proposal.activities == "Dialogue circles"
    finally:
        await base.aclose()
