"""Builders shared by test modules: what several tests need to set up, in one place, so that no
test module imports another.

- reviews: the small-grants rubric, a review's scores, a panel of reviewers, a submitted proposal;
- selection: an eligible proposal of an organisation in a window, a window scored by a one-reviewer
  panel, its run approved by a second officer;
- identity: a registration; imports: a workbook of endless blank rows;
- the money races: the app on a pool of real connections over a committed money world, a grant in
  due tranches, a payment and its request with an Idempotency-Key.

The programme world itself is `tests/journey.py` (`Programme`, `published_call`, …) and the money
world `tests/money_world.py`.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import httpx
from openpyxl import Workbook
from sqlalchemy import text

from contracts.awards import DisbursementCreate
from contracts.client import GrantsClient
from contracts.common import I18nText
from contracts.enums import Language, OrganisationKind, ProposalStatus, Role
from contracts.identity import OrganisationCreate, RegistrationCreate
from contracts.proposals import (
    BudgetLineCreate,
    BudgetLinesReplace,
    ProposalCreate,
    ProposalSubmit,
    ProposalUpdate,
)
from contracts.reviews import (
    AutoAssign,
    CriterionCreate,
    CriterionScoreInput,
    PanelReplace,
    ReviewSave,
    ReviewSubmit,
    RubricCreate,
)
from contracts.selection import DecisionCreate, SelectionRunCreate, SelectionRunTransition
from service.app import create_app
from service.imports import action_plans
from service.persistence.database import Database
from service.persistence.models import Territory
from tests.conftest import TEST_SETTINGS, MakeOrganisation, MakeUser, Person
from tests.journey import MONTHS, PDF, Programme, complete_draft, published_call
from tests.money_world import MoneyWorld, build_money_world, grant_body

# --- reviews ------------------------------------------------------------------------------------


def make_rubric(version: int) -> RubricCreate:
    """Relevance (threshold 2.5), feasibility and gender, weighted 40/35/25; overall threshold 2."""
    return RubricCreate(
        version=version,
        name=I18nText(en="Small grants rubric"),
        criteria=[
            CriterionCreate(
                code="relevance", name=I18nText(en="Relevance"), weight=400, threshold=25
            ),
            CriterionCreate(code="feasibility", name=I18nText(en="Feasibility"), weight=350),
            CriterionCreate(code="gender", name=I18nText(en="Gender"), weight=250),
        ],
        overall_threshold=20,
        tie_break=["relevance", "feasibility"],
    )


def criterion_scores(*values: int | None) -> list[CriterionScoreInput]:
    """Scores of `make_rubric`'s criteria, in its order (None: not applicable)."""
    codes = ["relevance", "feasibility", "gender"]
    return [CriterionScoreInput(criterion=k, value=v) for k, v in zip(codes, values, strict=True)]


async def make_reviewers(make_user: MakeUser, n: int) -> list[Person]:
    return [await make_user(Role.REVIEWER, token_expires_in=MONTHS) for _ in range(n)]


async def submitted_proposal(w: Programme) -> tuple[uuid.UUID, uuid.UUID]:
    """(window 1, a proposal of the programme's organisation submitted to it and eligible)."""
    _, w1, _ = await published_call(w)
    window = await w.officer.get_window(w1)
    await w.officer.update_window_rubric(w1, make_rubric(window.version))
    proposal_id = await complete_draft(w, w1)
    current = await w.applicant.get_proposal(proposal_id)
    receipt = await w.applicant.create_submission(
        proposal_id, ProposalSubmit(version=current.version)
    )
    assert receipt.proposal.status == ProposalStatus.ELIGIBLE
    return w1, proposal_id


# --- selection ----------------------------------------------------------------------------------

REQUEST = 10_000_000
"""What `apply_to_window` requests, in minor units."""

FORBIDDEN = "urn:pcc-grants:problem:forbidden"
CONFLICT = "urn:pcc-grants:problem:conflict"
UNSELECT = DecisionCreate(
    outcome="not_selected", reason="Duplicate funding found from another donor"
)


async def apply_to_window(
    w: Programme, window_id: uuid.UUID, client: GrantsClient, org_id: uuid.UUID, title: str
) -> uuid.UUID:
    """`client` applies for `org_id` to the window, requesting REQUEST: submitted, eligible."""
    draft = await client.create_proposal(
        window_id, ProposalCreate(organisation_id=org_id, title=title)
    )
    draft = await client.update_proposal(
        draft.id,
        ProposalUpdate(
            version=draft.version, requested_amount=REQUEST, action_plan_item_ids=[w.item.id]
        ),
    )
    draft = await client.update_budget_lines(
        draft.id,
        BudgetLinesReplace(
            version=draft.version,
            lines=[
                BudgetLineCreate(
                    category="all", description="All costs", quantity=1, unit_cost=REQUEST
                )
            ],
        ),
    )
    await client.create_attachment(draft.id, PDF, "budget.pdf", kind="budget")
    receipt = await client.create_submission(draft.id, ProposalSubmit(version=draft.version))
    assert receipt.proposal.status == ProposalStatus.ELIGIBLE, receipt.proposal.eligibility
    return draft.id


