"""``docledger worker`` and ``docledger jobs ...``: the durable queue from the command line."""

from __future__ import annotations

import importlib
import json
import logging
import math
import signal
from datetime import timedelta
from types import FrameType
from typing import Annotated, Any

import typer
from rich.table import Table

from docledger.cli.context import console, err_console, state, styled
from docledger.db.types import utcnow
from docledger.errors import InvalidInput
from docledger.worker.registry import registered

jobs = typer.Typer(help="The durable job queue.", no_args_is_help=True)


def worker(
    imports: Annotated[
        list[str] | None, typer.Option("--import", help="Module that registers tasks (repeat)")
    ] = None,
    queue: Annotated[list[str] | None, typer.Option("--queue", "-q", help="Queue (repeat)")] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Threads claiming and running")] = 1,
    processes: Annotated[
        int, typer.Option(min=1, help="Worker processes, forked after one start-up (POSIX)")
    ] = 1,
    lease: Annotated[float, typer.Option(min=0.1, help="Lease seconds (heartbeat every 1/3)")] = 30,
    batch: Annotated[int, typer.Option(min=1, help="Jobs claimed and committed together")] = 10,
    burst: Annotated[bool, typer.Option(help="Exit when the queues are empty")] = False,
    backoff_base: Annotated[
        float, typer.Option(min=0, help="First retry delay in seconds (doubles per attempt)")
    ] = 2.0,
) -> None:
    """Run jobs. SIGTERM / SIGINT stop claiming, finish the running task, release the rest."""
    from docledger.worker import Worker  # noqa: PLC0415 - keeps CLI start-up light

    for module in imports or []:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise InvalidInput(f"--import {module}: {exc}") from exc
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    options: dict[str, Any] = {
        "queues": queue or ["default"],
        "concurrency": concurrency,
        "lease_s": lease,
        "batch_size": batch,
        "backoff_base_s": backoff_base,
    }
    if processes > 1:
        from docledger.worker.pool import run_pool  # noqa: PLC0415

        err_console.print(
            f"{processes} worker processes on {', '.join(options['queues'])}; tasks: "
            + ", ".join(registered())
        )
        pooled = run_pool(state.settings(), processes, burst=burst, **options)
        console.print(
            f"succeeded {pooled.succeeded}, failed {pooled.failed}, lost {pooled.lost}, "
            f"released {pooled.released}, processes crashed {pooled.crashed}"
        )
        return
    with state.ledger() as ledger:
        runner = Worker(ledger, **options)

        def _stop(signum: int, _frame: FrameType | None) -> None:
            err_console.print(f"signal {signum}: finishing in-flight jobs, then exiting")
            runner.stop()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        err_console.print(
            f"worker {runner.worker_id} on {', '.join(runner.queues)}; tasks: "
            + ", ".join(registered())
        )
        stats = runner.run(burst=burst)
    console.print(
        f"succeeded {stats.succeeded}, failed {stats.failed}, lost {stats.lost}, "
        f"released {stats.released}"
    )


@jobs.command("enqueue")
def enqueue(
    task: Annotated[str, typer.Argument(help="Registered task name")],
    payload: Annotated[str, typer.Option(help="JSON object")] = "{}",
    queue: Annotated[str, typer.Option("--queue", "-q")] = "default",
    key: Annotated[str | None, typer.Option("--key", help="Idempotency key")] = None,
    priority: Annotated[int, typer.Option(help="-1000..1000, higher first")] = 0,
    max_attempts: Annotated[int, typer.Option(help="Attempts before 'dead'")] = 3,
    run_in: Annotated[float, typer.Option(help="Delay in seconds")] = 0.0,
) -> None:
    """Add a job (an existing --key in the queue returns the existing job)."""
    if not math.isfinite(run_in) or not 0 <= run_in <= 10 * 365 * 86400:
        raise InvalidInput("--run-in is a number of seconds from 0 to ten years")
    try:
        data = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"--payload is not JSON: {exc}") from exc
    with state.ledger() as ledger:
        job = ledger.jobs.enqueue(
            task,
            data,
            queue=queue,
            idempotency_key=key,
            priority=priority,
            max_attempts=max_attempts,
            run_after=utcnow() + timedelta(seconds=run_in) if run_in else None,
        )
    console.print(f"{job.id} {job.status}")


