"""Deprecated: moved to :mod:`docledger.worker.pool`."""

from docledger.deprecation import moved_module
from docledger.worker.pool import run_pool

moved_module("docledger.queue.pool", "docledger.worker.pool")

__all__ = ["run_pool"]
