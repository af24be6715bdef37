"""The durable job queue: tasks, workers and the statements behind them."""

from docledger.queue.registry import JobInfo, TaskContext, registered, task

__all__ = ["JobInfo", "TaskContext", "registered", "task"]
