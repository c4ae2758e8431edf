"""Test fixtures: a real PostgreSQL, a schema built by migrations, a transaction per test.

- No TEST_DATABASE_URL / DATABASE_URL: an embedded PostgreSQL (pgserver) in .grants/test-pgdata.
- Otherwise that server is used; the tests create (and drop) databases of their own on it.

A template database is migrated once per run; the transactional tests use a clone of it and roll
each test back. Tests that need real commits (races, the CLI) get a fresh clone of their own.

The whole suite (`pytest` with no path) runs on one pytest-xdist worker per core, each test
module on one worker (`--dist loadscope`: a module's fixtures are built once). Every name a
worker makes is its own — databases carry the worker's process id, files live in its own
temporary directories, servers take free ports — and the embedded PostgreSQL is one server for
all of them (pgserver counts its users across processes). A run of named files or folders
(`pytest tests/web/test_public.py`) runs in one process: starting workers costs more than it
saves there; `-n 2` spreads it anyway, `-n 0` keeps any run in one process. Every worker
collects the suite itself and they must agree: a test's parameters are the same in every process
(no `uuid4()` or clock reading in `parametrize`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from contracts.client import GrantsClient
from contracts.enums import MembershipRole, OrganisationKind, Role
from service.app import create_app
from service.context import Clock, clock
from service.identity.secrets import hash_password, new_token
from service.persistence import migrate
from service.persistence.database import Database, start_embedded_server
from service.persistence.models import (
    AppUser,
    AuthToken,
    Membership,
    Organisation,
    Territory,
    UserRole,
)
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent

# The servers the tests start (`grants serve` in processes of their own) leave the PDF renderers
# to start at their first document: warming them is CPU the suite does not need (two processes
# importing WeasyPrint per server). tests/service/test_serve.py turns it on and checks it.
os.environ.setdefault("GRANTS_DOCUMENTS_WARM", "false")

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

TEST_PASSWORD = "correct horse battery staple"


# --- workers ------------------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto` (pyproject's addopts): one worker per core for the whole suite, none (the run
    stays in this process) when the command names what to run. PYTEST_XDIST_AUTO_NUM_WORKERS
    still decides when set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # pytest-xdist's own hook reads it
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        return 0
    return None  # pytest-xdist's: the number of cores


def _connects_on_its_own(item: pytest.Item) -> bool:
    """Whether the test reaches the server other than through the shared transactional clone
    (`engine`): a database of its own (`fresh_db`, a module's database), processes or pools given
    its URL, the migrations run on it. The test itself or any fixture it uses may ask."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    if "fresh_db" in info.names_closure:
        return True
    direct = [info.argnames] + [
        d.argnames
        for name, defs in info.name2fixturedefs.items()
        if name not in ("engine", "template_db")
        for d in defs
    ]
    return any({"server", "template_db"} & set(names) for names in direct)


LONG = ("stateful", "bench_smoke", "fuzz", "race")
"""Markers of the tests that take minutes, not seconds, longest first: the workers start them
first."""


def _worker_order(items: list[pytest.Item]) -> None:
    """The order in which the xdist workers are handed the modules (`--no-loadscope-reorder`):
    the modules of the long tests first, then the others by their number of tests, largest
    first — so that no worker is left with a minutes-long test while the other one is idle."""
    module = {id(i): i.nodeid.split("::", 1)[0] for i in items}
    size: dict[str, int] = {}
    rank: dict[str, int] = {}
    first_seen: dict[str, int] = {}
    for n, item in enumerate(items):
        path = module[id(item)]
        size[path] = size.get(path, 0) + 1
        first_seen.setdefault(path, n)
        marks = [k for k, m in enumerate(LONG) if item.get_closest_marker(m)]
        rank[path] = min([rank.get(path, len(LONG)), *marks])
    items.sort(key=lambda i: (rank[module[id(i)]], -size[module[id(i)]], first_seen[module[id(i)]]))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _connects_on_its_own(item):
            item.add_marker(pytest.mark.own_database)
    if os.environ.get("PYTEST_XDIST_WORKER"):  # a run in one process keeps the files' order
        _worker_order(items)


# --- the server and databases ----------------------------------------------------------------


def _admin_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        if url.startswith(("postgresql://", "postgres://")):
            url = "postgresql+asyncpg://" + url.split("://", 1)[1]
        return url
    pgdata = ROOT / ".grants" / "test-pgdata"
    embedded = start_embedded_server(pgdata)
    # A server for tests only, whose databases are dropped after each run: it writes without
    # waiting for the disk (every clone of the template and every commit would otherwise wait
    # for fsync). What the tests prove — transactions, locks, what a commit makes visible to
    # other connections — is the same; only durability across a crash of the machine is not.
    for setting in ("fsync", "synchronous_commit"):
        if embedded.psql(f"SHOW {setting};").split()[2] != "off":
            embedded.psql(f"ALTER SYSTEM SET {setting} = off;")
            embedded.psql("SELECT pg_reload_conf();")
    return f"postgresql+asyncpg://postgres@/postgres?host={pgdata}"


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@dataclass
class Server:
    admin_url: str

    async def _admin(self, sql: str) -> None:
        engine = create_async_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.exec_driver_sql(sql)
        finally:
            await engine.dispose()

    async def create_database(self, name: str, template: str | None = None) -> str:
        tpl = f' TEMPLATE "{template}"' if template else ""
        await self._admin(f'CREATE DATABASE "{name}"{tpl}')
        return with_database(self.admin_url, name)

    async def drop_database(self, name: str) -> None:
        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def server() -> Server:
    return Server(_admin_url())


RUN_ID = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
async def template_db(server: Server) -> AsyncIterator[str]:
    """A database migrated to head by Alembic, used only as a template for clones."""
    name = f"grants_tpl_{RUN_ID}"
    url = await server.create_database(name)
    migrate.upgrade(url)
    yield name
    await server.drop_database(name)


@pytest.fixture
async def fresh_db(server: Server, template_db: str) -> AsyncIterator[str]:
    """A migrated database of this test's own, for real commits (races, CLI). Dropped after."""
    name = f"grants_fresh_{uuid.uuid4().hex[:10]}"
    url = await server.create_database(name, template=template_db)
    yield url
    await server.drop_database(name)


@pytest.fixture(scope="session")
async def engine(server: Server, template_db: str) -> AsyncIterator[AsyncEngine]:
    name = f"grants_test_{RUN_ID}"
    url = await server.create_database(name, template=template_db)
    eng = create_async_engine(url, pool_size=2)
    yield eng
    await eng.dispose()
    await server.drop_database(name)


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One connection in one outer transaction, rolled back at the end of the test."""
    async with engine.connect() as conn:
        trans = await conn.begin()
        try:
            yield conn
        finally:
            await trans.rollback()


@pytest.fixture
def db(connection: AsyncConnection) -> Database:
    return Database.bound_to(connection)


@pytest.fixture
async def session(db: Database) -> AsyncIterator[AsyncSession]:
    """For arranging and inspecting rows directly; joins the test's transaction."""
    async with db.sessionmaker() as s:
        yield s


# --- the app and its client -------------------------------------------------------------------


TEST_STORAGE = Path(tempfile.mkdtemp(prefix="grants-test-storage-"))
TEST_SETTINGS = Settings(
    environment="test",
    log_json=True,
    log_level="WARNING",
    storage_dir=TEST_STORAGE,
    second_confirmation_above=15_000_000,
    session_secret="5e" * 32,
    # The suite signs officers and administrators in with their passwords (the demo's too, as
    # `grants serve --demo` does); tests/service/identity/test_logins.py turns the required
    # second factor on.
    totp_required_roles=[],
    # The suite makes many requests from one address (the ASGI transport's 127.0.0.1): the API's
    # rate limits are off; tests/service/identity/test_rate_limits.py turns them on.
    rate_limit_ip=0,
    rate_limit_anonymous_ip=0,
    rate_limit_api_key=0,
    rate_limit_user=0,
)


@pytest.fixture
def frozen_clock() -> Iterator[Clock]:
    """The server clock, frozen by the test (`frozen_clock.frozen = instant`), then released."""
    yield clock
    clock.frozen = None


@pytest.fixture
def storage_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """This test's own private file storage. In a module marked `shared_app` it is the module's
    (the shared app's settings name it), emptied after each test: every test starts with none,
    as with a directory of its own."""
    if request.node.get_closest_marker("shared_app") is None:
        yield tmp_path / "storage"
        return
    path: Path = request.getfixturevalue("module_storage")
    yield path
    for entry in path.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


@pytest.fixture(scope="module")
def module_storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The private file storage of a module's shared app (marker `shared_app`)."""
    return tmp_path_factory.mktemp("module-storage")


@pytest.fixture(scope="module")
async def module_app(request: pytest.FixtureRequest, module_storage: Path) -> AsyncIterator[Any]:
    """One app for a module marked `shared_app`: `create_app` (the routes, a third of a second)
    once, not once per test. Its database is swapped for each test's (`app`); what it captured
    at creation — settings, the /metrics scrape's database, the rate limits' store — is the
    module's: the marker's keywords are the module's settings
    (`pytest.mark.shared_app(totp_required_roles=[...])`), and a module whose tests change
    settings from test to test, scrape the job queue from /metrics or turn rate limits on keeps
    an app per test."""
    marker = request.node.get_closest_marker("shared_app")
    overrides = dict(marker.kwargs) if marker is not None else {}
    unbound = Database.from_url("postgresql+asyncpg://unused@localhost:1/unused")
    settings = TEST_SETTINGS.model_copy(update={**overrides, "storage_dir": module_storage})
    yield create_app(settings, database=unbound)
    await unbound.dispose()


@pytest.fixture
def app(request: pytest.FixtureRequest, db: Database, storage_dir: Path) -> Iterator[Any]:
    """The API app, its sessions joining this test's transaction: built for the test, or the
    module's (`pytestmark = pytest.mark.shared_app`) with this test's database bound to it."""
    if request.node.get_closest_marker("shared_app") is None:
        settings = TEST_SETTINGS.model_copy(update={"storage_dir": storage_dir})
        yield create_app(settings, database=db)
        return
    shared = request.getfixturevalue("module_app")
    unbound = shared.state.db
    shared.state.db = db
    yield shared
    shared.state.db = unbound


@pytest.fixture
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test/api/v1/"
    ) as client:
        yield client


