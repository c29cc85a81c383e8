"""Configuration: one object, read once from the environment (DESIGN.md §2)."""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PositiveSeconds = Annotated[float, Field(gt=0)]

WEAK_PASSWORDS = frozenset({"admin", "password", "changeme", "change-me", "secret", "liberation", "admin123",
                            "password123", "12345678", "123456789", "qwertyuiop"})
"""Admin passwords `ENV=production` refuses outright (besides anything shorter than 12 characters)."""
MIN_PRODUCTION_PASSWORD = 12
MIN_SECRET_KEY = 32


def is_sqlite_memory(url: str) -> bool:
    """`sqlite://`, `sqlite:///:memory:` and URI forms with `mode=memory`."""
    return url.startswith("sqlite") and (url.rstrip("/") in ("sqlite:", "sqlite:/") or ":memory:" in url
                                         or "mode=memory" in url)


class SettingsError(SystemExit):
    """Start-up stops with a message that names the offending variable."""


class Settings(BaseSettings):
    """Every variable the product reads; unknown environment variables are ignored."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", validate_default=True)

    data_dir: Path = Path("data")
    database_url: str = ""
    redis_url: str = ""
    redis_prefix: str = Field("liberation", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    secret_key: str = ""
    admin_username: str = Field("admin", min_length=1, max_length=64)
    admin_password: str = ""
    token_ttl_seconds: int = Field(3600 * 12, gt=0)
    ws_max_connections: int = Field(10_000, ge=1)
    ws_max_connections_per_user: int = Field(20, ge=1)
    ws_ping_interval: PositiveSeconds = 30
    ws_cleanup_interval: PositiveSeconds = 60
    ws_history_size: int = Field(1000, ge=0)
    ws_history_seconds: PositiveSeconds = 300
    ws_history_bytes: int = Field(64 * 1024 * 1024, ge=64 * 1024)
    """Bytes of recovery history: in all per process (memory), or per channel a quarter of it (Redis)."""
    ws_send_queue: int = Field(1000, ge=1)
    ws_max_message_bytes: int = Field(65536, ge=256)
    ws_rate_limit: PositiveSeconds = 20
    ws_rate_burst: int = Field(60, ge=1)
    notification_history_size: int = Field(1000, ge=1)
    notification_cleanup_interval: PositiveSeconds = 3600
    notification_quiet_check_interval: PositiveSeconds = 30
    """Seconds between looks for quiet hours that ended (each ending gets one summary notification)."""
    notification_scheduled_interval: PositiveSeconds = 5
    """Seconds between looks for scheduled sends that are due (run by the leader)."""
    notification_trace_days: PositiveSeconds = 7
    """Days each notification's delivery trace is kept (expired by the notification cleanup job)."""
    notification_digest_interval: PositiveSeconds = 10
    """Seconds between looks for digests whose window has closed (collapsed by the leader)."""
    metrics_collection_interval: PositiveSeconds = 30
    metrics_retention_days: PositiveSeconds = 30
    metrics_push_interval: PositiveSeconds = 5
    metrics_public: bool = True
    event_retention_days: PositiveSeconds = 30
    mesh_node_timeout: PositiveSeconds = 90
    replica_name: str = Field("", max_length=64)
    """How this replica names itself in health, the admin panel and /metrics (default: host name and port)."""
    leader_lease_seconds: float = Field(15, ge=1, le=300)
    """With Redis: how long the leader's lease lasts, so how soon another replica takes over the periodic jobs
    when the leader dies (it renews every third of it)."""
    reactions_replay_seconds: PositiveSeconds = 30
    """An event whose rule reactions have not settled after this long is taken as abandoned by a crash: they are
    run again (deduplicated), at start and by a job of the leader every as many seconds."""
    login_max_failures: int = Field(5, ge=1)
    login_lockout_seconds: PositiveSeconds = 60
    env: Literal["development", "production"] = "development"
    forwarded_allow_ips: str = ""
    """Proxies (comma-separated addresses, or *) whose X-Forwarded-For and X-Forwarded-Proto are believed."""
    allowed_origins: str = ""
    """Comma-separated origins (https://app.example) besides the app's own whose pages may use a signed-in
    browser's cookie: NiceGUI's socket and the raw WebSocket without a token."""
    session_max_age: int = Field(12 * 3600, ge=60, le=30 * 24 * 3600)
    """Seconds a browser session lasts after sign-in."""
    docs_public: bool = True
    """`false` serves no /docs, /redoc or /openapi.json."""
    demo: bool = False
    """`true` runs built-in traffic of the three external systems through the REST API (app/demo.py)."""
    demo_rate: float = Field(1.0, gt=0, allow_inf_nan=False)
    """Multiplier of the demo's pace: 1 is gentle (a distribution run every ~30 s), 10 is busy."""
    event_publish_rate: PositiveSeconds = 500
    """Events per second one account may publish through REST, per process (a token bucket)."""
    event_publish_burst: int = Field(1000, ge=1)
    """Events one account may publish at once before `event_publish_rate` applies."""
    event_publish_bytes_rate: PositiveSeconds = 1_000_000
    """Bytes of event data (the request body) per second one account may publish through REST, per process."""
    event_publish_bytes_burst: int = Field(8_000_000, ge=1)
    """Bytes of event data one account may publish at once before `event_publish_bytes_rate` applies."""

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://", "postgres://")):
            raise ValueError("must start with sqlite:// or postgresql://")
        if value and is_sqlite_memory(value):
            raise ValueError("in-memory SQLite is not supported (everything would be lost at restart, and its single "
                             "connection cannot be shared by the app's worker threads): name a file, "
                             "sqlite:///path/to/liberation.db, or leave DATABASE_URL empty")
        return value

    @field_validator("redis_url")
    @classmethod
    def _known_broker(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "memory://")):
            raise ValueError("must be empty, memory:// or start with redis://")
        return value

    @model_validator(mode="after")
    def _production_ready(self) -> Settings:
        """ENV=production refuses what is fine on a laptop: a generated or short key, a weak admin password."""
        if self.env != "production":
            return self
        if len(self.secret_key) < MIN_SECRET_KEY:
            raise ValueError(f"ENV=production needs SECRET_KEY set to a random value of at least {MIN_SECRET_KEY} "
                             "characters (a generated key would differ between replicas and restarts of a new disk)")
        password = self.admin_password
        if password and (len(password) < MIN_PRODUCTION_PASSWORD or password.lower() in WEAK_PASSWORDS):
            raise ValueError(f"ENV=production refuses this ADMIN_PASSWORD: use at least {MIN_PRODUCTION_PASSWORD} "
                             "characters that are not a common default")
        return self

    @property
    def effective_replica_name(self) -> str:
        return self.replica_name or f"{socket.gethostname()}:{self.port}"

    @property
    def origins(self) -> tuple[str, ...]:
        return tuple(o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip())

    @property
    def effective_database_url(self) -> str:
        """The SQLAlchemy URL: the SQLite file under `data_dir` unless `DATABASE_URL` says otherwise."""
        url = self.database_url or f"sqlite:///{self.data_dir / 'liberation.db'}"
        if url.startswith("postgres://"):
            url = "postgresql://" + url.removeprefix("postgres://")
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url

    @property
    def broker_url(self) -> str:
        return self.redis_url or "memory://"

    def resolved_secret_key(self) -> str:
        """`SECRET_KEY`, or a key generated once and kept in `data_dir/secret_key`."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)  # never readable by others
        with os.fdopen(descriptor, "w") as file:
            file.write(key)
        return key


def load_settings(**overrides: object) -> Settings:
    """Read the environment; a bad value raises `SettingsError` naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        lines = [f"  {'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in error.errors()]
        raise SettingsError("Invalid configuration:\n" + "\n".join(lines)) from None
