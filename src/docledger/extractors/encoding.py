"""Text in the encoding it was written in.

Text files from the world are not all UTF-8: a CSV saved by a Windows spreadsheet in
Portugal or Poland is in cp1252 or cp1250, a Russian page in KOI8-R or cp1251, a Japanese
one in Shift JIS, and "Unicode" in Windows tools means UTF-16 with a byte-order mark.
Decoding them all as UTF-8 replaced every accented letter and left such files unsearchable
(and the sniffer did not even call them text). The order: a byte-order mark says the
encoding outright; bytes that are valid UTF-8 are UTF-8 (nearly no text in another encoding
is); anything else is handed to charset-normalizer, which picks the encoding whose decoding
reads most like language, and among readings nearly as good this prefers the encoding text
in the detected language is usually written in (``_likeliest``). On chardet's test files
(424 real pages in 50 encodings) that gives the exact text for 410, the detector's own
first choice 407; the rest come out in a sibling encoding (ISO-8859-2 as cp1250, a letter
or two apart). ISO-2022 (Japanese and Korean mail) is 7-bit, so valid UTF-8, and its escape
bytes made it look like binary: it is recognised by its designation sequences first.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

#: Byte-order marks, longest first (UTF-32-LE's begins with UTF-16-LE's).
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def bom_encoding(data: bytes) -> str | None:
    """The encoding a byte-order mark at the start names, if any."""
    for mark, name in BOMS:
        if data.startswith(mark):
            return name
    return None


def detect(data: bytes) -> str | None:
    """The encoding of ``data`` as text, or None when it does not read as text at all (a
    binary file may well begin with a byte-order mark or be valid UTF-8 for a while)."""
    # valid UTF-8 holds NULs only when it is not UTF-8 text (UTF-16 of ASCII, binary)
    found = bom_encoding(data) or _iso2022(data) or (None if b"\x00" in data else _utf8(data))
    if found is None:
        from charset_normalizer import from_bytes  # noqa: PLC0415 - only non-UTF-8 pays

        found = _likeliest(from_bytes(data, cp_exclusion=list(NEVER)))
    # judged on a sample: a check per character costs seconds on a file of megabytes
    if found is None or not _reads_as_text(data[:SAMPLE].decode(found, errors="replace")):
        return None
    return found


#: Encodings no file met today is written in, whose readings of binary data or of Latin-1
#: text the detector ranked first (a Photoshop file as text, Finnish with wrong letters).
NEVER = ("hp_roman8",)
_WESTERN = ("cp1252", "latin_1", "iso8859_15")
_CENTRAL = ("cp1250", "iso8859_2")
_CYRILLIC = ("cp1251", "koi8_r", "iso8859_5", "koi8_u")
#: The legacy encodings text in each language was written in (Windows code page first), by
#: the language names charset-normalizer reports.
LEGACY: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("English", "German", "French", "Dutch", "Italian", "Spanish",
                     "Portuguese", "Swedish", "Norwegian", "Finnish", "Danish",
                     "Indonesian"), _WESTERN),
    **dict.fromkeys(("Polish", "Czech", "Hungarian", "Romanian", "Slovene", "Slovak",
                     "Croatian"), _CENTRAL),
    **dict.fromkeys(("Russian", "Bulgarian", "Ukrainian", "Serbian", "Kazakh"), _CYRILLIC),
    "Turkish": ("cp1254", "iso8859_9"),
    "Greek": ("cp1253", "iso8859_7"),
    "Hebrew": ("cp1255", "iso8859_8"),
    **dict.fromkeys(("Arabic", "Farsi"), ("cp1256", "iso8859_6")),
    **dict.fromkeys(("Lithuanian", "Estonian"), ("cp1257", "iso8859_13")),
    "Vietnamese": ("cp1258",),
}  # fmt: skip


_HIGH = bytes(range(0x80, 0x100))
#: Bytes of a text checked for control characters (enough to tell text from binary).
SAMPLE = 65_536
#: Fewer bytes outside ASCII than this are too little for the detector to go on.
FEW = 16


def _likeliest(matches: Any) -> str | None:
    """The detector's pick, unless a nearly as good reading is in an encoding text in its
    language is usually written in: single-byte encodings differ in a few letters only, and
    the detector cannot always tell them apart (a Portuguese ISO-8859-1 file read as cp1250
    and cp1252 alike well, and cp1250 turns its "ã" and "õ" into "ă" and "ő"). With no
    evidence of a language at all, Windows' Western code page, as browsers assume."""
    best = matches.best()
    if best is None:
        return None
    raw = bytes(best.raw)
    if (
        best.percent_coherence < 1.0
        and len(raw) - len(raw.translate(None, _HIGH)) < FEW
        and _reads_as_text(raw.decode("cp1252", "replace"))
    ):
        # next to no evidence ("São Paulo" reads as Big5 as readily as anything): the
        # default browsers use for legacy text, Windows' Western code page
        return "cp1252"
    near = [
        m
        for m in matches
        if m.percent_chaos <= best.percent_chaos + 1.0
        and m.percent_coherence >= best.percent_coherence - 10.0
    ]
    for match in near:
        usual = LEGACY.get(match.language, ())
        for name in (match.encoding, *match.could_be_from_charset):
            if name in usual:
                return str(name)
    return str(best.encoding)


