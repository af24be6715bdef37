"""Rich Text Format (``.rtf``): the text a word processor shows, sectioned as Word documents are.

RTF is plain 7-bit text: groups in braces, control words after a backslash, and the text
between. The reader keeps a state per group (which destination it is in, the current font,
how many fallback characters follow a Unicode character) and turns the document into text:
``\\par`` and ``\\line`` end lines, ``\\tab`` and a table's ``\\cell`` are tabs, ``\\row`` ends
a line, ``\\uN`` is a Unicode character (its ``\\ucN`` fallback characters skipped), ``\\'hh``
a byte in the code page of the current font's character set, else the document's
``\\ansicpg``. Destinations that are not text (font, colour and style tables, document
information, pictures, embedded objects' data, field instructions, anything marked ``\\*``
that is not known) are skipped; a field shows its result. Footnotes, headers and footers are
collected apart and follow the body as sections of their own (``metadata.part``), as the
docx extractor does. Paragraphs with an outline level (Word writes one for its heading
styles) start sections. Facts from the RTF 1.9.1 specification.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from docledger.errors import InvalidInput
from docledger.extractors.text import TextExtractor, with_parts
from docledger.schemas.extraction import SegmentIn

MEDIA_TYPE = "application/rtf"
#: Groups nested deeper than this are refused (no word processor writes near it).
MOST_DEPTH = 1_000
_TOKEN = re.compile(
    rb"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?|\\'([0-9a-fA-F]{2})|\\(.)|([{}])|([\r\n]+)|([^\\{}\r\n]+)",
    re.DOTALL,
)
#: destinations whose text is not the document's
_SKIPPED_WORDS = (
    "fonttbl colortbl stylesheet info pict object objdata fldinst themedata "
    "colorschememapping datastore latentstyles xmlnstbl listtable listoverridetable rsidtbl "
    "generator filetbl revtbl pgdsctbl listtext pntext pntxta pntxtb bkmkstart bkmkend xe "
    "tc txe private userprops docvar template mmathPr wgrffmtfilter fchars lchars blipuid "
    "nonshppict shpinst sp sn sv atnid atnauthor annotation atrfstart atrfend protusertbl "
    "password passwordhash operator author title subject keywords comment doccomm company"
)
_SKIPPED = frozenset(_SKIPPED_WORDS.split())
#: destinations collected apart, and the part each is
_PARTS = {
    "footnote": "footnotes",
    "header": "headers",
    "headerl": "headers",
    "headerr": "headers",
    "headerf": "headers",
    "footer": "footers",
    "footerl": "footers",
    "footerr": "footers",
    "footerf": "footers",
}
_TEXT_WORDS = {
    "par": "\n",
    "line": "\n",
    "sect": "\n",
    "page": "\n",
    "row": "\n",
    "tab": "\t",
    "cell": "\t",
    "emdash": "\u2014",
    "endash": "\u2013",
    "bullet": "\u2022",
    "lquote": "\u2018",
    "rquote": "\u2019",
    "ldblquote": "\u201c",
    "rdblquote": "\u201d",
    "emspace": " ",
    "enspace": " ",
    "qmspace": " ",
}
_SYMBOLS = {b"~": "\u00a0", b"_": "\u2011", b"-": "", b"\\": "\\", b"{": "{", b"}": "}"}
#: Windows character sets (\fcharset) to code pages
_CHARSETS = {0: 1252, 128: 932, 129: 949, 134: 936, 136: 950, 161: 1253, 162: 1254, 163: 1258,
             177: 1255, 178: 1256, 186: 1257, 204: 1251, 222: 874, 238: 1250}  # fmt: skip


@dataclass(frozen=True)
class _State:
    """What a group inherits from the one around it."""

    skip: bool = False
    part: str = "body"
    font: int | None = None
    uc: int = 1  # fallback characters after each \uN
    in_fonttbl: bool = False


class _Reader:
    def __init__(self) -> None:
        self.parts: dict[str, list[str]] = {"body": [], "footnotes": [], "headers": [],
                                            "footers": []}  # fmt: skip
        self.codepage = "cp1252"
        self.fonts: dict[int, str] = {}
        self.font_number: int | None = None  # the font being declared in the font table
        self.headings: list[int] = []  # body offsets where a heading paragraph starts
        self.paragraph_start = 0
        self.outline = False
        self.pending_bytes = bytearray()
        self.pending_font: int | None = None
        self.to_skip = 0  # fallback characters still to skip after a \uN
        self.length = 0  # of the body so far

    def append(self, part: str, text: str) -> None:
        self.parts[part].append(text)
        if part == "body":
            self.length += len(text)

    def emit(self, state: _State, text: str) -> None:
        if state.skip or not text:
            return
        self.flush(state)
        if self.to_skip:
            drop = min(self.to_skip, len(text))
            text, self.to_skip = text[drop:], self.to_skip - drop
        self.append(state.part, text)

    def byte(self, state: _State, value: int) -> None:
        if state.skip:
            return
        if self.to_skip:
            self.to_skip -= 1
            return
        if self.pending_bytes and self.pending_font != state.font:
            self.flush(state)
        self.pending_font = state.font
        self.pending_bytes.append(value)

    def flush(self, state: _State) -> None:
        """Bytes given as \\'hh, decoded together (a double-byte character is two of them)."""
        if not self.pending_bytes:
            return
        page = self.fonts.get(self.pending_font, self.codepage) if self.pending_font is not None \
            else self.codepage  # fmt: skip
        try:
            text = bytes(self.pending_bytes).decode(page, errors="replace")
        except LookupError:
            text = bytes(self.pending_bytes).decode("cp1252", errors="replace")
        self.pending_bytes.clear()
        self.append(state.part, text)

    def literal(self, raw: bytes) -> str:
        """Text written as is: 7-bit in a proper file, the document's code page otherwise."""
        try:
            return raw.decode(self.codepage, errors="replace")
        except LookupError:
            return raw.decode("cp1252", errors="replace")


