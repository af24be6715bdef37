"""Ingest, versions, media types, listing, status and deletion, on both dialects."""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from docledger import InvalidInput, InvalidTransition, Ledger, NotFound
from docledger import models as m
from docledger.db.session import session_scope
from docledger.services import staging as staging_mod
from docledger.services.sources import (
    expand_paths,
    present_keys,
    unreadable_prefixes,
)
from docledger.storage.base import StoredBlob

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"


def counts(ledger: Ledger) -> tuple[int, int, int]:
    with session_scope(ledger.engine, readonly=True) as s:
        return tuple(  # type: ignore[return-value]
            int(s.scalar(select(func.count()).select_from(t)) or 0)
            for t in (m.Document, m.DocumentVersion, m.Blob)
        )


def test_ingest_samples_then_rerun_then_change(ledger: Ledger, tmp_path: Path) -> None:
    results = ledger.documents.create_from_paths([EXAMPLES], recursive=True)
    by_key = {r.external_key: r for r in results}
    assert set(by_key) == {
        "features.json",
        "invoice-and-plan.pdf",
        "notes/inspection.md",
        "scan.png",
        "thumbnail.png",
    }
    assert {r.outcome for r in results} == {"added"}
    assert by_key["invoice-and-plan.pdf"].media_type == "application/pdf"
    assert by_key["invoice-and-plan.pdf"].page_count == 2
    assert by_key["thumbnail.png"].media_type == "image/png"
    assert by_key["features.json"].media_type == "application/json"
    assert by_key["notes/inspection.md"].media_type == "text/markdown"

    again = ledger.documents.create_from_paths([EXAMPLES], recursive=True)
    assert {r.outcome for r in again} == {"unchanged"}
    assert {r.version_id for r in again} == {r.version_id for r in results}
    assert counts(ledger) == (5, 5, 5)

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "features.json").write_text('{"changed": true}')
    changed = ledger.documents.create_from_paths([folder])
    assert [r.outcome for r in changed] == ["new_version"]
    assert changed[0].version_number == 2
    assert changed[0].document_id == by_key["features.json"].document_id
    versions = ledger.documents.versions("features.json")
    assert [v.version_number for v in versions] == [1, 2]
    with ledger.documents.open("features.json", 1) as old:
        assert old.read() == (EXAMPLES / "features.json").read_bytes()
    with ledger.documents.open("features.json") as new:
        assert new.read() == b'{"changed": true}'
    assert counts(ledger) == (5, 6, 6)


