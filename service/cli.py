"""`grants`: serve, migrate, manage users, load demo data, print the contract, verify the audit."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click

from contracts.enums import Role
from service.persistence import migrate
from service.persistence.database import Database, resolve_database_url, start_embedded_server
from service.settings import Settings


def _settings() -> Settings:
    return Settings()


def _url() -> str:
    return resolve_database_url(_settings())


@click.group()
def cli() -> None:
    """pcc-grants: grant management for the Peacebuilding Coordination Councils."""


# --- serve ------------------------------------------------------------------------------------


class CombinedApp:
    """One process: the API under /api and /health (and its /metrics), the web frontend
    everywhere else."""

    def __init__(self, api: Any, web: Any) -> None:
        self.api = api
        self.web = web

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.api(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path.startswith(("/api/", "/health/")) or path in ("/api", "/metrics"):
            await self.api(scope, receive, send)
        else:
            await self.web(scope, receive, send)


def web_config(settings: Settings) -> Any:
    """The web's deployment facts from the settings: the session secret shared by all workers
    (and hosts), secure cookies when the public address is HTTPS."""
    from service.sealing import host_key
    from web.config import WebConfig

    try:
        secret = host_key(
            settings.session_secret,
            settings,
            file_name="web-session.key",
            variable="GRANTS_SESSION_SECRET",
        )
    except RuntimeError as exc:  # production without the setting
        raise click.UsageError(str(exc)) from exc
    https = settings.public_base_url.startswith("https://")
    return WebConfig(
        session_secret=secret,
        secure_cookies=https,
        production=settings.environment == "production",
        session_max_age=settings.token_ttl_seconds,
    )


def build_combined_app(settings: Settings, database: Database) -> CombinedApp:
    import httpx

    from contracts.client import GrantsClient
    from service.app import API_PREFIX, create_app
    from web.app import create_web_app

    api = create_app(settings, database=database)
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api),  # type: ignore[arg-type]  # Litestar is ASGI
        base_url=f"http://in-process{API_PREFIX}/",
    )
    web = create_web_app(lambda: GrantsClient(http), web_config(settings))
    return CombinedApp(api, web)


def combined_app_factory() -> Any:
    """For `uvicorn --factory` (several workers): each worker builds its own app and pool."""
    from service.maintenance import ScheduledPurge

    settings = _settings()
    database = Database.from_url(
        resolve_database_url(settings),
        pool_size=settings.pool_size,
        max_overflow=settings.pool_overflow,
        role=settings.database_role or None,
    )
    app = ScheduledPurge(
        build_combined_app(settings, database), database, warm=_documents_warm(settings)
    )
    return _secured(_with_jobs(app, settings), settings)


def api_app_factory() -> Any:
    from service.app import create_app
    from service.maintenance import ScheduledPurge

    settings = _settings()
    database = Database.from_url(
        resolve_database_url(settings),
        pool_size=settings.pool_size,
        max_overflow=settings.pool_overflow,
        role=settings.database_role or None,
    )
    app = ScheduledPurge(
        create_app(settings, database=database), database, warm=_documents_warm(settings)
    )
    return _secured(_with_jobs(app, settings), settings)


def _documents_warm(settings: Settings) -> Callable[[], Awaitable[Any]] | None:
    """The PDF renderers started with each worker (`documents_warm`)."""
    if not settings.documents_warm:
        return None
    from service.documents.render import default_pool

    return default_pool().warm


def _with_jobs(app: Any, settings: Settings) -> Any:
    """The in-process job worker (service/jobs) beside the app, unless `--no-jobs`."""
    if not settings.in_process_jobs:
        return app
    from service.jobs import InProcessWorker

    return InProcessWorker(
        app, resolve_database_url(settings), settings, concurrency=settings.job_concurrency
    )


def web_app_factory() -> Any:
    import httpx

    from contracts.client import GrantsClient
    from web.app import create_web_app

    settings = _settings()
    if not settings.api_url:
        raise click.UsageError("--only web needs GRANTS_API_URL (e.g. http://api:8000)")
    http = httpx.AsyncClient(base_url=settings.api_url.rstrip("/") + "/api/v1/")
    return _secured(create_web_app(lambda: GrantsClient(http), web_config(settings)), settings)


def _secured(app: Any, settings: Settings) -> Any:
    """Every serve mode answers with the security headers (service/security_headers.py); HSTS
    when the public address is HTTPS or the request came over HTTPS."""
    from service.security_headers import SecurityHeadersMiddleware

    return SecurityHeadersMiddleware(app, https=settings.public_base_url.startswith("https://"))


@cli.command()
@click.option("--demo", is_flag=True, help="Load demo data (idempotent) and print its logins.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--only", type=click.Choice(["api", "web"]), help="Serve one half alone.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--jobs/--no-jobs",
    default=True,
    show_default=True,
    help="Run a job worker (PDF reports, webhooks, e-mail) inside each server worker; "
    "--no-jobs when `grants worker` processes run them.",
)
def serve(demo: bool, host: str, port: int, only: str | None, workers: int, jobs: bool) -> None:
    """Migrate the database, then serve the API at /api/v1 and the web app at /."""
    from service import server
    from service.maintenance import GRACEFUL_SHUTDOWN_SECONDS, serve_until_stopped

    if demo and only != "web":
        _demo_second_factor()
    settings = _settings()
    embedded = None
    if only != "web":
        if not settings.database_url:  # this process starts the embedded PostgreSQL, and stops it
            embedded = start_embedded_server(settings.pgdata_dir)
        url = resolve_database_url(settings)
        os.environ["GRANTS_DATABASE_URL"] = url  # workers connect to it; they never start it
        os.environ["GRANTS_IN_PROCESS_JOBS"] = "true" if jobs else "false"
        migrate.upgrade(url)
        if demo:
            _print_demo(asyncio.run(_load_demo(url)))
    factory = {"api": "api_app_factory", "web": "web_app_factory"}.get(
        only or "", "combined_app_factory"
    )
    click.echo(f"pcc-grants on http://{host}:{port}/  (API docs: http://{host}:{port}/api/docs)")
    serve_until_stopped(
        lambda: server.run(
            f"service.cli:{factory}",
            host=host,
            port=port,
            log_level="warning",
            workers=workers,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        ),
        embedded,
    )


# --- worker ---------------------------------------------------------------------------------


@cli.command()
@click.option("--queue", "queues", multiple=True, help="Only these queues (default: all).")
@click.option("--concurrency", type=click.IntRange(1, 64), help="Jobs at once (default: settings).")
@click.option("--once", is_flag=True, help="Stop when the queues are empty (for scripts).")
def worker(queues: tuple[str, ...], concurrency: int | None, once: bool) -> None:
    """Run background jobs (PDF reports, webhooks, e-mail) until SIGTERM/SIGINT; running jobs
    finish first. Migrates the database first, as `grants serve` does."""
    from service.jobs import run_worker

    settings = _settings()
    embedded = None
    if not settings.database_url:
        embedded = start_embedded_server(settings.pgdata_dir)
    try:
        url = resolve_database_url(settings)
        migrate.upgrade(url)
        click.echo(f"grants worker: queues {', '.join(queues) or 'all'}", err=True)
        asyncio.run(
            run_worker(
                url,
                settings,
                queues=list(queues) or None,
                concurrency=concurrency or settings.job_concurrency,
                wait=not once,
            )
        )
    finally:
        if embedded is not None:
            embedded.cleanup()


# --- idempotency ------------------------------------------------------------------------------


@cli.group()
def idempotency() -> None:
    """Idempotency-Key records."""


@idempotency.command("purge")
def idempotency_purge() -> None:
    """Delete the records older than 24 hours (`grants serve` does it every hour)."""
    from service.maintenance import purge_idempotency_records

    async def run() -> int:
        database = Database.from_url(_url())
        try:
            return await purge_idempotency_records(database)
        finally:
            await database.dispose()

    click.echo(f"purged {asyncio.run(run())} idempotency records older than 24 hours")


# --- db ---------------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Schema migrations (Alembic)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    migrate.upgrade(_url(), revision)
    click.echo(f"upgraded to {revision}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    migrate.downgrade(_url(), revision)
    click.echo(f"downgraded to {revision}")


@db.command("current")
def db_current() -> None:
    heads = asyncio.run(migrate.current(_url()))
    click.echo(", ".join(heads) if heads else "(empty database)")


# --- users ------------------------------------------------------------------------------------


@cli.group()
def user() -> None:
    """User accounts."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True)
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice([r.value for r in Role]),
    help="Staff role; repeat for several. None: an applicant (join an organisation).",
)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def user_create(email: str, full_name: str, roles: tuple[str, ...], password: str) -> None:
    """Create a user (audited as done by the CLI)."""
    from contracts.identity import UserCreate
    from service.context import RequestContext
    from service.identity import service

    async def run() -> str:
        database = Database.from_url(_url())
        try:
            async with database.session() as session:
                body = UserCreate(
                    email=email,
                    password=password,
                    full_name=full_name,
                    roles=[Role(r) for r in roles],
                )
                created = await service.create_user(session, RequestContext.system("cli"), body)
                await session.commit()
                return str(created.id)
        finally:
            await database.dispose()

    click.echo(f"created user {email} ({asyncio.run(run())})")


