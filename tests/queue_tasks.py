"""Tasks the queue tests run in worker subprocesses (``--import tests.queue_tasks``)."""

from __future__ import annotations

import time

from sqlalchemy import text

import docledger


@docledger.task("tests.effect")
def effect(ctx: docledger.TaskContext) -> dict[str, str]:
    """Record the job id in a side-effect table, in the job's own transaction."""
    if ctx.job.payload.get("sleep"):
        time.sleep(float(ctx.job.payload["sleep"]))
    ctx.session.execute(text("INSERT INTO effects (job_id) VALUES (:j)"), {"j": str(ctx.job.id)})
    if ctx.job.payload.get("fail"):
        raise RuntimeError("this job always fails")
    return {"ok": "yes"}


@docledger.task("tests.async_effect")
async def async_effect(ctx: docledger.TaskContext) -> None:
    ctx.session.execute(text("INSERT INTO effects (job_id) VALUES (:j)"), {"j": str(ctx.job.id)})
