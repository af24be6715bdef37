"""Word 97-2003 documents (``.doc``): the text of every story, read from the binary format.

A ``.doc`` is an OLE compound file (read with ``olefile``). Its ``WordDocument`` stream starts
with the File Information Block (FIB), which says which table stream (``0Table`` or
``1Table``) holds the piece table, and how many characters each story has: the main text,
then footnotes, headers and footers, comments, endnotes and text boxes, in that order in one
character sequence. The piece table maps that sequence onto the stream, piece by piece,
each either UTF-16 or 8-bit (Windows-1252) text. Facts from [MS-DOC] sections 2.5 (FIB) and
2.9 (Clx, Pcd).

Word's marks within the text become plain text: a paragraph end (CR), a line, page or
column break a line end; a table cell's end a tab and a row's end a line end; a field keeps
the result it shows (a hyperlink's words, a page number), not its instructions; pictures,
drawn objects and note references, which are anchors without text, are dropped.

Paragraphs in a heading or title style (by their built-in style, so in any language) start
sections (``docledger.extractors.word97_styles``).

Files that are encrypted or obfuscated, and Word 6/95 files (an older FIB), are refused with
an ``InvalidInput`` that says so; so is anything the piece table does not add up for.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Mapping
from typing import Any

from docledger.errors import InvalidInput
from docledger.extractors import compound
from docledger.extractors import word97_styles as styles
from docledger.extractors.text import TextExtractor, with_parts
from docledger.schemas.extraction import SegmentIn

MEDIA_TYPE = "application/msword"
WHAT = "Word 97-2003 document"
#: FibBase.wIdent of a Word binary document
WORD_IDENT = 0xA5EC
#: the first nFib of Word 97; earlier versions lay the FIB out otherwise
WORD97 = 0x00C1
#: the stories after the main text, in their order in the character sequence (FibRgLw97:
#: ccpFtn, ccpHdd, ccpMcr (unused), ccpAtn, ccpEdn, ccpTxbx, ccpHdrTxbx)
STORIES = ("footnotes", "headers", None, "comments", "endnotes", "text boxes", "header text boxes")
#: pair index of fcClx/lcbClx in FibRgFcLcb97
CLX_PAIR = 33
#: the most pieces a piece table may hold (each at least one character)
MOST_PIECES = 1_000_000

_MARKS = {
    "\r": "\n",  # paragraph end
    "\x0b": "\n",  # line break
    "\x0c": "\n",  # page or section break
    "\x0e": "\n",  # column break
    "\x1e": "-",  # non-breaking hyphen
    "\x1f": "",  # optional hyphen
    "\t": "\t",
}
_FIELD_BEGIN, _FIELD_SEPARATOR, _FIELD_END = "\x13", "\x14", "\x15"
_CELL = "\x07"


def _refuse(why: str) -> InvalidInput:
    return compound.refused(WHAT, why)


def _u16(data: bytes, at: int) -> int:
    if at + 2 > len(data):
        raise _refuse("its File Information Block is cut short")
    return int(struct.unpack_from("<H", data, at)[0])


def _u32(data: bytes, at: int) -> int:
    if at + 4 > len(data):
        raise _refuse("its File Information Block is cut short")
    return int(struct.unpack_from("<I", data, at)[0])


class _Fib:
    """What the File Information Block says: the table stream, story lengths, the Clx."""

    def __init__(self, word: bytes) -> None:
        if _u16(word, 0) != WORD_IDENT:
            raise _refuse("its WordDocument stream does not start with a Word header")
        n_fib = _u16(word, 2)
        flags = _u16(word, 0x0A)
        if flags & 0x0100 or flags & 0x8000:
            raise _refuse("it is encrypted (save it without a password, or as .docx)")
        if n_fib < WORD97:
            raise _refuse(f"it is a Word 6/95 file (format {n_fib}); save it as .docx")
        self.table = "1Table" if flags & 0x0200 else "0Table"
        csw = _u16(word, 0x20)
        lw_count_at = 0x22 + 2 * csw
        cslw = _u16(word, lw_count_at)
        lw = lw_count_at + 2
        if cslw < 11:
            raise _refuse("its File Information Block is cut short")
        self.main = _u32(word, lw + 0x0C)
        self.stories = [_u32(word, lw + 0x10 + 4 * n) for n in range(len(STORIES))]
        pairs_count_at = lw + 4 * cslw
        pairs = pairs_count_at + 2
        if _u16(word, pairs_count_at) <= CLX_PAIR:
            raise _refuse("its File Information Block has no piece table")
        self.clx = _u32(word, pairs + 8 * CLX_PAIR)
        self.clx_size = _u32(word, pairs + 8 * CLX_PAIR + 4)
        self.pairs = [(_u32(word, pairs + 8 * n), _u32(word, pairs + 8 * n + 4))
                      for n in range(CLX_PAIR + 1)]  # fmt: skip


def _pieces(table: bytes, at: int, size: int) -> list[tuple[int, int, int, bool]]:
    """(first character, end character, stream offset, 8-bit) of each piece."""
    if size == 0 or at + size > len(table):
        raise _refuse("its piece table lies outside the table stream")
    clx = table[at : at + size]
    pos = 0
    while pos < len(clx) and clx[pos] == 0x01:  # Prc: formatting the pieces share; skipped
        if pos + 3 > len(clx):
            raise _refuse("its piece table is cut short")
        pos += 3 + int(struct.unpack_from("<h", clx, pos + 1)[0])
    if pos + 5 > len(clx) or clx[pos] != 0x02:
        raise _refuse("its piece table is malformed")
    length = int(struct.unpack_from("<I", clx, pos + 1)[0])
    plc = clx[pos + 5 : pos + 5 + length]
    count = (len(plc) - 4) // 12  # n + 1 character positions, then n 8-byte descriptors
    if len(plc) != length or count < 1 or count > MOST_PIECES or (len(plc) - 4) % 12:
        raise _refuse("its piece table is malformed")
    cps = struct.unpack_from(f"<{count + 1}I", plc, 0)
    out = []
    for n in range(count):
        fc = int(struct.unpack_from("<I", plc, 4 * (count + 1) + 8 * n + 2)[0])
        compressed = bool(fc & 0x40000000)
        offset = (fc & 0x3FFFFFFF) // 2 if compressed else fc & 0x3FFFFFFF
        if cps[n + 1] < cps[n]:
            raise _refuse("its piece table is out of order")
        out.append((int(cps[n]), int(cps[n + 1]), offset, compressed))
    return out


def _characters(word: bytes, pieces: list[tuple[int, int, int, bool]], end: int) -> str:
    """Characters [0, end) of the document's character sequence."""
    parts: list[str] = []
    for first, last, offset, compressed in pieces:
        if first >= end:
            break
        count = min(last, end) - first
        width = 1 if compressed else 2
        raw = word[offset : offset + count * width]
        if len(raw) < count * width:
            raise _refuse("a piece of its text lies outside the WordDocument stream")
        parts.append(raw.decode("cp1252", errors="replace") if compressed
                     else raw.decode("utf-16-le", errors="replace"))  # fmt: skip
    return "".join(parts)


