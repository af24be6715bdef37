"""``docledger findings ...`` and ``docledger conversations ...``: review queue, evidence with
its citations, and chat / query logs."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from docledger.cli.context import console, state
from docledger.errors import InvalidInput
from docledger.schemas.finding import Evidence, Finding

findings = typer.Typer(help="Findings, their evidence and their review.", no_args_is_help=True)
conversations = typer.Typer(help="Chat conversations and query logs.", no_args_is_help=True)

Workspace = Annotated[str | None, typer.Option(help="Workspace slug or id (default: default)")]
Actor = Annotated[str | None, typer.Option(help="Who did it: user email or id")]


def _json(text: str | None, option: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{option} is not JSON: {exc}") from exc


def _confidence(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _findings_table(rows: list[Finding]) -> Table:
    table = Table("id", "kind", "status", "conf", "stale", "rev", "title")
    for f in rows:
        table.add_row(
            str(f.id),
            f.kind,
            f.status,
            _confidence(f.confidence),
            "stale" if f.stale else "",
            str(f.revision),
            Text(f.title),
        )
    return table


def _evidence_table(cited: list[Evidence]) -> Table:
    table = Table("relation", "strength", "state", "target", "where", "text")
    for e in cited:
        where = ""
        if e.document_key is not None:
            where = f"{e.document_key} v{e.version_number}"
            if e.page_number is not None:
                where += f" p{e.page_number}"
            if e.bbox is not None:
                where += " [" + ", ".join(f"{e.bbox[k]:g}" for k in ("x0", "y0", "x1", "y1")) + "]"
        text = e.text if e.text is not None else (e.finding_title or "")
        if not e.exists:
            text = "(gone) " + text
        table.add_row(
            e.link.relation,
            _confidence(e.link.strength),
            e.link.state,
            f"{e.link.target_type} {e.link.target_id}",
            Text(where),
            Text(text[:80]),
        )
    return table


@findings.command("ls")
def findings_ls(
    workspace: Workspace = None,
    kind: Annotated[str | None, typer.Option(help="feature, comparison, ...")] = None,
    status: Annotated[str | None, typer.Option(help="candidate, confirmed, rejected")] = None,
    min_confidence: Annotated[float | None, typer.Option(help="at least this sure")] = None,
    run: Annotated[str | None, typer.Option(help="produced by this run")] = None,
    stale: Annotated[bool, typer.Option(help="only findings whose evidence went stale")] = False,
    queue: Annotated[
        bool, typer.Option(help="the review queue: candidates, least sure first")
    ] = False,
    limit: Annotated[int, typer.Option(help="at most this many")] = 50,
) -> None:
    """List findings (oldest first), or the review queue with --queue."""
    with state.ledger() as ledger:
        if queue:
            found = ledger.findings.review_queue(kind=kind, limit=limit, workspace=workspace)
        else:
            found = ledger.findings.list(
                kind=kind,
                status=status,
                min_confidence=min_confidence,
                run=run,
                stale=True if stale else None,
                limit=limit,
                workspace=workspace,
            )
    console.print(_findings_table(found.items))
    if found.next_cursor is not None:
        console.print(f"(more: raise --limit above {limit})")


@findings.command("show")
def findings_show(
    finding_id: Annotated[str, typer.Argument()], workspace: Workspace = None
) -> None:
    """A finding with its evidence (citations) and its review history."""
    with state.ledger() as ledger:
        f = ledger.findings.get(finding_id, workspace=workspace)
        cited = ledger.findings.evidence(finding_id, workspace=workspace)
        history = ledger.findings.history(finding_id, workspace=workspace)
        outputs = ledger.findings.outputs(finding_id, latest=True, workspace=workspace)
    console.print(f"{f.title}  {f.kind} · {f.status} · revision {f.revision}", markup=False)
    if f.confidence is not None:
        console.print(f"confidence {f.confidence:.2f}")
    if f.stale:
        console.print(f"stale: {f.stale_reason}", markup=False)
    if f.summary:
        console.print(f.summary, markup=False)
    if f.body:
        console.print(json.dumps(f.body, indent=2, ensure_ascii=False), markup=False)
    console.print(_evidence_table(cited))
    for o in outputs:
        console.print(f"output {o.output_type} v{o.version}")
    table = Table("at", "action", "rev", "actor", "before", "after")
    for e in history:
        table.add_row(
            e.at.isoformat(timespec="seconds"),
            e.action,
            str(e.revision),
            e.actor or "",
            Text(json.dumps(e.before) if e.before else ""),
            Text(json.dumps(e.after) if e.after else ""),
        )
    console.print(table)


@findings.command("create")
def findings_create(
    kind: Annotated[str, typer.Argument(help="feature, comparison, change_analysis, or yours")],
    title: Annotated[str, typer.Argument()],
    body: Annotated[str | None, typer.Option(help="JSON object")] = None,
    confidence: Annotated[float | None, typer.Option()] = None,
    run: Annotated[str | None, typer.Option(help="the run that produced it")] = None,
    workspace: Workspace = None,
    actor: Actor = None,
) -> None:
    """Record a candidate finding."""
    with state.ledger() as ledger:
        f = ledger.findings.create(
            kind,
            title,
            body=_json(body, "--body"),
            confidence=confidence,
            run=run,
            actor=actor,
            workspace=workspace,
        )
    console.print(f"{f.id} {f.kind} {f.status} revision {f.revision}")


def _review(
    action: str,
    finding_id: str,
    revision: int | None,
    actor: str | None,
    note: str | None,
    workspace: str | None,
) -> None:
    with state.ledger() as ledger:
        f = getattr(ledger.findings, action)(
            finding_id, expected_revision=revision, actor=actor, note=note, workspace=workspace
        )
    console.print(f"{f.id} {f.status} revision {f.revision}")


Revision = Annotated[
    int | None, typer.Option(help="the revision you reviewed (refused if it changed since)")
]
Note = Annotated[str | None, typer.Option(help="why, kept in the history")]


def _review_command(action: str, help_text: str) -> None:
    """Register ``docledger findings ACTION``: the three decisions share their options."""

    def command(
        finding_id: Annotated[str, typer.Argument()],
        revision: Revision = None,
        actor: Actor = None,
        note: Note = None,
        workspace: Workspace = None,
    ) -> None:
        _review(action, finding_id, revision, actor, note, workspace)

    command.__doc__ = help_text
    findings.command(action)(command)


_review_command("confirm", "candidate -> confirmed.")
_review_command("reject", "candidate -> rejected.")
_review_command("reopen", "confirmed / rejected -> candidate.")


@findings.command("link")
def findings_link(
    finding_id: Annotated[str, typer.Argument()],
    target_type: Annotated[str, typer.Argument(help="segment, version, document or finding")],
    target_id: Annotated[str, typer.Argument()],
    relation: Annotated[str | None, typer.Option(help="from the kind's set")] = None,
    strength: Annotated[float | None, typer.Option(help="0..1")] = None,
    reasoning: Annotated[str | None, typer.Option()] = None,
    actor: Actor = None,
    workspace: Workspace = None,
) -> None:
    """Add a piece of evidence to a finding."""
    with state.ledger() as ledger:
        link = ledger.findings.link(
            finding_id,
            (target_type, target_id),
            relation,
            strength=strength,
            reasoning=reasoning,
            actor=actor,
            workspace=workspace,
        )
    console.print(f"{link.finding_id} {link.relation} {link.target_type} {link.target_id}")


@findings.command("evidence")
def findings_evidence(
    finding_id: Annotated[str, typer.Argument()], workspace: Workspace = None
) -> None:
    """A finding's evidence: document, version, page, box and text of each citation."""
    with state.ledger() as ledger:
        cited = ledger.findings.evidence(finding_id, workspace=workspace)
    console.print(_evidence_table(cited))


