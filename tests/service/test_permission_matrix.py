"""Every API operation × every kind of caller: who may do what, and how the others are refused.

The table `CASES` is keyed by operation id; `test_every_route_has_a_permission_rule` compares it
with the app's routes, so a new route without a rule here fails. `test_permission_matrix` then
calls each operation as each actor, through the typed client, against a world in which every path
parameter has a real target (built once per operation; each actor's call runs in a savepoint that
is rolled back after it, so every actor meets the same world):

- allowed: the call succeeds, and a write leaves at least one new audit event (a POST that only
  computes, marked `writes=False`, must instead leave every row as it was);
- refused: a problem with the expected status (401 nobody signed in, 403 signed in but not
  allowed, 404 where the service hides that the row exists), and a write changes no row at all.

The expected sets follow `contracts/permissions.py` and the services that apply it. Where the
service answers wrongly today, the pair is listed in `KNOWN_BUGS`: it must fail, and the test
says so when it passes.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
import msgspec
import pyotp
import pytest
from litestar import Litestar
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import SQLModel, col

from contracts.audit import AuditEventPage, AuditVerificationRead
from contracts.awards import (
    AgreementSignature,
    AmendmentCreate,
    ConditionInput,
    DisbursementCreate,
    GrantCreate,
    GrantPage,
    GrantRead,
    LedgerEntryRead,
    LedgerPage,
    ReversalCreate,
    TrancheCancellation,
    TrancheInput,
    TrancheRead,
    TrancheTransition,
)
from contracts.calls import (
    CallCreate,
    CallPage,
    CallRead,
    CallTransition,
    CallUpdate,
    ContributionCreate,
    EligibilityAnswers,
    EligibilityCheck,
    EligibilityRead,
    RulesReplace,
    WindowCreate,
    WindowRead,
    WindowUpdate,
)
from contracts.client import ApiError, GrantsClient
from contracts.common import HealthRead, I18nText
from contracts.decisions import DecisionHistoryEntry
from contracts.documents import DocumentKind, DocumentRead, DocumentStatus
from contracts.enums import (
    ActionPlanStatus,
    ApiKeyStatus,
    ApiScope,
    AssignmentStatus,
    AttachmentKind,
    CallStatus,
    ConflictSource,
    DecisionOutcome,
    FundingSourceKind,
    MembershipRole,
    OrganisationKind,
    Pillar,
    ProposalStatus,
    ReportKind,
    ReportStatus,
    ReviewStatus,
    Role,
    TrancheConditionKind,
    TrancheStatus,
)
from contracts.finance import (
    ExchangeRateCreate,
    ExchangeRateRead,
    FundingSourceCreate,
    FundingSourceUpdate,
)
from contracts.identity import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRotated,
    ApiKeyRotationCreate,
    MeRead,
    MeUpdate,
    OrganisationCreate,
    OrganisationDirectory,
    OrganisationPage,
    OrganisationUpdate,
    PasswordChange,
    PasswordResetCreate,
    PasswordResetRead,
    RecoveryCodes,
    RecoveryCodesCreate,
    RegistrationCreate,
    RegistrationRead,
    TokenRead,
    TotpConfirmation,
    TotpEnrolment,
    TotpRemoval,
    UserCreate,
    UserRead,
    UserUpdate,
)
from contracts.imports import ImportReport
from contracts.notifications import (
    NotificationKind,
    NotificationPreferenceSet,
    NotificationPreferencesUpdate,
)
from contracts.pcc import (
    ActionPlanCreate,
    ActionPlanItemCreate,
    ActionPlanItemRead,
    ActionPlanItemUpdate,
    ActionPlanPage,
    ActionPlanRead,
    ActionPlanUpdate,
    IndicatorCreate,
    IndicatorRead,
    IndicatorUpdate,
    PccRead,
)
from contracts.permissions import Actor
from contracts.progress import PccProgress
from contracts.proposals import (
    AttachmentRead,
    BudgetLineCreate,
    BudgetLinesReplace,
    EligibilityOverride,
    ProposalCreate,
    ProposalPage,
    ProposalRead,
    ProposalSubmit,
    ProposalUpdate,
    ProposalWithdraw,
    SubmissionReceipt,
)
from contracts.ranking import PanelBoardRead, ReminderCreate, ReminderList, ReminderRead
from contracts.reports import (
    ExpenditureLine,
    ReportCreate,
    ReportDecisionCreate,
    ReportPage,
    ReportQueuePage,
    ReportRead,
    ReportSubmit,
    ReportUpdate,
)
from contracts.reviews import (
    AssignmentBatchCreate,
    AssignmentCreate,
    AssignmentList,
    AssignmentPair,
    AssignmentRead,
    AutoAssign,
    ConflictCreate,
    ConsensusCreate,
    ConsensusRead,
    CriterionCreate,
    CriterionScoreInput,
    PanelRead,
    PanelReplace,
    ReviewerProposalView,
    ReviewList,
    ReviewRead,
    ReviewReopen,
    ReviewSave,
    ReviewSubmit,
    RubricCreate,
    RubricRead,
)
from contracts.selection import (
    DecisionChangeRead,
    DecisionChangeTransition,
    DecisionCreate,
    DecisionRead,
    DeclineCreate,
    FeedbackPublicationRead,
    FeedbackRead,
    ReplayRead,
    SelectionRunCreate,
    SelectionRunRead,
    SelectionRunSummary,
    SelectionRunTransition,
)
from contracts.webhooks import EventType, WebhookSecretRotate, WebhookSubscriptionCreate
from service import awards
from service.app import create_app
from service.context import PaymentPolicy, RequestContext, utcnow
from service.documents import reports as document_reports
from service.documents.render import default_pool
from service.identity.secrets import new_api_key, new_token
from service.persistence.database import Database
from service.persistence.models import (
    ActionPlan,
    ActionPlanItem,
    ApiKey,
    AppUser,
    Attachment,
    AuditEvent,
    AuthToken,
    CallContribution,
    CallWindow,
    Conflict,
    Criterion,
    CriterionScore,
    Decision,
    ExchangeRate,
    FundingSource,
    GeneratedDocument,
    Indicator,
    Membership,
    Organisation,
    OutboxMessage,
    Panel,
    PanelMember,
    Pcc,
    PccMember,
    Proposal,
    Review,
    ReviewAssignment,
    Rubric,
    RuleSet,
    Territory,
    UserRole,
    WebhookDelivery,
    WebhookSubscription,
    WindowActionPlanItem,
    WindowAllocation,
    WindowTerritory,
)
from service.persistence.models import Call as CallForProposals
from service.reports import service as reports
from service.selection import service as selection
from service.storage import FileStore
from tests.conftest import (
    TEST_PASSWORD,
    TEST_SETTINGS,
    Person,
    QueryCounter,
    hashed_test_password,
)
from tests.routes import UNKNOWN_ID, api_operations

PROBLEM_PREFIX = "urn:pcc-grants:problem:"
REFUSAL_SLUGS = {401: "unauthenticated", 403: "forbidden", 404: "not-found"}

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
RULES: list[dict[str, Any]] = [{"id": "place", "kind": "territory_in_window"}]
"""Organisation A (in the world's territory) passes; so does every proposal of the world."""
CRITERIA: tuple[tuple[str, int, int | None], ...] = (
    ("relevance", 400, 25),
    ("feasibility", 350, None),
    ("gender", 250, None),
)
"""The open window's rubric: (code, weight in thousandths, threshold in tenths); scales 0–5."""
SCORES: dict[str, int] = {"relevance": 40, "feasibility": 40, "gender": 35}
"""Every review of the world scores each criterion so, above every threshold."""

# --- the callers ------------------------------------------------------------------------------

USER_ROLES: dict[str, tuple[Role, ...]] = {
    "applicant": (),  # member of organisation A
    "other_applicant": (),  # member of organisation B
    "reviewer": (Role.REVIEWER,),
    "programme_officer": (Role.PROGRAMME_OFFICER,),
    "finance_officer": (Role.FINANCE_OFFICER,),
    "auditor": (Role.AUDITOR,),
    "admin": (Role.ADMIN,),
}
PARTNER_SCOPES: dict[str, tuple[ApiScope, ...]] = {
    "partner_pcc": (ApiScope.READ_PCC,),
    "partner_noscope": (ApiScope.READ_CALLS,),
    "partner_awards": (ApiScope.READ_AWARDS,),
    "partner_reports": (ApiScope.WRITE_REPORTS,),  # organisation A's own system
}
PARTNER_OF_A = "partner_reports"
ACTORS: tuple[str, ...] = ("anonymous", *USER_ROLES, *PARTNER_SCOPES)

EVERYONE = frozenset(ACTORS)
USERS = frozenset(USER_ROLES)
PARTNERS = frozenset(PARTNER_SCOPES)


def only(*actors: str) -> frozenset[str]:
    assert set(actors) - EVERYONE == set(), "a typo in an actor's name"
    return frozenset(actors)


# --- the app, built once ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def matrix_storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared app's private file storage (its settings are frozen: one for the module)."""
    return tmp_path_factory.mktemp("matrix-storage")


@pytest.fixture
def storage_dir(matrix_storage: Path) -> Iterator[Path]:
    """Overrides conftest's: where this module's app keeps uploaded files. Emptied after each
    test: the files of its world (rolled back) would otherwise pile up, and every actor's call
    reads and puts back the whole store (`stored_files`), ever more of it, test after test."""
    yield matrix_storage
    for path in matrix_storage.iterdir():
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


@pytest.fixture(scope="module")
async def shared_app(matrix_storage: Path) -> AsyncIterator[Litestar]:
    """`create_app` builds the OpenAPI document (about 0.1 s): once here, not once per case."""
    unbound = Database.from_url("postgresql+asyncpg://unused@localhost:1/unused")
    settings = TEST_SETTINGS.model_copy(update={"storage_dir": matrix_storage})
    yield create_app(settings, database=unbound)
    await unbound.dispose()


@pytest.fixture
def app(shared_app: Litestar, db: Database) -> Iterator[Litestar]:
    """Overrides conftest's `app`: the same app, its sessions joining this test's transaction."""
    unbound = shared_app.state.db
    shared_app.state.db = db
    yield shared_app
    shared_app.state.db = unbound


# --- the world: one real target for every path parameter ----------------------------------------

B = TypeVar("B")


@dataclass
class World:
    territory: Territory
    org_a: Organisation
    org_b: Organisation
    pcc: Pcc
    plan: ActionPlan
    item: ActionPlanItem
    source: FundingSource
    api_key: ApiKey
    fund: FundingSource
    """Funds the calls (`source` stays unused, so that its case may delete it)."""
    call: CallForProposals
    """Published, with one window (`window`) open now."""
    window: CallWindow
    rule_set: RuleSet
    draft_call: CallForProposals
    """A draft, complete enough to publish: one window (`draft_window`) with rules and a place."""
    draft_window: CallWindow
    draft: Proposal
    """Organisation A's draft in the open window, with `attachment` (a real stored PDF)."""
    attachment: Attachment
    store: FileStore
    """Where the app keeps uploaded files."""
    eligible: Proposal
    """Organisation A's proposal, submitted and judged eligible, in the open window."""
    other_draft: Proposal
    """Organisation B's draft in the open window."""
    people: dict[str, Person]
    partner_keys: dict[str, str]
    http: httpx.AsyncClient
    session: AsyncSession
    actor: str = "anonymous"
    sent: Any = None
    """The body of the case's call, as the call kept it (`keep`), for the case's check."""

    # --- the open window's review round: only for the cases that need it (`_review_round`) ---
    indicator: Indicator = field(init=False, repr=False)
    """An indicator of `item` (`_indicator_round`)."""
    rubric: Rubric = field(init=False, repr=False)
    """The open window's rubric (`CRITERIA`); the window's panel is the `reviewer` alone."""
    in_review: Proposal = field(init=False, repr=False)
    """Organisation A's proposal in review: the reviewer's live `assignment`, its saved draft
    `review` (every criterion scored), and `review_attachment` (a real stored PDF)."""
    assignment: ReviewAssignment = field(init=False, repr=False)
    review: Review = field(init=False, repr=False)
    review_attachment: Attachment = field(init=False, repr=False)
    scored: Proposal = field(init=False, repr=False)
    """Organisation A's scored proposal: the reviewer's `submitted_review` is in, so a selection
    run over the open window has this one proposal to rank."""
    submitted_review: Review = field(init=False, repr=False)
    selected: Proposal = field(init=False, repr=False)
    """Organisation A's proposal, selected (with its current decision): it may be declined."""
    run: SelectionRunRead | None = None
    """The selection run over the open window that the case's `prepare` made."""
    change: DecisionChangeRead = field(init=False, repr=False)
    """A pending change of `scored`'s decision after the approval (`_change_pending`), proposed
    by another programme officer than the callers'."""
    grant: GrantRead = field(init=False, repr=False)
    """Organisation A's grant on `selected` (`_grant_round`): 40,000,000 in four tranches —
    0: 16,000,000 approved (above the test threshold: needs a second finance officer), 1:
    8,000,000 approved (payable), 2: 8,000,000 due, 3: 8,000,000 planned until the agreement."""
    entry: LedgerEntryRead = field(init=False, repr=False)
    """Tranche 1's payment (`_paid_round`), made by a finance officer other than the callers."""
    report: ReportRead = field(init=False, repr=False)
    """Organisation A's draft progress report on `grant` (`_report_round`), with
    `report_attachment` (a real stored PDF); `submitted_report` awaits the officer's decision."""
    submitted_report: ReportRead = field(init=False, repr=False)
    report_attachment: Attachment = field(init=False, repr=False)
    webhook: WebhookSubscription = field(init=False, repr=False)
    """An administrator's subscription (`_webhook_round`) with one `webhook_delivery`."""
    webhook_delivery: WebhookDelivery = field(init=False, repr=False)
    document_id: uuid.UUID = field(init=False, repr=False)
    """The programme officer's ranking report of the open window (`_ranking_report_ready`)."""

    def keep(self, body: B) -> B:
        """The call's body, kept in `sent` for the check of the answer."""
        self.sent = body
        return body

    def client(self, actor: str) -> GrantsClient:
        if actor in self.people:
            return GrantsClient(self.http, token=self.people[actor].token)
        if actor in self.partner_keys:
            return GrantsClient(self.http, api_key=self.partner_keys[actor])
        assert actor == "anonymous"
        return GrantsClient(self.http)

    @property
    def officer(self) -> GrantsClient:
        return self.people["programme_officer"].client

    @property
    def run_id(self) -> uuid.UUID:
        assert self.run is not None, "the case's `prepare` makes the run"
        return self.run.id

    @property
    def sign_in_email(self) -> str:
        """Users sign in as themselves; anonymous callers and partners as the administrator."""
        person = self.people.get(self.actor) or self.people["admin"]
        return person.user.email

    @staticmethod
    def uid() -> str:
        """Unique codes, e-mails and names, so that an allowed call really succeeds."""
        return uuid.uuid4().hex[:10]


@pytest.fixture
async def world(
    http: httpx.AsyncClient, session: AsyncSession, territory: Territory, storage_dir: Path
) -> World:
    """Built for every case, so built in a few round trips: the rows are added level by level,
    one flush per level (the models have no relationships by which one flush could order them).
    The open window's review round is added only by the cases that need it (`_review_round`)."""
    now = utcnow()
    orgs = [
        Organisation(
            name=f"Organisation {letter}",
            kind=OrganisationKind.CSO,
            territory_id=territory.id,
            founded_year=2015,
            registration_number=f"REG-{uuid.uuid4().hex[:10]}",
        )
        for letter in "AB"
    ]
    org_a, org_b = orgs
    users = {
        name: AppUser(
            email=f"{name.replace('_', '-')}-{uuid.uuid4().hex[:8]}@test.example",
            full_name=f"Test {name}",
            password_hash=hashed_test_password(),
        )
        for name in USER_ROLES
    }
    session.add_all([*orgs, *users.values()])
    await session.flush()

    # --- people, partners, PCC, funding, calls and rule sets (they need users) ---
    people: dict[str, Person] = {}
    for name, roles in USER_ROLES.items():
        user = users[name]
        session.add_all([UserRole(user_id=user.id, role=role) for role in roles])
        member_of = {"applicant": org_a, "other_applicant": org_b}.get(name)
        if member_of is not None:
            session.add(
                Membership(
                    user_id=user.id, organisation_id=member_of.id, role=MembershipRole.MEMBER
                )
            )
        token, token_hash = new_token()
        session.add(
            AuthToken(
                user_id=user.id,
                token_hash=token_hash,
                created_at=now - timedelta(hours=2),
                expires_at=now + timedelta(hours=1),
            )
        )
        people[name] = Person(user=user, token=token, client=GrantsClient(http, token=token))
    admin_id = people["admin"].id
    officer_id = people["programme_officer"].id
    applicant_id = people["applicant"].id

    partner_keys: dict[str, str] = {}
    for name, scopes in PARTNER_SCOPES.items():
        key, prefix, key_hash = new_api_key()
        session.add(
            ApiKey(
                name=name,
                prefix=prefix,
                key_hash=key_hash,
                scopes=[s.value for s in scopes],
                organisation_id=org_a.id if name == PARTNER_OF_A else None,
                created_by=admin_id,
            )
        )
        partner_keys[name] = key
    _, prefix, key_hash = new_api_key()
    target_key = ApiKey(
        name="target key",
        prefix=prefix,
        key_hash=key_hash,
        scopes=[ApiScope.READ_AWARDS.value],
        created_by=admin_id,
    )
    pcc = Pcc(territory_id=territory.id, name={"en": "PCC of Osh"}, established_year=2019)
    source = FundingSource(
        code=f"FS-{uuid.uuid4().hex[:8]}", name="PBF via UNDP", kind=FundingSourceKind.UN_AGENCY
    )
    fund = FundingSource(
        code=f"FS-{uuid.uuid4().hex[:8]}",
        name="Peacebuilding Fund",
        kind=FundingSourceKind.UN_AGENCY,
    )
    # One call published, its window open now (by the server clock); one draft, ready to publish.
    call = CallForProposals(
        title={"en": "Trust-building grants"},
        description={"en": "Small grants for dialogue"},
        status=CallStatus.PUBLISHED,
        created_by=officer_id,
        published_at=now - timedelta(days=10),
    )
    draft_call = CallForProposals(
        title={"en": "Next year's grants"},
        description={"en": "In preparation"},
        created_by=officer_id,
    )
    window = CallWindow(
        call_id=call.id,
        code="W1",
        position=0,
        title={"en": "Window W1"},
        opens_at=now - timedelta(days=10),
        closes_at=now + timedelta(days=30),
        min_grant=1_000_000,
        max_grant=50_000_000,
        status=CallStatus.PUBLISHED,
    )
    draft_window = CallWindow(
        call_id=draft_call.id,
        code="W1",
        position=0,
        title={"en": "Window W1 of next year"},
        opens_at=now + timedelta(days=60),
        closes_at=now + timedelta(days=90),
        min_grant=1_000_000,
        max_grant=50_000_000,
    )
    rule_set = RuleSet(key=f"window:{window.id}", version=1, rules=RULES, created_by=officer_id)
    draft_rules = RuleSet(
        key=f"window:{draft_window.id}", version=1, rules=RULES, created_by=officer_id
    )
    window.rule_set_id = rule_set.id
    draft_window.rule_set_id = draft_rules.id
    session.add_all([target_key, pcc, source, fund, call, draft_call, rule_set, draft_rules])
    await session.flush()

    # --- the action plan, the windows, the calls' funding ---
    plan = ActionPlan(
        pcc_id=pcc.id,
        title={"en": "Action plan 2026"},
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
        status=ActionPlanStatus.DRAFT,
    )
    contributions = [
        CallContribution(
            call_id=x.id, funding_source_id=fund.id, amount=100_000_000, rate=Decimal(1)
        )
        for x in (call, draft_call)
    ]
    session.add_all([plan, window, draft_window, *contributions])
    await session.flush()

    # --- the plan's item, the windows' links, the proposals ---
    item = ActionPlanItem(
        action_plan_id=plan.id,
        code="1.1",
        objective={"en": "Youth dialogue"},
        activities="Dialogue platforms in schools",
        budget_estimate=50_000_00,
        currency="KGS",
    )
    draft = Proposal(
        window_id=window.id,
        organisation_id=org_a.id,
        title="Youth dialogue in Osh",
        summary="Dialogue platforms in schools",
        requested_amount=10_000_000,
        created_by=applicant_id,
    )
    eligible = Proposal(
        window_id=window.id,
        organisation_id=org_a.id,
        title="Women mediators",
        summary="Training women as community mediators",
        requested_amount=20_000_000,
        status=ProposalStatus.ELIGIBLE,
        snapshot={"title": "Women mediators", "requested_amount": 20_000_000},
        receipt_number=f"TEST-{uuid.uuid4().hex[:10]}",
        submitted_at=now - timedelta(days=1),
        created_by=applicant_id,
    )
    other_draft = Proposal(
        window_id=window.id,
        organisation_id=org_b.id,
        title="Sports for peace",
        summary="",
        created_by=people["other_applicant"].id,
    )
    session.add_all(
        [
            item,
            WindowAllocation(window_id=window.id, funding_source_id=fund.id, amount=40_000_000),
            WindowTerritory(window_id=window.id, territory_id=territory.id),
            WindowTerritory(window_id=draft_window.id, territory_id=territory.id),
            draft,
            eligible,
            other_draft,
        ]
    )
    await session.flush()

    # --- the draft's attachment, its file really stored where the app reads files ---
    store = FileStore(storage_dir)
    attachment = _stored_pdf(store, draft, applicant_id)
    session.add(attachment)
    await session.flush()

    return World(
        territory=territory,
        org_a=org_a,
        org_b=org_b,
        pcc=pcc,
        plan=plan,
        item=item,
        source=source,
        api_key=target_key,
        fund=fund,
        call=call,
        window=window,
        rule_set=rule_set,
        draft_call=draft_call,
        draft_window=draft_window,
        draft=draft,
        attachment=attachment,
        store=store,
        eligible=eligible,
        other_draft=other_draft,
        people=people,
        partner_keys=partner_keys,
        http=http,
        session=session,
    )


def _stored_pdf(store: FileStore, proposal: Proposal, uploaded_by: uuid.UUID) -> Attachment:
    stored = store.save(PDF, "budget.pdf")
    return Attachment(
        proposal_id=proposal.id,
        kind=AttachmentKind.BUDGET,
        original_name=stored.original_name,
        storage_name=stored.storage_name,
        content_type=stored.content_type,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        uploaded_by=uploaded_by,
    )


async def _review_round(w: World) -> None:
    """The open window's review round, for the cases that need it (a `prepare`: most cases do
    not, and every case builds its world afresh). Four more levels of rows: the rubric and the
    proposals; the criteria, the reviewer's assignments and the rest; the reviews; their scores."""
    session = w.session
    now = utcnow()
    officer_id = w.people["programme_officer"].id
    reviewer_id = w.people["reviewer"].id
    applicant_id = w.people["applicant"].id
    rubric = Rubric(
        key=f"window:{w.window.id}",
        version=1,
        name={"en": "Small grants rubric"},
        overall_threshold=20,
        tie_break=["relevance"],
        created_by=officer_id,
    )
    in_review, scored, selected = (
        Proposal(
            window_id=w.window.id,
            organisation_id=w.org_a.id,
            title=title,
            summary=title,
            requested_amount=15_000_000,
            status=status,
            snapshot={"title": title, "requested_amount": 15_000_000},
            receipt_number=f"TEST-{uuid.uuid4().hex[:10]}",
            submitted_at=now - timedelta(days=2),
            created_by=applicant_id,
        )
        for title, status in (
            ("Elders' councils", ProposalStatus.IN_REVIEW),
            ("Radio for peace", ProposalStatus.SCORED),
            ("Water users' mediation", ProposalStatus.SELECTED),
        )
    )
    panel = Panel(window_id=w.window.id, name="Review panel")
    session.add_all([rubric, in_review, scored, selected, panel])
    await session.flush()

    criteria = {
        code: Criterion(
            rubric_id=rubric.id,
            code=code,
            position=n,
            name={"en": code.title()},
            weight=weight,
            scale_min=0,
            scale_max=50,
            scale_step=5,
            threshold=threshold,
        )
        for n, (code, weight, threshold) in enumerate(CRITERIA)
    }
    w.window.rubric_id = rubric.id
    w.window.reviewers_see_panel_scores = True  # ListProposalReviews: the reviewer reads them
    assignment, done = (
        ReviewAssignment(
            proposal_id=proposal.id,
            reviewer_id=reviewer_id,
            status=status,
            assigned_by=officer_id,
            no_conflict_declared_at=now,
        )
        for proposal, status in (
            (in_review, AssignmentStatus.ASSIGNED),
            (scored, AssignmentStatus.COMPLETED),
        )
    )
    review_attachment = _stored_pdf(w.store, in_review, applicant_id)
    session.add_all(
        [
            *criteria.values(),
            assignment,
            done,
            review_attachment,
            PanelMember(panel_id=panel.id, user_id=reviewer_id),
            Decision(
                proposal_id=selected.id,
                outcome=DecisionOutcome.SELECTED,
                reason="Selected by the panel",
                actor_id=officer_id,
            ),
        ]
    )
    await session.flush()

    review = Review(assignment_id=assignment.id, comment="Draft notes")
    submitted_review = Review(
        assignment_id=done.id,
        status=ReviewStatus.SUBMITTED,
        comment="Clear and feasible",
        submitted_at=now - timedelta(hours=1),
        version=2,
    )
    session.add_all([review, submitted_review])
    await session.flush()
    session.add_all(
        [
            CriterionScore(review_id=r.id, criterion_id=criteria[code].id, value=value)
            for r in (review, submitted_review)
            for code, value in SCORES.items()
        ]
    )
    await session.flush()
    w.rubric, w.in_review, w.assignment, w.review = rubric, in_review, assignment, review
    w.review_attachment, w.scored, w.submitted_review = review_attachment, scored, submitted_review
    w.selected = selected


# --- the table --------------------------------------------------------------------------------

Call = Callable[[World, GrantsClient], Awaitable[Any]]
Check = Callable[[World, GrantsClient, Any], Awaitable[None]]


@dataclass(frozen=True)
class Case:
    call: Call
    allowed: frozenset[str]
    hidden: frozenset[str] = frozenset()
    """Refused with 404: the service does not reveal that the target exists."""
    check: Check | None = None
    """Run after an allowed call, with its result."""
    writes: bool | None = None
    """None: a write unless the method is GET. False for a POST that only computes (the
    eligibility pre-check): then even an allowed call must change no row and write no event."""
    prepare: Callable[[World], Awaitable[None]] | None = None
    """Run before the call (and before the rows are counted), as any actor: builds targets too
    costly for every world (a computed selection run)."""


def _org_create(w: World) -> OrganisationCreate:
    u = w.uid()
    return OrganisationCreate(
        name=f"Youth group {u}",
        kind=OrganisationKind.YOUTH_GROUP,
        territory_id=w.territory.id,
        founded_year=2020,
        registration_number=f"REG-{u}",
        youth_led=True,
    )


def _registration(w: World) -> RegistrationCreate:
    return RegistrationCreate(
        email=f"reg-{w.uid()}@test.example",
        password=TEST_PASSWORD,
        full_name="New Applicant",
        organisation=_org_create(w),
    )


def _user_create(w: World) -> UserCreate:
    return UserCreate(
        email=f"staff-{w.uid()}@test.example",
        password=TEST_PASSWORD,
        full_name="New Officer",
        roles=[Role.REVIEWER],
    )


def _plan_create(w: World) -> ActionPlanCreate:
    return ActionPlanCreate(
        pcc_id=w.pcc.id,
        title=I18nText(en=f"Action plan {w.uid()}"),
        period_start=date(2027, 1, 1),
        period_end=date(2027, 12, 31),
    )


def _item_create(w: World) -> ActionPlanItemCreate:
    return ActionPlanItemCreate(
        code=f"2.{w.uid()}",
        objective=I18nText(en="Women's participation in local decisions"),
        activities="Public hearings",
        budget_estimate=20_000_00,
        gender_responsive=True,
        indicators=[
            IndicatorCreate(name=I18nText(en="Hearings held"), unit="events", target=Decimal(4))
        ],
    )


async def _indicator_round(w: World) -> None:
    w.indicator = Indicator(
        action_plan_item_id=w.item.id,
        name={"en": "Schools reached"},
        unit="schools",
        target=Decimal(4),
    )
    w.session.add(w.indicator)
    await w.session.flush()


async def _indicator_updated(w: World, c: GrantsClient, ind: Any) -> None:
    assert (ind.id, ind.target) == (w.indicator.id, Decimal(9))


async def _indicator_gone(w: World, c: GrantsClient, _: None) -> None:
    item = await c.get_action_plan_item(w.item.id)
    assert w.indicator.id not in [i.id for i in item.indicators]


ACTION_PLAN_IMPORT_HEADER = (
    "territory,plan_title_en,plan_title_ru,plan_title_ky,period_start,period_end,item_code,"
    "objective_en,objective_ru,objective_ky,activities,budget,target_groups,gender_responsive,"
    "conflict_sensitive\n"
)


def _action_plan_csv(w: World) -> bytes:
    """A tiny valid import: one new plan with one item, in the world's territory."""
    row = (
        f"{w.territory.code},Imported plan {w.uid()},,,2027-01-01,2027-12-31,1.1,"
        "Youth dialogue,,,Dialogue platforms,25 000.50,youth; women,no,yes\n"
    )
    return (ACTION_PLAN_IMPORT_HEADER + row).encode()


def _organisation_csv(w: World) -> bytes:
    return (
        "name,kind,registration_number,territory,founded_year,women_led,youth_led\n"
        f"Imported group {w.uid()},youth_group,IMP-{w.uid()},{w.territory.code},2021,no,yes\n"
    ).encode()


async def _names_every_organisation_of_the_territory(
    w: World, c: GrantsClient, found: OrganisationDirectory
) -> None:
    assert {w.org_a.id, w.org_b.id} <= {o.id for o in found.items}


async def _sees_own_organisations(w: World, c: GrantsClient, page: OrganisationPage) -> None:
    seen = {o.id for o in page.items}
    if w.actor == "applicant":
        assert seen == {w.org_a.id}
    elif w.actor == "other_applicant":
        assert seen == {w.org_b.id}
    elif w.actor == "reviewer":
        assert seen == set()
    else:
        assert seen >= {w.org_a.id, w.org_b.id}


async def _sees_drafts_if_staff(w: World, c: GrantsClient, page: ActionPlanPage) -> None:
    seen = {plan.id for plan in page.items}
    if w.actor in DRAFT_PLAN_READERS:
        assert w.plan.id in seen
    else:
        assert w.plan.id not in seen


async def _token_works(w: World, c: GrantsClient, token: TokenRead) -> None:
    me = await c.as_user(token.access_token).get_me()
    assert me.email == w.sign_in_email


async def _second_factor_on(c: GrantsClient) -> RecoveryCodes:
    """Enrol the caller in TOTP and confirm it with the app's code of now."""
    enrolment = await c.create_totp_enrolment()
    code = pyotp.TOTP(enrolment.secret).now()
    return await c.create_totp_confirmation(TotpConfirmation(code=code))


async def _ten_codes(w: World, c: GrantsClient, codes: RecoveryCodes) -> None:
    assert len(set(codes.codes)) == 10
    assert (await c.get_me()).totp_enabled is True


async def _second_factor_off(w: World, c: GrantsClient, _: None) -> None:
    assert (await c.get_me()).totp_enabled is False


async def _remove_second_factor(c: GrantsClient) -> None:
    await _second_factor_on(c)
    await c.create_totp_removal(TotpRemoval(password=TEST_PASSWORD))


async def _new_codes(c: GrantsClient) -> RecoveryCodes:
    await _second_factor_on(c)
    return await c.create_recovery_codes(RecoveryCodesCreate(password=TEST_PASSWORD))


async def _reset_revokes(w: World, c: GrantsClient, reset: PasswordResetRead) -> None:
    assert reset.temporary_password is not None
    assert reset.tokens_revoked == 1
    with pytest.raises(ApiError) as caught:
        await w.people["reviewer"].client.get_me()
    assert caught.value.status == 401


async def _deactivation_revokes(w: World, c: GrantsClient, user: UserRead) -> None:
    assert user.is_active is False
    with pytest.raises(ApiError) as caught:
        await w.people["reviewer"].client.get_me()
    assert caught.value.status == 401


async def _token_is_dead(w: World, c: GrantsClient, _: None) -> None:
    with pytest.raises(ApiError) as caught:
        await c.get_me()
    assert caught.value.status == 401


def _call_create(w: World) -> CallCreate:
    return CallCreate(
        title=I18nText(en=f"Grants {w.uid()}"),
        description=I18nText(en="Small grants for trust-building"),
        contributions=[ContributionCreate(funding_source_id=w.fund.id, amount=50_000_000)],
    )


def _window_create(w: World) -> WindowCreate:
    """Another window for the draft call, under a code of its own."""
    now = utcnow()
    return WindowCreate(
        code=f"W-{w.uid()}",
        title=I18nText(en="Window for youth groups"),
        opens_at=now + timedelta(days=60),
        closes_at=now + timedelta(days=90),
        min_grant=500_000,
        max_grant=5_000_000,
        territory_ids=[w.territory.id],
        rules=RULES,
    )


def _budget(w: World) -> BudgetLinesReplace:
    return BudgetLinesReplace(
        version=w.draft.version,
        lines=[
            BudgetLineCreate(
                category="venue", description="Hall", quantity=Decimal("2.5"), unit_cost=1_600_000
            )
        ],
    )


def _raw_answers(w: World) -> EligibilityCheck:
    return EligibilityCheck(
        answers=EligibilityAnswers(
            organisation_kind=OrganisationKind.CSO, territory_id=w.territory.id, founded_year=2015
        )
    )


async def _sees_draft_calls_if_staff(w: World, c: GrantsClient, page: CallPage) -> None:
    seen = {call.id for call in page.items}
    assert w.call.id in seen
    assert (w.draft_call.id in seen) == (w.actor in DRAFT_CALL_READERS)


async def _sees_proposals_it_may_read(w: World, c: GrantsClient, page: ProposalPage) -> None:
    seen = {p.id for p in page.items}
    if w.actor == "applicant":
        assert seen == {w.draft.id, w.eligible.id}
    elif w.actor == "other_applicant":
        assert seen == {w.other_draft.id}
    elif w.actor in PROPOSAL_READERS:
        assert seen >= {w.draft.id, w.eligible.id, w.other_draft.id}
    else:
        assert seen == set()


async def _offers_what_it_allows(w: World, c: GrantsClient, proposal: ProposalRead) -> None:
    """The buttons the proposal offers match the matrix: only its members may edit the draft
    (the staff who read it, finance officers included, are offered nothing)."""
    if w.actor == "applicant":
        assert proposal.allowed_actions == ["update", "upload", "submit", "withdraw"]
    else:
        assert proposal.allowed_actions == []


async def _passes(w: World, c: GrantsClient, result: EligibilityRead) -> None:
    assert result.verdict == "pass"
    assert result.rule_set_id == w.rule_set.id


async def _is_the_stored_file(w: World, c: GrantsClient, result: tuple[bytes, Any]) -> None:
    content, headers = result
    assert content == PDF
    assert headers["content-type"].startswith("application/pdf")
    assert headers["content-disposition"].startswith("attachment")


async def _file_is_gone(w: World, c: GrantsClient, _: None) -> None:
    assert not w.store.path(w.attachment.storage_name).exists()
    with pytest.raises(ApiError) as caught:
        await c.get_attachment_content(w.attachment.id)
    assert caught.value.status == 404


# --- reviews and selection: bodies, targets made on demand, checks ---


def _rubric_create(w: World) -> RubricCreate:
    """A rubric for the draft call's window (the open one has submissions: its rubric is final)."""
    return RubricCreate(
        version=w.draft_window.version,
        name=I18nText(en=f"Rubric {w.uid()}"),
        criteria=[
            CriterionCreate(code=code, name=I18nText(en=code.title()), weight=weight, threshold=t)
            for code, weight, t in CRITERIA
        ],
        overall_threshold=20,
        tie_break=["relevance"],
    )


def _scores() -> list[CriterionScoreInput]:
    return [CriterionScoreInput(criterion=k, value=v) for k, v in SCORES.items()]


async def _pending_run(w: World) -> None:
    await _review_round(w)
    w.run = await w.officer.create_selection_run(w.window.id, SelectionRunCreate())


async def _pcc_member(w: World) -> None:
    """`other_applicant` sits on the world's PCC (a member linked to their account)."""
    w.session.add(
        PccMember(
            pcc_id=w.pcc.id,
            full_name="Aigul Member",
            pillar=Pillar.CIVIL_SOCIETY,
            user_id=w.people["other_applicant"].id,
        )
    )
    await w.session.flush()


async def _sits_on_the_pcc(w: World, c: GrantsClient, pccs: list[PccRead]) -> None:
    assert [x.id for x in pccs] == ([w.pcc.id] if w.actor == "other_applicant" else [])


async def _computed_run(w: World) -> None:
    """Ranks the world's one scored proposal, which the window's envelope funds."""
    await _pending_run(w)
    w.run = await w.officer.create_selection_computation(w.run_id)


async def _computed_by_another(w: World) -> None:
    """A run created and computed by another programme officer (the administrator acting so,
    not one of the callers' roles): the callers' officer may approve it (four eyes)."""
    await _review_round(w)
    other = _acting(w, "admin", Role.PROGRAMME_OFFICER)
    w.run = await selection.create_run(w.session, other, w.window.id, SelectionRunCreate())
    w.run = await selection.compute_run(w.session, other, w.run_id)


async def _approved_by_two(w: World) -> None:
    """The run computed by another officer and approved by the callers' officer: `scored` is
    selected."""
    await _computed_by_another(w)
    w.run = await w.officer.approve_selection_run(
        w.run_id, SelectionRunTransition(reason="Panel meeting of 23 November")
    )


async def _feedback_published(w: World) -> None:
    """After the approval by two, another officer publishes the window's feedback."""
    await _approved_by_two(w)
    await selection.publish_feedback(
        w.session, _acting(w, "admin", Role.PROGRAMME_OFFICER), w.window.id
    )


async def _published_now(w: World, c: GrantsClient, state: FeedbackPublicationRead) -> None:
    me = await c.get_me()
    assert (state.window_id, state.published_by) == (w.window.id, me.id)
    assert state.proposals > 0
    assert (await w.officer.get_window(w.window.id)).feedback_published_at == state.published_at


async def _not_published_yet(w: World, c: GrantsClient, state: FeedbackPublicationRead) -> None:
    assert (state.published_at, state.approved_run_id) == (None, w.run_id)


async def _change_pending(w: World) -> None:
    """After the approval, another officer proposes to unselect `scored` (`w.change`)."""
    await _approved_by_two(w)
    w.change = await selection.propose_decision_change(
        w.session,
        _acting(w, "admin", Role.PROGRAMME_OFFICER),
        w.scored.id,
        DecisionCreate(
            outcome=DecisionOutcome.NOT_SELECTED,
            reason="Duplicate funding found from another donor",
        ),
    )


async def _change_proposed(w: World, c: GrantsClient, change: DecisionChangeRead) -> None:
    assert (change.proposal_id, change.status) == (w.scored.id, "pending")
    assert await _status(w, w.scored) == ProposalStatus.SELECTED  # nothing moves yet


async def _change_confirmed(w: World, c: GrantsClient, change: DecisionChangeRead) -> None:
    assert (change.status, change.confirmed_by) == ("confirmed", w.people["programme_officer"].id)
    assert await _status(w, w.scored) == ProposalStatus.NOT_SELECTED


async def _change_rejected(w: World, c: GrantsClient, change: DecisionChangeRead) -> None:
    assert (change.status, change.rejected_by) == ("rejected", w.people["programme_officer"].id)
    assert await _status(w, w.scored) == ProposalStatus.SELECTED


async def _is_the_change(w: World, c: GrantsClient, change: DecisionChangeRead) -> None:
    assert (change.id, change.status) == (w.change.id, "pending")


async def _lists_the_change(w: World, c: GrantsClient, changes: list[DecisionChangeRead]) -> None:
    assert [x.id for x in changes] == [w.change.id]


async def _lists_the_run(w: World, c: GrantsClient, runs: list[SelectionRunSummary]) -> None:
    assert [(x.id, x.status) for x in runs] == [(w.run_id, "pending")]


async def _lists_the_decision(
    w: World, c: GrantsClient, decisions: list[DecisionHistoryEntry]
) -> None:
    """After the approval by two: the scored proposal's decision, in force, among the run's."""
    assert (w.scored.id, "selected", True) in [
        (x.proposal_id, x.outcome, x.current) for x in decisions
    ]
    assert w.run_id in {x.run_id for x in decisions}


async def _status(w: World, proposal: Proposal) -> ProposalStatus:
    return (await w.officer.get_proposal(proposal.id)).status


async def _is_the_rubric(w: World, c: GrantsClient, rubric: RubricRead) -> None:
    assert rubric.id == w.rubric.id
    assert [x.code for x in rubric.criteria] == [code for code, _, _ in CRITERIA]


async def _is_a_new_rubric(w: World, c: GrantsClient, rubric: RubricRead) -> None:
    assert (rubric.key, rubric.version) == (f"window:{w.draft_window.id}", 1)
    assert (await c.get_rubric(rubric.id)).criteria == rubric.criteria


async def _panel_is_the_reviewer(w: World, c: GrantsClient, panel: PanelRead) -> None:
    assert panel.reviewer_ids == [w.people["reviewer"].id]


async def _eligible_goes_to_review(
    w: World, c: GrantsClient, result: AssignmentList | AssignmentRead
) -> None:
    """Auto or manual: the eligible proposal, the only one the reviewer lacks, goes to it."""
    items = result.items if isinstance(result, AssignmentList) else [result]
    pairs = {(a.proposal_id, a.reviewer_id) for a in items}
    assert pairs == {(w.eligible.id, w.people["reviewer"].id)}
    assert await _status(w, w.eligible) == ProposalStatus.IN_REVIEW


async def _sees_own_assignments(w: World, c: GrantsClient, page: AssignmentList) -> None:
    assert {(a.proposal_id, a.review_status) for a in page.items} == {
        (w.in_review.id, ReviewStatus.DRAFT),
        (w.scored.id, ReviewStatus.SUBMITTED),
    }


async def _is_the_assigned_proposal(w: World, c: GrantsClient, view: ReviewerProposalView) -> None:
    assert view.id == w.in_review.id
    assert view.rubric is not None
    assert view.rubric.id == w.rubric.id
    assert [a["id"] for a in view.attachments] == [str(w.review_attachment.id)]


async def _is_the_draft_review(w: World, c: GrantsClient, review: ReviewRead) -> None:
    assert (review.id, review.status) == (w.review.id, ReviewStatus.DRAFT)
    assert {s.criterion: s.value for s in review.scores} == SCORES


async def _is_saved(w: World, c: GrantsClient, review: ReviewRead) -> None:
    assert (review.id, review.version) == (w.review.id, w.review.version + 1)


async def _proposal_is_scored(w: World, c: GrantsClient, review: ReviewRead) -> None:
    assert review.status == ReviewStatus.SUBMITTED
    assert await _status(w, w.in_review) == ProposalStatus.SCORED


async def _undeclared_review_round(w: World) -> None:
    """The review round, with the reviewer yet to declare (no) conflict on its assignment."""
    await _review_round(w)
    w.assignment.no_conflict_declared_at = None
    await w.session.flush()


async def _declared_no_conflict(w: World, c: GrantsClient, a: AssignmentRead) -> None:
    assert a.id == w.assignment.id
    assert a.no_conflict_declared_at is not None
    assert a.receipt_number == w.in_review.receipt_number


async def _reviewer_steps_back(w: World, c: GrantsClient, _: Any) -> None:
    with pytest.raises(ApiError) as caught:
        await c.get_assigned_proposal(w.assignment.id)
    assert caught.value.status == 404


async def _back_in_review(w: World, c: GrantsClient, review: ReviewRead) -> None:
    assert review.status == ReviewStatus.REOPENED
    assert await _status(w, w.scored) == ProposalStatus.IN_REVIEW


async def _sees_the_submitted_review(w: World, c: GrantsClient, reviews: ReviewList) -> None:
    """Staff see who reviewed; so does the reviewer, of its own review."""
    assert [(r.id, r.reviewer_id) for r in reviews.items] == [
        (w.submitted_review.id, w.people["reviewer"].id)
    ]


async def _consensus_recorded(w: World, c: GrantsClient, consensus: ConsensusRead) -> None:
    assert (consensus.proposal_id, consensus.criterion, consensus.value) == (
        w.scored.id,
        "gender",
        30,
    )


async def _seed_is_secret(w: World, c: GrantsClient, run: SelectionRunRead) -> None:
    assert (run.status, run.seed, len(run.seed_hash)) == ("pending", None, 64)


async def _funds_the_scored(w: World, c: GrantsClient, run: SelectionRunRead) -> None:
    assert (run.status, run.seed is not None) == ("computed", True)
    assert run.outputs is not None
    funded = [e.proposal_id for e in run.outputs.entries if e.status == "funded"]
    assert funded == [str(w.scored.id)]


async def _is_identical(w: World, c: GrantsClient, replay: ReplayRead) -> None:
    assert replay.identical is True


async def _scored_is_selected(w: World, c: GrantsClient, run: SelectionRunRead) -> None:
    assert run.status == "approved"
    assert await _status(w, w.scored) == ProposalStatus.SELECTED


async def _overridden(w: World, c: GrantsClient, decision: DecisionRead) -> None:
    assert (decision.proposal_id, decision.outcome) == (w.scored.id, DecisionOutcome.NOT_SELECTED)
    assert await _status(w, w.scored) == ProposalStatus.NOT_SELECTED


async def _declined(w: World, c: GrantsClient, decision: DecisionRead) -> None:
    assert (decision.proposal_id, decision.outcome) == (w.selected.id, DecisionOutcome.NOT_SELECTED)
    assert await _status(w, w.selected) == ProposalStatus.NOT_SELECTED


async def _feedback_without_names(w: World, c: GrantsClient, feedback: FeedbackRead) -> None:
    assert (feedback.status, feedback.rank_band) == ("selected", "top quarter")
    assert [x.code for x in feedback.criteria] == [code for code, _, _ in CRITERIA]
    assert feedback.comments == ["Clear and feasible"]
    assert str(w.people["reviewer"].id) not in json.dumps(msgspec.to_builtins(feedback))


ACTION_PLAN_READERS = USERS | {"partner_pcc"}
ORGANISATION_STAFF = only("programme_officer", "finance_officer", "auditor", "admin")
FUNDING_READERS = only("finance_officer", "programme_officer", "auditor", "admin")
AUDIT_READERS = only("auditor", "admin")
OUTSIDERS_OF_ORG_A = only("other_applicant", "reviewer")
DRAFT_PLAN_READERS = only("programme_officer", "finance_officer", "auditor", "admin")
# Those who read published plans but for whom a draft does not exist.
DRAFT_PLAN_HIDDEN = only("applicant", "other_applicant", "reviewer", "partner_pcc")
DRAFT_CALL_READERS = only("programme_officer", "finance_officer", "auditor", "admin")
CALL_MANAGERS = only("programme_officer")
# Finance officers read proposals too: they turn selected ones into grants and pay them.
PROPOSAL_READERS = only("programme_officer", "finance_officer", "admin", "auditor")
# Organisation A's proposals: read by its members and the staff above, acted on by its members
# only (staff who read them are refused with 403); other signed-in users are told they do not
# exist. Reviewers read the proposals assigned to them only through their assignments.
READERS_OF_A_PROPOSALS = PROPOSAL_READERS | {"applicant"}
EDITORS_OF_A_PROPOSALS = only("applicant")
OUTSIDERS_OF_A_PROPOSALS = only("other_applicant", "reviewer")
# Reviews: programme officers manage rubrics, panels, assignments and reopenings; the reviewer
# works on its own assignments (API keys never take part); the oversight roles read every review
# and conflict. Finance officers read neither.
REVIEW_MANAGERS = only("programme_officer")
REVIEWERS = only("reviewer")
CONFLICT_READERS = only("programme_officer", "admin", "auditor")
# The panel's reviews of the scored proposal: the reviewer sees them, having submitted its own.
PANEL_REVIEW_READERS = CONFLICT_READERS | {"reviewer"}
SELECTION_RUNNERS = only("programme_officer")
SELECTION_READERS = only("programme_officer", "finance_officer", "admin", "auditor")
GRANT_MANAGERS = only("programme_officer")
GRANT_READERS = only(
    "applicant", "programme_officer", "finance_officer", "auditor", "admin", "partner_awards"
)
PAYERS = only("finance_officer")
LEDGER_READERS = only("finance_officer", "programme_officer", "auditor", "admin")


# --- grants, tranches, the ledger -------------------------------------------------------------

THRESHOLD = TEST_SETTINGS.second_confirmation_above
GRANT_START = date(2027, 1, 1)


def _acting(w: World, name: str, role: Role) -> RequestContext:
    """The service's context for one of the world's people acting in `role`."""
    person = w.people[name]
    return RequestContext(
        actor=Actor(kind="user", id=person.id, label=name, roles=frozenset({role})),
        payments=PaymentPolicy(second_confirmation_above=THRESHOLD),
    )


def _tranche(amount: int, n: int, *conditions: ConditionInput) -> TrancheInput:
    return TrancheInput(
        amount=amount,
        planned_date=GRANT_START + timedelta(days=30 * n),
        action_plan_item_ids=[],
        conditions=list(conditions),
    )


async def _selected_round(w: World) -> None:
    """The review round, with the window financing the world's action-plan item."""
    await _review_round(w)
    w.session.add(WindowActionPlanItem(window_id=w.window.id, action_plan_item_id=w.item.id))
    await w.session.flush()


def _grant_create(w: World, amount: int, tranches: list[TrancheInput]) -> GrantCreate:
    for t in tranches:
        t.action_plan_item_ids = [w.item.id]
    return GrantCreate(
        proposal_id=w.selected.id,
        amount=amount,
        start_date=GRANT_START,
        end_date=date(2027, 12, 31),
        tranches=tranches,
    )


async def _grant_round(w: World) -> None:
    await _selected_round(w)
    w.selected.requested_amount = 40_000_000
    await w.session.flush()
    officer = _acting(w, "programme_officer", Role.PROGRAMME_OFFICER)
    agreement = ConditionInput(kind=TrancheConditionKind.AGREEMENT_SIGNED)
    grant = await awards.create_grant(
        w.session,
        officer,
        _grant_create(
            w,
            40_000_000,
            [
                _tranche(16_000_000, 0),
                _tranche(8_000_000, 1),
                _tranche(8_000_000, 2),
                _tranche(8_000_000, 3, agreement),
            ],
        ),
    )
    for t in grant.tranches[:2]:
        await awards.approve_tranche(w.session, officer, t.id, TrancheTransition(version=t.version))
    w.grant = await awards.get_grant(w.session, officer, grant.id)


# --- documents (issue 17): PDFs with the permissions of the JSON reads they show ---------------

STATEMENT_START, STATEMENT_END = date(2027, 1, 1), date(2027, 12, 31)
RANKING_REPORTERS = CONFLICT_READERS
"""Who asks for a window's ranking report, and reads any: those who read the ranking."""
NOT_THE_REQUESTER = EVERYONE - RANKING_REPORTERS - {"anonymous"}
"""A report requested by the programme officer: any other signed-in caller who does not read
rankings is told it does not exist."""


def _grant_reference(w: World) -> str:
    return w.grant.agreement_reference or f"G-{str(w.grant.id)[:8].upper()}"


def _pdf_named(filename: Callable[[World], str]) -> Check:
    """The answer is a PDF downloaded under the file name of the thing asked."""

    async def check(w: World, c: GrantsClient, result: tuple[bytes, httpx.Headers]) -> None:
        content, headers = result
        assert content.startswith(b"%PDF")
        assert headers["content-type"] == "application/pdf"
        disposition = headers["content-disposition"]
        assert disposition.startswith("attachment")
        assert filename(w) in disposition

    return check


async def _report_queued(w: World, c: GrantsClient, document: DocumentRead) -> None:
    assert (document.kind, document.status) == (
        DocumentKind.WINDOW_RANKING_REPORT,
        DocumentStatus.QUEUED,
    )
    assert (document.filename, document.download_path) == ("ranking-report-W1-en.pdf", None)
    stored = await w.session.get_one(GeneratedDocument, document.id)
    assert (stored.subject_id, stored.requested_by) == (w.window.id, (await c.get_me()).id)
    event = (
        await w.session.execute(
            select(AuditEvent).where(col(AuditEvent.entity_id) == str(document.id))
        )
    ).scalar_one()
    assert event.action == "generated_document.requested"


async def _ranking_report_ready(w: World) -> None:
    """The programme officer's ranking report of the open window, made as the job makes it."""
    await _review_round(w)
    asked = await w.officer.create_ranking_report(w.window.id)
    document = await w.session.get_one(GeneratedDocument, asked.id)
    document.content = await document_reports.render_ranking_report(
        w.session, default_pool(), document, utcnow().date()
    )
    document.status = DocumentStatus.READY
    document.finished_at = utcnow()
    await w.session.flush()
    w.document_id = asked.id


async def _report_is_ready(w: World, c: GrantsClient, document: DocumentRead) -> None:
    assert (document.id, document.status) == (w.document_id, DocumentStatus.READY)
    assert document.download_path == f"documents/{w.document_id}/content"


WEBHOOK_MANAGERS = only("admin")


async def _webhook_round(w: World) -> None:
    w.webhook = WebhookSubscription(
        url="https://partner.example/hooks",
        event_types=[EventType.GRANT_CREATED.value],
        secret="whsec_" + "A" * 44,
    )
    w.session.add(w.webhook)
    event = OutboxMessage(topic="webhook.grant.created", payload={"type": "grant.created"})
    w.session.add(event)
    await w.session.flush()
    w.webhook_delivery = WebhookDelivery(
        subscription_id=w.webhook.id, event_id=event.id, event_type="grant.created"
    )
    w.session.add(w.webhook_delivery)
    await w.session.flush()


async def _is_iati(w: World, c: GrantsClient, answer: tuple[bytes, str]) -> None:
    body, content_type = answer
    assert content_type.startswith("application/xml")
    assert b'<iati-activities version="2.03"' in body


async def _paid_round(w: World) -> None:
    await _grant_round(w)
    payer = _acting(w, "admin", Role.FINANCE_OFFICER)  # not one of the callers' roles
    tranche = w.grant.tranches[1]
    w.entry = await awards.disburse(w.session, payer, tranche.id, _payment(tranche.amount))


def _payment(amount: int) -> DisbursementCreate:
    return DisbursementCreate(
        amount=amount, value_date=date(2027, 1, 20), reference=f"PAY-{uuid.uuid4().hex[:8]}"
    )


async def _is_awarded(w: World, c: GrantsClient, grant: GrantRead) -> None:
    assert grant.proposal_id == w.selected.id
    assert await _status(w, w.selected) == ProposalStatus.AWARDED


async def _sees_grants_it_may_read(w: World, c: GrantsClient, page: GrantPage) -> None:
    ids = {g.id for g in page.items}
    if w.actor in ("other_applicant", "reviewer"):
        assert ids == set()
    else:
        assert w.grant.id in ids


async def _is_the_grant(w: World, c: GrantsClient, grant: GrantRead) -> None:
    assert grant.id == w.grant.id
    assert sum(t.amount for t in grant.tranches) == grant.amount


async def _versions(w: World, c: GrantsClient, versions: list[Any]) -> None:
    assert [v.version for v in versions] == [1]


async def _amended(w: World, c: GrantsClient, grant: GrantRead) -> None:
    assert grant.version == w.grant.version + 1
    assert grant.end_date == date(2027, 11, 30)


async def _last_tranche_due(w: World, c: GrantsClient, grant: GrantRead) -> None:
    assert grant.agreement_reference == "AGR-1"
    assert grant.tranches[3].status == TrancheStatus.DUE


async def _is_the_tranche(w: World, c: GrantsClient, tranche: TrancheRead) -> None:
    assert tranche.id == w.grant.tranches[2].id


async def _approved(w: World, c: GrantsClient, tranche: TrancheRead) -> None:
    assert tranche.status == TrancheStatus.APPROVED


async def _confirmed(w: World, c: GrantsClient, tranche: TrancheRead) -> None:
    assert tranche.confirmed_by == w.people[w.actor].id


async def _cancelled(w: World, c: GrantsClient, tranche: TrancheRead) -> None:
    assert tranche.status == TrancheStatus.CANCELLED
    assert (await w.officer.get_grant(w.grant.id)).amount == 32_000_000


async def _paid(w: World, c: GrantsClient, entry: LedgerEntryRead) -> None:
    assert entry.tranche_id == w.grant.tranches[1].id
    assert (await w.officer.get_tranche(entry.tranche_id)).status == TrancheStatus.DISBURSED


async def _sees_the_payment(w: World, c: GrantsClient, page: LedgerPage) -> None:
    assert [e.id for e in page.items] == [w.entry.id]


async def _is_the_payment(w: World, c: GrantsClient, entry: LedgerEntryRead) -> None:
    assert entry.id == w.entry.id


async def _reversed(w: World, c: GrantsClient, entry: LedgerEntryRead) -> None:
    assert entry.reverses_id == w.entry.id
    assert (await w.officer.get_tranche(w.entry.tranche_id)).status == TrancheStatus.DUE


# --- grantee reports and the finance views ----------------------------------------------------

REPORT_READERS = only(
    "applicant",
    "programme_officer",
    "finance_officer",
    "auditor",
    "admin",
    PARTNER_OF_A,
)
REPORT_WRITERS = only("applicant", PARTNER_OF_A)


async def _report_round(w: World) -> None:
    await _grant_round(w)
    member = RequestContext(
        actor=Actor(
            kind="user",
            id=w.people["applicant"].id,
            label="applicant",
            organisation_ids=frozenset({w.org_a.id}),
        )
    )
    w.report = await reports.create_report(
        w.session,
        member,
        w.grant.id,
        ReportCreate(kind=ReportKind.PROGRESS, narrative="First quarter: two dialogues held"),
    )
    submitted = await reports.create_report(
        w.session,
        member,
        w.grant.id,
        ReportCreate(kind=ReportKind.FINANCIAL, narrative="Spending to date", expenditure=[]),
    )
    submitted = await reports.update_report(
        w.session,
        member,
        submitted.id,
        ReportUpdate(
            version=submitted.version,
            expenditure=[ExpenditureLine(category="venue", description="Hall", amount=500_000)],
        ),
    )
    w.submitted_report = await reports.submit_report(
        w.session, member, submitted.id, ReportSubmit(version=submitted.version)
    )
    stored = w.store.save(PDF, "minutes.pdf")
    w.report_attachment = Attachment(
        report_id=w.report.id,
        kind=AttachmentKind.REPORT,
        original_name=stored.original_name,
        storage_name=stored.storage_name,
        content_type=stored.content_type,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        uploaded_by=w.people["applicant"].id,
    )
    w.session.add(w.report_attachment)
    await w.session.flush()


async def _is_a_draft_report(w: World, c: GrantsClient, report: ReportRead) -> None:
    assert report.grant_id == w.grant.id
    assert report.status == ReportStatus.DRAFT


async def _sees_the_reports(w: World, c: GrantsClient, page: ReportPage) -> None:
    assert {w.report.id, w.submitted_report.id} <= {r.id for r in page.items}


async def _queue_has_the_submitted_report(w: World, c: GrantsClient, page: ReportQueuePage) -> None:
    ids = {r.id for r in page.items}
    assert w.submitted_report.id in ids
    assert w.report.id not in ids  # a draft is not in the queue


async def _is_the_report(w: World, c: GrantsClient, report: ReportRead) -> None:
    assert report.id == w.report.id


async def _report_updated(w: World, c: GrantsClient, report: ReportRead) -> None:
    assert report.narrative == "Second draft"


async def _report_submitted(w: World, c: GrantsClient, report: ReportRead) -> None:
    assert report.status == ReportStatus.SUBMITTED


async def _report_accepted(w: World, c: GrantsClient, report: ReportRead) -> None:
    assert report.status == ReportStatus.ACCEPTED


async def _report_file_stored(w: World, c: GrantsClient, attachment: Any) -> None:
    content, _ = await c.get_report_attachment(w.report.id, attachment.id)
    assert content == PDF


async def _is_the_report_file(w: World, c: GrantsClient, result: tuple[bytes, Any]) -> None:
    content, headers = result
    assert content == PDF
    assert headers["content-disposition"].startswith("attachment")


async def _report_file_gone(w: World, c: GrantsClient, _: None) -> None:
    with pytest.raises(ApiError) as caught:
        await c.get_report_attachment(w.report.id, w.report_attachment.id)
    assert caught.value.status == 404


async def _summarises_the_grant(w: World, c: GrantsClient, summary: Any) -> None:
    row = next(r for r in summary.rows if r.key == str(w.window.id))
    assert row.committed == w.grant.amount
    assert row.disbursed == w.entry.amount


async def _lists_the_unpaid(w: World, c: GrantsClient, page: Any) -> None:
    assert {u.id for u in page.items} >= {w.grant.tranches[0].id, w.grant.tranches[2].id}


async def _exports_the_payment(w: World, c: GrantsClient, result: tuple[bytes, str]) -> None:
    data, content_type = result
    assert content_type.startswith("text/csv")
    assert w.entry.reference in data.decode("utf-8-sig")


async def _keeps_the_undecided_grant_unpublished(w: World, c: GrantsClient, view: Any) -> None:
    """The world's grant was made without an approved selection run: its window is not decided,
    so the public sees neither (tests/service/transparency/test_transparency.py shows the demo's
    decided grants)."""
    assert w.grant.id not in {g.id for g in view.grants}
    assert w.window.id not in {x.id for x in view.windows}
    assert len(view.by_territory) >= 1


# --- what an allowed call answers (cases without a check of their own) --------------------------
# A read answers the row asked for; a write answers what was sent (`World.keep`); a delete leaves
# no row; a list holds exactly the rows the database holds for the caller, a world with rows of
# another plan, window or reviewer that would be listed otherwise.

Target = Callable[[World], uuid.UUID]


def _is(target: Target, attr: str = "id") -> Check:
    """The answer is the row asked for."""

    async def check(w: World, c: GrantsClient, got: Any) -> None:
        assert getattr(got, attr) == target(w), f"{attr} is {getattr(got, attr)}, not {target(w)}"

    return check


def _echoes(*attrs: str, target: Target | None = None) -> Check:
    """The answer carries what the call sent (and, with `target`, is that row)."""

    async def check(w: World, c: GrantsClient, got: Any) -> None:
        assert w.sent is not None, "the case's call keeps its body (`w.keep`)"
        if target is not None:
            assert got.id == target(w)
        for attr in attrs:
            assert getattr(got, attr) == getattr(w.sent, attr), attr

    return check


def _gone(model: type[SQLModel], target: Target) -> Check:
    async def check(w: World, c: GrantsClient, _: None) -> None:
        id_ = getattr(model, "id")  # noqa: B009  (every model here has an id)
        found = await w.session.execute(
            select(func.count()).select_from(model).where(id_ == target(w))
        )
        assert found.scalar_one() == 0, f"{model.__name__} {target(w)} is still there"

    return check


async def _ids(w: World, stmt: Any) -> set[uuid.UUID]:
    return set((await w.session.execute(stmt)).scalars())


def _lists(
    model: type[SQLModel],
    where: Callable[[World], list[Any]] = lambda w: [],
    must: Target | None = None,
) -> Check:
    """The page holds exactly the database's rows of `model` that match `where` (and `must`)."""

    async def check(w: World, c: GrantsClient, page: Any) -> None:
        items = page if isinstance(page, list) else page.items
        listed = {x.id for x in items}
        assert listed == await _ids(w, select(model.id).where(*where(w)))
        if must is not None:
            assert must(w) in listed

    return check


async def _another_plan(w: World) -> None:
    """A second plan of the PCC, with an item of its own: not listed with the world's plan."""
    plan = ActionPlan(
        pcc_id=w.pcc.id,
        title={"en": "Action plan 2027"},
        period_start=date(2027, 1, 1),
        period_end=date(2027, 12, 31),
        status=ActionPlanStatus.DRAFT,
    )
    w.session.add(plan)
    await w.session.flush()
    w.session.add(
        ActionPlanItem(
            action_plan_id=plan.id,
            code="9.9",
            objective={"en": "Water"},
            activities="Irrigation schedules",
            budget_estimate=10_000_00,
            currency="KGS",
        )
    )
    await w.session.flush()


async def _ok(w: World, c: GrantsClient, health: HealthRead) -> None:
    assert health.status == "ok"


async def _registered(w: World, c: GrantsClient, got: RegistrationRead) -> None:
    sent = w.sent
    assert (got.user.email, got.user.full_name) == (sent.email, sent.full_name)
    assert (got.organisation.name, got.organisation.registration_number) == (
        sent.organisation.name,
        sent.organisation.registration_number,
    )


async def _is_me(w: World, c: GrantsClient, me: MeRead) -> None:
    assert (me.id, me.email) == (w.people[w.actor].id, w.sign_in_email)


async def _renamed_me(w: World, c: GrantsClient, me: MeRead) -> None:
    assert (me.id, me.full_name) == (w.people[w.actor].id, w.sent.full_name)


async def _new_password_works(w: World, c: GrantsClient, _: None) -> None:
    token = await c.create_token(w.sign_in_email, w.sent.new_password)
    assert (await c.as_user(token.access_token).get_me()).email == w.sign_in_email


async def _enrolment_pending(w: World, c: GrantsClient, got: TotpEnrolment) -> None:
    assert got.secret in got.otpauth_uri
    assert len(pyotp.TOTP(got.secret).now()) == 6
    assert (await c.get_me()).totp_enabled is False  # not before the code confirms it


async def _key_revoked(w: World, c: GrantsClient, _: None) -> None:
    revoked = await w.session.execute(
        select(ApiKey.revoked_at).where(ApiKey.id == w.api_key.id)  # type: ignore[arg-type]  (SQLModel column)
    )
    assert revoked.scalar_one() is not None


async def _key_made(w: World, c: GrantsClient, got: ApiKeyCreated) -> None:
    assert (got.name, got.scopes) == (w.sent.name, w.sent.scopes)
    # the key it shows once works, with the scopes asked for
    assert (await GrantsClient(w.http, api_key=got.key).list_calls()).items


async def _key_rotated(w: World, c: GrantsClient, got: ApiKeyRotated) -> None:
    assert (got.previous.id, got.previous.status) == (w.api_key.id, ApiKeyStatus.ROTATED)
    assert (got.previous.replaced_by_id, got.key.rotated_from_id) == (got.key.id, w.api_key.id)
    successor = await w.session.execute(
        select(ApiKey.rotated_from_id, ApiKey.scopes).where(ApiKey.id == got.key.id)  # type: ignore[arg-type]  (SQLModel column)
    )
    assert tuple(successor.one()) == (w.api_key.id, w.api_key.scopes)


async def _progress_of_the_pcc(w: World, c: GrantsClient, got: PccProgress) -> None:
    assert (got.pcc_id, got.territory_id) == (w.pcc.id, w.territory.id)


async def _plan_made(w: World, c: GrantsClient, got: ActionPlanRead) -> None:
    assert (got.pcc_id, got.title) == (w.sent.pcc_id, w.sent.title)


async def _item_made(w: World, c: GrantsClient, got: ActionPlanItemRead) -> None:
    assert (got.action_plan_id, got.code) == (w.plan.id, w.sent.code)


async def _indicator_made(w: World, c: GrantsClient, got: IndicatorRead) -> None:
    assert (got.name, got.unit, got.target, got.baseline) == (
        w.sent.name,
        w.sent.unit,
        w.sent.target,
        w.sent.baseline,
    )
    item = await w.officer.get_action_plan_item(w.item.id)
    assert got.id in [i.id for i in item.indicators]


def _imported(entity: str) -> Check:
    async def check(w: World, c: GrantsClient, report: ImportReport) -> None:
        assert (report.applied, report.rows_read, report.created.get(entity)) == (True, 1, 1)

    return check


async def _a_rate(w: World) -> None:
    await w.people["finance_officer"].client.create_exchange_rate(
        ExchangeRateCreate(currency="EUR", rate="96.10", valid_on=date(2026, 11, 2))
    )


async def _rate_made(w: World, c: GrantsClient, got: ExchangeRateRead) -> None:
    sent = w.sent
    assert (got.currency, got.rate, got.valid_on) == (sent.currency, sent.rate, sent.valid_on)


async def _newest_events(w: World, c: GrantsClient, page: AuditEventPage) -> None:
    stmt = select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(50)  # type: ignore[union-attr]  (SQLModel column)
    newest = list((await w.session.execute(stmt)).scalars())
    assert newest, "the world's prepare left audit events"
    assert [e.seq for e in page.items] == newest


async def _chain_checked(w: World, c: GrantsClient, got: AuditVerificationRead) -> None:
    assert got.ok is True
    assert got.events_checked == await audit_count(w.session)


async def _call_made(w: World, c: GrantsClient, got: CallRead) -> None:
    assert (got.title, got.status) == (w.sent.title, CallStatus.DRAFT)


async def _published(w: World, c: GrantsClient, got: CallRead) -> None:
    assert (got.id, got.status) == (w.draft_call.id, CallStatus.PUBLISHED)


async def _window_made(w: World, c: GrantsClient, got: WindowRead) -> None:
    assert (got.call_id, got.code, got.title) == (w.draft_call.id, w.sent.code, w.sent.title)


async def _rules_replaced(w: World, c: GrantsClient, got: WindowRead) -> None:
    assert got.id == w.draft_window.id
    assert got.rule_set is not None
    assert got.rule_set.rules == RULES


async def _proposal_made(w: World, c: GrantsClient, got: ProposalRead) -> None:
    assert (got.window_id, got.organisation_id, got.title, got.status) == (
        w.window.id,
        w.org_a.id,
        w.sent.title,
        ProposalStatus.DRAFT,
    )


async def _budget_replaced(w: World, c: GrantsClient, got: ProposalRead) -> None:
    assert got.id == w.draft.id
    assert [(x.description, x.unit_cost) for x in got.budget_lines] == [
        (x.description, x.unit_cost) for x in w.sent.lines
    ]


async def _submitted(w: World, c: GrantsClient, got: SubmissionReceipt) -> None:
    assert got.proposal.id == w.draft.id
    assert got.proposal.status in {ProposalStatus.ELIGIBLE, ProposalStatus.INELIGIBLE}


async def _withdrawn(w: World, c: GrantsClient, got: ProposalRead) -> None:
    assert (got.id, got.status) == (w.eligible.id, ProposalStatus.WITHDRAWN)


async def _made_ineligible(w: World, c: GrantsClient, got: ProposalRead) -> None:
    assert (got.id, got.status) == (w.eligible.id, ProposalStatus.INELIGIBLE)


async def _attached(w: World, c: GrantsClient, got: AttachmentRead) -> None:
    assert (got.kind, got.original_name, got.size_bytes) == ("workplan", "workplan.pdf", len(PDF))
    draft = await w.officer.get_proposal(w.draft.id)
    assert got.id in [a.id for a in draft.attachments]


def _in_window(w: World) -> Any:
    return select(Proposal.id).where(Proposal.window_id == w.window.id)  # type: ignore[arg-type]  (SQLModel column)


async def _conflict_round(w: World) -> None:
    """The review round, and the reviewer's declared conflict with organisation B's draft."""
    await _review_round(w)
    w.session.add(
        Conflict(
            proposal_id=w.other_draft.id,
            reviewer_id=w.people["reviewer"].id,
            source=ConflictSource.DECLARED,
            reason="Sits on its board",
        )
    )
    await w.session.flush()


async def _the_panel(w: World, c: GrantsClient, got: PanelBoardRead) -> None:
    assert got.window_id == w.window.id
    assert w.people["reviewer"].id in [r.id for r in got.reviewers]


async def _reminded(w: World, c: GrantsClient, got: ReminderRead) -> None:
    assert (got.window_id, got.reviewer_id) == (w.window.id, w.people["reviewer"].id)
    assert got.outstanding > 0


async def _reminder_round(w: World) -> None:
    await _review_round(w)
    await w.officer.create_reminder(
        w.window.id, ReminderCreate(reviewer_id=w.people["reviewer"].id)
    )


async def _own_reminders(w: World, c: GrantsClient, got: ReminderList) -> None:
    me = w.people[w.actor].id
    assert [(r.window_id, r.reviewer_id) for r in got.items] == [(w.window.id, me)]


async def _assignments_of_the_window(w: World, c: GrantsClient, got: AssignmentList) -> None:
    in_window = select(ReviewAssignment.id).join(
        Proposal,
        Proposal.id == ReviewAssignment.proposal_id,  # type: ignore[arg-type]  (SQLModel column)
    )
    expected = await _ids(w, in_window.where(Proposal.window_id == w.window.id))  # type: ignore[arg-type]  (SQLModel column)
    assert w.assignment.id in expected
    assert {a.id for a in got.items} == expected
    assert {a.window_id for a in got.items} == {w.window.id}


CASES: dict[str, Case] = {
    # health: probes for load balancers, public (they do not even look at credentials)
    "GetLiveness": Case(lambda w, c: c.get_liveness(), EVERYONE, check=_ok),
    "GetReadiness": Case(lambda w, c: c.get_readiness(), EVERYONE, check=_ok),
    # identity. Signing in needs no credentials (partners and anonymous sign in as the admin);
    # signing out revokes the caller's own token, the last thing its case does with it.
    "CreateToken": Case(
        lambda w, c: c.create_token(w.sign_in_email, TEST_PASSWORD), EVERYONE, check=_token_works
    ),
    "DeleteToken": Case(lambda w, c: c.delete_token(), USERS, check=_token_is_dead),
    "CreateRegistration": Case(
        lambda w, c: c.create_registration(w.keep(_registration(w))),
        EVERYONE - PARTNERS,
        check=_registered,
    ),
    "GetMe": Case(lambda w, c: c.get_me(), USERS, check=_is_me),
    "UpdateMe": Case(
        lambda w, c: c.update_me(w.keep(MeUpdate(full_name=f"Renamed {w.uid()}"))),
        USERS,
        check=_renamed_me,
    ),
    "CreatePasswordChange": Case(
        lambda w, c: c.create_password_change(
            w.keep(
                PasswordChange(current_password=TEST_PASSWORD, new_password=f"new secret {w.uid()}")
            )
        ),
        USERS,
        check=_new_password_works,
    ),
    # the second factor of one's own account (TOTP); an administrator's password reset
    "CreateTotpEnrolment": Case(
        lambda w, c: c.create_totp_enrolment(), USERS, check=_enrolment_pending
    ),
    "CreateTotpConfirmation": Case(lambda w, c: _second_factor_on(c), USERS, check=_ten_codes),
    "CreateTotpRemoval": Case(
        lambda w, c: _remove_second_factor(c), USERS, check=_second_factor_off
    ),
    "CreateRecoveryCodes": Case(lambda w, c: _new_codes(c), USERS, check=_ten_codes),
    "CreatePasswordReset": Case(
        lambda w, c: c.create_password_reset(w.people["reviewer"].id, PasswordResetCreate()),
        only("admin"),
        check=_reset_revokes,
    ),
    "CreateUser": Case(
        lambda w, c: c.create_user(w.keep(_user_create(w))),
        only("admin"),
        check=_echoes("email", "full_name", "roles"),
    ),
    "ListUsers": Case(
        lambda w, c: c.list_users(),
        only("admin", "auditor"),
        check=_lists(AppUser, must=lambda w: w.people["reviewer"].id),
    ),
    "GetUser": Case(
        lambda w, c: c.get_user(w.people["reviewer"].id),
        only("admin", "auditor"),
        check=_is(lambda w: w.people["reviewer"].id),
    ),
    "UpdateUser": Case(
        lambda w, c: c.update_user(w.people["reviewer"].id, UserUpdate(is_active=False)),
        only("admin"),
        check=_deactivation_revokes,
    ),
    # organisations. Signed-in users who may not read organisation A get 404 (its existence does
    # not leak); API keys never read organisations (403).
    "CreateOrganisation": Case(
        lambda w, c: c.create_organisation(w.keep(_org_create(w))),
        only("admin"),
        check=_echoes("name", "kind", "registration_number", "territory_id"),
    ),
    "ListOrganisations": Case(
        lambda w, c: c.list_organisations(), USERS, check=_sees_own_organisations
    ),
    "ListOrganisationDirectory": Case(
        lambda w, c: c.list_organisation_directory(territory_ids=[w.territory.id]),
        USERS,
        check=_names_every_organisation_of_the_territory,
        writes=False,
    ),
    "GetOrganisation": Case(
        lambda w, c: c.get_organisation(w.org_a.id),
        ORGANISATION_STAFF | {"applicant"},
        hidden=OUTSIDERS_OF_ORG_A,
        check=_is(lambda w: w.org_a.id),
    ),
    "UpdateOrganisation": Case(
        lambda w, c: c.update_organisation(
            w.org_a.id,
            w.keep(OrganisationUpdate(version=w.org_a.version, name=f"Renamed {w.uid()}")),
        ),
        only("applicant", "admin"),
        hidden=OUTSIDERS_OF_ORG_A,
        check=_echoes("name", target=lambda w: w.org_a.id),
    ),
    # API keys
    "CreateApiKey": Case(
        lambda w, c: c.create_api_key(
            w.keep(ApiKeyCreate(name=f"partner {w.uid()}", scopes=[ApiScope.READ_CALLS]))
        ),
        only("admin"),
        check=_key_made,
    ),
    "ListApiKeys": Case(
        lambda w, c: c.list_api_keys(),
        only("admin", "auditor"),
        check=_lists(ApiKey, must=lambda w: w.api_key.id),
    ),
    "DeleteApiKey": Case(
        lambda w, c: c.delete_api_key(w.api_key.id), only("admin"), check=_key_revoked
    ),
    "CreateApiKeyRotation": Case(
        lambda w, c: c.create_api_key_rotation(
            w.api_key.id, w.keep(ApiKeyRotationCreate(overlap_days=3))
        ),
        only("admin"),
        check=_key_rotated,
    ),
    # territories and PCCs: public
    "ListTerritories": Case(
        lambda w, c: c.list_territories(),
        EVERYONE,
        check=_lists(Territory, must=lambda w: w.territory.id),
    ),
    "GetTerritory": Case(
        lambda w, c: c.get_territory(w.territory.id), EVERYONE, check=_is(lambda w: w.territory.id)
    ),
    "ListPccs": Case(
        lambda w, c: c.list_pccs(), EVERYONE, check=_lists(Pcc, must=lambda w: w.pcc.id)
    ),
    "GetPcc": Case(lambda w, c: c.get_pcc(w.pcc.id), EVERYONE, check=_is(lambda w: w.pcc.id)),
    # a PCC's progress: programme and finance officers, auditors and the PCC's own members
    # (`other_applicant` is made one); others 403, nobody 401, partner systems 401 (users only)
    "ListMyPccs": Case(
        lambda w, c: c.list_my_pccs(), USERS, prepare=_pcc_member, check=_sits_on_the_pcc
    ),
    "GetPccProgress": Case(
        lambda w, c: c.get_pcc_progress(w.pcc.id),
        only("programme_officer", "finance_officer", "auditor", "other_applicant"),
        prepare=_pcc_member,
        check=_progress_of_the_pcc,
    ),
    # action plans: read by every signed-in user and by keys with pcc:read; managed by officers
    # (the world's plan is a draft: staff see it; other readers are told it does not exist)
    "ListActionPlans": Case(
        lambda w, c: c.list_action_plans(), ACTION_PLAN_READERS, check=_sees_drafts_if_staff
    ),
    "GetActionPlan": Case(
        lambda w, c: c.get_action_plan(w.plan.id),
        DRAFT_PLAN_READERS,
        hidden=DRAFT_PLAN_HIDDEN,
        check=_is(lambda w: w.plan.id),
    ),
    "ListActionPlanItems": Case(
        lambda w, c: c.list_action_plan_items(w.plan.id),
        DRAFT_PLAN_READERS,
        hidden=DRAFT_PLAN_HIDDEN,
        check=_lists(
            ActionPlanItem,
            lambda w: [ActionPlanItem.action_plan_id == w.plan.id],
            must=lambda w: w.item.id,
        ),
        prepare=_another_plan,
    ),
    "GetActionPlanItem": Case(
        lambda w, c: c.get_action_plan_item(w.item.id),
        DRAFT_PLAN_READERS,
        hidden=DRAFT_PLAN_HIDDEN,
        check=_is(lambda w: w.item.id),
    ),
    "CreateActionPlan": Case(
        lambda w, c: c.create_action_plan(w.keep(_plan_create(w))),
        only("programme_officer"),
        check=_plan_made,
    ),
    "UpdateActionPlan": Case(
        lambda w, c: c.update_action_plan(
            w.plan.id,
            w.keep(ActionPlanUpdate(version=w.plan.version, title=I18nText(en=f"Plan {w.uid()}"))),
        ),
        only("programme_officer"),
        check=_echoes("title", target=lambda w: w.plan.id),
    ),
    "DeleteActionPlan": Case(
        lambda w, c: c.delete_action_plan(w.plan.id),
        only("programme_officer"),
        check=_gone(ActionPlan, lambda w: w.plan.id),
    ),
    "CreateActionPlanItem": Case(
        lambda w, c: c.create_action_plan_item(w.plan.id, w.keep(_item_create(w))),
        only("programme_officer"),
        check=_item_made,
    ),
    "UpdateActionPlanItem": Case(
        lambda w, c: c.update_action_plan_item(
            w.item.id,
            w.keep(ActionPlanItemUpdate(version=w.item.version, activities=f"Revised {w.uid()}")),
        ),
        only("programme_officer"),
        check=_echoes("activities", target=lambda w: w.item.id),
    ),
    "DeleteActionPlanItem": Case(
        lambda w, c: c.delete_action_plan_item(w.item.id),
        only("programme_officer"),
        check=_gone(ActionPlanItem, lambda w: w.item.id),
    ),
    "UpdateIndicator": Case(
        lambda w, c: c.update_indicator(
            w.item.id, w.indicator.id, IndicatorUpdate(target=Decimal(9))
        ),
        only("programme_officer"),
        check=_indicator_updated,
        prepare=_indicator_round,
    ),
    "DeleteIndicator": Case(
        lambda w, c: c.delete_indicator(w.item.id, w.indicator.id),
        only("programme_officer"),
        check=_indicator_gone,
        prepare=_indicator_round,
    ),
    "CreateIndicator": Case(
        lambda w, c: c.create_indicator(
            w.item.id,
            w.keep(
                IndicatorCreate(
                    name=I18nText(en="Young people reached"),
                    unit="people",
                    target=Decimal("250"),
                    baseline=Decimal("0"),
                )
            ),
        ),
        only("programme_officer"),
        check=_indicator_made,
    ),
    # spreadsheet imports: action plans by officers; organisations by officers and admins
    "CreateActionPlanImport": Case(
        lambda w, c: c.create_action_plan_import(_action_plan_csv(w), "plans.csv"),
        only("programme_officer"),
        check=_imported("action_plan_item"),
    ),
    "CreateOrganisationImport": Case(
        lambda w, c: c.create_organisation_import(_organisation_csv(w), "organisations.csv"),
        only("programme_officer", "admin"),
        check=_imported("organisation"),
    ),
    # funding sources
    "ListFundingSources": Case(
        lambda w, c: c.list_funding_sources(),
        FUNDING_READERS,
        check=_lists(FundingSource, must=lambda w: w.source.id),
    ),
    "GetFundingSource": Case(
        lambda w, c: c.get_funding_source(w.source.id),
        FUNDING_READERS,
        check=_is(lambda w: w.source.id),
    ),
    "CreateFundingSource": Case(
        lambda w, c: c.create_funding_source(
            w.keep(
                FundingSourceCreate(
                    code=f"LG-{w.uid()}",
                    name="Osh city co-funding",
                    kind=FundingSourceKind.LOCAL_GOVERNMENT,
                )
            )
        ),
        only("finance_officer"),
        check=_echoes("code", "name", "kind"),
    ),
    "UpdateFundingSource": Case(
        lambda w, c: c.update_funding_source(
            w.source.id,
            w.keep(
                FundingSourceUpdate(version=w.source.version, description=f"Tranche 2 {w.uid()}")
            ),
        ),
        only("finance_officer"),
        check=_echoes("description", target=lambda w: w.source.id),
    ),
    "DeleteFundingSource": Case(
        lambda w, c: c.delete_funding_source(w.source.id),
        only("finance_officer"),
        check=_gone(FundingSource, lambda w: w.source.id),
    ),
    # exchange rates: the ledger's readers read them, finance officers enter them
    "ListExchangeRates": Case(
        lambda w, c: c.list_exchange_rates(),
        LEDGER_READERS,
        check=_lists(ExchangeRate),
        prepare=_a_rate,
    ),
    "CreateExchangeRate": Case(
        lambda w, c: c.create_exchange_rate(
            w.keep(
                ExchangeRateCreate(
                    currency="USD",
                    rate="89.45",
                    valid_on=date(2030, 1, 1) + timedelta(days=int(w.uid(), 16) % 100_000),
                )
            )
        ),
        only("finance_officer"),
        check=_rate_made,
    ),
    # audit
    "ListAuditEvents": Case(
        lambda w, c: c.list_audit_events(), AUDIT_READERS, check=_newest_events, prepare=_a_rate
    ),
    "GetAuditVerification": Case(
        lambda w, c: c.get_audit_verification(),
        AUDIT_READERS,
        check=_chain_checked,
        prepare=_a_rate,
    ),
    # calls and windows: published ones are public, drafts are listed to the programme staff only;
    # only programme officers manage them. Managing is refused before the call is looked up, so
    # the draft call gives 401/403, never 404.
    "ListCalls": Case(lambda w, c: c.list_calls(), EVERYONE, check=_sees_draft_calls_if_staff),
    "GetCall": Case(lambda w, c: c.get_call(w.call.id), EVERYONE, check=_is(lambda w: w.call.id)),
    "GetWindow": Case(
        lambda w, c: c.get_window(w.window.id), EVERYONE, check=_is(lambda w: w.window.id)
    ),
    "CreateCall": Case(
        lambda w, c: c.create_call(w.keep(_call_create(w))), CALL_MANAGERS, check=_call_made
    ),
    "UpdateCall": Case(
        lambda w, c: c.update_call(
            w.draft_call.id,
            w.keep(
                CallUpdate(version=w.draft_call.version, title=I18nText(en=f"Grants {w.uid()}"))
            ),
        ),
        CALL_MANAGERS,
        check=_echoes("title", target=lambda w: w.draft_call.id),
    ),
    "CreateCallTransition": Case(
        lambda w, c: c.create_call_transition(
            w.draft_call.id,
            CallTransition(version=w.draft_call.version, status=CallStatus.PUBLISHED),
        ),
        CALL_MANAGERS,
        check=_published,
    ),
    "CreateWindow": Case(
        lambda w, c: c.create_window(w.draft_call.id, w.keep(_window_create(w))),
        CALL_MANAGERS,
        check=_window_made,
    ),
    "UpdateWindow": Case(
        lambda w, c: c.update_window(
            w.draft_window.id,
            w.keep(
                WindowUpdate(version=w.draft_window.version, title=I18nText(en=f"W1 {w.uid()}"))
            ),
        ),
        CALL_MANAGERS,
        check=_echoes("title", target=lambda w: w.draft_window.id),
    ),
    # (the draft call's window: the open one has a submitted proposal, so its rules are final)
    "UpdateWindowRules": Case(
        lambda w, c: c.update_window_rules(
            w.draft_window.id, RulesReplace(version=w.draft_window.version, rules=RULES)
        ),
        CALL_MANAGERS,
        check=_rules_replaced,
    ),
    # the pre-check of raw answers is open to all, before registering; it changes nothing
    "CreateEligibilityCheck": Case(
        lambda w, c: c.create_eligibility_check(w.window.id, _raw_answers(w)),
        EVERYONE,
        check=_passes,
        writes=False,
    ),
    # proposals: members draft for their own organisation; signed-in users list what they may
    # read; organisation A's proposals are hidden (404) from signed-in users who may not read them
    "CreateProposal": Case(
        lambda w, c: c.create_proposal(
            w.window.id,
            w.keep(ProposalCreate(organisation_id=w.org_a.id, title=f"Draft {w.uid()}")),
        ),
        EDITORS_OF_A_PROPOSALS,
        check=_proposal_made,
    ),
    "ListProposals": Case(
        lambda w, c: c.list_proposals(), USERS, check=_sees_proposals_it_may_read
    ),
    "GetProposal": Case(
        lambda w, c: c.get_proposal(w.draft.id),
        READERS_OF_A_PROPOSALS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_offers_what_it_allows,
    ),
    "UpdateProposal": Case(
        lambda w, c: c.update_proposal(
            w.draft.id,
            w.keep(ProposalUpdate(version=w.draft.version, title=f"Renamed {w.uid()}")),
        ),
        EDITORS_OF_A_PROPOSALS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_echoes("title", target=lambda w: w.draft.id),
    ),
    "UpdateBudgetLines": Case(
        lambda w, c: c.update_budget_lines(w.draft.id, w.keep(_budget(w))),
        EDITORS_OF_A_PROPOSALS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_budget_replaced,
    ),
    "CreateSubmission": Case(
        lambda w, c: c.create_submission(w.draft.id, ProposalSubmit(version=w.draft.version)),
        EDITORS_OF_A_PROPOSALS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_submitted,
    ),
    "CreateWithdrawal": Case(
        lambda w, c: c.create_withdrawal(
            w.eligible.id, ProposalWithdraw(version=w.eligible.version, reason="Merged")
        ),
        EDITORS_OF_A_PROPOSALS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_withdrawn,
    ),
    # overriding a verdict is the programme officer's alone, asked before the proposal is read
    "CreateEligibilityOverride": Case(
        lambda w, c: c.create_eligibility_override(
            w.eligible.id,
            EligibilityOverride(
                version=w.eligible.version,
                eligible=False,
                reason="The registration certificate has expired",
            ),
        ),
        only("programme_officer"),
        check=_made_ineligible,
    ),
    # attachments of organisation A's draft: as the proposal itself
    "CreateAttachment": Case(
        lambda w, c: c.create_attachment(w.draft.id, PDF, "workplan.pdf", kind="workplan"),
        EDITORS_OF_A_PROPOSALS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_attached,
    ),
    "GetAttachmentContent": Case(
        lambda w, c: c.get_attachment_content(w.attachment.id),
        READERS_OF_A_PROPOSALS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_is_the_stored_file,
    ),
    "DeleteAttachment": Case(
        lambda w, c: c.delete_attachment(w.attachment.id),
        EDITORS_OF_A_PROPOSALS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_file_is_gone,
    ),
    # reviews. Rubrics are public (applicants see how they will be scored). Managing is refused
    # before the target is looked up, and so is everything the reviewer does on an assignment
    # (`_my_assignment`: a reviewer who is not assigned would get 404, a non-reviewer 403).
    "GetRubric": Case(
        lambda w, c: c.get_rubric(w.rubric.id),
        EVERYONE,
        check=_is_the_rubric,
        prepare=_review_round,
    ),
    "UpdateWindowRubric": Case(
        lambda w, c: c.update_window_rubric(w.draft_window.id, _rubric_create(w)),
        REVIEW_MANAGERS,
        check=_is_a_new_rubric,
    ),
    "UpdatePanel": Case(
        lambda w, c: c.update_panel(
            w.window.id, PanelReplace(reviewer_ids=[w.people["reviewer"].id])
        ),
        REVIEW_MANAGERS,
        check=_panel_is_the_reviewer,
    ),
    "CreateAssignments": Case(
        lambda w, c: c.create_assignments(w.window.id, AutoAssign(seed=f"seed-{w.uid()}")),
        REVIEW_MANAGERS,
        check=_eligible_goes_to_review,
        prepare=_review_round,
    ),
    "CreateAssignment": Case(
        lambda w, c: c.create_assignment(
            w.eligible.id, AssignmentCreate(reviewer_id=w.people["reviewer"].id)
        ),
        REVIEW_MANAGERS,
        check=_eligible_goes_to_review,
    ),
    "CreateAssignmentBatch": Case(
        lambda w, c: c.create_assignment_batch(
            w.window.id,
            AssignmentBatchCreate(
                items=[
                    AssignmentPair(proposal_id=w.eligible.id, reviewer_id=w.people["reviewer"].id)
                ]
            ),
        ),
        REVIEW_MANAGERS,
        check=_eligible_goes_to_review,
    ),
    "ListConflicts": Case(
        lambda w, c: c.list_conflicts(w.window.id),
        CONFLICT_READERS,
        check=_lists(Conflict, lambda w: [Conflict.proposal_id.in_(_in_window(w))]),  # type: ignore[attr-defined]  (SQLModel column)
        prepare=_conflict_round,
    ),
    "GetPanel": Case(
        lambda w, c: c.get_panel(w.window.id),
        CONFLICT_READERS,
        check=_the_panel,
        prepare=_review_round,
    ),
    "CreateReminder": Case(
        lambda w, c: c.create_reminder(
            w.window.id, ReminderCreate(reviewer_id=w.people["reviewer"].id)
        ),
        REVIEW_MANAGERS,
        check=_reminded,
        prepare=_review_round,
    ),
    "ListReminders": Case(
        lambda w, c: c.list_reminders(), REVIEWERS, check=_own_reminders, prepare=_reminder_round
    ),
    "DeleteAssignment": Case(
        lambda w, c: c.delete_assignment(w.assignment.id),
        REVIEW_MANAGERS,
        check=_gone(ReviewAssignment, lambda w: w.assignment.id),
        prepare=_review_round,
    ),
    "GetWindowRanking": Case(
        lambda w, c: c.get_window_ranking(w.window.id),
        CONFLICT_READERS,
        check=_is(lambda w: w.window.id, "window_id"),
        prepare=_review_round,
    ),
    "ListWindowAssignments": Case(
        lambda w, c: c.list_window_assignments(w.window.id),
        CONFLICT_READERS,
        check=_assignments_of_the_window,
        prepare=_review_round,
    ),
    "ListAssignments": Case(
        lambda w, c: c.list_assignments(),
        REVIEWERS,
        check=_sees_own_assignments,
        prepare=_review_round,
    ),
    "GetAssignedProposal": Case(
        lambda w, c: c.get_assigned_proposal(w.assignment.id),
        REVIEWERS,
        check=_is_the_assigned_proposal,
        prepare=_review_round,
    ),
    "GetAssignedAttachmentContent": Case(
        lambda w, c: c.get_assigned_attachment_content(w.assignment.id, w.review_attachment.id),
        REVIEWERS,
        check=_is_the_stored_file,
        prepare=_review_round,
    ),
    "CreateNoConflictDeclaration": Case(
        lambda w, c: c.create_no_conflict_declaration(w.assignment.id),
        REVIEWERS,
        check=_declared_no_conflict,
        prepare=_undeclared_review_round,
    ),
    "CreateConflict": Case(
        lambda w, c: c.create_conflict(
            w.assignment.id, ConflictCreate(reason="I advised this organisation in 2025")
        ),
        REVIEWERS,
        check=_reviewer_steps_back,
        prepare=_review_round,
    ),
    "GetReview": Case(
        lambda w, c: c.get_review(w.assignment.id),
        REVIEWERS,
        check=_is_the_draft_review,
        prepare=_review_round,
    ),
    "UpdateReview": Case(
        lambda w, c: c.update_review(
            w.assignment.id,
            ReviewSave(version=w.review.version, scores=_scores(), comment="Well argued"),
        ),
        REVIEWERS,
        check=_is_saved,
        prepare=_review_round,
    ),
    "CreateReviewSubmission": Case(
        lambda w, c: c.create_review_submission(
            w.assignment.id, ReviewSubmit(version=w.review.version)
        ),
        REVIEWERS,
        check=_proposal_is_scored,
        prepare=_review_round,
    ),
    "CreateReviewReopening": Case(
        lambda w, c: c.create_review_reopening(
            w.submitted_review.id,
            ReviewReopen(version=w.submitted_review.version, reason="Score 'gender' again"),
        ),
        REVIEW_MANAGERS,
        check=_back_in_review,
        prepare=_review_round,
    ),
    "ListProposalReviews": Case(
        lambda w, c: c.list_proposal_reviews(w.scored.id),
        PANEL_REVIEW_READERS,
        check=_sees_the_submitted_review,
        prepare=_review_round,
    ),
    "CreateConsensusScore": Case(
        lambda w, c: c.create_consensus_score(
            w.scored.id, ConsensusCreate(criterion="gender", value=30, reason="Panel meeting 2")
        ),
        REVIEW_MANAGERS,
        check=_consensus_recorded,
        prepare=_review_round,
    ),
    # selection: programme officers run and approve; the staff who read proposals read runs.
    # The runs are made by the case's `prepare`, as the programme officer, whoever then calls.
    "CreateSelectionRun": Case(
        lambda w, c: c.create_selection_run(w.window.id, SelectionRunCreate()),
        SELECTION_RUNNERS,
        check=_seed_is_secret,
    ),
    "GetSelectionRun": Case(
        lambda w, c: c.get_selection_run(w.run_id),
        SELECTION_READERS,
        check=_seed_is_secret,
        prepare=_pending_run,
    ),
    "CreateSelectionComputation": Case(
        lambda w, c: c.create_selection_computation(w.run_id),
        SELECTION_RUNNERS,
        check=_funds_the_scored,
        prepare=_pending_run,
    ),
    # replaying recomputes and compares: it changes nothing
    "ReplaySelectionRun": Case(
        lambda w, c: c.replay_selection_run(w.run_id),
        SELECTION_READERS,
        check=_is_identical,
        writes=False,
        prepare=_computed_run,
    ),
    # four eyes: the run was created and computed by another officer (the creator or computer
    # is refused: tests/service/selection/test_selection_four_eyes.py)
    "ApproveSelectionRun": Case(
        lambda w, c: c.approve_selection_run(
            w.run_id, SelectionRunTransition(reason="Panel meeting of 23 November")
        ),
        SELECTION_RUNNERS,
        check=_scored_is_selected,
        prepare=_computed_by_another,
    ),
    "ListSelectionRuns": Case(
        lambda w, c: c.list_selection_runs(w.window.id),
        SELECTION_READERS,
        check=_lists_the_run,
        prepare=_pending_run,
    ),
    "ListWindowDecisions": Case(
        lambda w, c: c.list_window_decisions(w.window.id),
        SELECTION_READERS,
        check=_lists_the_decision,
        prepare=_approved_by_two,
    ),
    "CreateDecisionChange": Case(
        lambda w, c: c.create_decision_change(
            w.scored.id,
            DecisionCreate(
                outcome=DecisionOutcome.NOT_SELECTED,
                reason="Duplicate funding found from another donor",
            ),
        ),
        SELECTION_RUNNERS,
        check=_change_proposed,
        prepare=_approved_by_two,
    ),
    "GetDecisionChange": Case(
        lambda w, c: c.get_decision_change(w.change.id),
        SELECTION_READERS,
        check=_is_the_change,
        prepare=_change_pending,
    ),
    "ListDecisionChanges": Case(
        lambda w, c: c.list_decision_changes(w.window.id, status="pending"),
        SELECTION_READERS,
        check=_lists_the_change,
        prepare=_change_pending,
    ),
    # the proposer is another officer; the proposer confirming is refused in
    # tests/service/selection/test_selection_four_eyes.py
    "CreateDecisionChangeConfirmation": Case(
        lambda w, c: c.create_decision_change_confirmation(w.change.id, DecisionChangeTransition()),
        SELECTION_RUNNERS,
        check=_change_confirmed,
        prepare=_change_pending,
    ),
    "CreateDecisionChangeRejection": Case(
        lambda w, c: c.create_decision_change_rejection(
            w.change.id, DecisionChangeTransition(reason="The donor's grant covers other work")
        ),
        SELECTION_RUNNERS,
        check=_change_rejected,
        prepare=_change_pending,
    ),
    "CreateDecision": Case(
        lambda w, c: c.create_decision(
            w.scored.id,
            DecisionCreate(
                outcome=DecisionOutcome.NOT_SELECTED,
                reason="Duplicate funding found from another donor",
            ),
        ),
        SELECTION_RUNNERS,
        check=_overridden,
        prepare=_review_round,
    ),
    # the applicant declines its selection; the feedback is read as the proposal itself
    "CreateDeclination": Case(
        lambda w, c: c.create_declination(
            w.selected.id, DeclineCreate(reason="Merged with another project")
        ),
        EDITORS_OF_A_PROPOSALS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_declined,
        prepare=_review_round,
    ),
    # published: its applicant reads it
    # (before, 409: tests/service/selection/test_feedback_publication.py)
    "GetFeedback": Case(
        lambda w, c: c.get_feedback(w.scored.id),
        READERS_OF_A_PROPOSALS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_feedback_without_names,
        prepare=_feedback_published,
    ),
    "CreateFeedbackPublication": Case(
        lambda w, c: c.create_feedback_publication(w.window.id),
        SELECTION_RUNNERS,
        check=_published_now,
        prepare=_approved_by_two,
    ),
    "GetFeedbackPublication": Case(
        lambda w, c: c.get_feedback_publication(w.window.id),
        SELECTION_READERS,
        check=_not_published_yet,
        prepare=_approved_by_two,
    ),
    # grants: programme officers make and change them; the grantee, programme and finance
    # staff and partner systems with awards:read read them (others do not learn they exist)
    "CreateGrant": Case(
        lambda w, c: c.create_grant(_grant_create(w, 15_000_000, [_tranche(15_000_000, 0)])),
        GRANT_MANAGERS,
        check=_is_awarded,
        prepare=_selected_round,
    ),
    "ListGrants": Case(
        lambda w, c: c.list_grants(),
        USERS | {"partner_awards"},
        check=_sees_grants_it_may_read,
        prepare=_grant_round,
    ),
    "GetGrant": Case(
        lambda w, c: c.get_grant(w.grant.id),
        GRANT_READERS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_is_the_grant,
        prepare=_grant_round,
    ),
    "ListGrantVersions": Case(
        lambda w, c: c.list_grant_versions(w.grant.id),
        GRANT_READERS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_versions,
        prepare=_grant_round,
    ),
    "CreateAmendment": Case(
        lambda w, c: c.create_amendment(
            w.grant.id,
            AmendmentCreate(
                version=w.grant.version, reason="Ends a month early", end_date=date(2027, 11, 30)
            ),
        ),
        GRANT_MANAGERS,
        check=_amended,
        prepare=_grant_round,
    ),
    "CreateAgreementSignature": Case(
        lambda w, c: c.create_agreement_signature(
            w.grant.id, AgreementSignature(version=w.grant.version, agreement_reference="AGR-1")
        ),
        GRANT_MANAGERS,
        check=_last_tranche_due,
        prepare=_grant_round,
    ),
    "GetTranche": Case(
        lambda w, c: c.get_tranche(w.grant.tranches[2].id),
        GRANT_READERS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_is_the_tranche,
        prepare=_grant_round,
    ),
    "ApproveTranche": Case(
        lambda w, c: c.approve_tranche(
            w.grant.tranches[2].id, TrancheTransition(version=w.grant.tranches[2].version)
        ),
        GRANT_MANAGERS,
        check=_approved,
        prepare=_grant_round,
    ),
    "CreateTrancheCancellation": Case(
        lambda w, c: c.create_tranche_cancellation(
            w.grant.tranches[2].id,
            TrancheCancellation(version=w.grant.tranches[2].version, reason="Activity dropped"),
        ),
        GRANT_MANAGERS,
        check=_cancelled,
        prepare=_grant_round,
    ),
    # money: finance officers confirm, pay and reverse; ledger readers are the staff
    "CreateTrancheConfirmation": Case(
        lambda w, c: c.create_tranche_confirmation(
            w.grant.tranches[0].id, TrancheTransition(version=w.grant.tranches[0].version)
        ),
        PAYERS,
        check=_confirmed,
        prepare=_grant_round,
    ),
    "CreateDisbursement": Case(
        lambda w, c: c.create_disbursement(
            w.grant.tranches[1].id, _payment(8_000_000), f"key-{uuid.uuid4().hex}"
        ),
        PAYERS,
        check=_paid,
        prepare=_grant_round,
    ),
    "ListLedgerEntries": Case(
        lambda w, c: c.list_ledger_entries(grant_id=w.grant.id),
        LEDGER_READERS,
        check=_sees_the_payment,
        prepare=_paid_round,
    ),
    "GetLedgerEntry": Case(
        lambda w, c: c.get_ledger_entry(w.entry.id),
        LEDGER_READERS,
        check=_is_the_payment,
        prepare=_paid_round,
    ),
    "CreateReversal": Case(
        lambda w, c: c.create_reversal(
            w.entry.id,
            ReversalCreate(reason="Wrong account", value_date=date(2027, 1, 21), reference="RET-1"),
        ),
        PAYERS,
        check=_reversed,
        prepare=_paid_round,
    ),
    # grantee reports: the grantee's members and its own partner system write them; programme
    # officers decide; staff read; outsiders do not learn they exist
    "CreateReport": Case(
        lambda w, c: c.create_report(
            w.grant.id, ReportCreate(kind=ReportKind.PROGRESS, narrative="Kick-off held")
        ),
        REPORT_WRITERS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_is_a_draft_report,
        prepare=_grant_round,
    ),
    "ListReports": Case(
        lambda w, c: c.list_reports(w.grant.id),
        REPORT_READERS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_sees_the_reports,
        prepare=_report_round,
    ),
    "ListReportQueue": Case(
        lambda w, c: c.list_report_queue(),
        only("programme_officer", "finance_officer", "auditor", "admin"),
        check=_queue_has_the_submitted_report,
        prepare=_report_round,
    ),
    "GetReport": Case(
        lambda w, c: c.get_report(w.report.id),
        REPORT_READERS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_is_the_report,
        prepare=_report_round,
    ),
    "UpdateReport": Case(
        lambda w, c: c.update_report(
            w.report.id, ReportUpdate(version=w.report.version, narrative="Second draft")
        ),
        REPORT_WRITERS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_report_updated,
        prepare=_report_round,
    ),
    "SubmitReport": Case(
        lambda w, c: c.submit_report(w.report.id, ReportSubmit(version=w.report.version)),
        REPORT_WRITERS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_report_submitted,
        prepare=_report_round,
    ),
    "CreateReportDecision": Case(
        lambda w, c: c.create_report_decision(
            w.submitted_report.id,
            ReportDecisionCreate(version=w.submitted_report.version, outcome="accept"),
        ),
        GRANT_MANAGERS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_report_accepted,
        prepare=_report_round,
    ),
    "CreateReportAttachment": Case(
        lambda w, c: c.create_report_attachment(w.report.id, PDF, "photos.pdf"),
        REPORT_WRITERS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_report_file_stored,
        prepare=_report_round,
    ),
    "GetReportAttachment": Case(
        lambda w, c: c.get_report_attachment(w.report.id, w.report_attachment.id),
        REPORT_READERS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_is_the_report_file,
        prepare=_report_round,
    ),
    "DeleteReportAttachment": Case(
        lambda w, c: c.delete_report_attachment(w.report.id, w.report_attachment.id),
        REPORT_WRITERS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_report_file_gone,
        prepare=_report_round,
    ),
    # finance views: the ledger's readers
    "GetFinanceSummary": Case(
        lambda w, c: c.get_finance_summary("window", call_id=w.call.id),
        LEDGER_READERS,
        check=_summarises_the_grant,
        prepare=_paid_round,
    ),
    # the public transparency view: anyone, partners too
    "GetTransparency": Case(
        lambda w, c: c.get_transparency(),
        EVERYONE,
        check=_keeps_the_undecided_grant_unpublished,
        prepare=_paid_round,
    ),
    "ListUpcomingTranches": Case(
        lambda w, c: c.list_upcoming_tranches(within_days=3650),
        LEDGER_READERS,
        check=_lists_the_unpaid,
        prepare=_paid_round,
    ),
    "GetLedgerExport": Case(
        lambda w, c: c.get_ledger_export("csv"),
        LEDGER_READERS,
        check=_exports_the_payment,
        prepare=_paid_round,
    ),
    # documents (issue 17): as the reads they show — the grant's for its letter, agreement and
    # statement; the funding source's and the ledger's; the feedback's; the ranking's
    "GetAwardLetter": Case(
        lambda w, c: c.get_award_letter(w.grant.id),
        GRANT_READERS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_pdf_named(lambda w: f"award-letter-{_grant_reference(w)}-en.pdf"),
        prepare=_grant_round,
    ),
    "GetGrantAgreement": Case(
        lambda w, c: c.get_grant_agreement(w.grant.id),
        GRANT_READERS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_pdf_named(lambda w: f"grant-agreement-{_grant_reference(w)}-en.pdf"),
        prepare=_grant_round,
    ),
    "GetGrantStatement": Case(
        lambda w, c: c.get_grant_statement(w.grant.id, STATEMENT_START, STATEMENT_END),
        GRANT_READERS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_pdf_named(
            lambda w: f"statement-{_grant_reference(w)}-{STATEMENT_START}-{STATEMENT_END}-en.pdf"
        ),
        prepare=_paid_round,
    ),
    "GetFundingSourceStatement": Case(
        lambda w, c: c.get_funding_source_statement(w.fund.id, STATEMENT_START, STATEMENT_END),
        FUNDING_READERS & LEDGER_READERS,
        check=_pdf_named(
            lambda w: f"source-statement-{w.fund.code}-{STATEMENT_START}-{STATEMENT_END}-en.pdf"
        ),
        prepare=_paid_round,
    ),
    "GetFeedbackSummary": Case(
        lambda w, c: c.get_feedback_summary(w.scored.id),
        READERS_OF_A_PROPOSALS,
        hidden=OUTSIDERS_OF_A_PROPOSALS,
        check=_pdf_named(lambda w: f"feedback-{w.scored.receipt_number}-en.pdf"),
        prepare=_feedback_published,
    ),
    "CreateRankingReport": Case(
        lambda w, c: c.create_ranking_report(w.window.id),
        RANKING_REPORTERS,
        check=_report_queued,
        prepare=_review_round,
    ),
    "GetDocument": Case(
        lambda w, c: c.get_document(w.document_id),
        RANKING_REPORTERS,
        hidden=NOT_THE_REQUESTER,
        check=_report_is_ready,
        prepare=_ranking_report_ready,
    ),
    "GetDocumentContent": Case(
        lambda w, c: c.get_document_content(w.document_id),
        RANKING_REPORTERS,
        hidden=NOT_THE_REQUESTER,
        check=_pdf_named(lambda w: "ranking-report-W1-en.pdf"),
        prepare=_ranking_report_ready,
    ),
    # open data (issue 18): anyone
    "GetIatiActivities": Case(lambda w, c: c.get_iati_activities(), EVERYONE, check=_is_iati),
    "GetGivingPackage": Case(lambda w, c: c.get_giving_package(), EVERYONE),
    "GetGivingCsv": Case(lambda w, c: c.get_giving_csv(), EVERYONE),
    # webhooks: administrators (and partner keys with webhooks:receive, for their own)
    "CreateWebhookSubscription": Case(
        lambda w, c: c.create_webhook_subscription(
            WebhookSubscriptionCreate(
                url="https://partner.example/hooks", event_types=[EventType.GRANT_CREATED]
            )
        ),
        WEBHOOK_MANAGERS,
    ),
    "ListWebhookSubscriptions": Case(
        lambda w, c: c.list_webhook_subscriptions(), WEBHOOK_MANAGERS, prepare=_webhook_round
    ),
    "GetWebhookSubscription": Case(
        lambda w, c: c.get_webhook_subscription(w.webhook.id),
        WEBHOOK_MANAGERS,
        prepare=_webhook_round,
    ),
    "DeleteWebhookSubscription": Case(
        lambda w, c: c.delete_webhook_subscription(w.webhook.id),
        WEBHOOK_MANAGERS,
        prepare=_webhook_round,
    ),
    "CreateWebhookSecret": Case(
        lambda w, c: c.create_webhook_secret(w.webhook.id, WebhookSecretRotate(overlap_hours=1)),
        WEBHOOK_MANAGERS,
        prepare=_webhook_round,
    ),
    "ListWebhookDeliveries": Case(
        lambda w, c: c.list_webhook_deliveries(w.webhook.id),
        WEBHOOK_MANAGERS,
        prepare=_webhook_round,
    ),
    "CreateWebhookRedelivery": Case(
        lambda w, c: c.create_webhook_redelivery(w.webhook_delivery.id),
        WEBHOOK_MANAGERS,
        prepare=_webhook_round,
    ),
    # e-mail preferences: every signed-in person, their own
    "GetNotificationPreferences": Case(lambda w, c: c.get_notification_preferences(), USERS),
    "UpdateNotificationPreferences": Case(
        lambda w, c: c.update_notification_preferences(
            NotificationPreferencesUpdate(
                preferences=[
                    NotificationPreferenceSet(kind=NotificationKind.TRANCHE_PAID, enabled=False)
                ]
            )
        ),
        USERS,
    ),
}


# --- refusals the service gets wrong today ------------------------------------------------------
# Each must fail; the fix makes the test report it as passing, and then its entry goes.
KNOWN_BUGS: dict[tuple[str, str], str] = {}

# --- reading the app's routes -----------------------------------------------------------------

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def app_operations(app: Litestar) -> dict[str, frozenset[str]]:
    """Operation id → HTTP methods, for every route of the contract and the health probes.

    A handler without an operation id is listed under a description of itself, so that the
    equality with `CASES` names it."""
    ops: dict[str, frozenset[str]] = {}
    for route in app.routes:
        if route.path.startswith("/api") and not route.path.startswith("/api/v1/"):
            continue  # the OpenAPI document and its renderers
        for handler in getattr(route, "route_handlers", ()):
            if handler.include_in_schema is False:
                continue  # e.g. the automatic OPTIONS handlers
            methods = frozenset(handler.http_methods)
            name = handler.operation_id or f"<no operation_id: {sorted(methods)} {route.path}>"
            ops[str(name)] = methods
    return ops


def is_write(app: Litestar, operation: str) -> bool:
    return not app_operations(app)[operation] <= READ_METHODS


# --- the anonymous caller with garbage: refused before anything else --------------------------

GARBAGE = b"[" * 1000 + b'{"email":"\xff", "password": "x", "version": "1e3"' + b"]" * 1000
GARBAGE_HEADERS = [
    (b"content-type", b"text/plain"),
    (b"idempotency-key", b"not a valid key \x7f"),
    (b"if-match", b"garbage"),
    (b"content-length", str(len(GARBAGE)).encode()),
]


async def anonymous_call(app: Litestar, method: str, path: str) -> tuple[int, bytes, bool]:
    """Call the app as ASGI with a garbage body and headers; whether it ever asked for the body."""
    asked_for_body = False
    started: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal asked_for_body
        asked_for_body = True
        return {"type": "http.request", "body": GARBAGE, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"limit=0&cursor=%ff",
        "headers": [(b"host", b"test"), *GARBAGE_HEADERS],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    await app(scope, receive, send)
    return int(started["status"]), b"".join(chunks), asked_for_body


def _secured_operations() -> list[str]:
    return sorted(op for op, case in CASES.items() if "anonymous" not in case.allowed)


async def test_secured_operations_are_those_the_contract_secures(app: Litestar) -> None:
    """The middleware refuses by the contract's `security`; the matrix by who may call. They
    name the same operations."""
    secured = {op.operation_id for op in api_operations(app) if op.secured}
    # (a route missing from CASES is `test_every_route_has_a_permission_rule`'s failure)
    assert secured & set(CASES) == set(_secured_operations())


async def test_anonymous_with_garbage_is_refused_before_anything_is_read(
    app: Litestar, count_queries: QueryCounter
) -> None:
    """The anonymous-with-garbage column, for every operation generated from the routes: a caller
    without credentials gets 401 problem+json from every secured operation whatever the body,
    path (unknown ids), query and headers, before the body is read and without a query."""
    failures: list[str] = []
    secured = set(_secured_operations())
    for op in api_operations(app):
        if op.operation_id not in secured and not op.secured:
            continue
        for path in (op.path, op.path.replace(UNKNOWN_ID, str(uuid.uuid4()))):
            before = count_queries.count
            status, body, asked = await anonymous_call(app, op.method, path)
            problem = json.loads(body) if body else {}
            got = (status, problem.get("type"), asked, count_queries.count - before)
            if got != (401, PROBLEM_PREFIX + "unauthenticated", False, 0):
                failures.append(f"{op.operation_id} {op.method} {path}: {got}")
    assert failures == []


async def test_public_operations_refuse_anonymous_garbage_as_bad_input(app: Litestar) -> None:
    """The public operations that take a body read it, and refuse garbage with a 4xx problem
    (415: the garbage is not declared JSON), never a 5xx."""
    failures: list[str] = []
    public_with_body = [
        op
        for op in api_operations(app)
        if op.operation_id in CASES and "anonymous" in CASES[op.operation_id].allowed
        if op.body_type is not None
    ]
    assert {op.operation_id for op in public_with_body} >= {"CreateToken", "CreateRegistration"}
    for op in public_with_body:
        status, body, _ = await anonymous_call(app, op.method, op.path)
        problem = json.loads(body)
        got = (status, problem.get("type"))
        if got != (415, PROBLEM_PREFIX + "unsupported-media-type"):
            failures.append(f"{op.operation_id}: {got}")
    assert failures == []


# --- database probes --------------------------------------------------------------------------


async def audit_count(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(AuditEvent))).scalar_one())