# --- demo -------------------------------------------------------------------------------------


async def _load_demo(url: str) -> Any:
    from service.demo import load_demo_data

    database = Database.from_url(url)
    try:
        async with database.session() as session:
            summary = await load_demo_data(session)
            await session.commit()
            return summary
    finally:
        await database.dispose()


def _print_demo(summary: Any) -> None:
    created = sum(summary.created.values())
    click.echo(f"Demo data ready ({created} rows created by this run). Demo logins:")
    width = max(len(login.email) for login in summary.logins)
    passwords = {login.password for login in summary.logins}
    for login in summary.logins:
        click.echo(f"  {login.email:<{width}}  {login.role}")
    click.echo(f"  password: {', '.join(sorted(passwords))}")


def _demo_second_factor() -> None:
    """The demo's logins sign in with the published password alone: unless the environment
    says otherwise, no role needs a second factor in `grants serve --demo` (its workers inherit
    the setting)."""
    if "GRANTS_TOTP_REQUIRED_ROLES" in os.environ:
        roles = _settings().totp_required_roles
        click.echo(
            "Two-factor sign-in (TOTP) is required for: "
            + (", ".join(r.value for r in roles) or "no role")
            + " (GRANTS_TOTP_REQUIRED_ROLES)."
        )
        return
    os.environ["GRANTS_TOTP_REQUIRED_ROLES"] = "[]"
    click.echo(
        "Two-factor sign-in (TOTP) is OFF for the demo logins: no role needs it in this demo "
        "(outside it, finance officers and administrators must set it up; "
        "GRANTS_TOTP_REQUIRED_ROLES). Anyone may still turn it on in their account."
    )


