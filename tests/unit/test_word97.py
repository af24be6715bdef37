"""Word 97-2003 .doc files: every .doc of the legacy Office corpus (file-type detectors'
samples, olefile's, oletools' test files with fields, embedded objects and encryption) read
by the doc extractor. No Python library reads .doc text to compare with, so the check is the
stream itself: every word read is in the WordDocument stream as Word wrote it (8-bit or
UTF-16), a field's instructions never are read, and the contents the projects' own tests
state are read exactly."""

from __future__ import annotations

import re

import olefile
import pytest

from docledger.errors import InvalidInput
from docledger.extractors import Word97Extractor, for_media_type
from docledger.services.media import ole_kind, sniff
from tests.corpus import fetched, real_legacy_office


def _docs() -> list:
    return [p for p in fetched(real_legacy_office, "legacy-Office") if p.suffix == ".doc"]


def _text(data: bytes) -> str:
    return "\n".join(
        s.text or "" for s in Word97Extractor().extract(data, {}) if s.kind == "section"
    )


def test_every_real_doc_reads_words_that_are_in_its_stream() -> None:
    docs = _docs()
    assert len(docs) >= 12
    read = refused = 0
    for path in docs:
        data = path.read_bytes()
        kind = sniff(data[:4096], path.name)
        assert kind == "application/msword", path.name
        assert ole_kind(data) == "application/msword", path.name  # by content, without a name
        assert isinstance(for_media_type(kind), Word97Extractor)
        if "encrypted" in path.name:
            with pytest.raises(InvalidInput, match="encrypted"):
                Word97Extractor().extract(data, {})
            refused += 1
            continue
        text = _text(data)
        assert not re.search(r"[\x00-\x08\x0b-\x1f]", text), path.name  # Word's marks all gone
        stream = olefile.OleFileIO(str(path)).openstream("WordDocument").read()
        for word in set(re.findall(r"\w{3,}", text)):
            assert word.encode("utf-16-le") in stream or word.encode("cp1252") in stream, (
                path.name,
                word,
            )
        read += bool(text)
    assert refused == 1
    assert read >= 7  # four of the files hold only an embedded object or nothing at all


def test_what_the_files_say_is_read_exactly() -> None:
    by_name = {p.name.split("__")[-1]: p for p in _docs()}
    assert _text(by_name["sample.doc"].read_bytes()) == "Sample text document"
    assert _text(by_name["test-ole-file.doc"].read_bytes()) == (
        "Test OLE file, saved as Word 97-2003 Document."
    )
    clean = _text(by_name["harmless-clean.doc"].read_bytes())
    assert clean.startswith("Test\n\nThis is a harmless test document.\n\nIt contains neither")
    assert "ünicöde-ßtringß" in clean  # 8-bit and UTF-16 pieces alike
    # its first paragraph is in the style Word calls "Überschrift 1" in German: a heading
    sections = [s for s in Word97Extractor().extract(by_name["harmless-clean.doc"].read_bytes(),
                                                     {}) if s.kind == "section"]  # fmt: skip
    assert [s.label for s in sections] == ["Test"]
    assert (sections[0].text or "").startswith("Test\n\nThis is a harmless test document.")


def test_a_field_shows_its_result_not_its_instructions() -> None:
    by_name = {p.name.split("__")[-1]: p for p in _docs()}
    data = by_name["dde-test-from-office2016.doc"].read_bytes()
    stream = olefile.OleFileIO(data).openstream("WordDocument").read()
    assert b"DDEAUTO" in stream  # the instructions are there ...
    text = _text(data)
    assert "DDEAUTO" not in text  # ... and not read
    assert "Another field, this time with mean unicode chars (üöä)" in text
    embedded = _text(by_name["embedded-simple-2007.doc"].read_bytes())
    assert "EMBED" not in embedded
    assert embedded.startswith("This document contains an embedded file:")


def test_what_is_not_a_word_document_is_refused_clearly() -> None:
    xls = next(p for p in fetched(real_legacy_office, "legacy-Office") if p.suffix == ".xls")
    with pytest.raises(InvalidInput, match="no WordDocument stream"):
        Word97Extractor().extract(xls.read_bytes(), {})
    with pytest.raises(InvalidInput, match="not an OLE compound file"):
        Word97Extractor().extract(b"PK\x03\x04 not a doc", {})
    good = _docs()[0].read_bytes()
    with pytest.raises(InvalidInput):
        Word97Extractor().extract(good[: len(good) // 2], {})
