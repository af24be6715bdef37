"""E-mail: every message of mail-parser's test folder (spam as it arrives, Outlook, malformed
MIME) sniffed as mail without a file name and read as its reader sees it: the subject as the
section's label, no MIME plumbing (base64, quoted-printable, boundaries, tags) in the text,
attachments listed; then a message built here with an HTML-only body in Latin-1, a wrong
charset and a forwarded message."""

from __future__ import annotations

import email
import email.policy
import mailbox
import re
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import pytest

from docledger.errors import InvalidInput
from docledger.extractors import MailExtractor, TextExtractor, for_media_type
from docledger.extractors.mail import looks_like_mail
from docledger.services.media import sniff
from tests.corpus import fetched, real_mail, real_mailboxes

WORDS = re.compile(r"\w+")
PLUMBING = (
    re.compile(r"^Content-Transfer-Encoding:", re.M | re.I),
    re.compile(r"^--(?=[-=_.]*[A-Za-z0-9])[-=_A-Za-z0-9.]{12,}$", re.M),  # a MIME boundary
    re.compile(r"^[A-Za-z0-9+/]{60,}={0,2}$", re.M),  # a base64 line
    re.compile(r"=[0-9A-F]{2}=[0-9A-F]{2}"),  # quoted-printable bytes
    re.compile(r"</?(?:div|p|td|table|span|br|font|html)\b", re.I),  # HTML tags
)


def test_every_real_message_reads_as_its_reader_sees_it() -> None:
    corpus = fetched(real_mail, "real-mail")
    assert len(corpus) >= 20
    read = attachments = 0
    for path in corpus:
        data = path.read_bytes()
        kind = sniff(data[:4096], path.name)
        if path.name.endswith("mail_outlook_1"):  # Outlook's binary .msg, not MIME
            assert kind == "application/vnd.ms-outlook"  # tests/unit/test_outlook.py
            continue
        assert kind == "message/rfc822", path.name
        assert isinstance(for_media_type(kind), MailExtractor)
        segments = MailExtractor().extract(data, {})
        first = segments[0]
        raw_subject = BytesHeaderParser().parsebytes(data).get("Subject", "")
        try:
            subject = " ".join(str(make_header(decode_header(str(raw_subject)))).split())
        except UnicodeDecodeError:  # bytes its charset cannot decode: read with replacements
            assert first.label, path.name
        else:
            assert first.label == (subject[:200] or "(no subject)"), path.name
        for section in (s for s in segments if s.kind == "section"):
            for pattern in PLUMBING:
                assert not pattern.search(section.text or ""), (path.name, pattern.pattern)
        listed = first.metadata.get("attachments", [])
        if re.search(rb"Content-Disposition:\s*attachment", data, re.I):
            assert listed, path.name
        attachments += len(listed)
        read += 1
    # measured: 22 messages read, 23 attachments listed
    assert read >= 22
    assert attachments >= 20


def test_what_a_reader_looks_at_comes_first() -> None:
    corpus = fetched(real_mail, "real-mail")
    (path,) = [p for p in corpus if p.name.endswith("mail_test_10")]
    (section, *_) = MailExtractor().extract(path.read_bytes(), {})
    assert section.metadata["subject"].startswith("*** ATTENZIONE ***")
    pdf = [a for a in section.metadata["attachments"] if a["filename"].endswith(".pdf")]
    assert [a["filename"] for a in pdf] == ["Move To Eight ZWEP6227F.pdf"]
    assert pdf[0]["size"] > 1000
    (path,) = [p for p in corpus if p.name.endswith("mail_test_3")]
    (section, *_) = MailExtractor().extract(path.read_bytes(), {})
    assert (section.text or "").startswith(
        "From: Ava Oneil <Oneil.844@randtelekom.com.tr>\nTo: kalinokyra@thismail.it\n"
    )
    assert section.metadata["date"] == "2016-08-22T16:56:09+03:00"


