"""E-mail messages (``.eml``, RFC 5322 / MIME): who wrote to whom, when, about what, and the
text, as a reader of the mail sees it.

Invoices, claims and notices reach document pipelines as mail. Read as plain text, a message
is mostly routing headers, base64 and quoted-printable (``=3D``, ``=C3=A9``), and its HTML
part's tags; here it is parsed with the standard library's ``email`` package (which records a
malformed message's defects instead of failing): a ``section`` per message, labelled with its
subject, whose text starts with the headers a reader looks at (From, To, Cc, Date, Subject)
followed by the body, then sentence-aware ``chunk``s. The body is the ``text/plain``
alternative, else the ``text/html`` one as a browser shows it; each part is decoded by its
declared charset, and a charset Python does not know (or a wrong one) by detection
(``docledger.extractors.encoding``). A forwarded message (``message/rfc822``) is a section of
its own. Attachments are listed in the metadata (name, type, size), not read here:
``documents.unpack`` adds them as documents of their own (``attachment_files``).
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
from collections.abc import Iterator, Mapping
from email.message import EmailMessage, Message
from typing import Any

from docledger.errors import InvalidInput
from docledger.extractors.encoding import decode
from docledger.extractors.html import visible_text
from docledger.extractors.mbox import SEPARATOR, split
from docledger.extractors.text import TextExtractor, titled
from docledger.schemas.extraction import SegmentIn

MEDIA_TYPE = "message/rfc822"
MAILBOX = "application/mbox"
SHOWN = ("From", "To", "Cc", "Date", "Subject")
#: Forwarded messages followed inside one another at most this deep.
MOST_DEPTH = 10
#: Attachments listed per message.
MOST_LISTED = 200
#: A header line: a field name, a colon, then a space, a tab or the end of the line (a value
#: folded onto the next lines).
HEADER = re.compile(rb"[A-Za-z0-9][A-Za-z0-9-]*:(?:[ \t]|\r?$)")
#: Headers only mail has, spelled as mail writes them: a file of ``key: value`` lines with
#: none of these (a config file, a YAML front) is something else.
_MAIL_ONLY = re.compile(
    rb"^(?:Received|From|Message-I[Dd]|Subject|Delivered-To|Return-[Pp]ath|MIME-Version):",
    re.MULTILINE,
)


def looks_like_mail(head: bytes) -> bool:
    """The first lines are mail headers: each a ``Name: value`` (or a folded continuation),
    at least two of them, one of them a header only mail has."""
    lines = head.replace(b"\r\n", b"\n").split(b"\n")[:12]
    if lines[0].startswith(b"From "):
        lines = lines[1:]  # an mbox separator line
    named = 0
    for line in lines:
        if not line.strip():
            break
        if line[:1] in {b" ", b"\t"}:
            continue
        if not HEADER.match(line):
            return False
        named += 1
    return named >= 2 and bool(_MAIL_ONLY.search(head[:4096]))


def _header(message: Message, name: str) -> str:
    """A header's value as text, without NULs (an encoded word can hold one; no column
    does); a header too broken to parse is read raw."""
    try:
        value = message.get(name)
    except (ValueError, TypeError, IndexError, AttributeError):  # the policy's parsers
        raw = message.get_all(name, failobj=[]) if hasattr(message, "get_all") else []
        value = str(raw[0]) if raw else None
    return " ".join(str(value).replace("\x00", "").split()) if value is not None else ""


def _part_text(part: Message) -> str:
    """A leaf part's text, decoded by its charset, else by detection."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset()
    if charset:
        try:
            return payload.decode(charset).replace("\x00", "")
        except (LookupError, UnicodeDecodeError):
            pass  # an unknown or wrong charset: detection below
    return decode(payload)[0]


def _body(message: Message) -> str:
    """The text parts a mail client shows, in order (see ``_shown_parts``)."""
    return "\n\n".join(t.strip() for t in _shown_parts(message) if t.strip())


