"""The applicant after the decision, in real Chromium: the decision and the panel's feedback (no
reviewer anywhere in the page), the grants and their tranches, and the progress and financial
reports — filled, an attachment uploaded, submitted (with and without JavaScript), refused with
the message next to its field, returned by the programme officer and submitted again.

Languages follow the demo applicants' own (sign-in sets the account's language): Koy-Tash's
applicant reads Russian, Yntymak's and Ayil Unu's Kyrgyz. Each test makes its own reports, so it
does not depend on what other tests do with the shared demo world.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal

import pytest
from playwright.async_api import FilePayload, Page, expect

from contracts.client import GrantsClient
from contracts.enums import DecisionReasonCode, ProposalStatus, ReportKind, Role
from contracts.reports import ReportCreate, ReportDecisionCreate, ReportSubmit, ReportUpdate
from service.demo import DEMO_PASSWORD
from tests.web.conftest import DESKTOP, PHONE, NewPage, Visit, check_page, demo_email
from web.i18n import translations

pytestmark = pytest.mark.browser

RU_APPLICANT = demo_email("applicant.koytash")  # preferred language: Russian
KY_APPLICANT = demo_email("applicant.yntymak")  # preferred language: Kyrgyz
KY_NOT_SELECTED = demo_email("applicant.ayilunu")  # Kyrgyz; its proposal was not selected

# A one-page PDF (header, catalog, pages, page, xref, trailer): what a scanned receipt would be.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n"
    b"0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n160\n%%EOF\n"
)

Api = Callable[[str], Awaitable[GrantsClient]]

REASONS = {
    DecisionReasonCode.FUNDED: "Selected in the window's selection run and funded with %(amount)s.",
    DecisionReasonCode.NOT_FUNDED: (
        "Not selected: in the selection run the window's budget, under its quotas, went to "
        "other proposals."
    ),
}
"""The feedback page's words for a decision the selection run made (web/routes/grants.py)."""


@pytest.fixture
async def api(site: str) -> AsyncIterator[Api]:
    """The API client signed in as a demo person."""
    made: list[GrantsClient] = []

    async def sign_in(email: str) -> GrantsClient:
        base = GrantsClient.connect(f"{site}/api/v1/")
        made.append(base)
        token = await base.create_token(email, DEMO_PASSWORD)
        return base.as_user(token.access_token)

    yield sign_in
    for client in made:
        await client.aclose()


async def _visit(
    new_page: NewPage, lang: str, email: str, *, js: bool = True, width: int = DESKTOP
) -> Visit:
    visit = await new_page(lang, js=js, width=width)
    await visit.sign_in(email)
    assert await visit.page.get_attribute("html", "lang") == lang
    return visit


async def _grant_id(client: GrantsClient) -> uuid.UUID:
    grants = (await client.list_grants()).items
    assert len(grants) == 1
    return grants[0].id


async def _check(page: Page, name: str) -> None:
    """`check_page`, then the empty `style=""` attributes axe leaves on inputs removed: htmx
    would copy them onto the swapped-in fields and the CSP would (rightly) refuse them, a
    console error the app did not cause."""
    await check_page(page, name)
    await page.evaluate(
        "document.querySelectorAll('[style=\"\"]').forEach(e => e.removeAttribute('style'))"
    )


async def _main_text(page: Page) -> str:
    return await page.inner_text("main")


# --- feedback -------------------------------------------------------------------------------


