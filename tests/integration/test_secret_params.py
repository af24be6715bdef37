"""A PDF's password opens it for extraction and is kept nowhere (both dialects): not in the
extraction's params, not in its identity, so the same run with the password again records
nothing new. Real encrypted files: pdfminer.six's AES and RC4 samples."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from docledger import Ledger
from docledger.errors import InvalidInput
from docledger.services.extraction import secret_params
from tests.corpus import SAMPLE_PASSWORD, real_pdfs


def _encrypted() -> list:
    found = [p for p in real_pdfs() if p.name.split("__")[-1].startswith(("aes-", "rc4-"))]
    assert len(found) >= 5
    return found


def test_a_password_opens_the_pdf_and_is_never_stored(ledger: Ledger) -> None:
    for path in _encrypted():
        added = ledger.documents.create(path)
        assert any("encrypted PDF" in w for w in added.warnings), added.warnings
        (refused,) = ledger.extractions.run([added.document_id])
        assert refused.error is not None
        assert 'param "password"' in refused.error
        (opened,) = ledger.extractions.run(
            [added.document_id], params={"password": SAMPLE_PASSWORD}
        )
        assert opened.error is None, (path.name, opened.error)
        assert opened.segments > 0
        assert ledger.extractions.get(opened.extraction_id).params == {}
        (again,) = ledger.extractions.run([added.document_id], params={"password": SAMPLE_PASSWORD})
        assert (again.extraction_id, again.created) == (opened.extraction_id, False)
    with ledger.engine.connect() as conn:
        stored = conn.execute(text("SELECT params FROM extractions")).scalars().all()
    assert stored
    assert not any(SAMPLE_PASSWORD in str(p) for p in stored)


def test_a_wrong_password_fails_that_document_alone(ledger: Ledger) -> None:
    path = _encrypted()[0]
    added = ledger.documents.create(path)
    other = ledger.documents.create(b"plain words", external_key="plain.txt")
    outcomes = ledger.extractions.run(
        [added.document_id, other.document_id], params={"password": "not it"}
    )
    assert outcomes[0].error is not None
    assert "a wrong password" in outcomes[0].error
    assert outcomes[1].error is None
    assert outcomes[1].segments > 0


def test_secret_params_are_named_before_a_job_would_store_them() -> None:
    assert secret_params(None, {"password": "x", "chunk_size": 400}) == ["password"]
    assert secret_params("pdf", {"password": "x"}) == ["password"]
    assert secret_params("text", {}) == []
    with pytest.raises(InvalidInput):
        secret_params("pdf", {"no_such_param": 1})