NOT_A_CHANGE = {"api_key": "last_used_at"}
"""Columns the authentication itself writes before the operation runs: a partner key's last use
is recorded (and committed) even when the call is then refused (docs/partners.md, "Keys")."""


async def table_digests(session: AsyncSession) -> dict[str, str]:
    """An md5 of every table's rows: equal before and after means no row changed anywhere."""
    names = [t.name for t in SQLModel.metadata.sorted_tables]
    # The table names come from the models' metadata, not from any input.
    digest = "(SELECT md5(coalesce(string_agg({row}, '|' ORDER BY {row}), '')) FROM {name} AS t)"
    columns = ", ".join(
        digest.format(
            name=f'"{name}"',
            row=f"(to_jsonb(t) - '{NOT_A_CHANGE[name]}')::text"
            if name in NOT_A_CHANGE
            else "t::text",
        )
        for name in names
    )
    row = (await session.execute(text("SELECT " + columns))).one()
    return dict(zip(names, row, strict=True))


# --- the tests --------------------------------------------------------------------------------


async def test_every_route_has_a_permission_rule(app: Litestar) -> None:
    assert set(app_operations(app)) == set(CASES)


async def check_case(
    case: Case, write: bool, world: World, actor: str, session: AsyncSession
) -> None:
    """One operation called by one actor: allowed and done, or refused as expected and nothing
    changed."""
    world.actor = actor
    c = world.client(actor)
    audit_before = await audit_count(session)

    if actor in case.allowed:
        unchanged = await table_digests(session) if case.writes is False else None
        result = await case.call(world, c)
        if write:
            assert await audit_count(session) > audit_before, "a state change left no audit event"
        if unchanged is not None:
            assert await table_digests(session) == unchanged, "a pure computation changed rows"
        if case.check is not None:
            await case.check(world, c, result)
        return

    rows_before = await table_digests(session) if write else None
    with pytest.raises(ApiError) as caught:
        await case.call(world, c)
    if actor in case.hidden:
        expected = 404
    elif actor == "anonymous":
        expected = 401
    else:
        expected = 403
    assert (caught.value.status, caught.value.type) == (
        expected,
        PROBLEM_PREFIX + REFUSAL_SLUGS[expected],
    )
    if write:
        assert await audit_count(session) == audit_before
        assert await table_digests(session) == rows_before