def _shown_parts(part: Message) -> Iterator[str]:
    """Every inline text part of a mixed or related body; of alternatives, the plain text
    when it says anything, else the HTML as a browser shows it. Forwarded messages and
    attachments are not the body."""
    kind = part.get_content_type()
    if part.is_multipart():
        if kind == "message/rfc822" or _is_attachment(part):
            return
        children = [c for c in part.get_payload() if isinstance(c, Message)]
        if part.get_content_subtype() == "alternative":
            ranked = sorted(children, key=lambda c: c.get_content_type() != "text/plain")
            for child in ranked:
                found = [t for t in _shown_parts(child) if t.strip()]
                if found:
                    yield from found
                    return
            return
        for child in children:
            yield from _shown_parts(child)
    elif not _is_attachment(part):
        if kind == "text/plain":
            yield _part_text(part)
        elif kind == "text/html":
            yield visible_text(_part_text(part))


def _is_attachment(part: Message) -> bool:
    disposition = (part.get("Content-Disposition") or "").split(";", 1)[0].strip().lower()
    return disposition == "attachment" or (
        bool(part.get_filename()) and part.get_content_maintype() != "text"
    )


def _attachments(message: Message) -> list[dict[str, Any]]:
    out = []
    for part in message.walk():
        if part is message or not _is_attachment(part):
            continue
        payload = None if part.is_multipart() else part.get_payload(decode=True)
        out.append({
            "filename": part.get_filename() or None,
            "media_type": part.get_content_type(),
            "size": len(payload) if isinstance(payload, bytes) else None,
        })  # fmt: skip
        if len(out) >= MOST_LISTED:
            break
    return out


def _forwarded(message: Message) -> Iterator[Message]:
    for part in message.walk():
        if part.get_content_type() == "message/rfc822" and part.is_multipart():
            for inner in part.get_payload():
                if isinstance(inner, Message):
                    yield inner


def messages(data: bytes) -> list[tuple[str, str, dict[str, Any]]]:
    """(subject, text, metadata) of the message and of each message forwarded in it."""
    try:
        return _messages(data)
    except RecursionError as exc:  # parts in parts, thousands deep: the file's fault
        raise InvalidInput("cannot read the e-mail: its parts are nested too deeply") from exc


def _messages(data: bytes) -> list[tuple[str, str, dict[str, Any]]]:
    try:
        top = email.message_from_bytes(data, policy=email.policy.default)
    except (ValueError, TypeError, IndexError, LookupError) as exc:  # pragma: no cover
        raise InvalidInput(f"cannot read the e-mail: {exc}") from exc
    if not isinstance(top, EmailMessage) or not any(_header(top, n) for n in SHOWN):
        raise InvalidInput("cannot read the e-mail: it has none of From, To, Date, Subject")
    out: list[tuple[str, str, dict[str, Any]]] = []
    todo: list[tuple[Message, int]] = [(top, 0)]
    while todo:
        message, depth = todo.pop(0)
        shown = {name: _header(message, name) for name in SHOWN}
        listed = _attachments(message) if depth == 0 else []
        defects = sorted({type(d).__name__ for d in message.defects})
        out.append(entry(shown, _body(message), listed, defects))
        if depth < MOST_DEPTH:
            todo.extend((inner, depth + 1) for inner in _forwarded(message))
    return out


def attachment_files(data: bytes) -> list[tuple[str | None, bytes]]:
    """(file name, bytes) of the message's attachments, in order (of every message of a
    mailbox, message by message); an attached message is its ``.eml`` bytes. For
    ``documents.unpack``: what is listed is what can be added."""
    out: list[tuple[str | None, bytes]] = []
    for message in split(data)[0]:
        try:
            top = email.message_from_bytes(message, policy=email.policy.default)
            out.extend(_attached(top, MOST_LISTED))
        except RecursionError as exc:
            raise InvalidInput("cannot read the e-mail: its parts are nested too deeply") from exc
    return out


