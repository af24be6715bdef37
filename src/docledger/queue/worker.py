"""Deprecated: moved to :mod:`docledger.worker.loop` (``from docledger.worker import Worker``)."""

from docledger.deprecation import moved_module
from docledger.worker.loop import Worker
from docledger.worker.outcomes import WorkerStats

moved_module("docledger.queue.worker", "docledger.worker")

__all__ = ["Worker", "WorkerStats"]
