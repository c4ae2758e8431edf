"""Races on a change of decision, with real connections and real commits: many officers propose a
change of one proposal at once (exactly one is pending), and confirm and reject one pending change
at once (exactly one of them decides it, the proposal moves at most once, one current decision)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import pytest
from sqlalchemy import text

from contracts.enums import Role
from service.app import create_app
from service.persistence.database import Database
from tests.conftest import TEST_SETTINGS
from tests.money_world import MoneyWorld, _person, build_money_world

pytestmark = pytest.mark.race

APP_ROLE = "grants_app"
OFFICERS = ("po", "po2", "po3", "po4")
PER_OFFICER = 4
UNSELECT = b'{"outcome": "not_selected", "reason": "Duplicate funding found from another donor"}'


@dataclass
class Arranged:
    database: Database
    http: httpx.AsyncClient
    world: MoneyWorld

    async def post(self, officer: str, path: str, body: bytes) -> httpx.Response:
        return await self.http.post(
            path,
            content=body,
            headers={
                "authorization": f"Bearer {self.world.tokens[officer]}",
                "content-type": "application/json",
            },
        )


@asynccontextmanager
async def arranged(fresh_db: str, tmp_path: Path) -> AsyncIterator[Arranged]:
    """The app on a pool acting as the service's restricted database role, and a committed world
    of selected proposals with four programme officers."""
    database = Database.from_url(fresh_db, pool_size=len(OFFICERS) * PER_OFFICER, role=APP_ROLE)
    app = create_app(
        TEST_SETTINGS.model_copy(update={"storage_dir": tmp_path / "storage"}), database=database
    )
    try:
        async with database.session() as s:
            world = await build_money_world(s, proposals=1)
            for name in OFFICERS[2:]:
                await _person(s, world, name, (Role.PROGRAMME_OFFICER,))
            await s.commit()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test/api/v1/", timeout=120
        ) as http:
            yield Arranged(database=database, http=http, world=world)
    finally:
        await database.dispose()


async def _all_at_once(a: Arranged, calls: list[tuple[str, str, bytes]]) -> list[httpx.Response]:
    answers: list[httpx.Response] = []

    async def one(officer: str, path: str, body: bytes) -> None:
        answers.append(await a.post(officer, path, body))

    async with anyio.create_task_group() as tg:
        for officer, path, body in calls:
            tg.start_soon(one, officer, path, body)
    return answers


async def _rows(a: Arranged, proposal: uuid.UUID) -> tuple[str, int, int, list[str]]:
    """The proposal's status, its decisions, its current decisions and its changes' statuses."""
    async with a.database.session() as s:
        status = (
            await s.execute(text("SELECT status FROM proposal WHERE id = :p"), {"p": proposal})
        ).scalar_one()
        decisions, current = (
            await s.execute(
                text(
                    "SELECT count(*), count(*) FILTER (WHERE is_current) FROM decision"
                    " WHERE proposal_id = :p"
                ),
                {"p": proposal},
            )
        ).one()
        changes = list(
            (
                await s.execute(
                    text("SELECT status FROM decision_change WHERE proposal_id = :p ORDER BY 1"),
                    {"p": proposal},
                )
            ).scalars()
        )
    return str(status), int(decisions), int(current), [str(x) for x in changes]


async def test_one_pending_change_and_one_decider(fresh_db: str, tmp_path: Path) -> None:
    async with arranged(fresh_db, tmp_path) as a:
        proposal = a.world.proposals[0]
        assert (await _rows(a, proposal))[0] == "selected"

        # every officer proposes the same change several times at once: one is pending
        proposed = await _all_at_once(
            a,
            [
                (officer, f"proposals/{proposal}/decision-changes", UNSELECT)
                for officer in OFFICERS
                for _ in range(PER_OFFICER)
            ],
        )
        statuses = sorted(r.status_code for r in proposed)
        assert statuses == [201] + [409] * (len(proposed) - 1), statuses
        assert all(
            r.headers["content-type"].startswith("application/problem+json")
            for r in proposed
            if r.status_code == 409
        )
        change = next(r.json() for r in proposed if r.status_code == 201)
        requester = next(
            name for name, uid in a.world.user_ids.items() if str(uid) == change["requested_by"]
        )
        assert await _rows(a, proposal) == ("selected", 0, 0, ["pending"])

        # the other officers confirm and reject it at once; the requester tries to confirm too
        others = [o for o in OFFICERS if o != requester]
        calls = [
            (officer, f"decision-changes/{change['id']}/{step}", b"{}")
            for officer in others
            for step in ("confirmation", "rejection")
            for _ in range(PER_OFFICER // 2)
        ] + [(requester, f"decision-changes/{change['id']}/confirmation", b"{}")]
        answers = await _all_at_once(a, calls)
        won = [r for r in answers if r.status_code == 201]
        assert len(won) == 1, [r.status_code for r in answers]
        assert sorted(r.status_code for r in answers if r.status_code != 201) in (
            [403] + [409] * (len(answers) - 2),  # the requester refused by four eyes
            [409] * (len(answers) - 1),  # or too late: already decided
        )
        decided = won[0].json()["status"]
        status, decisions, current, changes = await _rows(a, proposal)
        assert changes == [decided]
        if decided == "confirmed":
            assert won[0].json()["confirmed_by"] != change["requested_by"]
            assert (status, decisions, current) == ("not_selected", 1, 1)
        else:
            assert (status, decisions, current) == ("selected", 0, 0)
