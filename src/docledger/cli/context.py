"""What every command needs: the settings chosen on the command line, and a console."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.text import Text
from sqlalchemy import Engine

from docledger.config import Settings, load_settings
from docledger.db.engine import create_sync_engine
from docledger.errors import InvalidInput
from docledger.ledger import Ledger

# User text (keys, file names, segment text, snippets, error messages quoting them) is printed
# literally: no Rich markup (a key "[/i]" would crash the print) and no :emoji: codes.
# Our own styling goes through ``styled``.
console = Console(markup=False, emoji=False)
err_console = Console(stderr=True, markup=False, emoji=False, soft_wrap=True)  # one line each


def writable_path(path: Path, option: str) -> Path:
    """A file path the command may write: its folder exists and it is not a folder itself
    (checked before any work, so nothing is half-done when it is not)."""
    if path.is_dir():
        raise InvalidInput(f"{option} {path} is a folder; name a file")
    if not path.parent.is_dir():
        raise InvalidInput(f"{option} {path}: the folder {path.parent} does not exist")
    return path


def styled(label: str, style: str, rest: str = "") -> Text:
    """``label`` in ``style``, then ``rest`` as it is (never parsed as markup)."""
    return Text.assemble((label, style), rest)


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
