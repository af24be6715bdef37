"""The BlobStore contract, run against the local folder store and a real S3-compatible server;
then a whole ingest / verify / gc cycle with S3 blobs on both database dialects."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from docledger import BlobCorrupt, InvalidInput, Ledger, NotFound, load_settings
from docledger.services import maintenance
from docledger.storage import BlobStore, LocalBlobStore
from docledger.storage.s3 import ObjectBlobStore


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs")
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = request.getfixturevalue("s3_bucket")
        yield ObjectBlobStore(bucket, "pre/fix", endpoint_url=endpoint)


def test_put_bytes_is_content_addressed_and_idempotent(store: BlobStore) -> None:
    first = store.put_bytes(b"hello")
    assert first.sha256 == hashlib.sha256(b"hello").hexdigest()
    assert (first.size_bytes, first.created) == (5, True)
    assert first.storage_uri.endswith(
        f"sha256/{first.sha256[:2]}/{first.sha256[2:4]}/{first.sha256}"
    )
    again = store.put_bytes(b"hello")
    assert (again.sha256, again.created) == (first.sha256, False)
    with store.open(first.sha256) as handle:
        assert handle.read() == b"hello"
    assert store.exists(first.sha256)
    assert list(store.iter_shas()) == [first.sha256]


def test_put_stream_in_one_pass(store: BlobStore) -> None:
    payload = os.urandom(5 * 1024 * 1024 + 3)
    stored = store.put_stream(io.BytesIO(payload))
    assert stored.sha256 == hashlib.sha256(payload).hexdigest()
    assert stored.size_bytes == len(payload)
    assert store.put_stream(io.BytesIO(payload)).created is False
    with store.open(stored.sha256) as handle:
        assert handle.read() == payload
    empty = store.put_stream(io.BytesIO(b""))
    assert empty.sha256 == hashlib.sha256(b"").hexdigest()


def test_delete_respects_the_grace_period(store: BlobStore) -> None:
    sha = store.put_bytes(b"young").sha256
    assert store.delete(sha, older_than_s=3600) is False
    assert store.exists(sha)
    assert store.delete(sha) is True
    assert not store.exists(sha)
    assert store.delete(sha) is False
    with pytest.raises(NotFound):
        store.open(sha)


def test_bad_digests_are_refused(store: BlobStore) -> None:
    with pytest.raises(InvalidInput):
        store.open("../../etc/passwd")
    with pytest.raises(InvalidInput):
        store.exists("ABC")


def test_ingest_verify_gc_with_s3(db_url: str, s3_endpoint: str, s3_bucket: str) -> None:
    settings = load_settings(
        db_url=db_url, blob_root=f"s3://{s3_bucket}/store", s3_endpoint_url=s3_endpoint
    )
    examples = Path(__file__).resolve().parents[2] / "examples" / "data"
    with Ledger.open(settings=settings) as ledger:
        assert isinstance(ledger.blobs, ObjectBlobStore)
        results = ledger.documents.create_from_paths([examples], recursive=True)
        assert {r.outcome for r in results} == {"added"}
        assert all(r.sha256 and ledger.blobs.exists(r.sha256) for r in results)
        with ledger.documents.open("invoice-and-plan.pdf") as handle:
            assert handle.read() == (examples / "invoice-and-plan.pdf").read_bytes()
        assert {
            r.outcome for r in ledger.documents.create_from_paths([examples], recursive=True)
        } == {"unchanged"}
        assert maintenance.verify(ledger.engine, ledger.blobs).ok
        ledger.documents.delete("features.json")
        report = maintenance.gc(ledger.engine, ledger.blobs, grace_s=0)
        assert report.deleted_blobs == 1
        assert len(list(ledger.blobs.iter_shas())) == len(results) - 1
        assert maintenance.verify(ledger.engine, ledger.blobs).ok


def test_s3_blob_root_must_name_a_bucket() -> None:
    from docledger import ConfigurationError  # noqa: PLC0415

    with pytest.raises(ConfigurationError, match="DOCLEDGER_BLOB_ROOT"):
        load_settings(blob_root="s3:///prefix")


def _tamper(store: BlobStore, sha: str, data: bytes) -> None:
    """Change a stored blob's bytes behind the store's back (bit rot, a careless hand)."""
    if isinstance(store, LocalBlobStore):
        store.path(sha).write_bytes(data)
    else:
        assert isinstance(store, ObjectBlobStore)
        store.client.put_object(Bucket=store.bucket, Key=store._key(sha), Body=data)


@pytest.mark.parametrize("how", ["same size", "shorter", "missing"])
def test_a_tampered_blob_fails_its_read_and_a_re_put_heals_it(store: BlobStore, how: str) -> None:
    """Issue 13, defect 9: reads verify the hash while streaming; putting the right bytes
    again repairs a corrupt or missing blob (both the in-memory and the streaming put)."""
    data = os.urandom(3 * 1024 * 1024 + 17)  # more than one read chunk
    stored = store.put_bytes(data)
    if how == "missing":
        assert store.delete(stored.sha256)
    else:
        # the last byte flipped (a fixed b"X" left the blob intact whenever the random data
        # already ended in X: one run in 256)
        flipped = data[:-1] + bytes([data[-1] ^ 0xFF])
        _tamper(store, stored.sha256, flipped if how == "same size" else data[:100])
        with store.open(stored.sha256) as handle, pytest.raises(BlobCorrupt):
            handle.read()
    for put in (store.put_bytes, lambda d: store.put_stream(io.BytesIO(d))):
        if how != "missing":
            _tamper(store, stored.sha256, data[:-1] + bytes([data[-1] ^ 0x0F]))
        put(data)
        with store.open(stored.sha256) as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == stored.sha256


def test_ingest_extract_and_cat_refuse_a_tampered_blob_and_re_add_heals(
    db_url: str, tmp_path: Path
) -> None:
    settings = load_settings(db_url=db_url, blob_root=str(tmp_path / "blobs"))
    source = tmp_path / "notes.txt"
    source.write_text("An honest sentence about bridges.\n")
    with Ledger.open(settings=settings) as ledger:
        added = ledger.documents.create(source)
        assert isinstance(ledger.blobs, LocalBlobStore)
        ledger.blobs.path(added.sha256).write_text("A forged sentence about tunnels.\n")
        with ledger.documents.open("notes.txt") as handle, pytest.raises(BlobCorrupt):
            handle.read()
        (outcome,) = ledger.extractions.run(["notes.txt"])
        assert outcome.extraction_id is not None
        assert outcome.error is not None
        assert "corrupt" in outcome.error
        assert ledger.segments.of_version(added.version_id) == []
        assert not maintenance.verify(ledger.engine, ledger.blobs).ok
        again = ledger.documents.create(source)
        assert again.outcome == "unchanged"
        assert maintenance.verify(ledger.engine, ledger.blobs).ok
        (outcome,) = ledger.extractions.run(["notes.txt"])
        assert outcome.error is None
        assert "bridges" in ledger.segments.of_version(added.version_id)[0].text
