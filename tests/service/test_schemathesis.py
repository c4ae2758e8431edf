"""The committed contract (openapi.yaml) fuzzed by schemathesis against the running API, as every
role: 0 server errors, 0 schema violations, 0 undocumented statuses or media types, 0 valid
requests refused, and `Allow` right on OPTIONS and 405 answers (issue 11 §7).

The combined app (`grants serve`'s) with the demo data on a database of its own, over a real
socket in a thread; `st run` (the CLI a CI step would run) per role with a fixed seed
(deterministic generation), 3 examples per operation, no shrinking. The hooks
(tests/schemathesis_hooks.py) and the per-operation settings (tests/schemathesis.toml) each say
why they exist. Marked `fuzz`: CI runs it once (.ci/run).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from service.cli import build_combined_app
from service.demo import DEMO_PASSWORD, load_demo_data
from service.persistence.database import Database
from tests.conftest import ROOT, TEST_SETTINGS, Server
from tests.schemathesis_hooks import METHOD_PROBES_ONLY

pytestmark = pytest.mark.fuzz

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
        "positive_data_acceptance",
    )
)
# the coverage phase's method probes: OPTIONS lists and a 405 names exactly the documented methods
METHOD_CHECKS = "unsupported_method,allow_header_conformance"

ROLES = {
    "anonymous": None,
    "applicant": "applicant.yntymak",
    "reviewer": "reviewer1",
    "programme_officer": "officer",
    "finance_officer": "finance",
    "auditor": "auditor",
    "admin": "admin",
    "partner_api_key": "admin",  # the admin issues the partner's key
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
async def demo_db(
    server: Server, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, Path]]:
    name = f"grants_fuzz_{uuid.uuid4().hex[:10]}"
    url = await server.create_database(name, template=template_db)
    storage = tmp_path_factory.mktemp("fuzz-storage")
    database = Database.from_url(url)
    async with database.session() as session:
        await load_demo_data(session, storage)
        await session.commit()
    await database.dispose()
    yield url, storage
    await server.drop_database(name)


@pytest.fixture(scope="module")
def site(demo_db: tuple[str, Path]) -> Iterator[str]:
    url, storage = demo_db
    port = _free_port()
    holder: dict[str, uvicorn.Server] = {}
    settings = TEST_SETTINGS.model_copy(update={"storage_dir": storage})

    def run() -> None:
        config = uvicorn.Config(
            build_combined_app(settings, Database.from_url(url, pool_size=4)),
            host="127.0.0.1",
            port=port,
            log_level="critical",
            lifespan="on",
        )
        holder["server"] = uvicorn.Server(config)
        asyncio.run(holder["server"].serve())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not (holder.get("server") and holder["server"].started):
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    holder["server"].should_exit = True
    thread.join(timeout=10)


def _credentials(site: str, role: str) -> list[str]:
    """`-H` values for this role: a bearer token from signing in, or a partner's API key."""
    login = ROLES[role]
    if login is None:
        return []
    with httpx.Client(base_url=f"{site}/api/v1/") as client:
        signed_in = client.post(
            "auth/token",
            json={"email": f"{login}@demo.pcc-grants.kg", "password": DEMO_PASSWORD},
            # from an address of its own: the runs before this one fuzzed the sign-in from
            # 127.0.0.1, whose failures block that address (docs/security.md, throttling)
            headers={"x-forwarded-for": "192.0.2.1"},
        )
        assert signed_in.status_code == 201, signed_in.text
        bearer = f"Authorization: Bearer {signed_in.json()['access_token']}"
        if role != "partner_api_key":
            return [bearer]
        key = client.post(
            "api-keys",
            json={"name": "fuzzing partner", "scopes": ["pcc:read", "calls:read", "reports:write"]},
            headers={"Authorization": bearer.split(": ", 1)[1]},
        )
        assert key.status_code == 201, key.text
        return [f"X-API-Key: {key.json()['key']}"]


def _st(
    site: str, headers: list[str], *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(ROOT / "tests" / "schemathesis.toml"),
        "run",
        str(ROOT / "openapi.yaml"),
        "--url",
        site,
        "--seed",
        "1",
        "--generation-deterministic",
        "--no-shrink",
        "--max-examples",
        "3",
        "--workers",
        "1",
        "--generation-with-security-parameters",
        "false",
        "--no-color",
        "--output-truncate",
        "false",
        # signing out revokes the token this run authenticates with
        # (tests/service/identity/test_auth.py)
        "--exclude-operation-id",
        "DeleteToken",
        *[arg for header in headers for arg in ("--header", header)],
        *args,
    ]
    return subprocess.run(  # noqa: S603 (our own interpreter and arguments, no shell)
        command,
        cwd=tempfile.gettempdir(),
        env={
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks",
            "PYTHONPATH": str(ROOT),
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _failures(output: str) -> str:
    """The failures' headings, check names and answers: short enough to read in an assertion."""
    keep = ("___", "- ST", "[", "    `{", "    Received", "    Documented", "    `Allow")
    lines = [line for line in output.splitlines() if line.startswith(keep) or " failed" in line]
    return "\n".join(line[:400] for line in lines)


@pytest.mark.parametrize("role", list(ROLES))
def test_the_contract_holds_for_every_role(site: str, role: str) -> None:
    headers = _credentials(site, role)
    fuzzed = _st(
        site, headers, "--phases", "examples,fuzzing", "--mode", "positive", "--checks", CHECKS
    )
    if fuzzed.returncode and os.environ.get("ST_DUMP"):
        Path(os.environ["ST_DUMP"]).write_text(fuzzed.stdout)
    assert fuzzed.returncode == 0, _failures(fuzzed.stdout) + fuzzed.stderr[-2000:]
    assert " passed" in fuzzed.stdout, fuzzed.stdout  # it ran operations, not nothing


@pytest.mark.parametrize("role", ["anonymous", "admin"])
def test_options_and_405_name_exactly_the_documented_methods(site: str, role: str) -> None:
    """The coverage phase's method probes: an OPTIONS answer and a 405 list exactly the methods
    the contract documents for the path. Routing, not permissions, decides them: as nobody and
    as the role allowed the most (the six other roles would repeat the same answers). Only those
    probes are sent (tests/schemathesis_hooks.py, `filter_case`): the two checks judge no other
    answer."""
    probed = _st(
        site,
        _credentials(site, role),
        "--phases",
        "coverage",
        "--mode",
        "negative",
        "--checks",
        METHOD_CHECKS,
        env={METHOD_PROBES_ONLY: "1"},
    )
    assert probed.returncode == 0, _failures(probed.stdout) + probed.stderr[-2000:]
    assert " passed" in probed.stdout, probed.stdout
