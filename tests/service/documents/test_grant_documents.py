"""The award letter, the grant agreement and the disbursement statement: PDFs in en/ru/ky whose
text holds the amount in figures and in words, the names, the tranche rows (Kyrgyz letters
survive), whose pages render non-blank, and which another organisation's member never gets."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.awards import DisbursementCreate, TrancheTransition
from contracts.client import ApiError, GrantsClient
from service.demo import ORGANISATIONS
from service.persistence.models import ActionPlanItem, FundingSource, Organisation
from tests.conftest import MakeOrganisation, MakeUser
from tests.money_world import AGREEMENT, MoneyWorld, build_money_world, grant_body
from tests.service.documents.pdf import flat, ink, pages_of, text_of, to_pngs

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)

ORG_NAME = "«Үмүт жана өнүгүү» коомдук бирикмеси"
ITEM = "Жаштар менен диалог: ынтымак үчүн аңгемелешүүлөр"


@pytest.fixture
async def world(session: AsyncSession) -> MoneyWorld:
    world = await build_money_world(session, requested=10_000_050)
    org = await session.get_one(Organisation, world.organisation_id)
    org.name = ORG_NAME
    org.registration_number = f"REG-{uuid.uuid4().hex[:6]}"
    item = await session.get_one(ActionPlanItem, world.item_id)
    item.objective = {"en": "Youth dialogue", "ru": "Диалог с молодёжью", "ky": ITEM}
    await session.flush()
    return world


def who(http: httpx.AsyncClient, world: MoneyWorld, name: str) -> GrantsClient:
    return GrantsClient(http, token=world.tokens[name])


async def _grant(http: httpx.AsyncClient, world: MoneyWorld) -> uuid.UUID:
    grant = await who(http, world, "po").create_grant(
        grant_body(
            world,
            world.proposals[0],
            [6_000_000, 4_000_050],
            conditions=[[AGREEMENT], []],
            agreement_reference="PCC-2026-017",
        )
    )
    return grant.id


EXPECTED = {
    "en": [
        "Award letter",
        "100,000.50 KGS",
        "One hundred thousand soms 50 tyiyns",
        "agreement signed",
        "Youth dialogue",
        "Page 1 of",
    ],
    "ru": [
        "Письмо о присуждении гранта",
        "100 000,50 KGS",
        "Сто тысяч сомов 50 тыйынов",
        "соглашение подписано",
        "Диалог с молодёжью",
        "Страница 1 из",
    ],
    "ky": [
        "Грант ыйгаруу тууралуу кат",
        "100 000,50 KGS",
        "Жүз миң сом 50 тыйын",
        "келишимге кол коюлду",
        ITEM,
        "беттин 1-бети",
    ],
}


@pytest.mark.parametrize("lang", ["en", "ru", "ky"])
async def test_the_award_letter_states_the_amount_in_figures_and_words_and_the_tranches(
    http: httpx.AsyncClient, world: MoneyWorld, lang: str
) -> None:
    grant_id = await _grant(http, world)
    pdf, headers = await who(http, world, "member").get_award_letter(grant_id, lang)

    assert headers["content-type"] == "application/pdf"
    assert headers["content-disposition"].startswith("attachment;")
    assert f"award-letter-PCC-2026-017-{lang}.pdf" in headers["content-disposition"]
    text = flat(text_of(pdf))
    for expected in [*EXPECTED[lang], ORG_NAME, "PCC-2026-017", "Project 0"]:
        assert flat(expected) in text, expected
    # the two tranche rows: their amounts
    for amount in {
        "en": ["60,000.00", "40,000.50"],
        "ru": ["60 000,00", "40 000,50"],
        "ky": ["60 000,00", "40 000,50"],
    }[lang]:
        assert amount in text
    pngs = to_pngs(pdf, f"award-letter-{lang}")
    assert len(pngs) == pages_of(pdf) >= 1
    assert all(ink(png) > 0.001 for png in pngs)


LONGEST_DEMO_NAME = max((org.name for org in ORGANISATIONS), key=len)


@pytest.mark.parametrize("lang", ["en", "ru", "ky"])
async def test_the_award_letter_fits_one_page_with_the_demo_s_longest_organisation_name(
    http: httpx.AsyncClient, session: AsyncSession, world: MoneyWorld, lang: str
) -> None:
    """A typical grant (two tranches, one with a condition): the letter, its signature block
    included, is one A4 page in every language (the Kyrgyz one spilt onto a second page)."""
    org = await session.get_one(Organisation, world.organisation_id)
    org.name = LONGEST_DEMO_NAME
    await session.flush()
    grant_id = await _grant(http, world)
    pdf, _ = await who(http, world, "member").get_award_letter(grant_id, lang)

    pngs = to_pngs(pdf, f"award-letter-longest-name-{lang}")
    assert pages_of(pdf) == len(pngs) == 1
    assert flat(LONGEST_DEMO_NAME) in flat(text_of(pdf))


@pytest.mark.parametrize("lang", ["en", "ru", "ky"])
async def test_the_grant_agreement_names_the_parties_sources_schedule_and_signatures(
    http: httpx.AsyncClient, world: MoneyWorld, session: AsyncSession, lang: str
) -> None:
    grant_id = await _grant(http, world)
    sources = [await session.get_one(FundingSource, world.kgs_source)]
    pdf, headers = await who(http, world, "po").get_grant_agreement(grant_id, lang)

    text = flat(text_of(pdf))
    assert f"grant-agreement-PCC-2026-017-{lang}.pdf" in headers["content-disposition"]
    words = {
        "en": "One hundred thousand soms 50 tyiyns",
        "ru": "Сто тысяч сомов 50 тыйынов",
        "ky": "Жүз миң сом 50 тыйын",
    }[lang]
    assert words in text
    assert ORG_NAME in text
    assert sources[0].name in text
    signatures = {
        "en": "For the Grantee",
        "ru": "От Грантополучателя",
        "ky": "Грант алуучунун атынан",
    }[lang]
    assert signatures in text
    pngs = to_pngs(pdf, f"grant-agreement-{lang}")
    assert all(ink(png) > 0.001 for png in pngs)


async def test_another_organisations_member_gets_no_document_of_the_grant(
    http: httpx.AsyncClient,
    world: MoneyWorld,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
) -> None:
    grant_id = await _grant(http, world)
    other = await make_organisation(name="Other organisation")
    stranger = await make_user(member_of=(other,))
    for fetch in (
        stranger.client.get_award_letter(grant_id, "ky"),
        stranger.client.get_grant_agreement(grant_id, "ru"),
        stranger.client.get_grant_statement(grant_id, date(2027, 1, 1), date(2027, 12, 31)),
    ):
        with pytest.raises(ApiError) as refused:
            await fetch
        assert refused.value.status == 404
    with pytest.raises(ApiError) as anonymous:
        await GrantsClient(http).get_award_letter(grant_id)
    assert anonymous.value.status == 401


async def test_the_statement_lists_the_period_s_payments_and_the_committed_vs_disbursed(
    http: httpx.AsyncClient, world: MoneyWorld, session: AsyncSession
) -> None:
    grant_id = await _grant(http, world)
    po, fo = who(http, world, "po"), who(http, world, "fo1")
    grant = await po.get_grant(grant_id)
    second = grant.tranches[1]
    await po.approve_tranche(second.id, TrancheTransition(version=second.version))
    second = (await po.get_grant(grant_id)).tranches[1]
    await fo.create_disbursement(
        second.id,
        DisbursementCreate(
            amount=second.amount,
            value_date=date(2027, 3, 10),
            reference="ПЛАТ-ң-001",
            bank_details={"bank": "KICB", "account": "1280000000000001"},
            rates={"USD": "88.0"},
        ),
        uuid.uuid4().hex,
    )
    pdf, _ = await who(http, world, "member").get_grant_statement(
        grant_id, date(2027, 3, 1), date(2027, 3, 31), "ru"
    )
    text = flat(text_of(pdf))
    assert "ПЛАТ-ң-001" in text
    assert "40 000,50 KGS" in text  # the payment, disbursed in the period
    assert "100 000,50 KGS" in text  # committed
    assert "59 999,50 KGS" not in text
    assert "60 000,00 KGS" in text  # remaining
    empty, _ = await who(http, world, "member").get_grant_statement(
        grant_id, date(2027, 4, 1), date(2027, 4, 30), "ky"
    )
    assert "Мезгил ичинде операция жок." in flat(text_of(empty))
    pngs = to_pngs(pdf, "grant-statement-ru")
    assert all(ink(png) > 0.001 for png in pngs)


async def test_a_period_ending_before_it_starts_is_refused(
    http: httpx.AsyncClient, world: MoneyWorld
) -> None:
    grant_id = await _grant(http, world)
    with pytest.raises(ApiError) as refused:
        await who(http, world, "po").get_grant_statement(
            grant_id, date(2027, 3, 1), date(2027, 2, 1)
        )
    assert refused.value.status == 422


async def test_a_funding_source_statement_ending_before_it_starts_is_refused(
    http: httpx.AsyncClient, world: MoneyWorld
) -> None:
    """The business rule schemathesis meets (tests/schemathesis.toml): 422 naming `query.end`."""
    fo = who(http, world, "fo1")
    with pytest.raises(ApiError) as refused:
        await fo.get_funding_source_statement(world.kgs_source, date(2027, 3, 1), date(2027, 2, 28))
    assert refused.value.status == 422
    assert refused.value.type == "urn:pcc-grants:problem:invalid-input"
    assert [e.field for e in refused.value.problem.errors or []] == ["query.end"]
    # the same day for both ends is a period of one day, not refused
    pdf, _ = await fo.get_funding_source_statement(
        world.kgs_source, date(2027, 3, 1), date(2027, 3, 1)
    )
    assert pdf.startswith(b"%PDF")


async def test_the_funding_source_statement_lists_each_grant_s_share_for_staff_only(
    http: httpx.AsyncClient, world: MoneyWorld, session: AsyncSession
) -> None:
    grant_id = await _grant(http, world)
    po, fo = who(http, world, "po"), who(http, world, "fo1")
    first = (await po.get_grant(grant_id)).tranches[1]
    await po.approve_tranche(first.id, TrancheTransition(version=first.version))
    first = (await po.get_grant(grant_id)).tranches[1]
    await fo.create_disbursement(
        first.id,
        DisbursementCreate(
            amount=first.amount,
            value_date=date(2027, 3, 10),
            reference="PAY-SRC-1",
            bank_details={"bank": "KICB", "account": "1280000000000001"},
            rates={"USD": "88.0"},
        ),
        uuid.uuid4().hex,
    )
    grant = await po.get_grant(grant_id)
    kgs = next(ch for ch in grant.charges if ch.funding_source_id == world.kgs_source)
    source = await session.get_one(FundingSource, world.kgs_source)
    pdf, headers = await fo.get_funding_source_statement(
        world.kgs_source, date(2027, 1, 1), date(2027, 12, 31), "ky"
    )
    text = flat(text_of(pdf))
    assert "Каржылоо булагы боюнча көчүрмө" in text
    assert source.name in text
    assert "PCC-2026-017" in text
    assert ORG_NAME in text
    assert flat(f"{kgs.amount // 100:,}".replace(",", " ")) in text  # its share committed
    assert "source-statement-" in headers["content-disposition"]
    assert all(ink(png) > 0.001 for png in to_pngs(pdf, "source-statement-ky"))
    with pytest.raises(ApiError) as refused:
        await who(http, world, "member").get_funding_source_statement(
            world.kgs_source, date(2027, 1, 1), date(2027, 12, 31)
        )
    assert refused.value.status == 403
