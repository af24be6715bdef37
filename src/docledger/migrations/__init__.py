"""Alembic environment, shipped inside the package so migrations run from an installed wheel."""