def _message() -> bytes:
    forwarded = EmailMessage()
    forwarded["From"] = "Obra <obra@example.com>"
    forwarded["Subject"] = "Laudo da laje L3"
    forwarded.set_content("A laje L3 apresenta fissuras na face inferior.\n")
    mail = EmailMessage()
    mail["From"] = "Joana <joana@example.com>"
    mail["To"] = "qualidade@example.com"
    mail["Date"] = "Fri, 04 Dec 2026 17:02:00 -0300"
    mail["Subject"] = "Vistoria: infiltração no térreo"
    html = "<html><body><p>Infiltra&ccedil;&atilde;o na parede <b>P-12</b>.</p></body></html>"
    mail.set_content(
        html.encode("latin-1"), maintype="text", subtype="html", cte="quoted-printable"
    )
    mail.make_mixed()
    mail.attach(_part("fotos.zip", b"PK\x03\x04 not really", "application", "zip"))
    wrapper = EmailMessage()
    wrapper.set_content(forwarded)
    mail.attach(wrapper)
    # a plain note that says US-ASCII but holds UTF-8, as careless mailers write
    note = EmailMessage()
    note.set_content("Prazo: três dias.".encode(), maintype="text", subtype="plain")
    note.replace_header("Content-Type", 'text/plain; charset="us-ascii"')
    mail.attach(note)
    return mail.as_bytes()


def _part(name: str, data: bytes, main: str, sub: str) -> EmailMessage:
    part = EmailMessage()
    part.set_content(data, maintype=main, subtype=sub, filename=name)
    return part


def test_a_message_with_html_a_wrong_charset_and_a_forward() -> None:
    data = _message()
    assert looks_like_mail(data[:4096])
    assert sniff(data[:4096], "message") == "message/rfc822"
    sections = [s for s in MailExtractor().extract(data, {}) if s.kind == "section"]
    top, forwarded = sections
    assert top.label == "Vistoria: infiltração no térreo"
    assert "Infiltração na parede P-12." in (top.text or "")
    assert "Prazo: três dias." in (top.text or "")
    assert "<p>" not in (top.text or "")
    assert top.metadata["attachments"][0] == {
        "filename": "fotos.zip",
        "media_type": "application/zip",
        "size": 15,
    }
    assert top.metadata["date"] == "2026-12-04T17:02:00-03:00"
    assert forwarded.label == "Laudo da laje L3"
    assert "fissuras na face inferior" in (forwarded.text or "")


def test_text_that_is_not_mail_stays_text() -> None:
    for head in (
        b"title: Inspection\nauthor: J. Silva\n\nBody",  # a YAML front
        b"Subject matter: doors\nand more text\n",
        b"Note: check door D7\nDate: tomorrow\n",
    ):
        assert not looks_like_mail(head), head
        assert sniff(head, "notes", complete=True) == "text/plain"
    assert sniff(b"From: a@b.c\nSubject: x\n\nhi\n", "mail.txt", complete=True) == "text/plain"
    with pytest.raises(InvalidInput, match="none of From, To, Date, Subject"):
        MailExtractor().extract(b"\n\njust text\n", {})
    assert isinstance(for_media_type("text/plain"), TextExtractor)


def test_parts_nested_thousands_deep_are_refused_clearly() -> None:
    head = b"From: a@b.c\nSubject: deep\nMIME-Version: 1.0\n"
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (n, n) for n in range(3_000)
    )
    closing = b"".join(b"--b%d--\n" % n for n in reversed(range(3_000)))
    data = head + opening + b"Content-Type: text/plain\n\nhello\n" + closing
    with pytest.raises(InvalidInput, match="nested too deeply"):
        MailExtractor().extract(data, {})
    shallow = head + opening[:2_000] + b"Content-Type: text/plain\n\nhello\n"
    assert MailExtractor().extract(shallow, {})  # a few levels are read


