"""Typed settings read from the environment (prefix ``GRANTS_``; ``DATABASE_URL`` as is)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.enums import Role


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRANTS_", extra="ignore", frozen=True)

    environment: Literal["development", "test", "production"] = "development"
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "GRANTS_DATABASE_URL")
    )
    """`postgresql+asyncpg://…`; unset: an embedded PostgreSQL in `data_dir/pgdata`."""
    data_dir: Path = Path(".grants")
    database_name: str = "grants"
    """Database created on the embedded server."""
    pool_size: int = Field(default=20, ge=1, le=200)
    """Connections each worker keeps in its pool. It should cover the requests one worker has in
    flight at once: above it, connections beyond the pool (`pool_overflow`) are opened and, when
    the load ebbs, closed again — at 32 concurrent requests on a pool of 10 that churn was about
    50 new connections a second and half the worker's CPU (docs/performance.md)."""
    pool_overflow: int = Field(default=10, ge=0, le=200)
    """Connections a worker may open beyond `pool_size` at a peak (closed again when returned
    to a full pool)."""
    database_role: str | None = Field(default="grants_app", pattern=r"^[a-z_][a-z0-9_]*$")
    """The role the service's connections act as (`SET ROLE` at connect). The migrations create
    it without UPDATE/DELETE on the ledger and the audit log; empty: the connecting user."""
    second_confirmation_above: int = Field(default=50_000_000, ge=0)
    """Disbursements above this amount (minor units of the grant's currency; 500,000.00 KGS by
    default) need a second finance officer's confirmation before they are paid."""
    token_ttl_seconds: int = Field(default=12 * 3600, ge=60)
    documents_warm: bool = True
    """`grants serve`: start the PDF renderers (service/documents/render.py) with the service,
    so that the first document does not wait 2–3 s for WeasyPrint and its fonts to load."""
    storage_dir: Path | None = None
    """Private file storage; default `data_dir/storage`."""
    log_json: bool | None = None
    """JSON logs; default: JSON when stderr is not a terminal."""
    log_level: str = "INFO"
    api_url: str | None = None
    """For `grants serve --only web`: where the API lives."""
    public_base_url: str = "http://localhost:8000"
    session_secret: str | None = None
    """The web's session and CSRF secret: 64 hex digits (32 bytes), the same on every worker and
    host serving the web. Required in production; elsewhere a key is made once and kept in
    `data_dir/web-session.key`."""

    totp_required_roles: list[Role] = [Role.FINANCE_OFFICER, Role.ADMIN]
    """Roles whose holders must sign in with a second factor (TOTP). One who has not enrolled
    gets a token limited to enrolling (`TokenRestriction.ENROL_SECOND_FACTOR`). A JSON list,
    e.g. `["finance_officer","admin"]`; `[]` for none (`grants serve --demo` sets that)."""
    totp_key: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    """The key (64 hex digits) the TOTP secrets are encrypted with (AES-256-GCM), the same on
    every worker and host. Required in production; elsewhere made once and kept in
    `data_dir/totp.key`."""
    in_process_jobs: bool = True
    """`grants serve` runs a job worker (service/jobs) inside each of its workers; false (`grants
    serve --no-jobs`) when separate `grants worker` processes run the jobs."""
    job_concurrency: int = Field(default=2, ge=1, le=64)
    """Jobs one worker (in-process or `grants worker`) runs at once."""
    trusted_proxies: list[str] = ["127.0.0.1", "::1"]
    """Addresses (or CIDR networks) whose `X-Forwarded-For` is believed when finding the
    caller's address for sign-in throttling: a reverse proxy, and the web app (in-process it
    calls from 127.0.0.1)."""

    # --- rate limits (service/identity/ratelimit.py, docs/partners.md "Rate limits") ---
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=3600)
    """The limits below count requests per fixed window of this many seconds (aligned on the
    Unix epoch: a 60-second window starts on each minute)."""
    rate_limit_api_key: int = Field(default=600, ge=0)
    """Requests per window for one partner API key (`X-API-Key`); 0: no limit."""
    rate_limit_user: int = Field(default=600, ge=0)
    """Requests per window for one signed-in person (all their bearer tokens together); 0: no
    limit."""
    rate_limit_anonymous_ip: int = Field(default=300, ge=0)
    """Requests per window without credentials from one address (the caller's address behind
    `trusted_proxies`, as for sign-in throttling); 0: no limit."""
    rate_limit_ip: int = Field(default=1200, ge=0)
    """Requests per window from one address, with or without credentials (wrong ones too);
    0: no limit."""
    rate_limit_lease: int = Field(default=10, ge=1, le=1000)
    """How many requests a worker claims from the shared count at once and then admits without
    asking the database again (at most a tenth of the limit). 1: every request is counted in
    the database (exact, one write per request)."""

    metrics_token: str | None = Field(default=None, min_length=32)
    """`/metrics` (service/metrics.py) answers a scrape that sends `Authorization: Bearer
    <this>`; unset: only a caller on the loopback address, not through a proxy."""

    # --- open data (docs/partners.md) ---
    open_data_publisher_ref: str = Field(default="XM-DAC-41304", pattern=r"^[^/&|?\s]+$")
    """The IATI organisation identifier of the publisher (the reporting organisation of the IATI
    file, the funder of the 360Giving records); default UNESCO's."""
    open_data_publisher_name: str = "UNESCO"
    open_data_360giving_prefix: str = Field(default="360G-pccgrants", pattern=r"^360G-[^/\s]+$")
    """The publisher's 360Giving identifier prefix (grant and organisation identifiers)."""
    open_data_license: str = "https://creativecommons.org/licenses/by/4.0/"

    # --- webhooks (docs/partners.md) ---
    webhook_allow_insecure_urls: bool = False
    """Allow `http://` subscription URLs and private, loopback or link-local addresses (tests,
    a development receiver on 127.0.0.1). Never in production: there only `https://` to public
    addresses is accepted, checked again at each delivery after resolving the host."""
    webhook_secret_key: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    """The key (64 hex digits) the subscriptions' signing secrets are encrypted with at rest
    (AES-256-GCM), the same on every worker and host. Required in production; elsewhere made
    once and kept in `data_dir/webhook-secret.key`."""
    webhook_max_attempts: int = Field(default=8, ge=1, le=30)
    webhook_backoff_seconds: float = Field(default=30.0, gt=0)
    """The wait after the first failed attempt; doubled after each further one (capped at 6 h)."""
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    # --- e-mail (docs/partners.md) ---
    email_backend: Literal["smtp", "console", "file"] = "console"
    """`smtp` sends through the SMTP server below; `console` logs each e-mail (development);
    `file` writes each as an .eml file into `email_file_dir`."""
    email_from: str = "PCC grants <no-reply@localhost>"
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    """STARTTLS after connecting (port 587); `smtp_tls` for implicit TLS (port 465)."""
    smtp_tls: bool = False
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    email_file_dir: Path | None = None
    """For the `file` backend; default `data_dir/mail`."""
    email_max_attempts: int = Field(default=8, ge=1, le=30)
    email_backoff_seconds: float = Field(default=30.0, gt=0)
    """The wait after the first failed sending; doubled after each further one (at most 6 h)."""

    @property
    def pgdata_dir(self) -> Path:
        return (self.data_dir / "pgdata").resolve()

    @property
    def resolved_storage_dir(self) -> Path:
        return (self.storage_dir or self.data_dir / "storage").resolve()
