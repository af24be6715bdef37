"""Settings: defaults, precedence, URL normalisation, and errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from docledger import ConfigurationError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ["DOCLEDGER_DB_URL", "DATABASE_URL", "DOCLEDGER_DATA_DIR", "DOCLEDGER_POOL_SIZE"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env file


def test_defaults_are_the_embedded_sqlite_file() -> None:
    settings = load_settings()
    assert settings.resolved_db_url == "sqlite:///data/docledger.db"
    assert settings.resolved_blob_root == str(Path("data") / "blobs")
    assert settings.sync_url.drivername == "sqlite+pysqlite"
    assert settings.async_url.drivername == "sqlite+aiosqlite"


def test_data_dir_moves_the_default_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCLEDGER_DATA_DIR", "/srv/dl")
    settings = load_settings()
    assert settings.resolved_db_url == "sqlite:////srv/dl/docledger.db"
    assert settings.resolved_blob_root == "/srv/dl/blobs"


def test_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DOCLEDGER_DB_URL=sqlite:///from-dotenv.db\n")
    assert load_settings().resolved_db_url == "sqlite:///from-dotenv.db"
    # The process environment beats the .env file, even through the DATABASE_URL fallback...
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/fallback")
    assert load_settings().resolved_db_url == "postgresql://u@h/fallback"
    # ...and DOCLEDGER_DB_URL beats DATABASE_URL.
    monkeypatch.setenv("DOCLEDGER_DB_URL", "sqlite:///from-env.db")
    assert load_settings().resolved_db_url == "sqlite:///from-env.db"
    assert load_settings(db_url="sqlite:///explicit.db").resolved_db_url == "sqlite:///explicit.db"


def test_database_url_is_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u:secret@db.internal:5433/app")
    settings = load_settings()
    assert settings.sync_url.drivername == "postgresql+psycopg"
    assert settings.async_url.drivername == "postgresql+psycopg_async"
    assert "secret" not in settings.masked_url()
    assert settings.dialect_name == "postgresql"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DOCLEDGER_DB_URL", "mysql://u@h/db"),
        ("DOCLEDGER_DB_URL", "not a url"),
        ("DOCLEDGER_DB_URL", "postgresql+pg8000://u@h/db"),
        ("DOCLEDGER_POOL_SIZE", "many"),
        ("DOCLEDGER_POOL_SIZE", "0"),
        ("DOCLEDGER_SQLITE_SYNCHRONOUS", "SOMETIMES"),
        ("DOCLEDGER_SQLITE_PRAGMAS", '{"x; DROP TABLE t": "1"}'),
    ],
)
def test_bad_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    assert variable in str(info.value)