#: The escape sequences that switch ISO-2022 text into a character set: JIS X 0208 / 0212 /
#: GB 2312 / KS C 5601 two-byte sets, JIS-Roman and half-width katakana.
_DESIGNATION = re.compile(rb"\x1b\$[@AB]|\x1b\$\([@ABCD]|\x1b\$\)C|\x1b\([BIJ]")


def _iso2022(data: bytes) -> str | None:
    """The ISO-2022 variant 7-bit ``data`` decodes in without error, if it designates a
    character set at all (ESC is no byte of ordinary text)."""
    if b"\x1b" not in data or not data.isascii() or not _DESIGNATION.search(data[:SAMPLE]):
        return None
    for name in ("iso2022_kr", "iso2022_jp_2") if b"\x1b$)C" in data else ("iso2022_jp_2",):
        try:
            data.decode(name)
        except UnicodeDecodeError:
            continue
        return name
    return None


def _utf8(data: bytes) -> str | None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        cut = exc.start >= len(data) - 3 and exc.reason == "unexpected end of data"
        return "utf-8" if cut else None  # a character cut at the end of a sniffed window
    return "utf-8"


#: Share of a text's characters that may be control or replacement characters.
NOISE = 0.02
#: Control characters but tab, line feed, form feed, vertical tab and carriage return; C1
#: controls; replacement characters; lone surrogates (a regular expression: a check per
#: character in Python cost a megabyte of text 0.1 s).
_NOISE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd\ud800-\udfff]")


def _reads_as_text(text: str) -> bool:
    """Few control or replacement characters, and no NUL: text holds none once decoded
    (UTF-16's zero bytes are part of its characters), binary data usually does."""
    if not text:
        return True
    if "\x00" in text:
        return False
    return len(_NOISE.findall(text)) <= NOISE * len(text)


def decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was read in (UTF-8, with replacement characters, when
    nothing reads it as text); NUL characters dropped (no column holds them)."""
    encoding = detect(data) or "utf-8"
    text = data.decode(encoding, errors="replace")
    return text.removeprefix("\ufeff").replace("\x00", ""), encoding


def looks_textual(head: bytes, complete: bool = False) -> bool:
    """Whether the first bytes of a file read as text in some encoding. A window cut
    through a two-byte character (Shift JIS, Big5, EUC) reads as no encoding at all, so an
    incomplete one is tried again without its last bytes."""
    tries = [head] if complete else [head[: len(head) - n] for n in range(4)]
    return any(detect(part) is not None for part in tries if part)


#: Labels pages and feeds declare that Python's codecs do not know, or know as a narrower
#: encoding than browsers decode them with (the WHATWG Encoding Standard's label table).
_LABELS = {
    "x-sjis": "cp932", "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932",
    "ms_kanji": "cp932", "csshiftjis": "cp932", "windows-31j": "cp932",
    "ks_c_5601-1987": "cp949", "euc-kr": "cp949", "korean": "cp949", "windows-949": "cp949",
    "gb2312": "gbk", "x-gbk": "gbk", "csgb2312": "gbk", "chinese": "gbk",
    "big5": "big5hkscs", "x-x-big5": "big5hkscs", "cn-big5": "big5hkscs",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252",
    "x-euc-jp": "euc_jp", "x-mac-roman": "mac_roman", "tis-620": "cp874",
}  # fmt: skip


def codec_for_label(label: str) -> str | None:
    """The codec a browser decodes a declared charset label with; None when unknown."""
    name = label.strip().lower()
    if name in _LABELS:
        return _LABELS[name]
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None