async def test_feedback_shows_decision_and_scores_and_no_reviewer(
    new_page: NewPage, api: Api, site: str
) -> None:
    admin = await api(demo_email("admin"))
    people = (await admin.list_users(limit=200)).items
    reviewers = [u for u in people if Role.REVIEWER in u.roles]
    # the demo's four reviewers at least (other tests on the shared site add their own)
    assert {demo_email(f"reviewer{n}") for n in range(1, 5)} <= {u.email for u in reviewers}
    hidden = [s for u in reviewers for s in (u.full_name, u.email, str(u.id))]
    for lang, email, outcome, code in (
        ("ru", RU_APPLICANT, "selected", DecisionReasonCode.FUNDED),
        ("ky", KY_NOT_SELECTED, "not_selected", DecisionReasonCode.NOT_FUNDED),
    ):
        client = await api(email)
        proposal = next(
            p
            for p in (await client.list_proposals()).items
            if p.status in (ProposalStatus.AWARDED, ProposalStatus.NOT_SELECTED)
        )
        fb = await client.get_feedback(proposal.id)
        assert fb.decision is not None
        assert fb.decision.outcome == outcome
        for width in (PHONE, DESKTOP):
            visit = await _visit(new_page, lang, email, width=width)
            page = visit.page
            await page.goto(f"{site}/proposals/{proposal.id}/feedback")
            assert page.url.endswith("/feedback")
            await expect(page.locator("h1")).to_have_count(1)
            rows = page.locator("table.scores tbody tr")
            await expect(rows).to_have_count(len(fb.criteria))
            assert len(fb.criteria) == 3
            for n, criterion in enumerate(fb.criteria):
                assert criterion.title is not None
                name = getattr(criterion.title, lang) or criterion.title.en
                await expect(rows.nth(n).locator("th")).to_have_text(name)
                # the score in points, with the language's decimal comma ("4,5"), of 5
                value = int(criterion.value or "0")
                shown = f"{value // 10},{value % 10}" if value % 10 else str(value // 10)
                await expect(rows.nth(n).locator("td").first).to_contain_text(shown)
                await expect(rows.nth(n).locator("td").first).to_contain_text("5")
            await expect(page.locator(".decision .outcome")).to_have_count(1)
            main = await _main_text(page)
            # the selection run decided: the reason in the reader's language (as the feedback
            # PDF words it), not the selection engine's English explanation
            assert fb.decision.reason_code == code
            assert fb.decision.reason not in main
            wording = translations(lang).gettext(REASONS[code]).split("%(")[0]
            assert wording != REASONS[code].split("%(")[0]
            assert wording in main
            for comment in fb.comments:
                assert comment in main
            html = await page.content()
            leaked = [s for s in hidden if s in html]
            assert leaked == []
            await check_page(page, f"grants-feedback-{lang}")
            visit.assert_same_origin()


async def test_feedback_of_another_organisation_is_not_found(
    new_page: NewPage, api: Api, site: str
) -> None:
    other = await api(KY_NOT_SELECTED)
    proposal = (await other.list_proposals()).items[0]
    visit = await _visit(new_page, "ru", RU_APPLICANT)
    resp = await visit.page.goto(f"{site}/proposals/{proposal.id}/feedback")
    assert resp is not None
    assert resp.status == 404
    assert proposal.title not in await visit.page.content()
    # nor its grant, nor its reports
    owner = await api(KY_APPLICANT)
    grant_id = await _grant_id(owner)
    report = await owner.create_report(grant_id, ReportCreate(kind=ReportKind.PROGRESS))
    for path in (f"/grants/{grant_id}", f"/reports/{report.id}"):
        resp = await visit.page.goto(f"{site}{path}")
        assert resp is not None
        assert resp.status == 404


# --- grants ---------------------------------------------------------------------------------


async def test_grants_and_tranches_in_both_languages(
    new_page: NewPage, api: Api, site: str
) -> None:
    for lang, email in (("ru", RU_APPLICANT), ("ky", KY_APPLICANT)):
        client = await api(email)
        grant = await client.get_grant(await _grant_id(client))
        for width in (PHONE, DESKTOP):
            visit = await _visit(new_page, lang, email, width=width)
            page = visit.page
            await page.click("header nav a[href='/grants']")
            await page.wait_for_url(f"{site}/grants")
            await expect(page.locator(f"main a[href='/grants/{grant.id}']")).to_have_text(
                grant.title
            )
            await check_page(page, f"grants-list-{lang}")
            await page.click(f"main a[href='/grants/{grant.id}']")
            await page.wait_for_url(f"{site}/grants/{grant.id}")
            tranches = page.locator("article.tranche")
            await expect(tranches).to_have_count(len(grant.tranches))
            for n, tranche in enumerate(grant.tranches):
                await expect(tranches.nth(n)).to_have_class(
                    re.compile(rf"\btranche-{tranche.status.value}\b")
                )
                met = [c for c in tranche.conditions if c.met_at is not None]
                await expect(tranches.nth(n).locator(".conditions .badge-pass")).to_have_count(
                    len(met)
                )
                await expect(tranches.nth(n).locator(".conditions li")).to_have_count(
                    len(tranche.conditions)
                )
            await check_page(page, f"grants-grant-{lang}")
            visit.assert_same_origin()


# --- reports --------------------------------------------------------------------------------


async def _start_report(page: Page, site: str, grant_id: uuid.UUID, kind: str) -> str:
    await page.goto(f"{site}/grants/{grant_id}")
    first_open = page.locator("article.tranche:not(.tranche-cancelled)").first
    await first_open.locator(f"button[name=kind][value={kind}]").click()
    await page.wait_for_url(re.compile(r"/reports/[0-9a-f-]{36}$"))
    return page.url


async def test_progress_report_filled_uploaded_and_submitted_with_javascript(
    new_page: NewPage, api: Api, site: str
) -> None:
    client = await api(KY_APPLICANT)
    grant_id = await _grant_id(client)
    visit = await _visit(new_page, "ky", KY_APPLICANT, width=PHONE)
    page = visit.page
    url = await _start_report(page, site, grant_id, "progress")
    report_id = uuid.UUID(url.rsplit("/", 1)[-1])
    values = page.locator("input[name^='value.']")
    count = await values.count()
    assert count >= 1
    filled: dict[str, Decimal] = {}
    for n in range(count):
        await values.nth(n).fill(str(n + 2))
        name = await values.nth(n).get_attribute("name")
        assert name is not None
        filled[name.removeprefix("value.")] = Decimal(n + 2)
    await page.fill("#f-narrative", "Айылдарда 12 жолугушуу өткөрүлдү; 240 киши катышты.")
    await page.click("#report-form button[value=save]")
    await page.wait_for_url(url)
    await expect(page.locator(".flash-success")).to_have_count(1)
    await expect(page.locator("#f-narrative")).to_have_value(
        "Айылдарда 12 жолугушуу өткөрүлдү; 240 киши катышты."
    )
    await _check(page, "grants-report-progress-ky")

    # a file that is not a document is refused, in words, next to the file field
    await page.set_input_files(
        "#f-file", files=[FilePayload(name="notes.txt", mimeType="text/plain", buffer=b"hello")]
    )
    await page.click("#report-attachments form.upload button[type=submit]")
    await expect(page.locator("#f-file-error")).to_have_count(1)
    await expect(page.locator("#f-file-error")).to_contain_text("PDF")
    # and one over the API's 10 MB limit, in words too (not the web app's bare 413)
    big = b"%PDF-1.4\n" + b"0" * (11 * 1024 * 1024)
    await page.set_input_files(
        "#f-file", files=[FilePayload(name="scan.pdf", mimeType="application/pdf", buffer=big)]
    )
    await page.click("#report-attachments form.upload button[type=submit]")
    await expect(page.locator("#f-file-error")).to_contain_text("10")
    await expect(page.locator("#f-file-error")).not_to_contain_text("PDF, DOCX")
    # a PDF goes in, in place (htmx), with the progress bar in the form
    await expect(page.locator("#report-attachments progress[data-upload-progress]")).to_have_count(
        1
    )
    await page.set_input_files(
        "#f-file",
        files=[FilePayload(name="attendance.pdf", mimeType="application/pdf", buffer=PDF)],
    )
    await page.click("#report-attachments form.upload button[type=submit]")
    await expect(page.locator("#report-attachments a", has_text="attendance.pdf")).to_have_count(1)
    await expect(page.locator("#f-file-error")).to_have_count(0)
    await expect(page.locator("#report-attachments [role=status]")).to_contain_text(
        "attendance.pdf"
    )
    assert page.url == url  # swapped in place, no reload
    link = page.locator("#report-attachments a", has_text="attendance.pdf")
    href = await link.get_attribute("href")
    assert href is not None
    download = await page.request.get(f"{site}{href}")
    assert download.status == 200
    assert await download.body() == PDF
    assert download.headers["content-disposition"].startswith("attachment")
    # a second file, removed again in place
    await page.set_input_files(
        "#f-file", files=[FilePayload(name="draft.pdf", mimeType="application/pdf", buffer=PDF)]
    )
    await page.click("#report-attachments form.upload button[type=submit]")
    await expect(page.locator("#report-attachments li")).to_have_count(2)
    await page.locator("#report-attachments li", has_text="draft.pdf").locator("button").click()
    await expect(page.locator("#report-attachments li")).to_have_count(1)
    assert page.url == url
    await _check(page, "grants-report-upload-ky")

    await page.click("button[form=report-form][value=submit]")
    await page.wait_for_url(f"{url}/submit")
    await check_page(page, "grants-report-confirm-ky")
    await page.click("main form[action$='/submission'] button[type=submit]")
    await page.wait_for_url(url)
    await expect(page.locator("#report-form")).to_have_count(0)
    await expect(page.locator("h1 .badge-report-submitted")).to_have_count(1)
    await expect(page.locator("#report-attachments a", has_text="attendance.pdf")).to_have_count(1)
    await check_page(page, "grants-report-submitted-ky")
    visit.assert_same_origin()
    # the refused upload's 422 is the only thing the console reports
    assert [e for e in visit.console_errors if "status of 422" not in e] == []

    report = await client.get_report(report_id)
    assert report.status == "submitted"
    assert report.narrative == "Айылдарда 12 жолугушуу өткөрүлдү; 240 киши катышты."
    assert {str(v.indicator_id): v.value for v in report.indicators} == filled
    assert [a.original_name for a in report.attachments] == ["attendance.pdf"]


async def test_financial_report_without_javascript_422_then_submitted(  # axe needs a script:
    # the same pages are checked by test_report_pages_in_both_languages_and_widths
    new_page: NewPage,
    api: Api,
    site: str,
) -> None:
    client = await api(RU_APPLICANT)
    grant_id = await _grant_id(client)
    visit = await _visit(new_page, "ru", RU_APPLICANT, js=False)
    page = visit.page
    url = await _start_report(page, site, grant_id, "financial")
    report_id = uuid.UUID(url.rsplit("/", 1)[-1])
    budget_rows = page.locator(".spend-line input[name^='amount.b']")
    assert await budget_rows.count() >= 1
    first = await budget_rows.first.get_attribute("id")
    assert first is not None

    # a wrong amount: 422, the form comes back with the message next to the field and above
    await budget_rows.first.fill("двенадцать")
    await page.fill("#f-category-x0", "транспорт")
    await page.fill("#f-amount-x0", "1 500,50")
    await page.click("#report-form button[value=save]")
    error = page.locator(f"#{first}-error")
    await expect(error).to_have_count(1)
    await expect(page.locator(f"#{first}")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator(f".error-summary a[href='#{first}']")).to_have_count(1)
    # the spending outside the budget needs to say what it was for
    await expect(page.locator("#f-description-x0-error")).to_have_count(1)
    await expect(page.locator("#f-amount-x0")).to_have_value("1 500,50")  # kept as typed

    await budget_rows.first.fill("12 000")
    await page.fill("#f-description-x0", "Автобус до Кой-Таша")
    await page.click("#report-form button[value=save]")
    await page.wait_for_url(url)
    await expect(page.locator(".error-summary")).to_have_count(0)

    # an attachment without JavaScript: a full page round trip
    await page.set_input_files(
        "#f-file",
        files=[FilePayload(name="receipts.pdf", mimeType="application/pdf", buffer=PDF)],
    )
    await page.click("#report-attachments form.upload button[type=submit]")
    await page.wait_for_url(re.compile(re.escape(url)))
    await expect(page.locator("#report-attachments a", has_text="receipts.pdf")).to_have_count(1)

    await page.click("button[form=report-form][value=submit]")
    await page.wait_for_url(f"{url}/submit")
    await page.click("main form[action$='/submission'] button[type=submit]")
    await page.wait_for_url(url)
    await expect(page.locator("h1 .badge-report-submitted")).to_have_count(1)
    await expect(page.locator("#report-form")).to_have_count(0)
    visit.assert_same_origin()

    report = await client.get_report(report_id)
    assert report.status == "submitted"
    assert [(x.category, x.amount) for x in report.expenditure][-1] == ("транспорт", 150050)
    assert report.expenditure_total == 1_200_000 + 150_050
    assert [a.original_name for a in report.attachments] == ["receipts.pdf"]


async def test_submitting_an_empty_progress_report_shows_the_narrative_message(
    new_page: NewPage, api: Api, site: str
) -> None:
    client = await api(RU_APPLICANT)
    grant_id = await _grant_id(client)
    visit = await _visit(new_page, "ru", RU_APPLICANT)
    page = visit.page
    url = await _start_report(page, site, grant_id, "progress")
    await page.click("button[form=report-form][value=submit]")
    await page.wait_for_url(f"{url}/submit")
    await page.click("main form[action$='/submission'] button[type=submit]")
    await expect(page.locator("#f-narrative-error")).to_have_count(1)
    await expect(page.locator(".error-summary a[href='#f-narrative']")).to_have_count(1)
    report = await client.get_report(uuid.UUID(url.rsplit("/", 1)[-1]))
    assert report.status == "draft"


async def test_returned_report_shows_the_comment_and_is_resubmitted(
    new_page: NewPage, api: Api, site: str
) -> None:
    applicant = await api(RU_APPLICANT)
    officer = await api(demo_email("officer"))
    grant_id = await _grant_id(applicant)
    report = await applicant.create_report(
        grant_id, ReportCreate(kind=ReportKind.PROGRESS, narrative="Проведено 3 встречи.")
    )
    report = await applicant.submit_report(report.id, ReportSubmit(version=report.version))
    comment = "Укажите, сколько женщин участвовало во встречах."
    report = await officer.create_report_decision(
        report.id, ReportDecisionCreate(version=report.version, outcome="return", comment=comment)
    )
    assert report.status == "returned"
    for width in (PHONE, DESKTOP):
        visit = await _visit(new_page, "ru", RU_APPLICANT, width=width)
        page = visit.page
        await page.goto(f"{site}/grants/{grant_id}")
        await page.locator(f"main a[href='/reports/{report.id}']").first.click()
        await page.wait_for_url(f"{site}/reports/{report.id}")
        await expect(page.locator(".notice-returned blockquote")).to_have_text(comment)
        await check_page(page, "grants-report-returned-ru")
    await page.fill("#f-narrative", "Проведено 3 встречи; участвовали 41 женщина и 35 мужчин.")
    await page.click("button[form=report-form][value=submit]")
    await page.wait_for_url(f"{site}/reports/{report.id}/submit")
    await page.click("main form[action$='/submission'] button[type=submit]")
    await page.wait_for_url(f"{site}/reports/{report.id}")
    await expect(page.locator("h1 .badge-report-submitted")).to_have_count(1)
    again = await applicant.get_report(report.id)
    assert again.status == "submitted"
    assert again.narrative == "Проведено 3 встречи; участвовали 41 женщина и 35 мужчин."


async def test_report_pages_in_both_languages_and_widths(
    new_page: NewPage, api: Api, site: str
) -> None:
    """axe and screenshots of every report page — a progress and a financial draft (and the
    latter refused with 422), the confirmation, a submitted one, a returned one — in ru and ky,
    on a phone and a desktop."""
    officer = await api(demo_email("officer"))
    for lang, email in (("ru", RU_APPLICANT), ("ky", KY_APPLICANT)):
        client = await api(email)
        grant = await client.get_grant(await _grant_id(client))
        tranche = next(t for t in grant.tranches if t.status != "cancelled")
        progress = await client.create_report(
            grant.id, ReportCreate(kind=ReportKind.PROGRESS, tranche_id=tranche.id)
        )
        financial = await client.create_report(
            grant.id, ReportCreate(kind=ReportKind.FINANCIAL, tranche_id=tranche.id)
        )
        submitted = await client.create_report(
            grant.id, ReportCreate(kind=ReportKind.PROGRESS, narrative="12 meetings.")
        )
        submitted = await client.submit_report(submitted.id, ReportSubmit(version=1))
        returned = await client.create_report(
            grant.id, ReportCreate(kind=ReportKind.PROGRESS, narrative="3 meetings.")
        )
        returned = await client.submit_report(returned.id, ReportSubmit(version=1))
        returned = await officer.create_report_decision(
            returned.id,
            ReportDecisionCreate(
                version=returned.version, outcome="return", comment="Add the attendance lists."
            ),
        )
        for width in (PHONE, DESKTOP):
            visit = await _visit(new_page, lang, email, width=width)
            page = visit.page
            for name, report_id in (
                ("progress", progress.id),
                ("financial", financial.id),
                ("submitted", submitted.id),
                ("returned", returned.id),
            ):
                await page.goto(f"{site}/reports/{report_id}")
                await expect(page.locator("h1")).to_have_count(1)
                await check_page(page, f"grants-report-{name}-{lang}")
            await page.goto(f"{site}/reports/{progress.id}/submit")
            await check_page(page, f"grants-report-confirm-{lang}")
            # a refusal: every message next to its field, and the summary above
            await page.goto(f"{site}/reports/{financial.id}")
            amount = page.locator("input[name^='amount.b']").first
            # the running total while typing (reports.js)
            await amount.fill("1 000,5")
            await expect(page.locator("[data-spent-total]")).to_be_visible()
            await expect(page.locator("[data-spent-total]")).to_contain_text("1")
            await expect(page.locator("[data-spent-total]")).to_contain_text("50")
            await amount.fill("abc")
            await page.click("#report-form button[value=save]")
            await expect(page.locator(".error-summary")).to_have_count(1)
            await expect(page.locator(".field-error")).to_have_count(1)
            await check_page(page, f"grants-report-422-{lang}")
            visit.assert_same_origin()


async def test_saving_over_a_newer_version_keeps_the_entries_and_says_so(
    new_page: NewPage, api: Api, site: str
) -> None:
    client = await api(RU_APPLICANT)
    grant_id = await _grant_id(client)
    report = await client.create_report(grant_id, ReportCreate(kind=ReportKind.PROGRESS))
    visit = await _visit(new_page, "ru", RU_APPLICANT)
    page = visit.page
    await page.goto(f"{site}/reports/{report.id}")
    # meanwhile a colleague saves the report in another tab
    await client.update_report(report.id, ReportUpdate(version=report.version, narrative="Другое."))
    await page.fill("#f-narrative", "Мой текст.")
    await page.click("#report-form button[value=save]")
    await expect(page.locator(".error-summary")).to_have_count(1)
    await expect(page.locator("#f-narrative")).to_have_value("Мой текст.")
    assert (await client.get_report(report.id)).narrative == "Другое."
    # saving again now overwrites, knowingly
    await page.click("#report-form button[value=save]")
    await expect(page.locator(".flash-success")).to_have_count(1)
    assert (await client.get_report(report.id)).narrative == "Мой текст."
