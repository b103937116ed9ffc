"""Service settings: environment variables NETTWIN_*, or passed to ``create_app``."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nettwin.paths import data_dir


class Settings(BaseSettings):
    """Where the service keeps its state and what it accepts."""

    model_config = SettingsConfigDict(env_prefix="NETTWIN_")

    data_dir: Path = Field(default_factory=data_dir,
                           description="Tokens (hashed) and the audit log live here.")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    max_upload_bytes: int = Field(default=50 * 2**20, ge=1024,
                                  description="Largest network upload (bytes): 413 above.")
    max_upload_elements: int = Field(
        default=2_000_000, ge=10, description="Most elements an upload may hold: nodes + "
                                             "links + demands + services, 16 YAML/JSON "
                                             "values per element: 413 above; YAML aliases "
                                             "adding more than this (at most 100,000): 422.")
    max_upload_depth: int = Field(default=32, ge=4, le=1000,
                                  description="Deepest nesting of a YAML/JSON upload: 422.")
    load_example: bool = Field(default=True, description="Serve the bundled Abilene example.")
    job_workers: int = Field(default=1, ge=1, le=8)
    whatif_processes: int | None = Field(default=None, ge=0, le=64, description=(
        "Worker processes answering failure what-ifs beside the server's (api.processes; "
        "0: the server answers them itself). Default: one per core, at most 2, none on one "
        "core."))
    whatif_process_max_mb: float = Field(default=512.0, gt=0.0, description=(
        "Largest basis (network, compiled arrays, no-change run; ~95 MB at 1,000 nodes / 1M"
        " demands) sent to the what-if workers; what-ifs on larger ones are answered by the "
        "server. Each worker holds two bases and their incremental state at most."))
    simulate_telemetry_s: float = Field(
        default=0.0, ge=0.0, description="Every this many seconds, feed the example network "
                                         "simulated live traffic (0: off; `serve` turns it on).")
    shadow_policies: list[str] = Field(default_factory=list, description=(
        "Policies to run in continuous shadow mode on every simulated network from the "
        "start (a sandbox baseline: greedy, optimizer, random, noop; or a saved .npz)."))
    shadow_every_s: float = Field(default=60.0, ge=5.0, description=(
        "Seconds between a shadow policy's runs."))
    counter_noise: float = Field(default=1e-3, gt=0.0, le=0.5, description=(
        "The live counters' relative error the traffic-matrix estimate and its drift alarm "
        "assume (0.01 for 1 %: counters read by polling; too small a value reads the polling "
        "noise as misfit and raises false drift alarms)."))
    timezone: str = Field(default="UTC", description=(
        "The operator's IANA time zone (Europe/Berlin): the live twin reads the counters' "
        "times and uploaded matrices' times of day and days of the week in it, as history "
        "files' dates are written (UTC: times read in UTC, as before the setting)."))
    store_url: str | None = Field(
        default=None, description="History of the live twin: SQLAlchemy URL (default: "
                                  "sqlite in data_dir; or postgresql+psycopg://...).")
    oidc_issuer: str | None = Field(default=None, description="Accept OIDC tokens from it.")
    oidc_jwks_url: str | None = Field(
        default=None, description="Default: Keycloak's ISSUER/protocol/openid-connect/certs.")
    oidc_audience: str | None = None
    oidc_roles_claim: str = "realm_access.roles"
    oidc_role_prefix: str = ""
    oidc_leeway_s: float = Field(default=60.0, ge=0.0, le=600.0)
    oidc_refresh_cooldown_s: float = Field(default=30.0, ge=0.0, le=3600.0)
    oidc_jwks_cache_s: float = Field(default=300.0, gt=0.0, le=86400.0)
    # abuse limits (README: "Operating the service safely")
    job_queue_max: int = Field(default=16, ge=1, le=10_000, description=(
        "Jobs queued or running at once; more are refused with 429 and Retry-After."))
    job_queue_per_owner: int = Field(default=4, ge=1, le=10_000, description=(
        "Jobs one caller may have queued or running at once."))
    job_ttl_s: float = Field(default=3600.0, gt=0.0, description=(
        "A finished job (and its results) is removed this long after it ended."))
    job_keep_max: int = Field(default=200, ge=1, description=(
        "Finished jobs kept at most (the oldest go first, even inside their TTL)."))
    sweep_max_work_planner: float = Field(default=5e8, gt=0, description=(
        "Largest sweep a planner or operator may submit, in failure cases x arcs."))
    sweep_max_work_admin: float = Field(default=5e10, gt=0, description=(
        "Largest sweep an admin may submit, in failure cases x arcs."))
    bases_kept: int = Field(default=3, ge=1, le=100, description=(
        "What-if bases kept ready (plan or live state of a network, with its baseline run "
        "and incremental-engine state): more answer more networks at once, each costs "
        "memory (~60 MB at 1,000 nodes and 1M demands)."))
    page_max: int = Field(default=10_000, ge=1, le=1_000_000, description=(
        "Most rows one page of a result-heavy response (simulate) carries."))
    audit_max_bytes: int = Field(default=100 * 2**20, ge=4096, description=(
        "audit.jsonl is rotated past this size (audit.jsonl.1 ... .5 kept)."))
    audit_anonymous_per_s: float = Field(default=5.0, gt=0.0, description=(
        "Audit lines per second for unauthenticated requests (burst: 50x); the rest are "
        "counted and summarised."))
    # MCP (agents): limits per caller identity, on top of the roles of the REST API
    mcp_calls_per_minute: float = Field(
        default=120.0, gt=0.0, le=100_000.0, description="MCP tool calls and resource reads "
        "one identity may make per minute (token bucket; refused beyond it, audited 429).")
    mcp_burst: int = Field(default=20, ge=1, le=10_000,
                           description="MCP calls one identity may make at once before the "
                                       "per-minute rate applies.")
    mcp_max_result_bytes: int = Field(
        default=16_384, ge=1024, le=10_000_000, description="Largest MCP tool result (JSON "
        "bytes): longer lists are cut, with their whole counts kept and a resource URI for "
        "the full table.")
    mcp_max_resource_bytes: int = Field(
        default=8 * 2**20, ge=1024, description="Largest MCP resource document (bytes).")
    mcp_max_time_limit_s: float = Field(
        default=120.0, ge=1.0, le=3600.0, description="Longest search an MCP optimisation "
        "tool (optimize_weights, optimize_paths) may ask for (the REST jobs: 3,600 s).")
    mcp_top_n: int = Field(default=10, ge=1, le=1000,
                           description="Entries per list in an MCP tool result unless the "
                                       "call asks for fewer or more (at most 100).")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """A name zoneinfo knows, refused at start-up with the closest names."""
        from nettwin.errors import NettwinError
        from nettwin.timezones import check_timezone

        try:
            return check_timezone(value)
        except NettwinError as exc:
            raise ValueError(str(exc)) from None

    @property
    def tokens_file(self) -> Path:
        return self.data_dir / "tokens.json"

    @property
    def audit_file(self) -> Path:
        return self.data_dir / "audit.jsonl"

    def whatif_process_count(self) -> int:
        """``whatif_processes``, or its default for this machine's cores."""
        if self.whatif_processes is not None:
            return self.whatif_processes
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        return 0 if cores < 2 else 2

    @property
    def history_url(self) -> str:
        """The store's SQLAlchemy URL: ``store_url``, or SQLite ``twin.db`` in the data folder."""
        return self.store_url or f"sqlite:///{self.data_dir / 'twin.db'}"

    def prepare_data_dir(self) -> Path:
        """The data folder, private to this user (0700), with the SQLite store file created
        0600 before SQLite opens it (its -wal/-shm files inherit that mode)."""
        path = self.data_dir
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o700)
        if self.store_url is None:
            create_private_file(path / "twin.db")
        return path


def create_private_file(path: Path) -> None:
    """Create ``path`` readable by its owner only (0600), or tighten an existing one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
