"""The money, as a state machine: grants made, tranches approved, confirmed, paid, reversed and
cancelled, grants amended — each step one of the service's use cases in a real transaction
(committed, or rolled back when refused), checked after every step against an in-memory model of
the books and against the invariants of the design:

- the non-cancelled tranches of a grant sum to its amount, and so do its charges;
- 0 ≤ disbursed ≤ amount, and disbursed is the ledger's net (disbursements − reversals);
- no funding source is over-committed, and the window's grants stay within its envelope;
- every tranche is in the state the model predicts, every refusal is the one it predicts, and a
  refusal changes nothing;
- the ledger is append-only: every row seen stays exactly as it was, and rows are only added.

Hypothesis drives it with a fixed seed (`derandomize`), for at least 10,000 steps.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from itertools import pairwise
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel import col

from contracts.awards import (
    AmendmentCreate,
    DisbursementCreate,
    ReversalCreate,
    TrancheCancellation,
    TrancheInput,
    TrancheTransition,
)
from contracts.enums import GrantStatus, LedgerEntryKind, Role, TrancheStatus
from contracts.permissions import Actor
from scoring.money import convert
from service import awards
from service.context import PaymentPolicy, RequestContext
from service.persistence.models import (
    CallWindow,
    Proposal,
    ProposalActionPlanItem,
    WindowActionPlanItem,
    WindowAllocation,
)
from service.problems import ProblemError
from tests.money_world import START, MoneyWorld, build_money_world, grant_body

T = TypeVar("T")

EXAMPLES = 100
STEPS = 102  # a little over MIN_STEPS / EXAMPLES: Hypothesis may end an example early
MIN_STEPS = 10_000

PROPOSALS = 6
REQUESTED = 10_000_000
FLOOR = REQUESTED // 2  # the window's partial-funding floor is 50 %
KGS_ALLOCATION = 18_000_000
USD_ALLOCATION = 12_000_000
ENVELOPE = KGS_ALLOCATION + USD_ALLOCATION
THRESHOLD = 4_000_000  # a tranche above it needs a second finance officer's confirmation
PAID_RATE = "88.5"  # KGS per USD, when a payment is made in USD

PO, FO = Role.PROGRAMME_OFFICER, Role.FINANCE_OFFICER
ROLES: dict[str, frozenset[Role]] = {
    "po": frozenset({PO}),
    "po2": frozenset({PO, FO}),  # both roles: the four-eyes rules must stop them, not the roles
    "fo1": frozenset({FO}),
    "fo2": frozenset({FO}),
    "fo3": frozenset({FO}),
}
MANAGERS = ("po", "po2")
PAYERS = ("fo1", "fo2", "fo3", "po2")
LIVE = (TrancheStatus.PLANNED, TrancheStatus.DUE, TrancheStatus.APPROVED)

# the use cases a step draws from, the payment flow most often (the first is the simplest draw)
OPERATIONS = (
    *("disburse", "approve", "confirm") * 2,
    "disburse",
    "reverse",
    "cancel",
    "amend",
    "create",
)

SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


# --- the model ----------------------------------------------------------------------------------


@dataclass(eq=False)
class MGrant:
    id: uuid.UUID
    proposal: int
    amount: int
    disbursed: int = 0
    version: int = 1
    status: GrantStatus = GrantStatus.ACTIVE
    tranches: list[MTranche] = field(default_factory=list, repr=False)

    def settle(self) -> None:
        """The status the amounts call for: nothing left is terminated, all paid is completed."""
        if self.amount == 0:
            self.status = GrantStatus.TERMINATED
        elif self.disbursed == self.amount:
            self.status = GrantStatus.COMPLETED
        else:
            self.status = GrantStatus.ACTIVE


@dataclass(eq=False)
class MTranche:
    id: uuid.UUID
    grant: MGrant = field(repr=False)
    amount: int
    status: TrancheStatus = TrancheStatus.DUE
    version: int = 2  # created planned (1), due at once: no conditions (2)
    approved_by: str | None = None
    confirmed_by: str | None = None
    reversals: int = 0

    @property
    def needs_confirmation(self) -> bool:
        return self.amount > THRESHOLD

    @property
    def payable(self) -> bool:
        return self.status == TrancheStatus.APPROVED and (
            not self.needs_confirmation or self.confirmed_by is not None
        )


@dataclass(eq=False)
class MEntry:
    id: uuid.UUID
    tranche: MTranche
    kind: LedgerEntryKind
    amount: int
    attempt: int
    reverses: uuid.UUID | None = None
    reversed: bool = False
    payer: str | None = None


@dataclass
class Env:
    """What outlives one example: the event loop, the database (one connection, acting as the
    service's restricted role), the people and the call every example's window belongs to, and
    the counts."""

    loop: asyncio.AbstractEventLoop
    sessions: async_sessionmaker[AsyncSession]
    base: MoneyWorld
    steps: int = 0
    examples: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    async def new_world(self) -> MoneyWorld:
        """A fresh window of the base world's call — its own envelope and selected proposals —
        for one example (much cheaper than a whole new world: the people are shared)."""
        n = self.examples
        async with self.sessions() as s:
            base = await s.get(CallWindow, self.base.window_id)
            assert base is not None
            window = CallWindow(
                **{**base.model_dump(), "id": uuid.uuid4(), "code": f"W{n}", "position": n}
            )
            s.add(window)
            await s.flush()
            for row in (
                await s.execute(
                    select(WindowAllocation).where(
                        col(WindowAllocation.window_id) == self.base.window_id
                    )
                )
            ).scalars():
                s.add(
                    WindowAllocation(
                        **{**row.model_dump(), "id": uuid.uuid4(), "window_id": window.id}
                    )
                )
            s.add(WindowActionPlanItem(window_id=window.id, action_plan_item_id=self.base.item_id))
            proposals = []
            for base_id in self.base.proposals:
                original = await s.get(Proposal, base_id)
                assert original is not None
                proposal = Proposal(
                    **{
                        **original.model_dump(),
                        "id": uuid.uuid4(),
                        "window_id": window.id,
                        "receipt_number": f"{original.receipt_number}-{n}",
                    }
                )
                s.add(proposal)
                s.add(
                    ProposalActionPlanItem(
                        proposal_id=proposal.id, action_plan_item_id=self.base.item_id
                    )
                )
                proposals.append(proposal.id)
            await s.commit()
        return replace(self.base, window_id=window.id, proposals=proposals)


class Backstop(ProblemError):
    """A constraint of the database refused what the service let through (the API answers it
    with 422 through its IntegrityError handler); nothing was written."""

    status = 422
    slug = "integrity"


# --- the invariants, read in one round trip -----------------------------------------------------

BOOKS = text(
    """
    SELECT
      (SELECT count(*) FROM audit_event) AS events,
      (SELECT coalesce(json_agg(json_build_array(g.id, g.amount, g.disbursed_amount, g.status,
                                                 g.version)), '[]')
         FROM grant_award g WHERE g.window_id = :w) AS grants,
      (SELECT coalesce(json_agg(json_build_array(t.id, t.grant_id, t.amount, t.status, t.version,
                                                 t.approved_by, t.confirmed_by)), '[]')
         FROM tranche t JOIN grant_award g ON g.id = t.grant_id WHERE g.window_id = :w) AS tranches,
      (SELECT coalesce(json_agg(json_build_array(c.grant_id, c.funding_source_id, c.amount,
                                                 c.source_amount)), '[]')
         FROM grant_charge c JOIN grant_award g ON g.id = c.grant_id WHERE g.window_id = :w)
        AS charges,
      (SELECT coalesce(json_agg(json_build_array(
                 e.id, e.tranche_id, e.grant_id, e.kind, e.amount, e.currency, e.source_amount,
                 e.source_currency, e.rate, e.value_date, e.reference, e.reverses_id, e.reason,
                 e.attempt, e.approved_by, e.confirmed_by, e.created_by, e.created_at,
                 (SELECT json_agg(json_build_array(s.id, s.funding_source_id, s.amount,
                                                   s.source_amount, s.committed_source_amount,
                                                   s.source_currency, s.rate)
                                  ORDER BY s.funding_source_id)
                    FROM ledger_split s WHERE s.ledger_entry_id = e.id))), '[]')
         FROM ledger_entry e JOIN grant_award g ON g.id = e.grant_id WHERE g.window_id = :w)
        AS ledger
    """
)


def _loads(raw: Any) -> list[list[Any]]:
    value = json.loads(raw) if isinstance(raw, str) else raw
    assert isinstance(value, list)
    return value


# --- the machine --------------------------------------------------------------------------------


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, env: Env) -> None:
        super().__init__()
        self.env = env
        env.examples += 1
        self.world: MoneyWorld = env.run(env.new_world())
        self.ctx = {
            name: RequestContext(
                actor=Actor(kind="user", id=self.world.user_ids[name], label=name, roles=roles),
                payments=PaymentPolicy(second_confirmation_above=THRESHOLD),
            )
            for name, roles in ROLES.items()
        }
        self.grants: list[MGrant] = []
        self.tranches: list[MTranche] = []
        self.entries: list[MEntry] = []
        self.awarded: set[int] = set()
        self.committed = 0
        self.seen: dict[str, list[Any]] = {}
        self.events: int | None = None
        self.changed = False  # did a use case succeed (and so write) since the last check?
        self.books: Any = None  # the books read right after the last use case
        self.payments = 0

    # --- running a step ---------------------------------------------------------------------

    def _call(
        self, what: str, use_case: Callable[[AsyncSession], Awaitable[T]], refusal: str | None
    ) -> T | None:
        """Run one use case in a transaction of its own: committed when it succeeds, rolled back
        when it is refused. `refusal` is what the model predicts: None for success, else the
        problem's slug. Returns the result on success, None on the predicted refusal."""

        async def go() -> T | ProblemError:
            async with self.env.sessions() as s:
                outcome: T | ProblemError
                try:
                    outcome = await use_case(s)
                except ProblemError as refused:
                    await s.rollback()
                    outcome = refused
                except IntegrityError as refused:  # the database's own backstop (see disburse)
                    await s.rollback()
                    outcome = Backstop(str(refused.orig))
                else:
                    await s.commit()
                # the books as they now stand, for the invariants (read on the same connection)
                self.books = (await s.execute(BOOKS, {"w": self.world.window_id})).one()
                return outcome

        self.env.steps += 1
        outcome = self.env.run(go())
        if isinstance(outcome, ProblemError):
            assert refusal is not None, f"{what} refused: {outcome.slug}: {outcome.detail}"
            assert outcome.slug == refusal, (
                f"{what} refused with {outcome.slug} ({outcome.detail}); the model expected"
                f" {refusal}"
            )
            self.env.outcomes[f"{what}: {refusal}"] += 1
            return None
        assert refusal is None, f"{what} accepted; the model expected {refusal}"
        self.env.outcomes[f"{what}: ok"] += 1
        self.changed = True
        return outcome

    @staticmethod
    def _pick(data: st.DataObject, preferred: list[T], every: list[T]) -> T:
        """Mostly one of `preferred` (where the step can succeed), sometimes any."""
        if preferred and data.draw(st.integers(0, 9)) < 9:
            return data.draw(st.sampled_from(preferred))
        return data.draw(st.sampled_from(every))

    @staticmethod
    def _split(data: st.DataObject, total: int, most: int) -> list[int]:
        """`total` in 1..`most` positive parts (none for 0)."""
        if total <= 0:
            return []
        n = min(data.draw(st.integers(1, most)), total)
        cuts = sorted(
            data.draw(
                st.lists(st.integers(1, total - 1), min_size=n - 1, max_size=n - 1, unique=True)
            )
            if n > 1
            else []
        )
        bounds = [0, *cuts, total]
        return [b - a for a, b in pairwise(bounds)]

    @staticmethod
    def _stale(data: st.DataObject) -> bool:
        return data.draw(st.integers(0, 19)) == 19

    def _adopt_tranches(self, grant: MGrant, reads: list[Any], amounts: list[int]) -> None:
        known = {t.id for t in grant.tranches}
        fresh = [t for t in reads if t.id not in known]
        assert [t.amount for t in fresh] == amounts
        for read in fresh:
            assert read.status == TrancheStatus.DUE
            assert read.version == 2
            assert read.needs_confirmation == (read.amount > THRESHOLD)
            tranche = MTranche(id=read.id, grant=grant, amount=read.amount)
            grant.tranches.append(tranche)
            self.tranches.append(tranche)

    # --- the rules ----------------------------------------------------------------------------

    @initialize(data=st.data())
    def first_grants(self, data: st.DataObject) -> None:
        """Two grants to begin with (they always fit the envelope), so that every rule has
        something to act on from the first step."""
        for _ in range(2):
            self._create(data, sane=True)

    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        """One use case, drawn with the weights of OPERATIONS (one rule rather than one per use
        case: Hypothesis would switch rules off at random per example, leaving many examples
        stuck refusing)."""
        operation = data.draw(st.sampled_from(OPERATIONS))
        getattr(self, f"_{operation}")(data)

    def _create(self, data: st.DataObject, *, sane: bool = False) -> None:
        free = [i for i in range(PROPOSALS) if i not in self.awarded]
        p = (
            data.draw(st.sampled_from(free))
            if sane
            else self._pick(data, free, list(range(PROPOSALS)))
        )
        odd = 0 if sane else data.draw(st.integers(0, 19))
        amount = (
            FLOOR - 1
            if odd == 19
            else REQUESTED + 1
            if odd == 18
            else data.draw(st.integers(FLOOR, REQUESTED))
        )
        parts = self._split(data, amount, 4)
        who = data.draw(st.sampled_from(MANAGERS))
        body = grant_body(self.world, self.world.proposals[p], parts)
        refusal = (
            "conflict"  # the proposal already has its grant
            if p in self.awarded
            else "invalid-input"  # below the floor or above the request
            if not FLOOR <= amount <= REQUESTED
            else "conflict"  # the envelope has not that much left
            if amount > ENVELOPE - self.committed
            else None
        )
        read = self._call(
            "create",
            lambda s: awards.create_grant(s, self.ctx[who], body),
            refusal,
        )
        if read is None:
            return
        assert (read.amount, read.disbursed_amount, read.version) == (amount, 0, 1)
        grant = MGrant(id=read.id, proposal=p, amount=amount)
        self._adopt_tranches(grant, read.tranches, parts)
        self.grants.append(grant)
        self.awarded.add(p)
        self.committed += amount

    def _approve(self, data: st.DataObject) -> None:
        due = [t for t in self.tranches if t.status == TrancheStatus.DUE]
        t = self._pick(data, due, self.tranches)
        who = data.draw(st.sampled_from(MANAGERS))
        stale = self._stale(data)
        body = TrancheTransition(version=t.version - 1 if stale else t.version)
        refusal = (
            "stale-version"
            if stale
            else None
            if t.status == TrancheStatus.DUE
            else "illegal-transition"
        )
        read = self._call(
            "approve",
            lambda s: awards.approve_tranche(s, self.ctx[who], t.id, body),
            refusal,
        )
        if read is None:
            return
        t.status, t.approved_by, t.version = TrancheStatus.APPROVED, who, t.version + 1
        assert (read.status, read.version, read.approved_by) == (
            t.status,
            t.version,
            self.world.user_ids[who],
        )

    def _confirm(self, data: st.DataObject) -> None:
        waiting = [
            t
            for t in self.tranches
            if t.status == TrancheStatus.APPROVED and t.needs_confirmation and not t.confirmed_by
        ]
        t = self._pick(data, waiting, self.tranches)
        candidates = [w for w in PAYERS if w != t.approved_by] if waiting else list(PAYERS)
        who = data.draw(st.sampled_from(candidates if data.draw(st.integers(0, 3)) < 3 else PAYERS))
        stale = self._stale(data)
        body = TrancheTransition(version=t.version - 1 if stale else t.version)
        refusal = (
            "stale-version"
            if stale
            else "conflict"  # only an approved tranche is confirmed
            if t.status != TrancheStatus.APPROVED
            else "conflict"  # a small one needs no confirmation
            if not t.needs_confirmation
            else "conflict"  # already confirmed
            if t.confirmed_by is not None
            else "forbidden"  # four eyes: not by its approver
            if t.approved_by == who
            else None
        )
        read = self._call(
            "confirm",
            lambda s: awards.confirm_tranche(s, self.ctx[who], t.id, body),
            refusal,
        )
        if read is None:
            return
        t.confirmed_by, t.version = who, t.version + 1
        assert (read.confirmed_by, read.version) == (self.world.user_ids[who], t.version)

    def _disburse(self, data: st.DataObject) -> None:
        payable = [t for t in self.tranches if t.payable]
        t = self._pick(data, payable, self.tranches)
        odd = data.draw(st.integers(0, 29))
        who = (
            data.draw(
                st.sampled_from([w for w in PAYERS if w not in (t.approved_by, t.confirmed_by)])
            )
            if odd < 25
            else "po"  # no finance role
            if odd == 29
            else data.draw(st.sampled_from(PAYERS))
        )
        wrong_amount = data.draw(st.integers(0, 19)) == 19
        in_usd = data.draw(st.integers(0, 4)) == 4
        self.payments += 1
        body = DisbursementCreate(
            amount=t.amount + (1 if wrong_amount else 0),
            value_date=START + timedelta(days=data.draw(st.integers(0, 364))),
            reference=f"PAY-{self.payments}",
            bank_details={"bank": "KICB", "account": "1280000000000001"},
            rates={"USD": data.draw(st.sampled_from(["86.25", "87.5", "88.0", "91.125"]))},
            paid_currency="USD" if in_usd else None,
            paid_rate=PAID_RATE if in_usd else None,
        )
        refusal = (
            "forbidden"  # not a finance officer
            if FO not in ROLES[who]
            else "conflict"  # paid already
            if t.status == TrancheStatus.DISBURSED
            else "illegal-transition"  # not approved
            if t.status != TrancheStatus.APPROVED
            else "invalid-input"  # not the tranche's amount
            if wrong_amount
            else "forbidden"  # four eyes: not by its approver
            if t.approved_by == who
            else "conflict"  # a large one is confirmed first
            if t.needs_confirmation and t.confirmed_by is None
            else "forbidden"  # four eyes: nor by its confirmer
            if t.needs_confirmation and t.confirmed_by == who
            else "invalid-input"  # worth 0 in the paid currency: refused, named
            if in_usd and convert(t.amount, PAID_RATE) == 0
            else None
        )
        read = self._call(
            "disburse",
            lambda s: awards.disburse(s, self.ctx[who], t.id, body),
            refusal,
        )
        if read is None:
            return
        assert t.approved_by is not None
        assert (read.kind, read.amount, read.attempt, read.tranche_id) == (
            LedgerEntryKind.DISBURSEMENT,
            t.amount,
            t.reversals,
            t.id,
        )
        assert read.approved_by == self.world.user_ids[t.approved_by]
        assert read.confirmed_by == (
            self.world.user_ids[t.confirmed_by] if t.confirmed_by else None
        )
        assert read.created_by == self.world.user_ids[who]
        assert sum(s.amount for s in read.splits) == t.amount
        self.entries.append(
            MEntry(
                id=read.id,
                tranche=t,
                kind=LedgerEntryKind.DISBURSEMENT,
                amount=t.amount,
                attempt=t.reversals,
                payer=who,
            )
        )
        t.status, t.version = TrancheStatus.DISBURSED, t.version + 1
        t.grant.disbursed += t.amount
        assert t.grant.disbursed <= t.grant.amount
        t.grant.settle()

    def _reverse(self, data: st.DataObject) -> None:
        if not self.entries:  # nothing paid yet: a payment that does not exist
            who = data.draw(st.sampled_from(PAYERS))
            body = ReversalCreate(reason="no such payment", value_date=START, reference="REV")
            self._call(
                "reverse",
                lambda s: awards.reverse(s, self.ctx[who], uuid.uuid4(), body),
                "not-found",
            )
            return
        open_ = [
            e for e in self.entries if e.kind == LedgerEntryKind.DISBURSEMENT and not e.reversed
        ]
        e = self._pick(data, open_, self.entries)
        who = data.draw(st.sampled_from(PAYERS))
        body = ReversalCreate(
            reason="paid to the wrong account", value_date=date(2027, 6, 1), reference="REV"
        )
        refusal = (
            "conflict"  # only a disbursement is reversed
            if e.kind != LedgerEntryKind.DISBURSEMENT
            else "conflict"  # reversed already
            if e.reversed
            else "forbidden"  # four eyes: not by the officer who paid it
            if e.payer == who
            else None
        )
        read = self._call(
            "reverse", lambda s: awards.reverse(s, self.ctx[who], e.id, body), refusal
        )
        if read is None:
            return
        assert (read.kind, read.amount, read.reverses_id, read.attempt) == (
            LedgerEntryKind.REVERSAL,
            e.amount,
            e.id,
            e.attempt,
        )
        self.entries.append(
            MEntry(
                id=read.id,
                tranche=e.tranche,
                kind=LedgerEntryKind.REVERSAL,
                amount=e.amount,
                attempt=e.attempt,
                reverses=e.id,
            )
        )
        e.reversed = True
        t = e.tranche
        assert t.status == TrancheStatus.DISBURSED  # its latest payment, not reversed yet
        t.status, t.version, t.reversals = TrancheStatus.DUE, t.version + 1, t.reversals + 1
        t.approved_by = t.confirmed_by = None
        t.grant.disbursed -= e.amount
        t.grant.settle()

    def _cancel(self, data: st.DataObject) -> None:
        live = [t for t in self.tranches if t.status in LIVE]
        t = self._pick(data, live, self.tranches)
        who = data.draw(st.sampled_from(MANAGERS))
        stale = self._stale(data)
        body = TrancheCancellation(
            version=t.version - 1 if stale else t.version, reason="activity dropped"
        )
        refusal = (
            "stale-version"
            if stale
            else None
            if t.status in LIVE
            else "illegal-transition"  # paid, or cancelled already
        )
        read = self._call(
            "cancel",
            lambda s: awards.cancel_tranche(s, self.ctx[who], t.id, body),
            refusal,
        )
        if read is None:
            return
        t.status, t.version = TrancheStatus.CANCELLED, t.version + 1
        assert (read.status, read.version) == (t.status, t.version)
        g = t.grant
        g.amount -= t.amount
        g.version += 1
        self.committed -= t.amount
        g.settle()

    def _amend(self, data: st.DataObject) -> None:
        going = [g for g in self.grants if g.status != GrantStatus.TERMINATED]
        g = self._pick(data, going, self.grants)
        who = data.draw(st.sampled_from(MANAGERS))
        stale = self._stale(data)
        paid = sum(t.amount for t in g.tranches if t.status == TrancheStatus.DISBURSED)
        room = REQUESTED - paid
        odd = data.draw(st.integers(0, 19))
        new_total = (
            room + 1  # more than was requested
            if odd == 19
            else 0  # no schedule left: only what is paid
            if odd == 18
            else data.draw(st.integers(1, max(room, 1)))
        )
        parts = self._split(data, new_total, 3)
        new_amount = paid + sum(parts)
        delta = new_amount - g.amount
        body = AmendmentCreate(
            version=g.version - 1 if stale else g.version,
            reason="schedule re-planned",
            tranches=[
                TrancheInput(
                    amount=a,
                    planned_date=START + timedelta(days=60 + 30 * i),
                    action_plan_item_ids=[self.world.item_id],
                )
                for i, a in enumerate(parts)
            ],
        )
        refusal = (
            "stale-version"
            if stale
            else "conflict"  # a terminated grant stays so
            if g.status == GrantStatus.TERMINATED
            else "invalid-input"  # more than requested
            if new_amount > REQUESTED
            else "invalid-input"  # nothing at all
            if new_amount == 0
            else "conflict"  # the envelope has not that much left
            if delta > ENVELOPE - self.committed
            else None
        )
        read = self._call(
            "amend",
            lambda s: awards.amend_grant(s, self.ctx[who], g.id, body),
            refusal,
        )
        if read is None:
            return
        for t in g.tranches:
            if t.status in LIVE:
                t.status, t.version = TrancheStatus.CANCELLED, t.version + 1
        self._adopt_tranches(g, read.tranches, parts)
        g.amount = new_amount
        g.version += 1
        self.committed += delta
        g.settle()
        assert (read.amount, read.version) == (g.amount, g.version)

    # --- the books, after every step ----------------------------------------------------------

    async def _books(self) -> Any:
        async with self.env.sessions() as s:
            return (await s.execute(BOOKS, {"w": self.world.window_id})).one()

    @invariant()
    def books_balance(self) -> None:
        books = self.books if self.books is not None else self.env.run(self._books())
        self.books = None
        # a refusal changed nothing (not even the audit trail); a success recorded something
        if self.events is not None:
            assert books.events > self.events if self.changed else books.events == self.events
        self.events = books.events
        self.changed = False

        grants = {uuid.UUID(g[0]): g for g in _loads(books.grants)}
        tranches = {uuid.UUID(t[0]): t for t in _loads(books.tranches)}
        charges = _loads(books.charges)
        ledger = {row[0]: row for row in _loads(books.ledger)}

        # the model and the database hold the same grants, tranches and entries
        assert set(grants) == {g.id for g in self.grants}
        assert set(tranches) == {t.id for t in self.tranches}
        assert set(ledger) == {str(e.id) for e in self.entries}

        # the window: its envelope and each source's allocation
        total = sum(g[1] for g in grants.values())
        assert total == self.committed <= ENVELOPE
        by_source: Counter[str] = Counter()
        charged: Counter[str] = Counter()
        for grant_id, source_id, amount, source_amount in charges:
            assert amount >= 0
            assert source_amount >= 0
            by_source[source_id] += amount
            charged[grant_id] += amount
        assert by_source[str(self.world.kgs_source)] <= KGS_ALLOCATION
        assert by_source[str(self.world.usd_source)] <= USD_ALLOCATION
        assert set(by_source) <= {str(self.world.kgs_source), str(self.world.usd_source)}

        # the ledger's net, per grant, per tranche, and per (grant, source): what a source paid
        # never exceeds its charge, in the grant's currency nor at the commitment rate
        net_grant: Counter[str] = Counter()
        net_tranche: Counter[str] = Counter()
        net_source: Counter[tuple[str, str]] = Counter()
        net_committed: Counter[tuple[str, str]] = Counter()
        for row in ledger.values():
            tranche_id, grant_id, kind, amount, splits = row[1], row[2], row[3], row[4], row[18]
            sign = 1 if kind == LedgerEntryKind.DISBURSEMENT else -1
            net_grant[grant_id] += sign * amount
            net_tranche[tranche_id] += sign * amount
            assert sum(s[2] for s in splits) == amount
            for split in splits:
                net_source[(grant_id, split[1])] += sign * split[2]
                net_committed[(grant_id, split[1])] += sign * split[4]
        charge_of = {(c[0], c[1]): (c[2], c[3]) for c in charges}
        for key, paid in net_source.items():
            amount, source_amount = charge_of.get(key, (0, 0))
            assert 0 <= paid <= amount, (key, paid, amount)
            committed = net_committed[key]
            assert 0 <= committed <= source_amount, (key, committed, source_amount)

        for g in self.grants:
            _, amount, disbursed, status, version = grants[g.id]
            live = sum(
                tranches[t.id][2]
                for t in g.tranches
                if tranches[t.id][3] != TrancheStatus.CANCELLED
            )
            assert live == amount, f"tranches sum to {live}, the grant is {amount}"
            assert charged[str(g.id)] == amount, f"charges {charged[str(g.id)]} ≠ amount {amount}"
            assert 0 <= disbursed <= amount
            assert disbursed == net_grant[str(g.id)]
            assert (amount, disbursed, status, version) == (
                g.amount,
                g.disbursed,
                g.status,
                g.version,
            ), f"grant {g.proposal}: db {(amount, disbursed, status, version)}, model {g}"

        for t in self.tranches:
            _, _, amount, status, version, approved_by, confirmed_by = tranches[t.id]
            expected = (
                t.amount,
                t.status,
                t.version,
                str(self.world.user_ids[t.approved_by]) if t.approved_by else None,
                str(self.world.user_ids[t.confirmed_by]) if t.confirmed_by else None,
            )
            assert (amount, status, version, approved_by, confirmed_by) == expected
            paid = net_tranche[str(t.id)]
            assert paid == (t.amount if t.status == TrancheStatus.DISBURSED else 0)

        # append-only: every row seen before is still there, unchanged; rows are only added
        for entry_id, row in self.seen.items():
            assert ledger.get(entry_id) == row, f"ledger entry {entry_id} changed or went"
        assert len(ledger) >= len(self.seen)
        self.seen = ledger


async def _connect(url: str) -> tuple[AsyncEngine, AsyncConnection, MoneyWorld]:
    # the service's restricted role; and commits need not wait for the disk (a crash of the
    # server would lose the last ones, which a throw-away test database does not mind)
    server_settings = {"role": "grants_app", "synchronous_commit": "off"}
    engine = create_async_engine(url, connect_args={"server_settings": server_settings})
    connection = await engine.connect()
    await connection.commit()  # sessions begin and end their own transactions on it
    async with async_sessionmaker(bind=connection, expire_on_commit=False)() as s:
        base = await build_money_world(
            s,
            proposals=PROPOSALS,
            requested=REQUESTED,
            kgs_allocation=KGS_ALLOCATION,
            usd_allocation=USD_ALLOCATION,
            floor_pct=50,
        )
        await s.commit()
    return engine, connection, base


@pytest.mark.stateful
def test_the_books_balance_after_every_step(fresh_db: str) -> None:
    started = time.perf_counter()
    loop = asyncio.new_event_loop()
    engine, connection, base = loop.run_until_complete(_connect(fresh_db))
    env = Env(
        loop=loop,
        sessions=async_sessionmaker(bind=connection, expire_on_commit=False),
        base=base,
    )
    try:

        class OnThisDatabase(LedgerMachine):
            def __init__(self) -> None:
                super().__init__(env)

        run_state_machine_as_test(OnThisDatabase, settings=SETTINGS)
    finally:
        loop.run_until_complete(connection.close())
        loop.run_until_complete(engine.dispose())
        loop.close()
    elapsed = time.perf_counter() - started
    print(f"\n{env.steps} steps in {env.examples} examples, {elapsed:.1f} s")
    for outcome, n in sorted(env.outcomes.items()):
        print(f"  {outcome}: {n}")
    assert env.steps >= MIN_STEPS
    # every use case succeeded often: the run is not stuck refusing
    for what in ("create", "approve", "confirm", "disburse", "reverse", "cancel", "amend"):
        assert env.outcomes[f"{what}: ok"] >= 100, what
