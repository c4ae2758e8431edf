"""The applicant's feedback summary (no reviewer name) and the window ranking report, made by a
job and downloadable when ready; staff only for the report, the applicant only once published."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.client import ApiError
from contracts.documents import DocumentStatus
from contracts.enums import DecisionOutcome
from contracts.selection import DecisionChangeTransition, DecisionCreate
from service.documents.tasks import make_document
from service.persistence.database import Database
from tests.conftest import MakeOrganisation, MakeUser
from tests.factories import approved_window
from tests.journey import Programme
from tests.service.documents.pdf import flat, ink, text_of, to_pngs

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)


async def test_the_feedback_summary_shows_scores_and_thresholds_but_no_reviewer_name(
    programme: Programme,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    session: AsyncSession,
) -> None:
    w = programme
    win, _ = await approved_window(w, make_user, make_organisation)
    # before publication the applicant is refused, as for the JSON feedback
    with pytest.raises(ApiError) as early:
        await win.applicant.get_feedback_summary(win.proposal, "ky")
    assert early.value.status == 409
    await w.officer.create_feedback_publication(win.id)
    reviewers = (
        (
            await session.execute(
                text(
                    "SELECT u.full_name FROM app_user u JOIN review_assignment a"
                    " ON a.reviewer_id = u.id WHERE a.proposal_id = :p"
                ),
                {"p": win.proposal},
            )
        )
        .scalars()
        .all()
    )
    assert reviewers  # someone reviewed it
    for lang, words in {
        "ky": ["Сиздин өтүнмөңүз боюнча пикир", "Solo project", "тандалды", "Жалпы баа"],
        "ru": ["Отзыв по вашей заявке", "Solo project", "отобрана", "Итоговая оценка"],
        "en": ["Feedback on your proposal", "Solo project", "selected", "Overall score"],
    }.items():
        pdf, headers = await win.applicant.get_feedback_summary(win.proposal, lang)
        body = flat(text_of(pdf))
        for word in words:
            assert word in body, (lang, word)
        for name in reviewers:
            assert name not in body
        assert "feedback-" in headers["content-disposition"]
        assert all(ink(p) > 0.001 for p in to_pngs(pdf, f"feedback-{lang}"))


async def test_the_ranking_report_is_made_by_a_job_and_downloaded_when_ready(
    programme: Programme,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    db: Database,
    session: AsyncSession,
) -> None:
    w = programme
    win, _ = await approved_window(w, make_user, make_organisation)
    # an applicant may not ask for it
    with pytest.raises(ApiError) as refused:
        await win.applicant.create_ranking_report(win.id, "ky")
    assert refused.value.status == 403

    asked = await w.officer.create_ranking_report(win.id, "ky")
    assert (asked.status, asked.download_path, asked.window_id) == (
        DocumentStatus.QUEUED,
        None,
        win.id,
    )
    jobs = (
        await session.execute(
            text(
                "SELECT task_name, queue_name, args->>'document_id' FROM procrastinate_jobs"
                " WHERE args->>'document_id' = :d"
            ),
            {"d": str(asked.id)},
        )
    ).all()
    assert jobs == [("documents.render_ranking_report", "documents", str(asked.id))]
    with pytest.raises(ApiError) as not_yet:
        await w.officer.get_document_content(asked.id)
    assert not_yet.value.status == 409

    await make_document(db, asked.id)  # what the job does, in this test's transaction

    ready = await w.officer.get_document(asked.id)
    assert ready.status == DocumentStatus.READY
    assert ready.download_path == f"documents/{asked.id}/content"
    pdf, headers = await w.officer.get_document_content(asked.id)
    assert headers["content-type"] == "application/pdf"
    body = flat(text_of(pdf))
    for word in [
        "Терезенин рейтинги боюнча отчет",
        "Баалоо критерийлери",
        "Solo project",
        "Каржыланат",
        "Seed маанисинин хеши",
        "Баалардын бөлүштүрүлүшү",
        "бекитилди",  # the approved run's status, in words of the document's language
    ]:
        assert word in body, word
    run = (
        await session.execute(
            text("SELECT seed_hash, seed FROM selection_run WHERE window_id = :w"),
            {"w": win.id},
        )
    ).one()
    assert run.seed_hash in body.replace(" ", "")
    assert all(ink(p) > 0.001 for p in to_pngs(pdf, "ranking-report-ky"))
    # another person (not staff, not the requester) does not see it
    with pytest.raises(ApiError) as hidden:
        await win.applicant.get_document(asked.id)
    assert hidden.value.status == 404
    with pytest.raises(ApiError) as missing:
        await w.officer.get_document(uuid.uuid4())
    assert missing.value.status == 404


async def test_the_feedback_reason_is_in_the_document_s_language_or_labelled_as_the_officer_s(
    programme: Programme,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
) -> None:
    """The run's decision is worded from its codes in each language (it was stored English); a
    decision an officer changed with their own words shows those words as written, labelled."""
    w = programme
    win, second = await approved_window(w, make_user, make_organisation)
    await w.officer.create_feedback_publication(win.id)
    funded = {
        "en": "Selected in the window's selection run and funded with",
        "ru": "Отобрана по итогам отбора окна; выделено",
        "ky": "Терезенин тандоосунун жыйынтыгында тандалды;",
    }
    for lang, sentence in funded.items():
        body = flat(text_of((await win.applicant.get_feedback_summary(win.proposal, lang))[0]))
        assert sentence in body, (lang, body)
        assert "rank 1" not in body  # the engine's English wording is gone

    words = "Бюджет окна пересмотрен донором; заявка не отобрана."
    change = await w.officer.create_decision_change(
        win.proposal, DecisionCreate(outcome=DecisionOutcome.NOT_SELECTED, reason=words)
    )
    await second.client.create_decision_change_confirmation(change.id, DecisionChangeTransition())
    for lang, label in {
        "en": "The programme officer's words, as written:",
        "ky": "Программа кызматкеринин сөздөрү, түп нускадагы тилде:",
    }.items():
        pdf = (await win.applicant.get_feedback_summary(win.proposal, lang))[0]
        body = flat(text_of(pdf))
        assert all(ink(p) > 0.001 for p in to_pngs(pdf, f"feedback-officer-words-{lang}"))
        assert label in body, (lang, body)
        assert words in body, (lang, body)
        assert body.index(label) < body.index(words) <= body.index(label) + len(label) + 2
        assert funded[lang] not in body
