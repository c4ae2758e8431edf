"""`grants serve` as a process manager runs it: SIGTERM stops it gracefully, exit status 0, and
the embedded PostgreSQL it started is stopped too. Several workers: the connections they accept
have TCP_NODELAY (service/server.py)."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from service.server import TcpConfig
from tests.conftest import ROOT
from tests.factories import sheet_of_rows_without_numbers

DEMO_OFFICER = ("officer@demo.pcc-grants.kg", "demo-grants-2026")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _postgres_processes_of(pgdata: Path) -> list[int]:
    """The processes whose command line names this data folder (the postmaster, its children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile
            continue
        if any(str(pgdata).encode() in a for a in args) and b"postgres" in args[0]:
            found.append(int(entry.name))
    return found


def _reading_a_file(server_pid: int) -> bool:
    """Whether a spreadsheet reader process (`sheet_worker.py`) of this server is running."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes()
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):  # gone meanwhile
            continue
        if parent == server_pid and b"sheet_worker.py" in args:
            return True
    return False


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """Outside pytest's own temporary root: when run as root, pgserver's PostgreSQL runs as the
    user `pgserver` and must traverse the path, and another pytest starting on the machine resets
    `/tmp/pytest-of-root` to 0700 — mid-run, which made the server's own `pg_ctl stop` fail."""
    with tempfile.TemporaryDirectory(prefix="grants-serve-", ignore_cleanup_errors=True) as d:
        yield Path(d) / "data"


def test_serve_stops_on_sigterm_after_in_flight_requests_and_stops_its_postgres(
    data_dir: Path,
) -> None:
    port = _free_port()
    pgdata = (data_dir / "pgdata").resolve()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "GRANTS_DATABASE_URL", "TEST_DATABASE_URL")
    }
    env["GRANTS_DATA_DIR"] = str(data_dir)
    env["GRANTS_DOCUMENTS_WARM"] = "true"  # as deployed (tests/conftest.py turns it off)
    command = [sys.executable, "-c", "from service.cli import main; main()", "serve", "--demo"]
    log_path = data_dir.parent / "serve.log"
    log = log_path.open("w")
    proc = subprocess.Popen(  # noqa: S603  (our own CLI, fixed arguments)
        [*command, "--port", str(port)],
        env=env,
        stdout=log,  # a file: a pipe read only at the end fills up (the demo's e-mails are
        # logged whole) and the server blocks writing to it, never to exit
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        live = None
        while live is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                live = httpx.get(f"{base}/health/live", timeout=1)
            except httpx.TransportError:
                time.sleep(0.2)
        assert live is not None, "the server never answered"
        assert live.status_code == 200
        assert _postgres_processes_of(pgdata) != []
        # the PDF renderers are started with the service, not at the first document
        while '"event": "documents_warmed"' not in log_path.read_text():
            assert time.monotonic() < deadline, "the document renderers were never warmed"
            time.sleep(0.2)
        token = httpx.post(
            f"{base}/api/v1/auth/token",
            json={"email": DEMO_OFFICER[0], "password": DEMO_OFFICER[1]},
        ).json()["access_token"]

        # an import that takes seconds, in flight when the stop is asked for
        answers: list[httpx.Response] = []
        upload = threading.Thread(
            target=lambda: answers.append(
                httpx.post(
                    f"{base}/api/v1/imports/action-plans",
                    params={"dry_run": "true"},
                    headers={"authorization": f"Bearer {token}"},
                    files={"file": ("plans.xlsx", sheet_of_rows_without_numbers(10_500, 30))},
                    timeout=60,
                )
            )
        )
        upload.start()
        reading = time.monotonic() + 30
        while not _reading_a_file(proc.pid) and time.monotonic() < reading:
            time.sleep(0.02)  # until the server is reading the file: the request is in flight
        assert _reading_a_file(proc.pid), "the import never started"
        proc.send_signal(signal.SIGTERM)
        upload.join(timeout=60)
        status = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=20)
        log.close()
        output = log_path.read_text()
        leftover = pgdata / "postmaster.pid"
        remaining = _postgres_processes_of(pgdata)
        if remaining:  # stop what a failed run left behind, then let the test say so
            os.kill(int(leftover.read_text().split()[0]), signal.SIGINT)
            time.sleep(2)
        assert remaining == [], f"PostgreSQL left running: {remaining}\n{output}"

    assert status == 0, output
    assert '"event": "idempotency_records_purged"' in output  # the scheduled purge ran
    assert [a.status_code for a in answers] == [422]  # the in-flight request got its answer
    # the reader's answer; on a machine busy enough, its time limit's (an answer all the same)
    assert answers[0].json()["type"] in {
        "urn:pcc-grants:problem:import-too-many-rows",
        "urn:pcc-grants:problem:import-time-limit",
    }
    assert _postgres_processes_of(pgdata) == [], output
    assert not (pgdata / "postmaster.pid").exists(), output


# --- several workers: TCP_NODELAY on the connections a worker accepts ------------------------


def _accept_once_and_report_nodelay(
    listener: socket.socket, report: multiprocessing.connection.Connection
) -> None:
    """A worker as uvicorn's supervisor starts one (a spawned process handed the bound socket):
    serve it with asyncio and report the TCP_NODELAY of the first accepted connection."""

    async def main() -> None:
        done = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                conn = transport.get_extra_info("socket")
                done.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        report.send(await asyncio.wait_for(done, 30))
        server.close()

    asyncio.run(main())


def _nodelay_in_a_spawned_worker(config: uvicorn.Config) -> int:
    listener = config.bind_socket()
    listener.listen()
    port = listener.getsockname()[1]
    mine, theirs = multiprocessing.Pipe()
    worker = multiprocessing.get_context("spawn").Process(
        target=_accept_once_and_report_nodelay, args=(listener, theirs)
    )
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while not mine.poll(0.2):
            assert worker.is_alive(), "the worker stopped without reporting"
            assert time.monotonic() < deadline, "the worker never reported"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                pass
        nodelay: int = mine.recv()
    finally:
        worker.join(30)
        listener.close()
    return nodelay


def test_a_spawned_worker_accepts_connections_with_tcp_nodelay() -> None:
    config = TcpConfig("service.cli:api_app_factory", factory=True, host="127.0.0.1", port=0)
    assert _nodelay_in_a_spawned_worker(config) != 0


def test_uvicorns_own_shared_socket_loses_tcp_nodelay_in_a_worker() -> None:
    """Why TcpConfig exists: when this starts failing, uvicorn fixed it and TcpConfig can go."""
    config = uvicorn.Config("service.cli:api_app_factory", factory=True, host="127.0.0.1", port=0)
    assert _nodelay_in_a_spawned_worker(config) == 0
