"""Settings from the environment (PHOIHOP_*). Built in the app's lifespan or the CLI, never at import."""

from __future__ import annotations

import logging
from datetime import time
from functools import lru_cache
from ipaddress import ip_address
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from phoihop.engine.commands.jobs import DEFAULT_JOB_RETRIES
from phoihop.engine.commands.mail import SmtpSettings
from phoihop.engine.commands.webhooks import DEFAULT_BACKOFF_SECONDS, DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT_SECONDS
from phoihop.engine.execution.script_functions import DEFAULT_CONSULTATION_DAYS, DEFAULT_GREEN_LANE_CUT
from phoihop.engine.time.due_dates import DEFAULT_WARNING_RATIO

# The Decision 5921 processes shipped in the package (package data of the wheel; in a checkout, the link to processes/):
# what `phoihop serve` deploys when PHOIHOP_PROCESSES_DIR is not set and the current folder has no processes/ of its
# own, so an empty folder is enough to run it.
SHIPPED_PROCESSES = Path(__file__).parent / "processes"


def default_processes_dir() -> Path:
    """``./processes`` when the folder the server starts in has one (as before the package shipped its own), else
    the processes shipped in the package."""
    local = Path("processes")
    return local if local.is_dir() else SHIPPED_PROCESSES


DEV_SECRET = "phoihop-dev-secret-do-not-use-in-production-0123456789"  # noqa: S105  (dev mode only, refused otherwise)