@pytest.fixture
def client(http: httpx.AsyncClient) -> GrantsClient:
    """The project's typed client, anonymous; `.as_user(token)` to act as someone."""
    return GrantsClient(http)


# --- arranging people -------------------------------------------------------------------------


_PASSWORD_HASH: str | None = None


def hashed_test_password() -> str:
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = hash_password(TEST_PASSWORD)
    return _PASSWORD_HASH


@dataclass
class Person:
    user: AppUser
    token: str
    client: GrantsClient

    @property
    def id(self) -> uuid.UUID:
        return self.user.id


MakeUser = Callable[..., Awaitable[Person]]
MakeOrganisation = Callable[..., Awaitable[Organisation]]


@pytest.fixture
async def territory(session: AsyncSession) -> Territory:
    t = Territory(
        code=f"t-{uuid.uuid4().hex[:8]}",
        kind="city",
        name={"en": "Osh", "ru": "город Ош", "ky": "Ош шаары"},
        region={"en": "Osh", "ru": "Ош", "ky": "Ош"},
    )
    session.add(t)
    await session.flush()
    return t


@pytest.fixture
def make_organisation(session: AsyncSession, territory: Territory) -> MakeOrganisation:
    async def make(**fields: Any) -> Organisation:
        values: dict[str, Any] = {
            "name": f"Org {uuid.uuid4().hex[:6]}",
            "kind": OrganisationKind.CSO,
            "territory_id": territory.id,
            "founded_year": 2015,
            "registration_number": f"REG-{uuid.uuid4().hex[:10]}",
        }
        values.update(fields)
        org = Organisation(**values)
        session.add(org)
        await session.flush()
        await session.refresh(org)
        return org

    return make


