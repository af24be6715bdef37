"""Deprecated: the worker side of the queue moved to :mod:`docledger.worker`."""

from docledger.deprecation import moved_module
from docledger.worker import JobInfo, TaskContext, registered, task

moved_module("docledger.queue", "docledger.worker")

__all__ = ["JobInfo", "TaskContext", "registered", "task"]
