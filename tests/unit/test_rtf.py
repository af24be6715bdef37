"""RTF documents: oletools' RTF files (the RTF 1.7 specification itself, 2 MB with tables,
fields, pictures and embedded objects, and a decoy document) read by the rtf extractor and by
striprtf (the independent reading): every word striprtf reads is read (striprtf also leaks
picture data, which is not text), the words read are in the file as written, and the
specification's headings become sections. Then what the corpus does not hold, each in a
few bytes: Unicode escapes with fallbacks and surrogate pairs, code pages per font, fields,
binary data, footnotes, and files that are not RTF."""

from __future__ import annotations

import random
import re

import pytest
from striprtf.striprtf import rtf_to_text

from docledger.errors import InvalidInput
from docledger.extractors import RtfExtractor, for_media_type
from docledger.extractors.rtf import read
from docledger.services.media import sniff
from tests.corpus import fetched, real_rtf

_PICTURE_DATA = re.compile(r"[0-9a-f]{30,}")
#: control words, hex escapes, control symbols, braces and line ends
_MARKUP = re.compile(rb"\\'[0-9a-fA-F]{2}|\\[a-zA-Z]+-?\d* ?|\\.|[{}\r\n]")


def test_every_real_rtf_reads_every_word_striprtf_reads_and_no_word_it_invents() -> None:
    files = fetched(real_rtf, "real-RTF")
    assert len(files) >= 2
    for path in files:
        data = path.read_bytes()
        assert sniff(data[:4096]) == "application/rtf", path.name
        assert isinstance(for_media_type("application/rtf"), RtfExtractor)
        text, _marks, _end = read(data)
        ours = set(re.findall(r"\w+", text))
        theirs = set(re.findall(r"\w+", rtf_to_text(data.decode("latin-1"), errors="ignore")))
        missing = {w for w in theirs - ours if not _PICTURE_DATA.fullmatch(w)}
        assert missing == set(), (path.name, sorted(missing)[:20])
        # the file's characters with the markup cut out: a word split by markup
        # ("\\wbitmap{\\i N}") is whole again, and every word read must be in it
        bare = _MARKUP.sub(b"", data.replace(b"\\\\", b"\x00"))
        for word in ours:
            if word.isascii() and len(word) >= 3:
                assert word.encode() in bare, (path.name, word)


def test_the_specification_is_sectioned_by_its_headings() -> None:
    (spec,) = [p for p in fetched(real_rtf, "real-RTF") if "Spec" in p.name]
    segments = RtfExtractor().extract(spec.read_bytes(), {})
    sections = [s.label for s in segments if s.kind == "section"]
    assert len(sections) >= 100
    for heading in (
        "Introduction",
        "RTF Syntax",
        "Font Table",
        "Style Sheet",
        "Pictures",
        "Fields",
    ):
        assert heading in sections, heading
    assert "Microsoft®" in (segments[0].text or "")  # \'ae in the document's code page
    assert sum(s.kind == "chunk" for s in segments) > 100


def test_escapes_fonts_fields_binary_and_notes() -> None:
    text, marks, _ = read(
        rb"{\rtf1\ansi\ansicpg1252{\fonttbl{\f0\fcharset204 A;}{\f1\fcharset0 B;}}"
        rb"{\info{\title Not text}}\pard\outlinelevel0 Heading\par\pard "
        rb"\f0\'cf\'f0\'e8\f1 caf\'e9 \u8364? \uc2\u-10179??\u-8704?? "
        rb"{\field{\*\fldinst HYPERLINK x}{\fldrslt shown}} {\*\unknown hidden}"
        rb"{\footnote the note} \bin4 {}\\ end\par}"
    )
    body = "Heading\n\u041f\u0440\u0438café € 😀 shown   end"  # \f1's space is its delimiter
    assert text == body + "\n\nthe note"
    assert marks == [(0, "Heading"), (len(body) + 2, "footnotes")]
    odd, _, _ = read(rb"{\rtf1 \u99999999? \u-99999? kept}")
    assert odd == "\ufffd \ufffd kept"  # out of range: replaced, never an error


def test_damaged_rtf_is_read_or_refused_clearly() -> None:
    """Cut and flipped variants of the real files (300 each): text or an
    InvalidInput, never another error (unbalanced braces, escapes cut in half, huge numbers,
    a \\bin past the end)."""
    rng = random.Random(5)
    texts = 0
    for path in fetched(real_rtf, "real-RTF"):
        data = path.read_bytes()[:60_000]
        for n in range(300):
            damaged = bytearray(data[: rng.randrange(1, len(data))] if n % 2 else data)
            for _ in range(rng.randrange(1, 30)):
                damaged[rng.randrange(len(damaged))] = rng.choice(b"{}\\'0123456789-*abuxn ")
            try:
                texts += bool(read(bytes(damaged))[0])
            except InvalidInput:
                continue
    # measured 386 of 600: a cut inside the specification's first 60 KB (mostly its font and
    # style tables) can leave no text at all
    assert texts >= 300


def test_what_is_not_rtf_is_refused_clearly() -> None:
    with pytest.raises(InvalidInput, match=r"does not start with \{\\rtf"):
        RtfExtractor().extract(b"plain text named .rtf", {})
    with pytest.raises(InvalidInput, match="nested too deeply"):
        read(b"{\\rtf1 " + b"{" * 5000 + b"x" + b"}" * 5000 + b"}")


def test_nuls_are_not_text() -> None:
    """A NUL written as \\u0 or \\'00 is dropped (the database refuses NUL in text, which
    would fail the whole document)."""
    text, _, _ = read(rb"{\rtf1 a\u0?b\'00c}")  # '?': \u0's fallback, skipped
    assert text == "abc"
