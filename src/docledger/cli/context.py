"""What every command needs: the settings chosen on the command line, and a console."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console

from docledger.config import Settings, load_settings
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


state = CliState()