def test_bytes_and_streams(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    first = ledger.documents.create(b"%PDF-1.4 not really", external_key="scan.txt")
    assert first.media_type == "application/pdf"  # content wins over the name
    assert first.page_count is None
    assert first.warnings
    same = ledger.documents.create(io.BytesIO(b"%PDF-1.4 not really"), external_key="scan.txt")
    assert same.outcome == "unchanged"
    assert same.version_id == first.version_id
    # bytes given only a key are named by it: its suffix tells a CSV from prose
    table = ledger.documents.create(b"zone,state\nC2,wet\n", external_key="reports/zones.csv")
    assert table.media_type == "text/csv"
    named = ledger.documents.create(b"zone,state\nC3,dry\n", external_key="z", filename="z.tsv")
    assert named.media_type == "text/tab-separated-values"  # a filename given wins
    anonymous = ledger.documents.create(b"some text")
    assert anonymous.media_type == "text/plain"
    assert anonymous.external_key == f"sha256/{hashlib.sha256(b'some text').hexdigest()}"
    # Large sources stream through the store in one pass.
    monkeypatch.setattr(staging_mod, "SMALL_FILE", 16)
    payload = os.urandom(3 * 1024 * 1024 + 7)
    big = ledger.documents.create(io.BytesIO(payload), external_key="big.bin")
    assert big.sha256 == hashlib.sha256(payload).hexdigest()
    assert big.size_bytes == len(payload)
    with ledger.documents.open("big.bin") as stored:
        assert stored.read() == payload


def test_zero_byte_files_are_stored_once(ledger: Ledger, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"")
    (tmp_path / "b.txt").write_bytes(b"")
    results = ledger.documents.create_from_paths([tmp_path / "a.txt", tmp_path / "b.txt"])
    assert [r.outcome for r in results] == ["added", "added"]
    assert results[0].sha256 == results[1].sha256 == hashlib.sha256(b"").hexdigest()
    assert counts(ledger) == (2, 2, 1)
    (tmp_path / "c.pdf").write_bytes(b"")
    (tmp_path / "d.png").write_bytes(b"")
    empty = ledger.documents.create_from_paths([tmp_path / "c.pdf", tmp_path / "d.png"])
    # nothing says what an empty file is; it is not text because it has no bytes
    assert [r.media_type for r in [*results, *empty]] == ["text/plain"] * 2 + [
        "application/octet-stream"
    ] * 2
    assert all("empty file" in r.warnings[0] for r in [*results, *empty])


@pytest.mark.parametrize("key", ["../up.txt", "a/../../b", "/etc/passwd", "C:/x", "a\x00b", ""])
def test_escaping_keys_are_refused(ledger: Ledger, key: str) -> None:
    with pytest.raises(InvalidInput):
        ledger.documents.create(b"x", external_key=key)
    assert counts(ledger)[:2] == (0, 0)


def test_keys_are_normalised(ledger: Ledger) -> None:
    assert ledger.documents.create(b"x", external_key="./a//b/./c.txt").external_key == "a/b/c.txt"
    assert ledger.documents.create(b"x", external_key="a\\b\\c.txt").external_key == "a/b/c.txt"


def test_bad_paths(ledger: Ledger, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no such file"):
        ledger.documents.create_from_paths([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput, match="nothing to add"):
        ledger.documents.create_from_paths([tmp_path / "empty"])
    good = tmp_path / "ok.txt"
    good.write_text("fine")
    with pytest.raises(InvalidInput):  # one bad path: nothing at all is written
        ledger.documents.create_from_paths([good, tmp_path / "missing"])
    assert counts(ledger) == (0, 0, 0)


def test_symlink_loops_dangling_links_and_bad_names_fail_alone(
    ledger: Ledger, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text("good")
    os.symlink(folder / "loop1", folder / "loop2")
    os.symlink(folder / "loop2", folder / "loop1")
    os.symlink(tmp_path / "nowhere", folder / "dangling")
    os.symlink(folder, folder / "self")  # a folder link: not followed, so no loop
    bad_name = os.fsencode(folder) + b"/caf\xe9.txt"
    with open(bad_name, "wb") as handle:
        handle.write(b"latin-1 name")
    results = {r.source: r for r in ledger.documents.create_from_paths([folder], recursive=True)}
    assert results[str(folder / "good.txt")].outcome == "added"
    failed = {k: r for k, r in results.items() if r.outcome == "failed"}
    assert len(failed) == 4
    assert all(r.error for r in failed.values())
    assert any("UTF-8" in (r.error or "") for r in failed.values())
    assert any("symbolic links" in (r.error or "") for r in failed.values())
    assert counts(ledger) == (1, 1, 1)


def test_corrupt_pdf_is_stored_with_unknown_pages(ledger: Ledger, tmp_path: Path) -> None:
    pdf = (EXAMPLES / "invoice-and-plan.pdf").read_bytes()
    (tmp_path / "broken.pdf").write_bytes(pdf[: len(pdf) // 3])
    (result,) = ledger.documents.create_from_paths([tmp_path / "broken.pdf"])
    assert result.outcome == "added"
    assert result.page_count is None
    assert result.warnings
    assert ledger.documents.version("broken.pdf").page_count is None


def test_unknown_workspace_writes_nothing(ledger: Ledger, blob_root: Path) -> None:
    with pytest.raises(NotFound):
        ledger.documents.create_from_paths([EXAMPLES], workspace="nope")
    with pytest.raises(NotFound):
        ledger.documents.create(b"x", workspace="nope")
    assert counts(ledger) == (0, 0, 0)
    assert not list(ledger.blobs.iter_shas())


def test_workspaces_are_separate(ledger: Ledger) -> None:
    ledger.workspaces.create("other")
    a = ledger.documents.create(b"same", external_key="k")
    b = ledger.documents.create(b"same", external_key="k", workspace="other")
    assert a.document_id != b.document_id
    assert b.outcome == "added"
    assert ledger.documents.get("k", workspace="other").id == b.document_id
    assert [d.id for d in ledger.documents.list(workspace="other").items] == [b.document_id]


def test_status_machine(ledger: Ledger) -> None:
    doc = ledger.documents.create(b"x", external_key="d").document_id
    assert doc is not None
    assert ledger.documents.set_status(doc, "processing").status == "processing"
    assert ledger.documents.set_status(doc, "completed").status == "completed"
    with pytest.raises(InvalidTransition):
        ledger.documents.set_status(doc, "uploaded")
    with pytest.raises(InvalidInput):
        ledger.documents.set_status(doc, "exploded")
    assert ledger.documents.get(doc).status == "completed"


def test_metadata_tags_and_keyset_listing(ledger: Ledger) -> None:
    ids = []
    for i in range(25):
        r = ledger.documents.create(f"doc {i}".encode(), external_key=f"d{i:02d}")
        ids.append(r.document_id)
    ledger.documents.update("d03", metadata={"a": 1}, add_tags=["invoice", "2026"])
    doc = ledger.documents.update("d03", metadata={"b": 2}, remove_tags=["2026"], title="Three")
    assert doc.meta == {"a": 1, "b": 2}
    assert doc.tags == ["invoice"]
    assert doc.title == "Three"
    ledger.documents.update("d07", add_tags=["invoice"])
    tagged = ledger.documents.list(tag="invoice").items
    assert [d.external_key for d in tagged] == ["d07", "d03"]
    seen = []
    cursor = None
    while True:
        page = ledger.documents.list(limit=10, cursor=cursor)
        seen.extend(d.id for d in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    with pytest.raises(InvalidInput):
        ledger.documents.list(cursor="garbage!")
    with pytest.raises(InvalidInput):
        ledger.documents.list(status="lost")


def test_rm_then_gc_then_verify(ledger: Ledger) -> None:
    from docledger.services import maintenance  # noqa: PLC0415

    kept = ledger.documents.create(b"kept", external_key="kept")
    gone = ledger.documents.create(b"gone", external_key="gone")
    ledger.documents.delete("gone")
    with pytest.raises(NotFound):
        ledger.documents.get("gone")
    young = maintenance.gc(ledger.engine, ledger.blobs)  # default grace: nothing is old enough
    assert young.deleted_blobs == 0
    dry = maintenance.gc(ledger.engine, ledger.blobs, dry_run=True, grace_s=0)
    assert dry.unreferenced_rows == 1
    assert ledger.blobs.exists(gone.sha256 or "")
    report = maintenance.gc(ledger.engine, ledger.blobs, grace_s=0)
    assert (report.unreferenced_rows, report.deleted_blobs) == (1, 1)
    assert not ledger.blobs.exists(gone.sha256 or "")
    assert ledger.blobs.exists(kept.sha256 or "")
    assert maintenance.verify(ledger.engine, ledger.blobs).ok

    path = ledger.blobs.path(kept.sha256 or "")  # type: ignore[attr-defined]
    path.write_bytes(b"tampered")
    bad = maintenance.verify(ledger.engine, ledger.blobs)
    assert bad.corrupt == [kept.sha256]
    path.unlink()
    assert maintenance.verify(ledger.engine, ledger.blobs).missing == [kept.sha256]


def test_concurrent_ingest_of_the_same_key(ledger: Ledger) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            ledger.documents.create(f"content {n % 2}".encode(), external_key="shared")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    versions = ledger.documents.versions("shared")
    assert len(versions) == 2
    assert sorted(v.version_number for v in versions) == [1, 2]
    assert counts(ledger)[0] == 1


def test_reverting_to_older_content_makes_that_version_current(ledger: Ledger) -> None:
    one = ledger.documents.create(b"first", external_key="k")
    two = ledger.documents.create(b"second", external_key="k")
    back = ledger.documents.create(b"first", external_key="k")
    assert (one.outcome, two.outcome, back.outcome) == ("added", "new_version", "reverted")
    assert back.version_id == one.version_id
    assert ledger.documents.get("k").current_version == 1
    with ledger.documents.open("k") as current:
        assert current.read() == b"first"
    assert ledger.documents.create(b"first", external_key="k").outcome == "unchanged"
    assert [v.version_number for v in ledger.documents.versions("k")] == [1, 2]


def _expand_as_nobody(folder: Path) -> list[Any]:
    """expand_paths in a child process that runs as ``nobody`` (root reads every folder)."""

    def child(out: Any) -> None:
        os.setgid(65534)
        os.setuid(65534)
        out.put(expand_paths([folder], recursive=True))

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    process = ctx.Process(target=child, args=(queue,))
    process.start()
    found = queue.get(timeout=30)
    process.join(30)
    return list(found)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a child as nobody")
def test_an_unreadable_folder_is_a_failure_and_sync_keeps_its_documents(ledger: Ledger) -> None:
    """Issue 13: a folder without read permission is a failed entry (not silently skipped),
    and a folder sync never deletes the documents it could not see."""
    root = Path(tempfile.mkdtemp(prefix="docledger-perm-"))
    try:
        root.chmod(0o755)
        (root / "ok.txt").write_text("readable")
        (root / "secret").mkdir()
        (root / "secret" / "a.txt").write_text("hidden")
        ledger.documents.create_from_paths([root], recursive=True)  # as root: both files
        (root / "secret").chmod(0o000)
        sources = _expand_as_nobody(root)
        results = ledger.documents.create_many(sources)
        failed = [r for r in results if r.outcome == "failed"]
        assert [(r.external_key, r.error) for r in failed] == [
            ("secret/", "cannot read folder: Permission denied")
        ]
        assert [r.outcome for r in results if r.outcome != "failed"] == ["unchanged"]
        removed = ledger.documents.mark_deleted(
            present_keys(sources), keep_prefixes=unreadable_prefixes(sources)
        )
        assert removed == []
        assert {d.external_key for d in ledger.documents.list().items} == {"ok.txt", "secret/a.txt"}
    finally:
        (root / "secret").chmod(0o755)
        shutil.rmtree(root)


def test_a_file_rewritten_while_it_is_added_fails_instead_of_being_stored_torn(
    ledger: Ledger, tmp_path: Path
) -> None:
    """Issue 13: the file changes between the read and the commit (another program writes
    it): that file fails with a clear message; added again, it is stored whole."""
    target = tmp_path / "growing.log"
    target.write_bytes(b"first half\n")

    class WriterMeanwhile:
        def __init__(self, inner: Any) -> None:
            self.inner = inner
            self.armed = True

        def put_bytes(self, data: bytes) -> StoredBlob:
            stored = self.inner.put_bytes(data)
            if self.armed:  # another program appends right after our read
                self.armed = False
                with target.open("ab") as handle:
                    handle.write(b"second half\n")
            return stored

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    racing = Ledger(ledger.settings, ledger.engine, WriterMeanwhile(ledger.blobs))  # type: ignore[arg-type]
    (result,) = racing.documents.create_from_paths([target])
    assert result.outcome == "failed"
    assert "changed while it was being read" in (result.error or "")
    (again,) = racing.documents.create_from_paths([target])
    assert again.outcome == "added"
    with ledger.documents.open("growing.log") as handle:
        assert handle.read() == b"first half\nsecond half\n"


def test_image_pages_are_counted_at_ingest(ledger: Ledger, tmp_path: Path) -> None:
    """A TIFF's frames, one page for any other image (an animation is read by its first
    frame), and an image whose header cannot be read stored with a warning saying why; big
    files (streamed into the store) are counted too."""
    from PIL import Image  # noqa: PLC0415

    frames = [Image.new("L", (60, 40), shade) for shade in (0, 120, 240)]
    tiff, gif = io.BytesIO(), io.BytesIO()
    frames[0].save(tiff, format="TIFF", save_all=True, append_images=frames[1:])
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:])
    assert ledger.documents.create(tiff.getvalue(), external_key="scan.tif").page_count == 3
    assert ledger.documents.create(gif.getvalue(), external_key="moving.gif").page_count == 1
    broken = ledger.documents.create(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, external_key="x.png")
    assert broken.media_type == "image/png"
    assert broken.page_count is None
    assert broken.warnings == [
        "cannot read the image: not a format Pillow can read: stored, page count unknown"
    ]
    big = tmp_path / "big.tif"
    noise = Image.frombytes("L", (3000, 3000), os.urandom(9_000_000))
    noise.save(big, format="TIFF", save_all=True, append_images=[noise])
    assert big.stat().st_size > staging_mod.SMALL_FILE
    (result,) = ledger.documents.create_from_paths([big])
    assert (result.outcome, result.page_count) == ("added", 2)
    assert ledger.documents.version(result.document_id).page_count == 2
