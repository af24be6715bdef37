"""Outlook messages (``.msg``): the mail Windows users save, read as ``.eml`` mail is.

A ``.msg`` is not MIME but an OLE compound file (read with ``olefile``) holding the message's
MAPI properties as streams named by property tag (``__substg1.0_<id><type>``): the subject,
the sender, the recipients as displayed, the plain and HTML bodies, the transport headers
(which carry the Date), and a storage per attachment (its file name, type and bytes, or a
whole embedded message). Text properties are UTF-16 (type ``001F``) or, in old files, 8-bit
in the message's code page (``001E``). The result is what the mail extractor gives
(``docledger.extractors.mail``): a section per message (embedded messages too) whose text is
From, To, Cc, Date, Subject and then the body, with sender, recipients, ISO date and the
attachments listed in the metadata.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from docledger.extractors import compound
from docledger.extractors.encoding import decode
from docledger.extractors.html import visible_text
from docledger.extractors.mail import entry, mail_segments
from docledger.extractors.text import TextExtractor
from docledger.schemas.extraction import SegmentIn

MEDIA_TYPE = "application/vnd.ms-outlook"
WHAT = "Outlook message"
#: MAPI property ids (MS-OXPROPS) of what a reader sees.
SUBJECT, SENDER_NAME, SENDER_EMAIL, DISPLAY_TO, DISPLAY_CC = 0x0037, 0x0C1A, 0x0C1F, 0x0E04, 0x0E03
BODY, HTML_BODY, HEADERS, CODEPAGE = 0x1000, 0x1013, 0x007D, 0x3FFD
ATTACH_LONG_NAME, ATTACH_NAME, ATTACH_MIME, ATTACH_DATA, ATTACH_DISPLAY = (
    0x3707, 0x3704, 0x370E, 0x3701, 0x3001)  # fmt: skip
#: Embedded messages followed at most this deep, attachments listed at most this many.
MOST_DEPTH, MOST_LISTED = 10, 200


class _Message:
    """One message's properties inside the compound file (the file's root, or an embedded
    message's storage)."""

    def __init__(self, ole: Any, prefix: list[str]) -> None:
        self.ole, self.prefix = ole, prefix
        self.codepage = "cp1252"
        page = self.ole_stream(f"__substg1.0_{CODEPAGE:04X}0003")
        if page is not None and len(page) >= 4:
            self.codepage = f"cp{int.from_bytes(page[:4], 'little')}"

    def ole_stream(self, name: str) -> bytes | None:
        path = [*self.prefix, name]
        if not self.ole.exists("/".join(path)):
            return None
        data = self.ole.openstream(path).read()
        return bytes(data)

    def text(self, prop: int) -> str:
        unicode = self.ole_stream(f"__substg1.0_{prop:04X}001F")
        if unicode is not None:
            return unicode.decode("utf-16-le", errors="replace").rstrip("\x00")
        eight = self.ole_stream(f"__substg1.0_{prop:04X}001E")
        if eight is not None:
            try:
                return eight.decode(self.codepage).rstrip("\x00")
            except (LookupError, UnicodeDecodeError):
                return decode(eight)[0].rstrip("\x00")
        return ""

    def binary(self, prop: int) -> bytes | None:
        return self.ole_stream(f"__substg1.0_{prop:04X}0102")

    def children(self, kind: str) -> list[list[str]]:
        """Storages directly under this message whose name starts with ``kind``."""
        depth = len(self.prefix)
        found = {
            tuple(entry[: depth + 1])
            for entry in self.ole.listdir(streams=True, storages=True)
            if len(entry) > depth and entry[:depth] == self.prefix
            and entry[depth].startswith(kind)
        }  # fmt: skip
        return [list(entry) for entry in sorted(found)]


def _body(message: _Message) -> str:
    plain = message.text(BODY)
    if plain.strip():
        return plain.replace("\r\n", "\n").strip()
    html = message.binary(HTML_BODY)
    if html is None:
        return ""
    return visible_text(decode(html)[0]).strip()