def _control(reader: _Reader, state: _State, word: str, arg: int | None) -> _State:
    """A control word's effect: text, or a new state for the rest of the group."""
    if word in _TEXT_WORDS:
        reader.emit(state, _TEXT_WORDS[word])
        if word == "par" and state.part == "body" and not state.skip:
            if reader.outline:
                reader.headings.append(reader.paragraph_start)
            reader.paragraph_start, reader.outline = reader.length, False
        return state
    if word == "u" and arg is not None:
        code = arg + 65536 if arg < 0 else arg
        reader.emit(state, chr(code) if 0 <= code < 65536 else "\ufffd")
        reader.to_skip = state.uc if not state.skip else 0
        return state
    return _destination(state, word) or _property(reader, state, word, arg)


def _destination(state: _State, word: str) -> _State | None:
    """The state of a group that is a destination: skipped, the font table, or a part."""
    if word == "fonttbl":
        return replace(state, skip=True, in_fonttbl=True)
    if word in _SKIPPED:
        return replace(state, skip=True)
    if word in _PARTS and not state.skip:
        return replace(state, part=_PARTS[word])
    return None


def _property(reader: _Reader, state: _State, word: str, arg: int | None) -> _State:
    """Fonts, code pages, fallback counts and outline levels."""
    if word == "uc" and arg is not None:
        return replace(state, uc=max(arg, 0))
    if word == "f" and arg is not None and not state.in_fonttbl:
        return replace(state, font=arg)
    if word == "f" and arg is not None:
        reader.font_number = arg  # the font the table declares next
    elif word == "fcharset" and state.in_fonttbl and reader.font_number is not None:
        if arg in _CHARSETS:
            reader.fonts[reader.font_number] = f"cp{_CHARSETS[arg]}"
    elif word == "ansicpg" and arg is not None:
        reader.codepage = f"cp{arg}"
    elif word in ("outlinelevel", "pard") and state.part == "body":
        reader.outline = word == "outlinelevel"
    return state


