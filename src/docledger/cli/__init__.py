"""The ``docledger`` command line (Typer + Rich)."""
