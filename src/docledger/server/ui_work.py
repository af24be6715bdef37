"""The UI's jobs dashboard and runs with their metric plots (inline SVG drawn here: no
charting library, nothing fetched)."""

from __future__ import annotations

import math
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from docledger.schemas.run import MetricPoint
from docledger.server import records
from docledger.server.pages import render
from docledger.server.session import visit

router = APIRouter(prefix="/ui", include_in_schema=False)

PLOT_W, PLOT_H, PAD = 480, 180, 36


@router.get("/jobs")
async def jobs_page(request: Request) -> Response:
    """Counts by queue and status, and the failed and dead jobs with their errors and
    events (newest first)."""
    who, ledger = await visit(request)
    stats = await ledger.jobs.stats(workspace=who.workspace)
    broken = []
    for status in ("dead", "failed"):
        page = await ledger.jobs.list(status=status, limit=50, workspace=who.workspace)
        broken.extend(page.items)
    details = await ledger.jobs.get_many([j.id for j in broken[:50]], workspace=who.workspace)
    recent = (await ledger.jobs.list(limit=20, workspace=who.workspace)).items
    statuses = ["queued", "running", "succeeded", "failed", "dead", "cancelled"]
    return render(
        request, "jobs.html", who=who, stats=stats, statuses=statuses, broken=details,
        recent=recent,
    )  # fmt: skip


@router.post("/jobs/{job_id}/retry")
async def retry_job(
    request: Request,
    job_id: uuid.UUID,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    who, ledger = await visit(request, csrf=csrf, role="editor")
    await ledger.jobs.retry(job_id, workspace=who.workspace)
    return RedirectResponse("/ui/jobs", status_code=303)


@router.get("/runs")
async def runs_page(request: Request) -> Response:
    who, ledger = await visit(request)
    runs = (await ledger.runs.list(limit=100, workspace=who.workspace)).items
    return render(request, "runs.html", who=who, runs=runs)


def plot(points: list[MetricPoint]) -> dict[str, Any]:
    """An SVG polyline of value against step, scaled into the plot box, with its axis
    ends; non-finite values are left out (they cannot be drawn)."""
    finite = [p for p in points if math.isfinite(p.value)]
    if not finite:
        return {"points": "", "steps": (0, 0), "span": (0.0, 0.0), "count": 0}
    s0, s1 = min(p.step for p in finite), max(p.step for p in finite)
    v0, v1 = min(p.value for p in finite), max(p.value for p in finite)
    ds, dv = (s1 - s0) or 1, (v1 - v0) or 1.0
    coords = " ".join(
        f"{PAD + (p.step - s0) / ds * (PLOT_W - 2 * PAD):.1f},"
        f"{PLOT_H - PAD - (p.value - v0) / dv * (PLOT_H - 2 * PAD):.1f}"
        for p in finite
    )
    return {"points": coords, "steps": (s0, s1), "span": (v0, v1), "count": len(finite)}


@router.get("/runs/{run_id}")
async def run_page(request: Request, run_id: uuid.UUID) -> Response:
    who, ledger = await visit(request)
    run = await ledger.runs.get(run_id, workspace=who.workspace)
    latest = await ledger.runs.latest_metrics(run_id, workspace=who.workspace)
    plots = {
        key: plot(await ledger.runs.metric_series(run_id, key, workspace=who.workspace))
        for key in sorted(latest)[:12]
    }
    events = await ledger.runs.events(run_id, workspace=who.workspace)
    return render(
        request, "run.html", who=who, run=run, latest=latest, plots=plots, events=events[-200:],
        size=(PLOT_W, PLOT_H, PAD),
    )  # fmt: skip


#: the UI page an entity type has, if any
PAGES = {
    "document": "/ui/documents/{}",
    "finding": "/ui/findings/{}",
    "run": "/ui/runs/{}",
    "segment": "/ui/segments/{}",
    "conversation": "/ui/conversations/{}",
}
COL_W, ROW_H, BOX_W, BOX_H = 190, 46, 160, 32


def _place(nodes: list[Any], sign: int) -> list[dict[str, Any]]:
    """Columns by distance (left of the centre upstream, right downstream), rows in order."""
    rows: dict[int, int] = {}
    out = []
    for n in sorted(nodes, key=lambda n: (n.depth, n.entity_type, n.entity_id)):
        row = rows.get(n.depth, 0)
        rows[n.depth] = row + 1
        out.append({"node": n, "col": sign * n.depth, "row": row})
    return out


@router.get("/lineage/{entity_type}/{entity_id}")
async def lineage_page(request: Request, entity_type: str, entity_id: str) -> Response:
    """The entity in the middle, what it was made from on the left and what was made from
    it on the right, one column per step; each box leads to its own lineage (or its page)."""
    who, ledger = await visit(request)
    ref = (entity_type, entity_id)
    up = await ledger.lineage.upstream(ref, 10, workspace=who.workspace)
    down = await ledger.lineage.downstream(ref, 10, workspace=who.workspace)
    placed = _place(up, -1) + _place(down, 1)
    left = max((-p["col"] for p in placed if p["col"] < 0), default=0)
    right = max((p["col"] for p in placed if p["col"] > 0), default=0)
    rows = max((p["row"] + 1 for p in placed), default=1)
    for p in placed:
        p["x"] = (p["col"] + left) * COL_W + 10
        p["y"] = p["row"] * ROW_H + 10
        n = p["node"]
        p["page"] = PAGES.get(n.entity_type, "/ui/lineage/{}/{}").format(
            *((n.entity_id,) if n.entity_type in PAGES else (n.entity_type, n.entity_id))
        )
        p["lineage"] = f"/ui/lineage/{n.entity_type}/{n.entity_id}"
    centre = {"x": left * COL_W + 10, "y": 10}
    return render(
        request, "lineage.html", who=who, entity_type=entity_type, entity_id=entity_id,
        placed=placed, centre=centre, box=(BOX_W, BOX_H),
        width=(left + right + 1) * COL_W + 20, height=rows * ROW_H + 20,
        up=up, down=down,
    )  # fmt: skip


@router.get("/datasets")
async def datasets_page(request: Request) -> Response:
    """Dataset snapshots (every version) and the workspace's exports with their files."""
    who, ledger = await visit(request)
    datasets = (await ledger.datasets.list(limit=200, workspace=who.workspace)).items
    exports = (await ledger.exports.list(limit=100, workspace=who.workspace)).items
    detailed = [await ledger.exports.get(e.id, workspace=who.workspace) for e in exports]
    return render(request, "datasets.html", who=who, datasets=datasets, exports=detailed)


@router.post("/exports/{export_id}/resume")
async def resume_export(
    request: Request,
    export_id: uuid.UUID,
    csrf: Annotated[str, Form(max_length=200)] = "",
    force: Annotated[bool, Form()] = False,
) -> Response:
    """Finish a partial, failed or pending export; ``force`` takes over a running one whose
    maker died (the page says so next to the button)."""
    who, ledger = await visit(request, csrf=csrf, role="editor")
    await ledger.exports.resume(export_id, actor=who.actor, workspace=who.workspace, force=force)
    return RedirectResponse("/ui/datasets", status_code=303)


@router.get("/exports/{export_id}/files/{name}")
async def export_file(request: Request, export_id: uuid.UUID, name: str) -> Response:
    who, ledger = await visit(request)
    return await records.export_file(ledger, who, export_id, name)  # streamed as by the API