@jobs.command("ls")
def ls(
    status: Annotated[str | None, typer.Option()] = None,
    queue: Annotated[str | None, typer.Option("--queue", "-q")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """List jobs, newest first."""
    with state.ledger() as ledger:
        rows = ledger.jobs.list(status=status, queue=queue, limit=limit).items
    table = Table("id", "queue", "task", "status", "attempts", "created", "last error")
    for job in rows:
        table.add_row(
            str(job.id),
            job.queue,
            job.task,
            job.status,
            f"{job.attempts}/{job.max_attempts}",
            job.created_at.isoformat(timespec="seconds"),
            (job.last_error or "")[:60],
        )
    console.print(table)


@jobs.command("show")
def show(job_id: Annotated[str, typer.Argument()]) -> None:
    """A job with its full event history."""
    with state.ledger() as ledger:
        job = ledger.jobs.get(job_id)
    console.print(
        styled(
            job.task,
            "bold",
            f" {job.id} on {job.queue}: {job.status} "
            f"(attempt {job.attempts}/{job.max_attempts}, progress {job.progress}%)",
        )
    )
    console.print_json(json.dumps({"payload": job.payload, "result": job.result}))
    table = Table("at", "event", "from", "to", "attempt", "worker", "ms", "error")
    for e in job.events:
        table.add_row(
            e.at.isoformat(timespec="milliseconds"),
            e.event,
            e.from_status or "",
            e.to_status or "",
            str(e.attempt),
            e.worker or "",
            "" if e.duration_ms is None else str(e.duration_ms),
            (e.error or "")[:80],
        )
    console.print(table)


@jobs.command("retry")
def retry(job_id: Annotated[str, typer.Argument()]) -> None:
    """Re-queue a dead, failed or cancelled job with fresh attempts."""
    with state.ledger() as ledger:
        job = ledger.jobs.retry(job_id)
    console.print(f"{job.id} {job.status}")


@jobs.command("cancel")
def cancel(job_id: Annotated[str, typer.Argument()]) -> None:
    """Cancel a queued or running job."""
    with state.ledger() as ledger:
        job = ledger.jobs.cancel(job_id)
    console.print(f"{job.id} {job.status}")


@jobs.command("stats")
def stats() -> None:
    """Counts by queue and status, oldest queued age, jobs succeeded in the last minute."""
    with state.ledger() as ledger:
        rows = ledger.jobs.stats()
    statuses = ["queued", "running", "succeeded", "failed", "dead", "cancelled"]
    table = Table("queue", *statuses, "oldest queued", "done/min")
    for q in rows:
        age = "" if q.oldest_queued_age_s is None else f"{q.oldest_queued_age_s:.1f}s"
        table.add_row(
            q.queue, *(str(q.counts.get(s, 0)) for s in statuses), age, str(q.succeeded_last_minute)
        )
    console.print(table)


@jobs.command("purge")
def purge(
    older_than: Annotated[float, typer.Option("--older-than", help="Days since finishing")],
    status: Annotated[list[str] | None, typer.Option(help="Finished status (repeat)")] = None,
) -> None:
    """Delete finished jobs and their history older than N days (the only deletion of history)."""
    with state.ledger() as ledger:
        if status:
            count = ledger.jobs.purge(older_than_days=older_than, statuses=status)
        else:
            count = ledger.jobs.purge(older_than_days=older_than)
    logging.getLogger("docledger.purge").info("purged %d jobs", count)
    console.print(f"purged {count} jobs")


def register(app: typer.Typer) -> None:
    app.command()(worker)
    app.add_typer(jobs, name="jobs")
