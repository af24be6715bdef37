"""Online backup and restore on both dialects: a backup taken while documents are ingested
and extracted and two workers run jobs restores into a fresh store with the manifest's row
counts, every blob, a clean verify and the same search hits; a second backup copies only new
blobs; a damaged backup (a missing blob, a truncated database file) fails with the reason and
leaves the target as it was; a non-empty target is refused. The same to and from S3."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from docledger import Ledger, load_settings
from docledger.errors import InvalidInput
from docledger.services.backup import MANIFEST, PG_FILE, SQLITE_FILE
from docledger.worker import Worker
from tests.queue_tasks import create_effects, effect_ids

WORDS = ("valve", "turbine", "gasket", "flange", "rotor", "bearing", "nozzle", "impeller")


def _fill(ledger: Ledger, start: int, count: int) -> None:
    for i in range(start, start + count):
        text = f"Inspection {i}: the {WORDS[i % 8]} of pump {i} was replaced. " * 3
        added = ledger.documents.create(text.encode(), external_key=f"report-{i:04d}.txt")
        ledger.extractions.run([added.document_id])


def _open(url: str, blobs: Path) -> Ledger:
    return Ledger.open(settings=load_settings(db_url=url, blob_root=str(blobs)))


def test_backup_while_writing_restores_the_snapshot(
    ledger: Ledger, second_db_url: str, tmp_path: Path
) -> None:
    _fill(ledger, 0, 12)
    before = [h.segment_id for h in ledger.search.text("turbine", k=20)]
    assert before
    stop = threading.Event()
    failures: list[BaseException] = []

    def keep_writing() -> None:
        i = 100
        try:
            while not stop.is_set():
                _fill(ledger, i, 1)
                i += 1
        except BaseException as exc:
            failures.append(exc)

    create_effects(ledger)
    ledger.jobs.enqueue_many([{"task": "tests.effect"} for _ in range(300)])
    workers = [Worker(ledger, batch_size=5, poll_min_s=0.05) for _ in range(2)]
    threads = [threading.Thread(target=keep_writing)]
    threads += [threading.Thread(target=worker.run) for worker in workers]
    for thread in threads:
        thread.start()
    try:
        report = ledger.maintenance.backup(tmp_path / "backup")
    finally:
        stop.set()
        for worker in workers:
            worker.stop()
        for thread in threads:
            thread.join(30)
    assert failures == []
    assert len(effect_ids(ledger)) > 0  # the workers did run meanwhile
    manifest = json.loads((tmp_path / "backup" / MANIFEST).read_text())
    assert manifest["rows"]["documents"] >= 12
    assert report.blobs == len(manifest["blobs"]) == manifest["rows"]["blobs"]

    with _open(second_db_url, tmp_path / "restored-blobs") as restored:
        done = restored.maintenance.restore(tmp_path / "backup")
        assert done.problems == []
        assert done.rows == manifest["rows"]
        assert done.blobs_copied == len(manifest["blobs"])
        verify = restored.maintenance.verify_blobs()
        assert (verify.checked, verify.missing, verify.corrupt) == (len(manifest["blobs"]), [], [])
        assert [c for c in restored.maintenance.check() if c.count] == []
        assert [h.segment_id for h in restored.search.text("turbine", k=20)] == before
        key = "report-0003.txt"
        with restored.documents.open(key) as handle, ledger.documents.open(key) as original:
            assert handle.read() == original.read()

    # a second backup into the same folder copies only what is new
    _fill(ledger, 500, 2)
    again = ledger.maintenance.backup(tmp_path / "backup")
    assert again.blobs_copied == again.blobs - report.blobs >= 2


def test_a_damaged_backup_fails_and_leaves_the_target_alone(
    ledger: Ledger, dialect: str, second_db_url: str, tmp_path: Path
) -> None:
    _fill(ledger, 0, 3)
    ledger.maintenance.backup(tmp_path / "backup")
    manifest = json.loads((tmp_path / "backup" / MANIFEST).read_text())
    with _open(second_db_url, tmp_path / "restored-blobs") as target:
        _fill(target, 900, 1)  # the target holds something of its own...
        with pytest.raises(InvalidInput, match="not empty"):
            target.maintenance.restore(tmp_path / "backup")
        kept = target.documents.list().items
        assert [d.external_key for d in kept] == ["report-0900.txt"]

        # a blob missing from the backup
        sha = sorted(manifest["blobs"])[0]
        blob = next((tmp_path / "backup" / "blobs").rglob(sha))
        moved = blob.read_bytes()
        blob.unlink()
        with pytest.raises(InvalidInput, match=f"missing blob {sha}"):
            target.maintenance.restore(tmp_path / "backup", force=True)
        blob.write_bytes(moved[:-1] + bytes([moved[-1] ^ 1]))
        with pytest.raises(InvalidInput, match="corrupt"):
            target.maintenance.restore(tmp_path / "backup", force=True)
        blob.write_bytes(moved)

        # a manifest edited into another shape
        manifest_file = tmp_path / "backup" / MANIFEST
        kept_manifest = manifest_file.read_text()
        for hostile in ({**manifest, "rows": [1]}, {**manifest, "blobs": {sha: "big"}}, []):
            manifest_file.write_text(json.dumps(hostile))
            with pytest.raises(InvalidInput):
                target.maintenance.restore(tmp_path / "backup", force=True)
        manifest_file.write_text(kept_manifest)

        # a truncated database file
        database = tmp_path / "backup" / (SQLITE_FILE if dialect == "sqlite" else PG_FILE)
        whole = database.read_bytes()
        database.write_bytes(whole[: len(whole) // 2])
        with pytest.raises(InvalidInput, match="damaged"):
            target.maintenance.restore(tmp_path / "backup", force=True)
        assert [d.external_key for d in target.documents.list().items] == ["report-0900.txt"]
        database.write_bytes(whole)

        # repaired, and forced over the target's own document
        done = target.maintenance.restore(tmp_path / "backup", force=True)
        assert done.rows == manifest["rows"]
        keys = sorted(d.external_key for d in target.documents.list().items)
        assert keys == [f"report-{i:04d}.txt" for i in range(3)]


def test_bad_backup_folders_are_refused(ledger: Ledger, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidInput, match="not a folder"):
        ledger.maintenance.backup(tmp_path / "file")
    with pytest.raises(InvalidInput, match="not a docledger backup"):
        ledger.maintenance.restore(tmp_path)
    (tmp_path / MANIFEST).write_text("{nope")
    with pytest.raises(InvalidInput, match="not JSON"):
        ledger.maintenance.restore(tmp_path)


def test_backup_to_s3_and_restore_from_it(
    ledger: Ledger,
    second_db_url: str,
    s3_endpoint: str,
    s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    import boto3  # noqa: PLC0415

    monkeypatch.setenv("DOCLEDGER_S3_ENDPOINT_URL", s3_endpoint)
    _fill(ledger, 0, 4)
    before = [h.segment_id for h in ledger.search.text("turbine", k=20)]
    where = f"s3://{s3_bucket}/nightly"
    report = ledger.maintenance.backup(where)
    assert report.dest == where
    assert report.blobs_copied == report.blobs == 4
    _fill(ledger, 50, 1)
    again = ledger.maintenance.backup(where)  # only the new blob goes up
    assert again.blobs_copied == 1
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket)["Contents"]}
    assert {"nightly/manifest.json"} <= keys
    assert sum(k.startswith("nightly/blobs/") for k in keys) == 5

    with _open(second_db_url, tmp_path / "restored-blobs") as restored:
        done = restored.maintenance.restore(where)
        assert done.problems == []
        assert done.blobs_copied == 5
        assert restored.maintenance.verify_blobs().ok
        assert [h.segment_id for h in restored.search.text("turbine", k=20)] == [
            h.segment_id for h in ledger.search.text("turbine", k=20)
        ]
        assert before
        # a blob missing from the bucket: refused before anything is written
        blob_key = sorted(k for k in keys if k.startswith("nightly/blobs/"))[0]
        client.delete_object(Bucket=s3_bucket, Key=blob_key)
        with pytest.raises(InvalidInput, match="missing blob"):
            restored.maintenance.restore(where, force=True)
    with pytest.raises(InvalidInput, match="not a docledger backup"):
        ledger.maintenance.restore(f"s3://{s3_bucket}/nothing-here")


def test_the_database_password_never_reaches_a_command_line(
    db_url: str,
    second_db_url: str,
    blob_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL's pg_dump and pg_restore get the password in their environment: a command
    line is readable by every user of the machine (``ps``). SQLite runs no tool at all."""
    import subprocess  # noqa: PLC0415

    from sqlalchemy import make_url  # noqa: PLC0415

    from docledger.services import backup  # noqa: PLC0415

    secret = "s3cret-pw-for-the-test"  # trust authentication lets any password in
    postgres = db_url.startswith("postgresql")
    source = make_url(db_url).set(password=secret) if postgres else make_url(db_url)
    target = make_url(second_db_url).set(password=secret) if postgres else make_url(second_db_url)
    calls: list[tuple[list[str], dict[str, str]]] = []
    real = subprocess.run

    def watched(args: list[str], **kwargs: object) -> object:
        calls.append((list(args), dict(kwargs.get("env") or {})))  # type: ignore[call-overload]
        return real(args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(backup.subprocess, "run", watched)
    with _open(source.render_as_string(hide_password=False), blob_root) as ledger:
        _fill(ledger, 0, 2)
        ledger.maintenance.backup(tmp_path / "bk")
    with _open(target.render_as_string(hide_password=False), tmp_path / "b2") as restored:
        assert restored.maintenance.restore(tmp_path / "bk").problems == []
        assert len(restored.documents.list().items) == 2
    if not postgres:
        assert calls == []
        return
    tools = [Path(args[0]).name for args, _ in calls]
    assert "pg_dump" in tools
    assert "pg_restore" in tools
    for args, env in calls:
        assert not any(secret in a for a in args), args
        if any(a.startswith("--dbname=") for a in args):
            assert env["PGPASSWORD"] == secret