def stored_files(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} if root.exists() else {}


def restore_files(root: Path, files: dict[Path, bytes]) -> None:
    """The file store as it was: what a case uploaded goes, what it deleted comes back (a
    rolled-back transaction cannot undo a file removed on commit)."""
    for path in stored_files(root):
        if path not in files:
            path.unlink()
    for path, content in files.items():
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)


@pytest.mark.parametrize("operation", list(CASES))
async def test_permission_matrix(
    operation: str,
    world: World,
    app: Litestar,
    session: AsyncSession,
    connection: AsyncConnection,
    storage_dir: Path,
) -> None:
    """Every actor against one world: the world (and the case's `prepare`) is built once for
    the operation, and each actor's call runs inside a savepoint rolled back after it, with the
    file store put back, so every actor meets the same world. Failures are gathered and
    reported per actor; a pair in `KNOWN_BUGS` must fail (strictly: a pass is reported)."""
    case = CASES[operation]
    write = is_write(app, operation) if case.writes is None else case.writes
    if case.prepare is not None:
        await case.prepare(world)
    files = stored_files(storage_dir)
    failures: list[str] = []
    for actor in ACTORS:
        # the test session's own transaction begins outside the actor's savepoint, so rolling
        # the savepoint back leaves it intact
        await session.execute(text("SELECT 1"))
        savepoint = await connection.begin_nested()
        error: BaseException | None = None
        try:
            await check_case(case, write, world, actor, session)
        except (Exception, pytest.fail.Exception) as exc:
            error = exc
        finally:
            await savepoint.rollback()
            restore_files(storage_dir, files)
        bug = KNOWN_BUGS.get((operation, actor))
        if bug is not None and error is None:
            failures.append(f"{actor}: passes now; remove it from KNOWN_BUGS ({bug})")
        elif bug is None and error is not None:
            failures.append(f"{actor}: {type(error).__name__}: {error}")
    assert not failures, f"{operation}:\n" + "\n".join(failures)
