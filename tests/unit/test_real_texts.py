"""Text files in the encodings the world writes them in, on every file of chardet's test
folders (see tests/corpus.py: 425 web pages, feeds, subtitles and mails in 50 encodings, each
folder named after its encoding): the sniffer calls them text, the text extractor reads them
without error, and nearly all come out exactly as their true encoding decodes them."""

from __future__ import annotations

import codecs
import gzip
import io
import os
from collections import Counter
from pathlib import Path

import pytest

from docledger.extractors import JsonExtractor, TextExtractor
from docledger.extractors.encoding import decode, looks_textual
from docledger.services.media import SNIFF_BYTES, sniff
from tests.corpus import fetched, real_texts

#: Folders whose name carries the language after the encoding ("windows-1250-polish").
LANGUAGES = ("-croatian", "-czech", "-hungarian", "-polish", "-slovak", "-slovene", "-romanian",
             "-bulgarian", "-russian", "-arabic", "-greek", "-turkish", "-hebrew")  # fmt: skip


@pytest.fixture(scope="module")
def corpus() -> list[tuple[Path, str]]:
    return fetched(real_texts, "real-text")


def _truth(data: bytes, folder: str) -> str | None:
    """The file as its own encoding decodes it (None where Python has no such codec)."""
    name = folder
    for suffix in LANGUAGES:
        name = name.removesuffix(suffix)
    try:
        codecs.lookup(name)
        return data.decode(name).removeprefix("\ufeff").replace("\x00", "")
    except (LookupError, UnicodeDecodeError):
        return None


def test_real_texts_in_50_encodings_read_as_written(corpus: list[tuple[Path, str]]) -> None:
    assert len(corpus) >= 400
    exact, wrong, binary = 0, [], []
    for path, folder in corpus:
        data = path.read_bytes()
        if sniff(data[:SNIFF_BYTES], path.name) == "application/octet-stream":
            binary.append((folder, path.name))
        segments = TextExtractor().extract(data, {})
        assert segments, path.name
        text, encoding = decode(data)
        truth = _truth(data, folder)
        if truth is None:
            continue
        if text == truth:
            exact += 1
            # what the extractor stored is that text, cut into sections where it says
            for s in segments:
                if s.kind == "section":
                    part = text[s.metadata["start"] : s.metadata["end"]]
                    assert part.strip() == (s.text or "").strip(), path.name
        else:
            wrong.append((folder, path.name, encoding))
    # measured: 413 of 424 exact; the rest in a sibling encoding (ISO-8859-2 read as cp1250,
    # a letter or two apart)
    assert exact >= 405, wrong
    assert len(binary) <= 8, binary
    # the 7-bit ISO-2022 files (Japanese and Korean mail) read exactly: their escape bytes
    # made them binary, and they decoded as UTF-8 with the escapes left in
    iso2022 = [(p, f) for p, f in corpus if f.startswith("iso-2022")]
    assert len(iso2022) >= 3  # two Japanese, one Korean
    for path, folder in iso2022:
        data = path.read_bytes()
        assert decode(data)[0] == _truth(data, folder), path.name
        assert sniff(data[:SNIFF_BYTES], path.name) != "application/octet-stream", path.name
    # every Unicode form, with a byte-order mark or without, reads exactly
    unicode_forms = Counter(f for f, _, _ in wrong if f.upper().startswith("UTF"))
    assert not unicode_forms, unicode_forms


def test_western_legacy_files_keep_their_accents(corpus: list[tuple[Path, str]]) -> None:
    """The encodings a Portuguese or French team's old CSVs are in: every ISO-8859-1 and
    windows-1252 file of the corpus reads exactly (the detector alone read Portuguese
    ISO-8859-1 as cp1250, turning "ã" into "ă")."""
    western = [(p, f) for p, f in corpus if f in {"iso-8859-1", "windows-1252"}]
    assert len(western) >= 10
    misread = [p.name for p, f in western if decode(p.read_bytes())[0] != _truth(p.read_bytes(), f)]
    assert len(misread) <= 1, misread  # one Finnish ISO-8859-1 mail reads as another Latin set


def test_a_latin1_csv_and_a_utf16_note_are_text() -> None:
    csv = "documento;revisão;situação\nplanta-baixa.pdf;3;aprovação pendente\n".encode("cp1252")
    assert sniff(csv, "revisão.csv", complete=True) == "text/csv"
    (section, *_) = TextExtractor().extract(csv, {})
    assert "aprovação pendente" in (section.text or "")
    assert section.metadata["encoding"] == "cp1252"
    note = "# Inspeção\n\nPorta corta-fogo D7 não fecha.\n".encode("utf-16")
    assert sniff(note, "nota.md", complete=True) == "text/markdown"
    (section, *_) = TextExtractor().extract(note, {})
    assert section.label == "Inspeção"
    assert section.metadata["encoding"] == "utf-16"
    marked = b"\xef\xbb\xbf# Title\n\nBody.\n"
    (section, *_) = TextExtractor().extract(marked, {})
    assert section.label == "Title"  # the byte-order mark no longer hides the heading
    assert "encoding" not in section.metadata or section.metadata["encoding"] == "utf-8-sig"
    data = '{"zona": "São Paulo"}'.encode("cp1252")
    (record,) = JsonExtractor().extract(data, {})
    assert record.text == '"São Paulo"'


def test_binary_data_is_not_text() -> None:
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb") as out:
        out.write(os.urandom(20_000))
    compressed = gz.getvalue()[10:]  # without the signature the sniffer knows
    for data in (compressed[:SNIFF_BYTES], os.urandom(SNIFF_BYTES), os.urandom(500)):
        assert not looks_textual(data)
        assert sniff(data, "x.bin") == "application/octet-stream"
    # a byte-order mark in front of binary data does not make it text
    assert not looks_textual(codecs.BOM_UTF16_LE + os.urandom(SNIFF_BYTES))
