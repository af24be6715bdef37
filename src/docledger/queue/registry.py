"""Deprecated: moved to :mod:`docledger.worker.registry`."""

from docledger.deprecation import moved_module
from docledger.worker.registry import JobInfo, TaskContext, get_task, registered, task

moved_module("docledger.queue.registry", "docledger.worker.registry")

__all__ = ["JobInfo", "TaskContext", "get_task", "registered", "task"]