class _Parser:
    """Tokens in, text out: the group stack and the \\* flag between tokens."""

    def __init__(self) -> None:
        self.reader = _Reader()
        self.stack: list[_State] = []
        self.state = _State()
        self.ignorable = False  # the group began with \*: an unknown destination is skipped

    def group(self, brace: bytes) -> None:
        if brace == b"{":
            self.stack.append(self.state)
            if len(self.stack) > MOST_DEPTH:
                raise InvalidInput("cannot read the RTF document: its groups are nested too deeply")
            self.ignorable = False
            return
        self.reader.flush(self.state)
        if self.stack:
            self.state = self.stack.pop()

    def word(self, name: str, arg: int | None) -> None:
        if self.ignorable and name not in _PARTS and name != "fldrslt":
            self.state = replace(self.state, skip=True)
        self.ignorable = False
        self.reader.flush(self.state)
        self.state = _control(self.reader, self.state, name, arg)

    def symbol(self, symbol: bytes) -> None:
        if symbol == b"*":
            self.ignorable = True
        elif symbol in (b"\r", b"\n"):
            self.state = _control(self.reader, self.state, "par", None)
        else:
            self.reader.emit(self.state, _SYMBOLS.get(symbol, ""))


def read(data: bytes) -> tuple[str, list[tuple[int, str]], int]:
    """The body's text, then footnotes, headers and footers (a section each); (offset, title)
    per heading and per part after the body; where the body ends."""
    if data.lstrip()[:5] != b"{\\rtf":
        raise InvalidInput("cannot read the RTF document: it does not start with {\\rtf")
    parser = _Parser()
    reader = parser.reader
    pos = 0
    while pos < len(data):
        match = _TOKEN.match(data, pos)
        if match is None:  # a lone backslash at the very end
            break
        pos = match.end()
        word, arg, hexed, symbol, brace, _newline, text = match.groups()
        if brace is not None:
            parser.group(brace)
        elif word == b"bin":
            pos += max(int(arg or 0), 0)  # raw bytes of a picture or object: never text
        elif word is not None:
            parser.word(word.decode("ascii"), int(arg) if arg is not None else None)
        elif hexed is not None:
            reader.byte(parser.state, int(hexed, 16))
        elif symbol is not None:
            parser.symbol(symbol)
        elif text is not None:
            reader.emit(parser.state, reader.literal(text))
    reader.flush(parser.state)
    return _assembled(reader)


def _joined(pieces: list[str]) -> str:
    """Pieces as one text, characters beyond the BMP (written as two \\u surrogates) whole,
    and a surrogate without its pair replaced."""
    text = "".join(pieces).replace("\x00", "")  # \\u0 or \\'00: not text
    if any("\ud800" <= c <= "\udfff" for c in text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def _assembled(reader: _Reader) -> tuple[str, list[tuple[int, str]], int]:
    body = _joined(reader.parts["body"])
    marks: list[tuple[int, str]] = []
    for start in reader.headings:
        stop = body.find("\n", start)
        title = body[start : stop if stop >= 0 else len(body)].strip()
        if title:
            marks.append((start, title[:200]))
    out = [body.rstrip()]
    end = len(out[0])
    offset = end + 2
    for part in ("footnotes", "headers", "footers"):
        text = _joined(reader.parts[part]).strip()
        if text:
            marks.append((offset, part))
            out.append(text)
            offset += len(text) + 2
    return "\n\n".join(out), marks, end + 2


class RtfExtractor(TextExtractor):
    """RTF documents: a ``section`` per heading paragraph, sentence-aware ``chunk``s, then
    footnotes, headers and footers as sections of their own (see
    ``docledger.extractors.rtf``)."""

    name: str = "rtf"
    version: str = "1"
    media_types: tuple[str, ...] = (MEDIA_TYPE, "text/rtf")

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]:
        values = self.check(params)  # the text extractor's params: chunk size and overlap
        text, marks, body_end = read(data)
        return with_parts(text, marks, body_end, values, {p: p for p in _PARTS.values()})