@cli.command("demo-data")
def demo_data() -> None:
    """Load the demo data: territories, PCCs, action plans, sources, organisations, users."""
    url = _url()
    migrate.upgrade(url)
    _print_demo(asyncio.run(_load_demo(url)))


# --- contract ---------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write here instead of standard output (e.g. openapi.yaml).",
)
def openapi(output: Path | None) -> None:
    """Print the OpenAPI contract generated from the app."""
    from service.app import openapi_yaml

    text = openapi_yaml()
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")


# --- audit ------------------------------------------------------------------------------------


@cli.group()
def audit() -> None:
    """The audit log."""


@audit.command("verify")
def audit_verify() -> None:
    """Walk the hash chain; exit 1 naming the first broken link."""
    from service.audit.service import verify

    async def run() -> Any:
        database = Database.from_url(_url())
        try:
            async with database.session() as session:
                return await verify(session)
        finally:
            await database.dispose()

    result = asyncio.run(run())
    if result.ok:
        click.echo(f"audit chain intact: {result.events_checked} events verified")
        return
    click.echo(
        f"audit chain BROKEN at event {result.first_broken_seq}: {result.reason} "
        f"({result.events_checked} events before it verified)",
        err=True,
    )
    sys.exit(1)


# --- imports ----------------------------------------------------------------------------------


