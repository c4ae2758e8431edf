"""The process as a whole: health probes, docs, the combined API + web app, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.client import GrantsClient
from service.cli import build_combined_app
from service.persistence.database import Database
from service.persistence.models import Pcc, Territory
from tests.conftest import TEST_PASSWORD, TEST_SETTINGS, run_cli

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]


async def test_health_live_and_ready(client: GrantsClient) -> None:
    assert (await client.get_liveness()).status == "ok"
    ready = await client.get_readiness()
    assert (ready.status, ready.database) == ("ok", "ok")


async def test_ready_is_503_when_the_database_is_unreachable() -> None:
    from service.app import create_app

    unreachable = Database.from_url("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    app = create_app(TEST_SETTINGS, database=unreachable)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        live = await http.get("/health/live")
        ready = await http.get("/health/ready")
    await unreachable.dispose()
    assert live.status_code == 200
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "database": "unreachable"}


async def test_openapi_json_and_docs_are_served(http: httpx.AsyncClient) -> None:
    spec = await http.get("http://test/api/openapi.json")
    assert spec.status_code == 200
    assert spec.json()["info"]["title"] == "pcc-grants API"
    docs = await http.get("http://test/api/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]


async def test_combined_app_serves_web_page_from_the_api(
    db: Database, session: AsyncSession
) -> None:
    t = Territory(
        code="uzgen-test",
        kind="city",
        name={"en": "Uzgen", "ru": "город Узген", "ky": "Өзгөн шаары"},
        region={"en": "Osh region", "ru": "Ошская область", "ky": "Ош облусу"},
    )
    session.add(t)
    await session.flush()
    session.add(Pcc(territory_id=t.id, name={"en": "PCC of Uzgen"}))
    await session.flush()
    app = build_combined_app(TEST_SETTINGS, db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        page = await http.get("/?lang=ky")
        api = await http.get("/api/v1/territories")
        css = await http.get("/static/site.css")
    assert page.status_code == 200
    assert "Өзгөн шаары" in page.text
    assert "Ош облусу" in page.text
    assert api.status_code == 200
    assert [x["code"] for x in api.json()["items"]] == ["uzgen-test"]
    assert css.status_code == 200


def test_cli_openapi_prints_the_committed_contract() -> None:
    result = run_cli("openapi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / "openapi.yaml").read_text(encoding="utf-8")


async def test_cli_db_current_and_user_create(fresh_db: str, db: Database) -> None:
    current = run_cli("db", "current", url=fresh_db)
    assert current.returncode == 0, current.stderr
    from service.persistence import migrate

    assert current.stdout.strip() == migrate.head_revision(fresh_db)

    created = run_cli(
        "user",
        "create",
        "--email",
        "Officer@Example.org",
        "--name",
        "Aida",
        "--role",
        "programme_officer",
        "--password",
        TEST_PASSWORD,
        url=fresh_db,
    )
    assert created.returncode == 0, created.stderr
    assert "created user Officer@Example.org" in created.stdout

    database = Database.from_url(fresh_db)
    from service.app import create_app

    app = create_app(TEST_SETTINGS, database=database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test/api/v1/"
    ) as http:
        anon = GrantsClient(http)
        token = await anon.create_token("officer@example.org", TEST_PASSWORD)
        me = await anon.as_user(token.access_token).get_me()
    await database.dispose()
    assert me.email == "officer@example.org"
    assert [r.value for r in me.roles] == ["programme_officer"]


@pytest.mark.parametrize("args", [["db", "--help"], ["serve", "--help"], ["audit", "--help"]])
def test_cli_help_runs(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_cli_serve_migrates_loads_demo_and_answers(fresh_db: str, storage_dir: Path) -> None:
    """`grants serve --demo` as a user runs it: a real process on a real port."""
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": fresh_db, "GRANTS_STORAGE_DIR": str(storage_dir)}
    proc = subprocess.Popen(  # noqa: S603  (our own CLI, fixed arguments)
        [
            sys.executable,
            "-c",
            "from service.cli import main; main()",
            "serve",
            "--demo",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert ready is not None, "the server never answered"
        assert ready.json() == {"status": "ok", "database": "ok"}
        token = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/token",
            json={"email": "officer@demo.pcc-grants.kg", "password": "demo-grants-2026"},
        )
        assert token.status_code == 201
        finance = httpx.post(  # no second factor for the demo's finance officer (below)
            f"http://127.0.0.1:{port}/api/v1/auth/token",
            json={"email": "finance@demo.pcc-grants.kg", "password": "demo-grants-2026"},
        )
        assert (finance.status_code, finance.json().get("restriction")) == (201, None)
        page = httpx.get(f"http://127.0.0.1:{port}/?lang=ru")
        assert "Аламудунский район" in page.text
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert "officer@demo.pcc-grants.kg" in out
    assert "password: demo-grants-2026" in out
    assert "Two-factor sign-in (TOTP) is OFF for the demo logins" in out
