"""GRIDGEO_* settings, validated once and built lazily (never at import)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gridgeo.resources import SOURCE_ROOT, default_config_file, default_home

PROJECT_ROOT = SOURCE_ROOT


class ApiKey(BaseModel):
    """Who an API key speaks for: a role and a staff member (staff_no) or a named system
    such as the 12345 hotline; ``"key": "role"`` is the short form with neither."""

    model_config = ConfigDict(extra="forbid")  # a misspelt staff_no fails at start-up

    role: str
    staff_no: str | None = None
    system: str | None = None


class Settings(BaseSettings):
    """Deployment settings; each field is read from ``GRIDGEO_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="GRIDGEO_", extra="ignore")

    home: Path = Field(default_factory=default_home,
                       description="state folder: cluster, logs, data")
    database_url: str | None = Field(
        None, description="an existing PostGIS; unset means the private cluster under home"
    )
    database_direct_url: str | None = Field(
        None, description="maintenance connections (migrate, import, demo): the database "
        "itself when database_url goes through a transaction-mode pooler; unset: database_url")
    database_pooler: bool = Field(
        False, description="database_url is a transaction-mode pooler (PgBouncer): no "
        "prepared statements")
    database_read_urls: list[str] = Field(
        default_factory=list, description='streaming replicas for reads, JSON ["postgresql://…"]')
    pg_port: int = Field(5433, description="port of the private cluster")
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 2
    job_workers: int = Field(1, description="processes that run async process jobs")
    scheduler: bool = Field(True, description="`gridgeo serve` starts a scheduler process")
    scheduler_tick_seconds: float = Field(15.0, gt=0, description="how often it looks")
    escalation_sweep_seconds: int = Field(
        300, gt=0, description="the period of the incident escalation sweep (督办)")
    # Outbound requests (webhooks, robots, process callbacks) only to these destinations.
    webhook_allow: list[str] = Field(
        default_factory=list, description='hosts and networks the server may call back, JSON '
        '["hooks.example.org", "10.2.0.0/16", "127.0.0.1"]; empty: no outbound calls')
    webhook_backoff_s: float = Field(
        30.0, gt=0, description="wait before a failed delivery's first retry; doubled each time")
    webhook_max_tries: int = Field(8, ge=1, description="attempts before a delivery is given up")
    webhook_timeout_s: float = Field(10.0, gt=0, description="one outbound request's time limit")
    notify_sweep_seconds: int = Field(
        5, gt=0, description="the period of the notification delivery sweep")
    smtp_url: str | None = Field(
        None, description="mail server for notifications: smtp://[user:password@]host[:port] "
        "(STARTTLS when offered) or smtps://...; unset: no e-mail")
    smtp_from: str = Field("gridgeo@localhost", description="the sender of notification mail")
    public_url: str | None = Field(None, description="URL clients reach; defaults to host:port")
    config_file: Path = Field(default_factory=default_config_file)
    dem_path: Path | None = Field(None, description="DEM GeoTIFF; defaults to home/data/dem.tif")
    api_keys: dict[str, str | ApiKey] = Field(
        default_factory=dict, description='API keys: {"<key>": "<role>"} or {"<key>": {"role": '
        '"grid_worker", "staff_no": "..."}} or {"<key>": {"role": ..., "system": "12345"}}')
    pool_max_size: int = 8
    pool_timeout_s: float = Field(
        3.0, gt=0, description="how long a request waits for a database connection before "
        "it is answered 503 (database unreachable)")
    statement_timeout_ms: int = 30_000
    # Bearer JWTs (e.g. from Keycloak): verified against this issuer, audience and key set.
    jwt_issuer: str | None = Field(None, description="the token issuer (iss) to accept")
    jwt_audience: str | None = Field(None, description="the audience (aud) tokens must name")
    jwt_jwks_url: str | None = Field(None, description="the issuer's JWKS URL")
    jwt_jwks_file: Path | None = Field(None, description="a JWKS file (offline deployments)")
    jwt_roles_claim: str = Field(
        "roles", description="dotted claim path of the roles, e.g. realm_access.roles")
    jwt_staff_no_claim: str = Field(
        "staff_no", description="claim with the staff number; the subject when absent")
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])
    jwt_leeway_s: int = 30
    max_body_bytes: int = Field(5 * 1024 * 1024, description="largest request body accepted")
    max_upload_bytes: int = Field(
        30 * 1024 * 1024, description="largest file upload (attachments); the reverse proxy "
        "(gridgeo deploy nginx) lets bodies up to this size through")
    attachments_dir: Path | None = Field(
        None, description="where attachments are stored; defaults to home/data/attachments")
    attachment_store: Literal["files", "database"] = Field(
        "files", description="files: under attachments_dir (one node, or a shared mount); "
        "database: in PostgreSQL, for several web nodes with nothing else shared")
    max_offset: int = Field(1_000_000, description="largest offset an items request may ask")
    idempotency_ttl_s: int = Field(
        86_400, gt=0, description="how long an Idempotency-Key and its answer are kept")
    disabled_plugins: list[str] = Field(
        default_factory=list, description='plugins not to load, by module or entry-point name: '
        '["gridgeo_plugins.qr"]')
    scrub_patterns: list[str] = Field(
        default_factory=list, description="more regular expressions (PostgreSQL syntax) removed "
        "from free text for roles without personal-data rights, besides phones and ID numbers")
    client_time_max_age_days: int = Field(
        7, ge=1, description="how many days old a time a device recorded offline (a scan's "
        "scanned_at, an incident's reported_at) may be when it reaches the server")
    map_closed_days: int = Field(
        30, ge=0, description="days a closed case stays on the incidents map (tiles) after it "
        "closed; open cases are always on it, older ones are read as items with datetime")
    retention_days: int = Field(
        730, ge=1, description="days after a case is final before its personal data is "
        "anonymised (`gridgeo privacy anonymise`)")

    @field_validator("scrub_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        import re

        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"scrub pattern {pattern!r} is not a regular expression: "
                                 f"{exc}") from None
        return patterns

    @property
    def jwt_enabled(self) -> bool:
        return bool(self.jwt_issuer and (self.jwt_jwks_url or self.jwt_jwks_file))

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def attachments(self) -> Path:
        return self.attachments_dir or self.data_dir / "attachments"

    @property
    def dem(self) -> Path:
        return self.dem_path or self.data_dir / "dem.tif"

    @property
    def server_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