@cli.group("import")
def import_group() -> None:
    """Import action plans or organisations from Excel (.xlsx) or CSV (docs/imports.md)."""


def _import(kind_value: str, path: Path, dry_run: bool, skip_invalid: bool) -> None:
    """Check every row, print every bad one, write all rows or none (the good ones alone with
    --skip-invalid) in one commit, as the system actor `import`. Exit 1 when bad rows kept the
    file from being imported."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

    from contracts.imports import ImportKind, ImportReport
    from service.context import RequestContext
    from service.imports import import_file, imported_anything
    from service.problems import ProblemError

    kind = ImportKind(kind_value)
    data = path.read_bytes()

    class Bar:
        def __init__(self, progress: Progress) -> None:
            self.progress = progress
            self.task: TaskID | None = None

        def begin(self, phase: str, total: int) -> None:
            self.task = self.progress.add_task(phase, total=total)

        def advance(self) -> None:
            if self.task is not None:
                self.progress.advance(self.task)

    async def run() -> ImportReport:
        database = Database.from_url(_url())
        try:
            async with database.session() as session:
                with Progress(
                    TextColumn("{task.description:<14}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    console=Console(stderr=True),
                ) as progress:
                    report = await import_file(
                        session,
                        RequestContext.system("import"),
                        kind,
                        data,
                        dry_run=dry_run,
                        skip_invalid=skip_invalid,
                        max_bytes=None,
                        progress=Bar(progress),
                    )
                if report.applied:
                    await session.commit()
                return report
        finally:
            await database.dispose()

    try:
        report = asyncio.run(run())
    except ProblemError as exc:
        click.echo(f"{path.name}: {exc.detail}", err=True)
        sys.exit(1)
    for error in report.errors:
        where = f"row {error.row}, {error.column}" if error.column else f"row {error.row}"
        click.echo(f"{where}: {error.message}")

    def counts(values: dict[str, int]) -> str:
        return ", ".join(f"{name} {n}" for name, n in values.items())

    click.echo(
        f"{path.name}: {report.rows_read} rows read; created: {counts(report.created)}; "
        f"updated: {counts(report.updated)}; unchanged: {report.unchanged}"
    )
    bad_rows = len({e.row for e in report.errors})
    if report.errors and (not skip_invalid or not imported_anything(report)):
        hint = "" if skip_invalid else " (--skip-invalid imports the good rows alone)"
        click.echo(f"nothing imported: {bad_rows} rows with errors{hint}")
        sys.exit(1)
    if dry_run:
        click.echo("dry run: nothing was written")
    elif report.errors:
        click.echo(f"imported the good rows; skipped {bad_rows} rows with errors")
    else:
        click.echo("imported")


_FILE = click.argument(
    "file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
)
_DRY_RUN = click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
_SKIP_INVALID = click.option(
    "--skip-invalid", is_flag=True, help="Import the good rows even when some rows are bad."
)


@import_group.command("action-plans")
@_FILE
@_DRY_RUN
@_SKIP_INVALID
def import_action_plans(file: Path, dry_run: bool, skip_invalid: bool) -> None:
    """PCC action plans, items and indicators: one row per item and indicator."""
    _import("action_plans", file, dry_run, skip_invalid)


@import_group.command("organisations")
@_FILE
@_DRY_RUN
@_SKIP_INVALID
def import_organisations(file: Path, dry_run: bool, skip_invalid: bool) -> None:
    """Organisations, one per row, found again by registration number."""
    _import("organisations", file, dry_run, skip_invalid)


def main() -> None:
    cli()