def plain(story: str) -> str:
    """A story's characters as text: fields show their results, Word's marks become line
    ends and tabs, anchors without text are dropped."""
    out: list[str] = []
    # per open field: whether its result (after the separator) has begun
    fields: list[bool] = []
    story = story.replace(_CELL + _CELL, "\n")  # a row's last cell end, then the row's end
    for char in story:
        if char == _FIELD_BEGIN:
            fields.append(False)
        elif char == _FIELD_SEPARATOR:
            if fields:
                fields[-1] = True
        elif char == _FIELD_END:
            if fields:
                fields.pop()
        elif fields and not fields[-1]:
            continue  # a field's instructions
        elif char == _CELL:
            out.append("\t")
        elif char in _MARKS:
            out.append(_MARKS[char])
        elif char >= " " and char != "\ufffd":
            out.append(char)
    lines = (line.rstrip() for line in "".join(out).split("\n"))
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()


def _position(pieces: list[tuple[int, int, int, bool]], firsts: list[int], cp: int) -> int:
    """The stream position of character ``cp`` (where its bytes lie); ``firsts``: each
    piece's first character, for a binary search."""
    index = bisect.bisect_right(firsts, cp) - 1
    if index < 0:
        return -1
    first, last, offset, compressed = pieces[index]
    return offset + (cp - first) * (1 if compressed else 2) if cp < last else -1