@findings.command("summary")
def findings_summary(
    run: Annotated[str | None, typer.Option(help="one run (a comparison session)")] = None,
    workspace: Workspace = None,
) -> None:
    """Findings by kind and status, of a workspace or of one run (with its comparisons)."""
    with state.ledger() as ledger:
        if run is not None:
            s = ledger.findings.summarize_run(run, workspace=workspace)
            console.print(
                f"comparisons {s.comparisons} · successful analyses {s.successful_analyses}"
                f" · failed {s.failed_analyses} · average alignment "
                + ("—" if s.average_alignment is None else f"{s.average_alignment:.3f}")
            )
            table = Table("kind", "count")
            for kind, n in sorted(s.by_kind.items()):
                table.add_row(kind, str(n))
            console.print(table)
            return
        w = ledger.findings.summarize(workspace=workspace)
    statuses = ["candidate", "confirmed", "rejected"]
    table = Table("kind", *statuses)
    for kind, row in sorted(w.by_kind_and_status.items()):
        table.add_row(Text(kind), *(str(row.get(s, 0)) for s in statuses))
    console.print(table)
    console.print(f"{w.total} findings, {w.stale} stale")


@conversations.command("ls")
def conversations_ls(
    run: Annotated[str | None, typer.Option(help="about this run")] = None,
    workspace: Workspace = None,
    limit: Annotated[int, typer.Option()] = 50,
) -> None:
    """Conversations, newest first."""
    with state.ledger() as ledger:
        found = ledger.conversations.list(run=run, limit=limit, workspace=workspace)
    table = Table("id", "created", "title", "run", "finding")
    for c in found.items:
        table.add_row(
            str(c.id),
            c.created_at.isoformat(timespec="seconds"),
            Text(c.title or ""),
            str(c.run_id or ""),
            str(c.finding_id or ""),
        )
    console.print(table)


@conversations.command("show")
def conversations_show(
    conversation_id: Annotated[str, typer.Argument()], workspace: Workspace = None
) -> None:
    """Every message with the citations it was answered from (as they were then)."""
    with state.ledger() as ledger:
        conv = ledger.conversations.get(conversation_id, workspace=workspace)
        said = ledger.conversations.messages(conversation_id, workspace=workspace)
    console.print(conv.title or str(conv.id), markup=False)
    for m in said:
        console.print(f"{m.role}: {m.content}", highlight=False, markup=False)
        for c in m.citations:
            where = f"p{c.page_number}" if c.page_number is not None else ""
            gone = "" if c.segment_exists else " (segment deleted since)"
            console.print(
                f"   [{c.rank}] {c.score if c.score is not None else ''} {where}"
                f" {(c.text or '')[:80]}{gone}",
                highlight=False,
                markup=False,
            )
        for fb in m.feedback:
            console.print(f"   feedback {'+1' if fb.rating > 0 else '-1'} {fb.comment or ''}")


def register(app: typer.Typer) -> None:
    app.add_typer(findings, name="findings")
    app.add_typer(conversations, name="conversations")
