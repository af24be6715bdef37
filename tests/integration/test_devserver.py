"""The throw-away PostgreSQL with pgvector starts even when the wheel sits where the server's
system user cannot read it (a venv in a private home directory), and bad setups say why."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import psycopg
import pytest

from docledger import devserver
from docledger.devserver import DevServer, DevServerError


@pytest.mark.skipif(os.geteuid() != 0, reason="the copy is only needed when running as root")
def test_private_wheel_location_is_copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = devserver.binaries().parent.parent
    private = tmp_path / "home"
    private.mkdir(mode=0o700)
    shutil.copytree(package / "pginstall", private / package.name / "pginstall")
    shutil.copytree(package.parent / f"{package.name}.libs", private / f"{package.name}.libs")
    monkeypatch.setattr(devserver, "binaries", lambda: private / package.name / "pginstall" / "bin")
    server = DevServer.create().start()
    try:
        with psycopg.connect(server.url) as conn:
            conn.execute("CREATE EXTENSION vector")
            assert conn.execute("SELECT '[1,2]'::vector <-> '[1,3]'").fetchone() == (1.0,)
        assert not str(server._bins).startswith(str(private))
    finally:
        server.stop()
    assert not server.data_dir.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="names a system user to run as")
def test_unknown_system_user_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(devserver.USER_ENV, "no-such-user-here")
    with pytest.raises(DevServerError, match="no system user"):
        DevServer.create()