def _date_header(headers: str) -> str:
    """The Date header of the transport headers Outlook kept, as written."""
    for line in headers.splitlines():
        if line.lower().startswith("date:"):
            return line[5:].strip()
    return ""


def _attachments(ole: Any, message: _Message) -> tuple[list[dict[str, Any]], list[_Message]]:
    listed: list[dict[str, Any]] = []
    embedded: list[_Message] = []
    for storage in message.children("__attach_version1.0_")[:MOST_LISTED]:
        part = _Message(ole, storage)
        name = part.text(ATTACH_LONG_NAME) or part.text(ATTACH_NAME) or part.text(ATTACH_DISPLAY)
        data = part.binary(ATTACH_DATA)
        inner = [*storage, f"__substg1.0_{ATTACH_DATA:04X}000D"]
        if data is None and ole.exists("/".join(inner)):
            embedded.append(_Message(ole, inner))
            listed.append({"filename": name or None, "media_type": "message/rfc822",
                           "size": None})  # fmt: skip
            continue
        listed.append({
            "filename": name or None,
            "media_type": part.text(ATTACH_MIME) or "application/octet-stream",
            "size": len(data) if data is not None else None,
        })  # fmt: skip
    return listed, embedded


def attachment_files(data: bytes) -> list[tuple[str | None, bytes]]:
    """(file name, bytes) of the message's attached files, in order (for ``documents.unpack``;
    an embedded Outlook message is a storage, not a file, and is read as a section instead)."""
    with _opened(data) as ole:
        message = _Message(ole, [])
        out: list[tuple[str | None, bytes]] = []
        for storage in message.children("__attach_version1.0_")[:MOST_LISTED]:
            part = _Message(ole, storage)
            body = part.binary(ATTACH_DATA)
            if body is not None:
                name = part.text(ATTACH_LONG_NAME) or part.text(ATTACH_NAME)
                out.append((name or part.text(ATTACH_DISPLAY) or None, body))
        return out


@contextmanager
def _opened(data: bytes) -> Iterator[Any]:
    """The compound file, every way reading it can fail said as "cannot read the Outlook
    message"."""
    with compound.opened(data, WHAT) as ole:
        if not ole.exists(f"__substg1.0_{SUBJECT:04X}001F") and not ole.exists(
            "__properties_version1.0"
        ):
            raise compound.refused(WHAT, "it holds no message properties")
        yield ole


def messages(data: bytes) -> list[tuple[str, str, dict[str, Any]]]:
    """(subject, text, metadata) of the message and of each message embedded in it."""
    with _opened(data) as ole:
        out: list[tuple[str, str, dict[str, Any]]] = []
        todo: list[tuple[_Message, int]] = [(_Message(ole, []), 0)]
        while todo:
            message, depth = todo.pop(0)
            sender = message.text(SENDER_NAME)
            address = message.text(SENDER_EMAIL)
            shown = {
                "From": f"{sender} <{address}>" if sender and address and sender != address
                else sender or address,
                "To": message.text(DISPLAY_TO),
                "Cc": message.text(DISPLAY_CC),
                "Date": _date_header(message.text(HEADERS)),
                "Subject": message.text(SUBJECT),
            }  # fmt: skip
            listed, embedded = _attachments(ole, message)
            out.append(entry(shown, _body(message), listed))
            if depth < MOST_DEPTH:
                todo.extend((inner, depth + 1) for inner in embedded)
        return out


class OutlookExtractor(TextExtractor):
    """Outlook ``.msg`` files: the same sections as e-mail (see
    ``docledger.extractors.outlook``)."""

    name: str = "outlook"
    version: str = "1"
    media_types: tuple[str, ...] = (MEDIA_TYPE,)

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]:
        values = self.check(params)
        return mail_segments(messages(data), values)
