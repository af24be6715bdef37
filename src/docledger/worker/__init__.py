"""The durable job queue's consumer side: the task registry, the worker and its process pool.

Above the ledger: a worker takes a ledger and claims jobs through ``ledger.leases``; nothing
below imports this package (the producer side is ``ledger.jobs``).
"""

from docledger.worker.loop import Worker
from docledger.worker.outcomes import WorkerStats
from docledger.worker.registry import JobInfo, TaskContext, registered, task

__all__ = ["JobInfo", "TaskContext", "Worker", "WorkerStats", "registered", "task"]