@dataclass
class ScoredWindow:
    id: uuid.UUID
    proposal: uuid.UUID
    applicant: GrantsClient
    """A member of the proposal's organisation."""


async def scored_window(
    w: Programme, make_user: MakeUser, make_organisation: MakeOrganisation
) -> ScoredWindow:
    """A published call's first window holding one proposal, scored by a one-reviewer panel."""
    _, w1, _ = await published_call(w)
    window = await w.officer.get_window(w1)
    await w.officer.update_window_rubric(w1, make_rubric(window.version))
    org = await make_organisation(name="Solo", territory_id=w.osh.id, founded_year=2010)
    member = await make_user(member_of=(org,), token_expires_in=MONTHS)
    pid = await apply_to_window(w, w1, member.client, org.id, "Solo project")
    reviewer = await make_user(Role.REVIEWER, token_expires_in=MONTHS)
    await w.officer.update_panel(w1, PanelReplace(reviewer_ids=[reviewer.id]))
    await w.officer.create_assignments(w1, AutoAssign(seed="s"))
    a = (await reviewer.client.list_assignments()).items[0]
    await reviewer.client.create_no_conflict_declaration(a.id)
    saved = await reviewer.client.update_review(
        a.id, ReviewSave(scores=criterion_scores(40, 40, 40))
    )
    await reviewer.client.create_review_submission(a.id, ReviewSubmit(version=saved.version))
    return ScoredWindow(id=w1, proposal=pid, applicant=member.client)


async def another_officer(make_user: MakeUser) -> Person:
    return await make_user(Role.PROGRAMME_OFFICER, token_expires_in=MONTHS)


async def approved_window(
    w: Programme, make_user: MakeUser, make_organisation: MakeOrganisation
) -> tuple[ScoredWindow, Person]:
    """The window's run created and computed by `w.officer`, approved by a second officer."""
    win = await scored_window(w, make_user, make_organisation)
    run = await w.officer.create_selection_run(win.id, SelectionRunCreate())
    await w.officer.create_selection_computation(run.id)
    second = await another_officer(make_user)
    await second.client.approve_selection_run(run.id, SelectionRunTransition())
    assert (await w.officer.get_proposal(win.proposal)).status == ProposalStatus.SELECTED
    return win, second


# --- identity and imports -----------------------------------------------------------------------

NEW_PASSWORD = "a brand new passphrase 42"


def registration(
    territory: Territory, email: str, org_name: str = "Osh Youth Voices"
) -> RegistrationCreate:
    return RegistrationCreate(
        email=email,
        password=NEW_PASSWORD,
        full_name="Aida Founder",
        preferred_language=Language.RU,
        organisation=OrganisationCreate(
            name=org_name,
            kind=OrganisationKind.YOUTH_GROUP,
            territory_id=territory.id,
            founded_year=2019,
            youth_led=True,
        ),
    )


PLAN_HEADER = list(action_plans.COLUMNS.all)
"""The action-plan import's columns, in order."""