def _mailbox_truth(path: Path) -> list[tuple[str, str, list[str]]]:
    """(subject, sender, first words of the plain-text body) per message, as the standard
    library's ``mailbox`` reads the file (its body when its charset decodes)."""
    box = mailbox.mbox(
        str(path),
        factory=lambda fp: email.message_from_binary_file(fp, policy=email.policy.default),
        create=False,
    )
    out = []
    try:
        for message in box:
            subject = " ".join(str(message.get("Subject") or "").split())
            sender = " ".join(str(message.get("From") or "").split())
            try:
                body = message.get_body(preferencelist=("plain",))
                words = WORDS.findall(body.get_content())[:30] if body is not None else []
            except (LookupError, KeyError):  # a charset Python does not know: detected here
                words = []
            out.append((subject, sender, words))
    finally:
        box.close()
    return out


def test_every_real_mailbox_reads_message_by_message() -> None:
    """Perceval's mailing-list archives: typed as mailboxes by name, as mail by content, and
    read message by message as ``mailbox`` reads them: the same messages in the same order,
    each a section labelled with its subject, From as the file says, its body's words."""
    corpus = fetched(real_mailboxes, "mbox")
    assert len(corpus) >= 13
    messages_read = 0
    for path in corpus:
        data = path.read_bytes()
        assert sniff(data, path.name) == "application/mbox", path.name
        assert sniff(data[:4096], None) == "message/rfc822", path.name
        for media_type in ("application/mbox", "message/rfc822"):
            extractor = for_media_type(media_type)
            assert isinstance(extractor, MailExtractor)
            segments = extractor.extract(data, {})
            assert "messages_skipped" not in segments[0].metadata, path.name
            first: dict[int, Any] = {}
            for segment in segments:
                if segment.kind == "section":
                    first.setdefault(segment.metadata["message"], segment)
            truth = _mailbox_truth(path)
            assert sorted(first) == list(range(1, len(truth) + 1)), path.name
            for number, (subject, sender, words) in enumerate(truth, start=1):
                section = first[number]
                assert section.label == (subject or "(no subject)"), (path.name, number)
                assert section.metadata.get("from", "") == sender, (path.name, number)
                text = section.text or ""
                assert not text.startswith("From "), path.name  # the separator is no header
                assert " ".join(words) in " ".join(WORDS.findall(text)), (path.name, number)
                messages_read += 1
    # measured: 27 messages, twice (by name and by content)
    assert messages_read >= 54


def test_a_mailbox_message_without_headers_is_skipped_and_counted() -> None:
    data = (
        b"From a@example.org Mon Jan  1 00:00:00 2024\nFrom: a@example.org\nSubject: one\n\n"
        b"first body\n\nFrom nobody Mon Jan  1 00:00:00 2024\njust text, no headers\n\n"
        b"From c@example.org Mon Jan  1 00:00:00 2024\nFrom: c@example.org\nSubject: three\n"
        b"\n>From the archive: quoted\n"
    )
    segments = MailExtractor().extract(data, {})
    sections = [s for s in segments if s.kind == "section"]
    assert [(s.label, s.metadata["message"]) for s in sections] == [("one", 1), ("three", 3)]
    assert sections[0].metadata["messages_skipped"] == 1
    assert ">From the archive" in (sections[1].text or "")
    with pytest.raises(InvalidInput, match="none of its 2 messages"):
        MailExtractor().extract(b"From x\nno headers\n\nFrom y\nnone here\n", {})


def test_a_nul_in_an_encoded_header_is_dropped_in_every_message_of_a_mailbox() -> None:
    message = (
        b"From: a@example.org\nSubject: =?utf-8?q?st=00uck?=\nContent-Type: text/plain\n"
        b"Content-Transfer-Encoding: quoted-printable\n\nbo=00dy\n"
    )
    for data in (message, b"From x\n" + message + b"\nFrom y\n" + message):
        segments = MailExtractor().extract(data, {})
        assert segments
        assert all("\x00" not in (s.text or "") + (s.label or "") for s in segments)
        assert {s.label for s in segments if s.kind == "section"} == {"stuck"}
