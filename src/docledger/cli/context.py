"""What every command needs: the settings chosen on the command line, and a console."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console
from sqlalchemy import Engine

from docledger.config import Settings, load_settings
from docledger.db.engine import create_sync_engine
from docledger.ledger import Ledger

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliState:
    db_url: str | None = None
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(db_url=self.db_url)
        return self._settings

    def ledger(self) -> Ledger:
        return Ledger.open(settings=self.settings())

    @contextmanager
    def engine(self) -> Iterator[Engine]:
        """A bare engine (no schema check) for the commands that manage the schema itself."""
        engine = create_sync_engine(self.settings())
        try:
            yield engine
        finally:
            engine.dispose()


state = CliState()
