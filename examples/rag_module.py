"""The RAG ingestion module's workflow (seed 002), async-first as its specification asks: a
workspace, sources deduplicated by content hash, new versions of changed sources, chunks,
embeddings in a named space, hybrid retrieval with citations (page and box), runs with
events for pipeline observability, and query logs as conversations whose citations still show
the original passage after the source gets a new version; a down-voted answer becomes a
review item.

Run: ``python examples/rag_module.py``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from docledger import AsyncLedger

SOURCES = {
    "handbook/doors.md": b"# Fire doors\n\nFire doors close on their own and must never be wedged.",
    "handbook/stairs.md": b"# Stairs\n\nStair treads are inspected every spring for wear.",
}


async def run() -> dict[str, Any]:
    async with AsyncLedger.open() as aledger:
        await aledger.workspaces.ensure("kb", "Knowledge base")
        async with aledger.runs.start("ingest", "pipeline", workspace="kb") as run:
            first = await aledger.documents.create_many(SOURCES, workspace="kb")
            again = await aledger.documents.create_many(SOURCES, workspace="kb")  # no change
            changed = await aledger.documents.create(
                b"# Stairs\n\nStair treads and handrails are inspected every spring.",
                external_key="handbook/stairs.md",
                workspace="kb",
            )
            await run.log("ingested", data={"sources": len(first)})
            outcomes = await aledger.extractions.run([r.document_id for r in first], workspace="kb")
            embedded = await aledger.search.embed_missing("hash-256", workspace="kb")
            await run.log_metrics({"chunks_embedded": embedded})
        chat = await aledger.conversations.create(title="support chat", workspace="kb")
        hits = await aledger.search.hybrid(
            "who checks the handrails?", space="hash-256", k=3, workspace="kb", log=chat
        )
        answer = await aledger.conversations.log_query(
            chat.id,
            "when are the stairs inspected?",
            hits[:1],
            mode="hybrid",
            answer="Every spring.",
            answer_metadata={"model": "local", "tokens_in": 40, "tokens_out": 3, "latency_ms": 25},
            workspace="kb",
        )
        cited_before = answer.citations[0].text
        # the source changes again: the logged answer keeps citing what it was answered from
        await aledger.documents.create(
            b"# Stairs\n\nStairs are inspected monthly.",
            external_key="handbook/stairs.md",
            workspace="kb",
        )
        reloaded = await aledger.conversations.messages(chat.id, workspace="kb")
        vote = await aledger.conversations.create_feedback(
            answer.id, -1, comment="outdated", workspace="kb"
        )
        return {
            "first": [r.outcome for r in first],
            "again": [r.outcome for r in again],
            "changed": changed.outcome,
            "extracted": sum(o.segments for o in outcomes),
            "embedded": embedded,
            "top_hit": hits[0].external_key,
            "cited_page": hits[0].page_number,
            "run_events": [e.event for e in await aledger.runs.events(run.id)],
            "logged": [(m.role, len(m.citations)) for m in reloaded],
            "citation_kept": reloaded[-1].citations[0].text == cited_before,
            "review_item": (await aledger.findings.get(vote.finding_id)).kind
            if vote.finding_id
            else None,
        }


def main() -> dict[str, Any]:
    return asyncio.run(run())


if __name__ == "__main__":
    print(main())
