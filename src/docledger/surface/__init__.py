"""The public surface: which class serves each ledger attribute, and the generated sync and
async classes that call them (see registry.py and base.py)."""
