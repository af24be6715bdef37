"""Helpers that build a small document chain with plain ORM rows (below the repositories)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

import pytest

from docledger import models as m
from docledger.db.session import session_scope
from docledger.ledger import Ledger


@dataclass
class Chain:
    workspace_id: uuid.UUID
    document_id: uuid.UUID
    version_id: uuid.UUID
    extraction_id: uuid.UUID
    segment_id: uuid.UUID
    sha256: str


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_chain(ledger: Ledger, key: str = "a.pdf", content: bytes = b"%PDF-1.4") -> Chain:
    ws = ledger.workspaces.get()
    digest = sha(content)
    with session_scope(ledger.engine) as s:
        if s.get(m.Blob, digest) is None:
            s.add(m.Blob(sha256=digest, size_bytes=len(content), storage_uri=f"file:{digest}"))
        doc = m.Document(workspace_id=ws.id, external_key=key)
        s.add(doc)
        s.flush()
        ver = m.DocumentVersion(
            workspace_id=ws.id,
            document_id=doc.id,
            version_number=1,
            sha256=digest,
            size_bytes=len(content),
        )
        s.add(ver)
        s.flush()
        ext = m.Extraction(
            workspace_id=ws.id,
            version_id=ver.id,
            extractor="t",
            extractor_version="1",
            params_hash="0" * 64,
        )
        s.add(ext)
        s.flush()
        seg = m.Segment(
            workspace_id=ws.id,
            extraction_id=ext.id,
            version_id=ver.id,
            ordinal=0,
            kind="page",
            page_number=1,
            confidence=0.5,
        )
        s.add(seg)
        s.flush()
        return Chain(ws.id, doc.id, ver.id, ext.id, seg.id, digest)


@pytest.fixture
def chain(ledger: Ledger) -> Chain:
    return build_chain(ledger)