log = logging.getLogger("phoihop")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHOIHOP_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "prod"
    database_url: str = "sqlite:///./var/phoihop.db"  # relative to the current folder; var/ is created if missing
    secret_key: SecretStr | None = None
    processes_dir: Path = Field(default_factory=default_processes_dir)
    deploy_on_start: bool = True
    run_scheduler: bool = True
    token_ttl_minutes: int = 8 * 60
    max_json_bytes: int = 1_000_000
    max_upload_bytes: int = 10_000_000
    script_cpu_seconds: float = Field(default=1.0, gt=0)  # CPU time of one script, condition or expression
    script_wall_seconds: float = Field(default=5.0, gt=0)  # its wall clock: a script that waits or is blocked
    # scripts and non-trivial expressions run in worker processes (engine.execution.sandbox_pool), never in the server
    script_workers: int = Field(default=2, ge=1, le=64)
    script_memory_mb: int = Field(default=512, ge=128)
    db_pool_size: int = 10  # PostgreSQL: pooled connections per process (SQLite has no pool)
    db_max_overflow: int | None = Field(default=None, ge=0)  # more connections under load; default: db_pool_size
    db_pool_timeout: float = Field(default=30.0, gt=0)  # seconds a request waits for a connection, then 503
    strict_lint: bool = False  # deploy refuses "6 rõ" warnings too (engine.definitions.lint); per deploy: ?strict=true
    calendar_file: Path | None = None  # default: <processes_dir>/calendar.toml when it exists
    calendar_cutoff: time | None = None  # HH:MM Hanoi time: receipts at or after it count from the next working day
    calendar_office_close: time = time(17, 0)
    # a task or dossier is "sắp đến hạn" (deadline state warning) from this share of its time limit on
    warning_ratio: float = Field(default=DEFAULT_WARNING_RATIO, ge=0.0, le=1.0)
    # how many times a job (a timer, a timer start) runs before it becomes an incident (engine/commands/jobs.py)
    job_retries: int = Field(default=DEFAULT_JOB_RETRIES, ge=1, le=20)
    # green lane: default share cut from a procedure's standard time limit when its DMN row gives none (Giả định)
    green_lane_cut: float = Field(default=DEFAULT_GREEN_LANE_CUT, ge=0.0, lt=1.0)
    # working days a consulted agency has for its opinion; silence past them counts as consent (Giả định)
    consultation_days: int = Field(default=DEFAULT_CONSULTATION_DAYS, ge=1, le=60)
    # --- operations (phoihop/observability.py) ---
    # GET /metrics answers only "Authorization: Bearer <this>"; unset: /metrics is off (404)
    metrics_token: SecretStr | None = None
    log_format: Literal["json", "text"] = "json"  # one JSON object per line (request, command, anything logged)
    # --- documents attached to cases and tasks (engine/commands/documents.py) ---
    document_max_mb: int = Field(default=20, ge=1, le=1024)  # the largest file accepted; past it: 413
    # where the bytes go: "folder" (document_dir) or "database" (document_content table, shared by servers);
    # default: database on PostgreSQL, folder on SQLite
    document_storage: Literal["folder", "database"] | None = None
    document_dir: Path | None = None  # default: documents/ beside the SQLite file (var/documents)
    signature_trust_roots: Path | None = None  # PEM file or folder of CA certificates signatures must chain to
    # --- webhooks (engine/commands/webhooks.py): sent by the scheduler loop of `serve` and of `phoihop worker` ---
    webhook_max_attempts: int = Field(default=DEFAULT_MAX_ATTEMPTS, ge=1, le=50)  # the last failure makes it dead
    webhook_timeout_seconds: float = Field(default=DEFAULT_TIMEOUT_SECONDS, gt=0, le=60)  # per POST
    webhook_backoff_seconds: float = Field(default=DEFAULT_BACKOFF_SECONDS, gt=0)  # first retry; doubles, ≤ 1 h
    # how long a worker holds a delivery it sends before another may take it over (a worker that died mid-send);
    # must exceed webhook_timeout_seconds; default: 4 × the timeout + 30 s
    webhook_lease_seconds: float | None = Field(default=None, gt=0, le=3600)
    # --- web app sign-in (web/): OpenID Connect, authorization code flow + PKCE as a public client (no secret) ---
    oidc_issuer: str | None = None  # enables OIDC; endpoints below default to the issuer's discovery document
    oidc_client_id: str | None = None
    oidc_jwks_url: str | None = None
    oidc_authorization_url: str | None = None
    oidc_token_url: str | None = None
    oidc_audience: str | None = None  # the aud API bearer tokens of the provider must carry; default: the client id
    oidc_scopes: str = "openid profile"
    oidc_name_claim: str = "name"
    oidc_groups_claim: str = "groups"  # agency codes; a dotted path reaches nested claims (realm_access.roles)
    oidc_roles_claim: str = "roles"
    oidc_redirect_url: str | None = None  # default: <this server>/dang-nhap/oidc, as the request reached it
    session_ttl_minutes: int = Field(default=8 * 60, ge=5, le=24 * 60)  # lifetime of the web app's session cookie
    # the public dossier lookup (tra cứu hồ sơ): requests per minute and client address, per server process
    public_lookup_per_minute: int = Field(default=10, ge=1, le=10_000)
    cookie_secure: bool | None = None  # Secure cookies; default: on unless PHOIHOP_ENV=dev
    # --- email notifications from the outbox (engine/commands/mail.py); no host: no email, in-app only ---
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "phoihop@localhost"
    smtp_starttls: bool = False
    smtp_max_attempts: int = Field(default=8, ge=1, le=50)  # then the email is marked failed
    digest_hour: int = Field(default=17, ge=0, le=23)  # Hanoi time from which the daily digests go out
    public_url: str | None = None  # this server as officers reach it: links in emails (https://phoihop.example.vn)
    # --- retention (engine/commands/retention.py, `phoihop retention run`): off unless retention_days is set ---
    retention_days: int | None = Field(default=None, ge=1)  # instances finished before the month this many days ago
    retention_archive_dir: Path | None = None  # where each purged instance is archived as JSON first (required)
    retention_batch: int = Field(default=50, ge=1, le=1000)  # instances purged per transaction
    retention_in_worker: bool = False  # `phoihop worker` also runs retention (a few batches per round, hourly)

    @field_validator(
        "calendar_file",
        "calendar_cutoff",
        "document_storage",
        "document_dir",
        "signature_trust_roots",
        "oidc_issuer",
        "oidc_client_id",
        "oidc_jwks_url",
        "oidc_authorization_url",
        "oidc_token_url",
        "oidc_audience",
        "oidc_redirect_url",
        "smtp_host",
        "smtp_user",
        "public_url",
        "retention_days",
        "retention_archive_dir",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _refuse_unsafe_secret(self) -> Settings:
        if self.secret_key is None or not self.secret_key.get_secret_value():
            if self.env != "dev":
                raise ValueError("PHOIHOP_SECRET_KEY is required unless PHOIHOP_ENV=dev")
            self.secret_key = SecretStr(DEV_SECRET)
        elif self.env != "dev" and self.secret_key.get_secret_value() == DEV_SECRET:
            raise ValueError("the development secret may not be used outside PHOIHOP_ENV=dev")
        elif len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("PHOIHOP_SECRET_KEY must be at least 32 characters")
        return self

    @model_validator(mode="after")
    def _wall_clock_covers_the_cpu_budget(self) -> Settings:
        if self.script_wall_seconds < self.script_cpu_seconds:
            raise ValueError(
                "PHOIHOP_SCRIPT_WALL_SECONDS must be at least PHOIHOP_SCRIPT_CPU_SECONDS: a script cannot use more "
                "CPU time than passes on the wall clock"
            )
        return self

    @model_validator(mode="after")
    def _lease_outlives_a_send(self) -> Settings:
        if self.webhook_lease_seconds is not None and self.webhook_lease_seconds <= self.webhook_timeout_seconds:
            raise ValueError(
                "PHOIHOP_WEBHOOK_LEASE_SECONDS must exceed PHOIHOP_WEBHOOK_TIMEOUT_SECONDS: a lease shorter than a "
                "send lets a second worker send the same delivery while the first one still waits for its answer"
            )
        return self

    @model_validator(mode="after")
    def _check_oidc(self) -> Settings:
        if self.oidc_issuer is None:
            return self
        if not self.oidc_client_id:
            raise ValueError("PHOIHOP_OIDC_CLIENT_ID is required with PHOIHOP_OIDC_ISSUER")
        for name in ("oidc_issuer", "oidc_jwks_url", "oidc_authorization_url", "oidc_token_url", "oidc_redirect_url"):
            url = getattr(self, name)
            if url is not None and not _https_or_loopback(url):
                raise ValueError(f"PHOIHOP_{name.upper()} must be an https URL (http only on a loopback address)")
        return self

    @property
    def oidc_enabled(self) -> bool:
        return self.oidc_issuer is not None

    @property
    def secure_cookies(self) -> bool:
        return self.cookie_secure if self.cookie_secure is not None else self.env != "dev"

    @property
    def secret(self) -> str:
        assert self.secret_key is not None
        return self.secret_key.get_secret_value()

    @property
    def using_dev_secret(self) -> bool:
        return self.secret == DEV_SECRET

    def engine_options(self) -> dict[str, Any]:
        """Keyword arguments of ``engine.container.build_engine``: the server and the worker build the same engine."""
        return {
            "script_cpu_seconds": self.script_cpu_seconds,
            "script_wall_seconds": self.script_wall_seconds,
            "script_workers": self.script_workers,
            "script_memory_mb": self.script_memory_mb,
            "pool_size": self.db_pool_size,
            "max_overflow": self.db_max_overflow,
            "pool_timeout": self.db_pool_timeout,
            "calendar_file": self.calendar_path,
            "calendar_cutoff": self.calendar_cutoff,
            "office_close": self.calendar_office_close,
            "warning_ratio": self.warning_ratio,
            "job_retries": self.job_retries,
            "green_lane_cut": self.green_lane_cut,
            "consultation_days": self.consultation_days,
            "document_storage": self.document_storage,
            "document_dir": self.document_dir,
            "document_max_bytes": self.document_max_bytes,
            "signature_trust_roots": self.signature_trust_roots,
            "slip_folders": (self.processes_dir,),
            "smtp": self.smtp,
            "public_url": self.public_url,
            "webhook_max_attempts": self.webhook_max_attempts,
            "webhook_timeout_seconds": self.webhook_timeout_seconds,
            "webhook_backoff_seconds": self.webhook_backoff_seconds,
            "webhook_lease_seconds": self.webhook_lease_seconds,
        }

    @property
    def document_max_bytes(self) -> int:
        return self.document_max_mb * 1024 * 1024

    @property
    def smtp(self) -> SmtpSettings | None:
        """Where emails go (None: no email is written to the outbox; notifications stay in-app)."""
        if self.smtp_host is None:
            return None
        return SmtpSettings(
            host=self.smtp_host,
            port=self.smtp_port,
            user=self.smtp_user,
            password=self.smtp_password.get_secret_value() if self.smtp_password is not None else None,
            sender=self.smtp_from,
            starttls=self.smtp_starttls,
            max_attempts=self.smtp_max_attempts,
            digest_hour=self.digest_hour,
        )

    @property
    def calendar_path(self) -> Path | None:
        """The calendar override file to load at start: the configured one, else calendar.toml beside the processes
        (``<processes_dir>/calendar.toml``, shipped with the package's processes) if there is one."""
        if self.calendar_file is not None:
            return self.calendar_file
        default = self.processes_dir / "calendar.toml"
        return default if default.is_file() else None


def _https_or_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


@lru_cache
def get_settings() -> Settings:
    return Settings()