def xlsx(header: list[str], rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "import"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def sheet_of_rows_without_numbers(rows: int, cells: int) -> bytes:
    """A workbook whose header row is PLAN_HEADER and whose sheet then has `rows` rows without
    row numbers (no `r=`), each of `cells` blank text cells: small packed, large unpacked, and
    every row blank (the shape of the file that froze the server)."""
    packed = io.BytesIO(xlsx(PLAN_HEADER, []))
    with zipfile.ZipFile(packed) as source:
        parts = {info.filename: source.read(info.filename) for info in source.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    blank_row = "<row>" + '<c t="inlineStr"><is><t> </t></is></c>' * cells + "</row>"
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(
        "</sheetData>", blank_row * rows + "</sheetData>"
    ).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


# --- the money races: real connections, real commits --------------------------------------------

APP_ROLE = "grants_app"
POOL = 32  # and as many again of overflow: 64 connections, one per concurrent request
REQUESTS = 64
ROUNDS = 5
TRANCHE = 2_000_000
PROBLEM = "urn:pcc-grants:problem:"
FINANCE_OFFICERS = ("fo1", "fo2", "fo3")


def payment_body(amount: int, round_no: int) -> DisbursementCreate:
    return DisbursementCreate(
        amount=amount,
        value_date=date(2027, 1, 15),
        reference=f"PAY-{round_no}",
        bank_details={"bank": "KICB", "account": "1280000000000001"},
        rates={"USD": "88.0"},
    )


@dataclass(frozen=True)
class Outcome:
    """One payment request's answer. `key` is the principal's name and its Idempotency-Key."""

    key: str
    status: int
    replayed: bool
    body: bytes
    problem_type: str | None = None


def outcome(key: str, resp: httpx.Response) -> Outcome:
    problem = None
    if resp.headers.get("content-type", "").startswith("application/problem+json"):
        problem = resp.json().get("type")
    return Outcome(
        key=key,
        status=resp.status_code,
        replayed=resp.headers.get("idempotent-replayed") == "true",
        body=resp.content,
        problem_type=problem,
    )


@dataclass
class Arranged:
    database: Database
    http: httpx.AsyncClient
    world: MoneyWorld

    def client(self, name: str) -> GrantsClient:
        return GrantsClient(self.http, token=self.world.tokens[name])


@asynccontextmanager
async def arranged(fresh_db: str, tmp_path: Path, **world: Any) -> AsyncIterator[Arranged]:
    """The app on a pool of 64 connections acting as the service's restricted database role, and
    a money world committed through it."""
    database = Database.from_url(fresh_db, pool_size=POOL, role=APP_ROLE)
    app: Any = create_app(
        TEST_SETTINGS.model_copy(update={"storage_dir": tmp_path / "storage"}), database=database
    )
    try:
        async with database.session() as s:
            built = await build_money_world(s, **world)
            await s.commit()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test/api/v1/", timeout=120
        ) as http:
            yield Arranged(database=database, http=http, world=built)
    finally:
        await database.dispose()


async def post_payment(
    a: Arranged, officer: str, key: str, tranche_id: uuid.UUID, body: bytes
) -> Outcome:
    resp = await a.http.post(
        f"tranches/{tranche_id}/disbursements",
        content=body,
        headers={
            "authorization": f"Bearer {a.world.tokens[officer]}",
            "content-type": "application/json",
            "Idempotency-Key": key,
        },
    )
    return outcome(f"{officer}/{key}", resp)


async def grant_with_tranches(a: Arranged) -> tuple[uuid.UUID, list[uuid.UUID], int]:
    """A grant of the world's first proposal in ROUNDS tranches of TRANCHE (all due)."""
    grant = await a.client("po").create_grant(
        grant_body(a.world, a.world.proposals[0], [TRANCHE] * ROUNDS)
    )
    return grant.id, [t.id for t in grant.tranches], grant.amount


@dataclass(frozen=True)
class Paid:
    """A disbursement row of the ledger (net of reversals)."""

    tranche_id: uuid.UUID
    amount: int


def assert_paid_exactly_once(
    outcomes: Sequence[Outcome],
    ledger_rows: Sequence[Paid],
    *,
    tranche_id: uuid.UUID,
    tranche_amount: int,
    grant_amount: int,
) -> None:
    """Exactly one request paid the tranche; every other one was refused with 409 or is a replay
    of that very answer; the ledger holds exactly one payment of the tranche, of its amount; and
    the grant's payments (`ledger_rows` are all of its disbursements) stay within its amount."""
    originals = [o for o in outcomes if 200 <= o.status < 300 and not o.replayed]
    assert len(originals) == 1, f"{len(originals)} of {len(outcomes)} requests paid the tranche"
    original = originals[0]
    for o in outcomes:
        if o is original:
            continue
        if o.status == 409:
            assert o.problem_type is not None
            assert o.problem_type.startswith(PROBLEM), o.problem_type
            continue
        assert o.replayed, f"{o.key}: {o.status} {o.body!r}"
        assert o.key == original.key, f"{o.key} replays an answer it was never given"
        assert o.status == original.status
        assert o.body == original.body
    payments = [r for r in ledger_rows if r.tranche_id == tranche_id]
    assert len(payments) == 1, f"the ledger holds {len(payments)} payments of the tranche"
    assert payments[0].amount == tranche_amount
    paid = sum(r.amount for r in ledger_rows)
    assert paid <= grant_amount, f"{paid} paid on a grant of {grant_amount}"


def payment_plan(round_no: int) -> list[tuple[str, str]]:
    """The 64 requests of a round, as (finance officer, Idempotency-Key): 48 distinct keys, and
    4 keys each sent 4 times by one officer (retries racing the first send)."""
    plan = [(FINANCE_OFFICERS[i % 3], f"pay-{round_no}-{i}") for i in range(48)]
    for i in range(16):
        plan.append((FINANCE_OFFICERS[i % 4 % 3], f"retry-{round_no}-{i % 4}"))
    # interleave the retries with the rest, so they do not all start last
    return [plan[j] for k in range(16) for j in (3 * k, 3 * k + 1, 3 * k + 2, 48 + k)]


async def gather(calls: Sequence[Callable[[], Awaitable[Outcome]]]) -> list[Outcome]:
    """Start every call at once and collect their outcomes."""
    outcomes: list[Outcome] = []

    async def one(call: Callable[[], Awaitable[Outcome]]) -> None:
        outcomes.append(await call())

    async with anyio.create_task_group() as tg:
        for call in calls:
            tg.start_soon(one, call)
    assert len(outcomes) == len(calls)
    return outcomes


async def ledger_payments(database: Database, grant_id: uuid.UUID) -> list[Paid]:
    """The grant's disbursements not reversed."""
    async with database.session() as s:
        rows = (
            await s.execute(
                text(
                    "SELECT d.tranche_id, d.amount FROM ledger_entry d"
                    " WHERE d.grant_id = :g AND d.kind = 'disbursement' AND NOT EXISTS"
                    " (SELECT 1 FROM ledger_entry r WHERE r.reverses_id = d.id)"
                ),
                {"g": grant_id},
            )
        ).all()
    return [Paid(tranche_id=t, amount=int(amount)) for t, amount in rows]
