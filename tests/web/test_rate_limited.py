"""The web when the API's rate limit refuses (service/identity/ratelimit.py): the web passes its
visitor's address on, so one visitor's limit is not another's, and a refusal is a page in the
visitor's language with status 429, not an error of ours."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from service.cli import CombinedApp, build_combined_app
from service.context import Clock
from service.persistence.database import Database
from tests.conftest import TEST_SETTINGS

LIMIT = 4


@pytest.fixture
async def app(fresh_db: str, tmp_path: Path, frozen_clock: Clock) -> AsyncIterator[CombinedApp]:
    frozen_clock.frozen = datetime(2026, 12, 6, 9, 0, 10, tzinfo=UTC)  # one window throughout
    settings = TEST_SETTINGS.model_copy(
        update={
            "storage_dir": tmp_path / "storage",
            "rate_limit_anonymous_ip": LIMIT,
            "rate_limit_lease": 1,
        }
    )
    database = Database.from_url(fresh_db, pool_size=2)
    yield build_combined_app(settings, database)
    await database.dispose()


def _visitor(app: CombinedApp, address: str, language: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 50000)),
        base_url="http://web.test",
        headers={"accept-language": language},
    )


async def test_a_visitor_over_the_api_limit_gets_a_page_in_their_language(
    app: CombinedApp,
) -> None:
    async with (
        _visitor(app, "203.0.113.61", "ru") as visitor,
        _visitor(app, "203.0.113.62", "ky") as neighbour,
    ):
        statuses = []
        for _ in range(LIMIT + 1):  # each page asks the API at least once
            page = await visitor.get("/")
            statuses.append(page.status_code)
            if page.status_code != 200:
                break
        other = await neighbour.get("/")
        neighbour_refused = None
        for _ in range(LIMIT + 1):
            answer = await neighbour.get("/")
            if answer.status_code != 200:
                neighbour_refused = answer
                break

    assert statuses[0] == 200
    assert statuses[-1] == 429, statuses
    assert "Слишком много запросов" in page.text
    assert "Подождите минуту и попробуйте снова" in page.text
    assert 'lang="ru"' in page.text
    assert other.status_code == 200  # the web server's own address is not what is counted
    assert neighbour_refused is not None
    assert neighbour_refused.status_code == 429
    assert "Суроо-талаптар өтө көп" in neighbour_refused.text