def _headings(word: bytes, table: bytes, fib: _Fib, pieces: Any, main: str) -> list[str]:
    """The text of each heading paragraph of the main story, in order (none when the
    styles do not add up: they only add sections)."""
    try:
        headings = styles.heading_styles(table, *fib.pairs[styles.STSHF_PAIR])
        if not headings:
            return []
        runs = styles.paragraph_styles(word, table, *fib.pairs[styles.PLCF_BTE_PAPX_PAIR])
    except (struct.error, IndexError, ValueError):
        return []
    out: list[str] = []
    firsts = [piece[0] for piece in pieces]
    start = 0
    for end, char in enumerate(main):
        if char != "\r":
            continue
        if styles.style_at(runs, _position(pieces, firsts, end)) in headings:
            text = plain(main[start:end])
            if text:
                out.append(text)
        start = end + 1
    return out


def _marked(body: str, headings: list[str]) -> list[tuple[int, str]]:
    """Where each heading's line starts in the body's text, in order."""
    marks: list[tuple[int, str]] = []
    pos = 0
    for heading in headings:
        at = body.find(heading, pos)
        while at > 0 and body[at - 1] != "\n":
            at = body.find(heading, at + 1)
        if at < 0:
            continue
        marks.append((at, heading[:200]))
        pos = at + len(heading)
    return marks


def document_text(data: bytes) -> tuple[str, list[tuple[int, str]], int]:
    """The main text followed by each other story that has text (a section each); (offset,
    title) per heading of the main text and per story after it; where the main text ends."""
    with compound.opened(data, WHAT) as ole:
        word = compound.stream(ole, "WordDocument", WHAT)
        fib = _Fib(word)
        table = compound.stream(ole, fib.table, WHAT)
        pieces = _pieces(table, fib.clx, fib.clx_size)
        total = fib.main + sum(fib.stories)
        characters = _characters(word, pieces, total)
        if len(characters) < fib.main:
            raise _refuse("its text is shorter than its header says")
        headings = _headings(word, table, fib, pieces, characters[: fib.main])
    parts = [plain(characters[: fib.main])]
    marks = _marked(parts[0], headings)
    offset = len(parts[0]) + 2
    body_end = offset
    start = fib.main
    for name, count in zip(STORIES, fib.stories, strict=True):
        story = plain(characters[start : start + count])
        start += count
        if name is None or not story:
            continue
        marks.append((offset, name))
        parts.append(story)
        offset += len(story) + 2
    return "\n\n".join(parts), marks, body_end


class Word97Extractor(TextExtractor):
    """Word 97-2003 ``.doc`` files: a ``section`` per heading paragraph of the main text, with
    sentence-aware ``chunk``s, then footnotes, headers and footers, comments, endnotes and
    text boxes as sections of their own (``metadata.part``), as the docx extractor does (see
    ``docledger.extractors.word97``)."""

    name: str = "doc"
    version: str = "1"
    media_types: tuple[str, ...] = (MEDIA_TYPE,)

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]:
        values = self.check(params)  # the text extractor's params: chunk size and overlap
        text, marks, body_end = document_text(data)
        return with_parts(text, marks, body_end, values, {n: n for n in STORIES if n})
