"""Jobs (enqueue, list, counts, detail with events, retry, cancel) and runs (start, list,
detail, events, metrics logged and read, finish) of the key's workspace. Store-wide jobs and
runs belong to no workspace and are out of every key's reach."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from docledger.schemas.common import Page
from docledger.schemas.job import Job, JobDetail, QueueStats
from docledger.schemas.run import MetricPoint, Run, RunEvent
from docledger.server.auth import Editor, Ledger, Viewer
from docledger.services.extraction import refuse_stored_secrets
from docledger.vocab import JobStatus, RunKind, RunStatus

router = APIRouter()


@router.get("/jobs", response_model=Page[Job], tags=["jobs"])
async def list_jobs(
    ledger: Ledger,
    who: Viewer,
    status: JobStatus | None = None,
    queue: Annotated[str | None, Query(max_length=100)] = None,
    task: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: str | None = None,
) -> Page[Job]:
    """Newest first."""
    return await ledger.jobs.list(
        status=status, queue=queue, task=task, limit=limit, cursor=cursor, workspace=who.workspace
    )


@router.get("/jobs/stats", response_model=list[QueueStats], tags=["jobs"])
async def job_stats(ledger: Ledger, who: Viewer) -> list[QueueStats]:
    """Counts by queue and status, the oldest queued job's age, last-minute throughput."""
    return await ledger.jobs.stats(workspace=who.workspace)


class JobIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str = Field(min_length=1, max_length=200)
    payload: dict[str, Any] = Field(default_factory=dict)
    queue: str = Field(default="default", min_length=1, max_length=100)
    priority: int = Field(default=0, ge=-1000, le=1000)
    run_after: datetime | None = None
    max_attempts: int = Field(default=3, ge=1, le=100)
    idempotency_key: str | None = Field(default=None, max_length=200)


@router.post("/jobs", response_model=Job, status_code=201, tags=["jobs"])
async def enqueue(ledger: Ledger, who: Editor, body: JobIn) -> Job:
    """Enqueue a task for the workers; the same ``idempotency_key`` on a queue returns the
    job already there."""
    if body.task == "docledger.extract":  # its payload is stored: no secret params in it
        refuse_stored_secrets(body.payload.get("extractor"), body.payload.get("params"))
    return await ledger.jobs.enqueue(
        body.task,
        body.payload,
        queue=body.queue,
        priority=body.priority,
        run_after=body.run_after,
        max_attempts=body.max_attempts,
        idempotency_key=body.idempotency_key,
        workspace=who.workspace,
    )


@router.get("/jobs/{job_id}", response_model=JobDetail, tags=["jobs"])
async def get_job(ledger: Ledger, who: Viewer, job_id: uuid.UUID) -> JobDetail:
    """A job with its events (every attempt, error and retry)."""
    return await ledger.jobs.get(job_id, workspace=who.workspace)


@router.post("/jobs/{job_id}/{action}", response_model=Job, tags=["jobs"])
async def move_job(
    ledger: Ledger, who: Editor, job_id: uuid.UUID, action: Literal["retry", "cancel"]
) -> Job:
    """retry a dead, failed or cancelled job; cancel a queued or running one (409 else)."""
    move = ledger.jobs.retry if action == "retry" else ledger.jobs.cancel
    return await move(job_id, workspace=who.workspace)


@router.get("/runs", response_model=Page[Run], tags=["runs"])
async def list_runs(
    ledger: Ledger,
    who: Viewer,
    kind: RunKind | None = None,
    status: RunStatus | None = None,
    parent: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Page[Run]:
    return await ledger.runs.list(
        kind=kind, status=status, parent=parent, limit=limit, cursor=cursor,
        workspace=who.workspace,
    )  # fmt: skip


@router.get("/runs/{run_id}", response_model=Run, tags=["runs"])
async def get_run(ledger: Ledger, who: Viewer, run_id: uuid.UUID) -> Run:
    return await ledger.runs.get(run_id, workspace=who.workspace)


@router.get("/runs/{run_id}/events", response_model=list[RunEvent], tags=["runs"])
async def run_events(ledger: Ledger, who: Viewer, run_id: uuid.UUID) -> list[RunEvent]:
    return await ledger.runs.events(run_id, workspace=who.workspace)


@router.get("/runs/{run_id}/metrics", response_model=dict[str, float], tags=["runs"])
async def latest_metrics(ledger: Ledger, who: Viewer, run_id: uuid.UUID) -> dict[str, float]:
    """Each key's value at its highest step."""
    return await ledger.runs.latest_metrics(run_id, workspace=who.workspace)


@router.get("/runs/{run_id}/metrics/{key}", response_model=list[MetricPoint], tags=["runs"])
async def metric_series(
    ledger: Ledger, who: Viewer, run_id: uuid.UUID, key: Annotated[str, Path(max_length=250)]
) -> list[MetricPoint]:
    """Every point of one key, by step."""
    return await ledger.runs.metric_series(run_id, key, workspace=who.workspace)


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: RunKind = "pipeline"
    params: dict[str, Any] = Field(default_factory=dict)
    tags: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=50)
    parent: uuid.UUID | None = None


@router.post("/runs", response_model=Run, status_code=201, tags=["runs"])
async def create_run(ledger: Ledger, who: Editor, body: RunIn) -> Run:
    """Start a run (a training job on another machine logs its metrics here, as MLflow's
    REST API would take them)."""
    return await ledger.runs.create(
        body.name, body.kind, params=body.params, tags=body.tags, parent=body.parent,
        workspace=who.workspace,
    )  # fmt: skip


class PointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=250)
    value: float = Field(allow_inf_nan=False)
    step: int = Field(default=0, ge=0, le=2**62)


class PointsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: list[PointIn] = Field(min_length=1, max_length=10_000)


class Logged(BaseModel):
    logged: int


@router.post("/runs/{run_id}/metrics", response_model=Logged, tags=["runs"])
async def log_metrics(ledger: Ledger, who: Editor, run_id: uuid.UUID, body: PointsIn) -> Logged:
    """Up to 10,000 points in one transaction (all or none)."""
    logged = await ledger.runs.log_metrics_batch(
        run_id, [(p.key, p.value, p.step) for p in body.points], workspace=who.workspace
    )
    return Logged(logged=logged)


class FinishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["succeeded", "failed", "cancelled"] = "succeeded"
    error: str | None = Field(default=None, max_length=10_000)


@router.post("/runs/{run_id}/finish", response_model=Run, tags=["runs"])
async def finish_run(ledger: Ledger, who: Editor, run_id: uuid.UUID, body: FinishIn) -> Run:
    """End a running run (409 when it has ended already)."""
    return await ledger.runs.finish(run_id, body.status, body.error, workspace=who.workspace)