def _attached(top: Message, most: int) -> list[tuple[str | None, bytes]]:
    out: list[tuple[str | None, bytes]] = []
    for part in top.walk():
        if len(out) >= most:
            break
        if part is top or not _is_attachment(part):
            continue
        name = part.get_filename() or None
        if part.is_multipart():
            inner: Any = part.get_payload()
            attached = part.get_content_type() == "message/rfc822" and isinstance(inner, list)
            message = inner[0] if attached else part
            if isinstance(message, Message):
                out.append((name, message.as_bytes()))
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            out.append((name, payload))
    return out


def entry(
    shown: Mapping[str, str],
    body: str,
    attachments: list[dict[str, Any]],
    defects: list[str] | None = None,
) -> tuple[str, str, dict[str, Any]]:
    """(subject, text, metadata) of one message: the headers a reader looks at (``SHOWN``,
    whitespace folded), then the body; the Date as ISO 8601 when it parses. Outlook's
    ``.msg`` messages are written up the same way."""
    folded = {name: " ".join((shown.get(name) or "").split()) for name in SHOWN}
    lines = [f"{name}: {value}" for name, value in folded.items() if value]
    meta: dict[str, Any] = {name.lower(): value for name, value in folded.items() if value}
    when = iso_date(folded["Date"])
    if when:
        meta["date"] = when
    if attachments:
        meta["attachments"] = attachments
    if defects:
        meta["defects"] = defects
    return folded["Subject"], "\n".join(lines) + ("\n\n" + body if body else ""), meta


def iso_date(value: str) -> str | None:
    """A Date header as ISO 8601 with its offset, when it parses."""
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError, IndexError):
        return None


class MailExtractor(TextExtractor):
    """E-mail (``.eml``) and mailboxes (``.mbox``): a ``section`` per message (forwarded
    ones too), its reader's headers then its body, sentence-aware ``chunk``s; sender,
    recipients, ISO date and attachments in the metadata (see ``docledger.extractors.mail``);
    a mailbox's messages in order, each numbered in ``metadata.message``
    (``docledger.extractors.mbox``)."""

    name: str = "mail"
    #: 2: a file of many messages (an mbox) is read message by message
    version: str = "2"
    media_types: tuple[str, ...] = (MEDIA_TYPE, MAILBOX)

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]:
        values = self.check(params)
        if not data.startswith(SEPARATOR):
            return mail_segments(messages(data), values)
        return mailbox_segments(data, values)  # one message or many, each after a From line


def mailbox_segments(data: bytes, values: Mapping[str, Any]) -> list[SegmentIn]:
    """Every message of an mbox as ``mail_segments`` gives one, ``metadata.message`` its
    place in the mailbox; a message without any of the headers a reader looks at is skipped
    and counted (``messages_skipped`` of the first section), not the mailbox's failure."""
    raw, left_out = split(data)
    found: list[tuple[str, str, dict[str, Any]]] = []
    skipped = 0
    for number, message in enumerate(raw, start=1):
        try:
            read = messages(message)
        except InvalidInput:
            skipped += 1
            continue
        for _subject, _text, meta in read:
            meta["message"] = number
        found.extend(read)
    if not found:
        raise InvalidInput(
            f"cannot read the mailbox: none of its {len(raw)} messages has From, To, Date "
            "or Subject"
        )
    segments = mail_segments(found, values)
    for segment in segments:  # a search hit (a chunk) names its message too
        if segment.parent is not None:
            segment.metadata["message"] = segments[segment.parent].metadata["message"]
    if skipped:
        segments[0].metadata["messages_skipped"] = skipped
    if left_out:
        segments[0].metadata["messages_left_out"] = left_out
    return segments


def mail_segments(
    found: list[tuple[str, str, dict[str, Any]]], values: Mapping[str, Any]
) -> list[SegmentIn]:
    """A section per (subject, text, metadata) message, labelled with its subject, and its
    chunks (Outlook's ``.msg`` files come out the same way)."""
    return titled(found, values, "(no subject)")