@pytest.fixture
def make_user(session: AsyncSession, http: httpx.AsyncClient) -> MakeUser:
    """A user with the given staff roles and memberships, and a live bearer token."""

    async def make(
        *roles: Role,
        member_of: tuple[Organisation, ...] = (),
        token_expires_in: timedelta = timedelta(hours=1),
    ) -> Person:
        user = AppUser(
            email=f"u{uuid.uuid4().hex[:10]}@test.example",
            full_name="Test Person",
            password_hash=hashed_test_password(),
        )
        session.add(user)
        await session.flush()
        for role in roles:
            session.add(UserRole(user_id=user.id, role=role))
        for org in member_of:
            session.add(
                Membership(user_id=user.id, organisation_id=org.id, role=MembershipRole.MEMBER)
            )
        token, token_hash = new_token()
        now = clock.now()
        session.add(
            AuthToken(
                user_id=user.id,
                token_hash=token_hash,
                created_at=now - timedelta(hours=2),
                expires_at=now + token_expires_in,
            )
        )
        await session.flush()
        await session.refresh(user)
        return Person(user=user, token=token, client=GrantsClient(http, token=token))

    return make


# --- the CLI as a user runs it ----------------------------------------------------------------


def run_cli(
    *args: str, url: str | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`grants ARGS…` in a process of its own, against `url` when given."""
    env = dict(os.environ)
    if url:
        env["DATABASE_URL"] = url
    return subprocess.run(  # noqa: S603  (our own CLI, fixed arguments)
        [sys.executable, "-c", "from service.cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
        check=False,
        cwd=ROOT,
    )


# --- counting queries -------------------------------------------------------------------------


@dataclass
class QueryCounter:
    count: int = 0


@pytest.fixture
def count_queries(connection: AsyncConnection) -> Iterator[QueryCounter]:
    counter = QueryCounter()
    sync_conn = connection.sync_connection
    assert sync_conn is not None

    def before(*_: Any) -> None:
        counter.count += 1

    event.listen(sync_conn, "before_cursor_execute", before)
    yield counter
    event.remove(sync_conn, "before_cursor_execute", before)


# the journey fixture (a programme with places, plans, people), shared by several test modules
from tests.journey import programme  # noqa: E402, F401  (registers the fixture)
