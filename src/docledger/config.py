"""Settings, read once from the environment (prefix ``DOCLEDGER_``), a ``.env`` file or arguments.

Loading is deterministic: explicit arguments beat environment variables, which beat ``.env``,
which beats the defaults. Every invalid value raises :class:`ConfigurationError` naming the
environment variable to fix, because that is what a user can act on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from docledger.errors import ConfigurationError

ENV_PREFIX = "DOCLEDGER_"
DEFAULT_DATA_DIR = Path("./data")

_SYNC_DRIVERS = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg_async"}
_KNOWN_DRIVERS = {
    "sqlite": {"pysqlite", "aiosqlite"},
    "postgresql": {"psycopg", "psycopg_async", "asyncpg"},
}


class Settings(BaseSettings):
    """docledger's configuration."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    db_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("db_url", "DOCLEDGER_DB_URL", "DATABASE_URL"),
        description="SQLAlchemy URL; default sqlite:///<data_dir>/docledger.db",
    )
    data_dir: Path = DEFAULT_DATA_DIR
    blob_root: str | None = Field(
        default=None,
        description="Folder (or s3://bucket/prefix) for blobs; default <data_dir>/blobs",
    )
    echo_sql: bool = False

    # S3-compatible object storage (when blob_root is s3://bucket/prefix). Credentials come from
    # the usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY variables or the AWS config files.
    s3_endpoint_url: str | None = Field(default=None, description="e.g. http://127.0.0.1:9000")
    s3_region: str = "us-east-1"

    # SQLite only. Applied on every new connection.
    sqlite_journal_mode: Literal["WAL", "DELETE", "TRUNCATE", "PERSIST", "MEMORY"] = "WAL"
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "NORMAL"
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)
    sqlite_cache_size_kib: int = Field(default=65_536, ge=0)
    sqlite_checkpoint: Literal["background", "inline"] = Field(
        default="background",
        description="WAL checkpoints on a thread of the engine's own (background) or inside "
        "the commit that passes SQLite's threshold (inline, SQLite's default)",
    )
    sqlite_write_gate: bool = Field(
        default=True,
        description="Threads of one process take turns for the write lock in arrival order "
        "(SQLite's busy handler polls and sleeps; off: leave it all to SQLite)",
    )
    sqlite_mmap_size_mib: int = Field(
        default=2048,
        ge=0,
        description="Read the database through a memory map of up to this size (0: pread)",
    )
    sqlite_pragmas: dict[str, str] = Field(
        default_factory=dict, description="Extra PRAGMA name -> value pairs (advanced)"
    )

    # PostgreSQL only: SQLite uses one connection per thread and ignores these.
    pool_size: int = Field(default=10, ge=1)
    pool_max_overflow: int = Field(default=20, ge=0)
    pool_pre_ping: bool = True
    pool_recycle_s: int = Field(default=1800, ge=-1)
    pool_timeout_s: float = Field(default=30.0, gt=0)
    connect_timeout_s: int = Field(default=10, ge=1)
    statement_timeout_ms: int = Field(default=0, ge=0, description="0 = no limit")
    lock_timeout_ms: int = Field(default=10_000, ge=0)

    @field_validator("db_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        parse_db_url(value)
        return value.strip()

    @field_validator("blob_root")
    @classmethod
    def _check_blob_root(cls, value: str | None) -> str | None:
        if value is not None and value.startswith("s3://"):
            bucket = value[5:].split("/", 1)[0]
            if not bucket:
                raise ValueError("an s3:// blob root needs a bucket: s3://bucket/prefix")
        elif value is not None and "://" in value:
            raise ValueError("use a folder path or s3://bucket/prefix")
        return value

    @field_validator("sqlite_pragmas")
    @classmethod
    def _check_pragmas(cls, value: dict[str, str]) -> dict[str, str]:
        for name, pragma_value in value.items():
            if (
                not name.replace("_", "").isalnum()
                or not str(pragma_value).replace("_", "").replace("-", "").isalnum()
            ):
                raise ValueError(f"PRAGMA {name}={pragma_value!r} is not a plain name and value")
        return value

    @property
    def resolved_db_url(self) -> str:
        """The URL in use: the configured one, or the embedded SQLite file in the data dir."""
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.data_dir / 'docledger.db').as_posix()}"

    @property
    def resolved_blob_root(self) -> str:
        return self.blob_root or str(self.data_dir / "blobs")

    @property
    def sync_url(self) -> URL:
        return _with_driver(parse_db_url(self.resolved_db_url), _SYNC_DRIVERS)

    @property
    def async_url(self) -> URL:
        url = parse_db_url(self.resolved_db_url)
        if url.get_backend_name() == "postgresql" and url.get_driver_name() == "asyncpg":
            return url
        return _with_driver(url, _ASYNC_DRIVERS)

    @property
    def dialect_name(self) -> str:
        return parse_db_url(self.resolved_db_url).get_backend_name()

    def masked_url(self) -> str:
        return parse_db_url(self.resolved_db_url).render_as_string(hide_password=True)


def parse_db_url(value: str) -> URL:
    """Parse and check a database URL; only SQLite and PostgreSQL are supported."""
    try:
        url = make_url(value)
    except ArgumentError as exc:
        raise ValueError(f"{value!r} is not a database URL ({exc})") from exc
    backend = url.get_backend_name()
    if backend == "postgres":  # the spelling Heroku-style providers hand out
        url = url.set(drivername="postgresql")
        backend = "postgresql"
    if backend not in _KNOWN_DRIVERS:
        raise ValueError(
            f"unsupported database scheme {url.drivername!r}: use sqlite:/// or postgresql://"
        )
    driver = url.get_driver_name()
    if "+" in url.drivername and driver not in _KNOWN_DRIVERS[backend]:
        raise ValueError(
            f"unsupported driver {driver!r} for {backend}; "
            f"use one of {sorted(_KNOWN_DRIVERS[backend])}"
        )
    return url


def _with_driver(url: URL, drivers: dict[str, str]) -> URL:
    backend = url.get_backend_name()
    if backend == "postgres":
        backend = "postgresql"
    return url.set(drivername=drivers[backend])


def _env_name(loc: tuple[Any, ...]) -> str:
    field = str(loc[0]) if loc else "?"
    if field.isupper():  # already an env alias such as DATABASE_URL
        return field
    if field == "db_url":
        return "DOCLEDGER_DB_URL"
    return ENV_PREFIX + field.upper()


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation errors into a ConfigurationError naming the variable."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_env_name(tuple(err['loc']))}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigurationError(f"invalid configuration: {problems}") from exc
