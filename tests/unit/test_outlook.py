"""Outlook .msg files: every message of msg-parser's source distribution (and mail-parser's
Outlook newsletter, saved without a suffix) read by the outlook extractor and by msg-parser
(the independent reading): the same subject, sender, recipients, attachments and body; the
embedded messages as sections of their own; broken files refused with one clear error."""

from __future__ import annotations

import re

import pytest
from msg_parser import MsOxMessage

from docledger.errors import InvalidInput
from docledger.extractors import OutlookExtractor, for_media_type
from docledger.services.media import sniff
from tests.corpus import fetched, real_msg


def _flat(text: str) -> str:
    return " ".join(text.split())


def _attachment_name(part: object) -> str | None:
    for name in ("AttachLongFilename", "AttachFilename", "DisplayName"):
        value = getattr(part, name, None)
        if value:
            return str(value)
    return None


def test_every_real_outlook_message_reads_as_msg_parser_reads_it() -> None:
    corpus = fetched(real_msg, "real-Outlook")
    assert len(corpus) >= 4
    embedded = 0
    for path in corpus:
        data = path.read_bytes()
        kind = sniff(data[:4096], path.name)
        assert kind == "application/vnd.ms-outlook", path.name  # by content, whatever the name
        assert isinstance(for_media_type(kind), OutlookExtractor)
        sections = [s for s in OutlookExtractor().extract(data, {}) if s.kind == "section"]
        theirs = MsOxMessage(str(path)).get_properties()
        top = sections[0]
        assert top.label == _flat(theirs["Subject"]), path.name
        assert top.metadata.get("to", "") == _flat(theirs.get("DisplayTo") or ""), path.name
        if theirs.get("SenderName"):
            assert _flat(theirs["SenderName"]) in top.metadata["from"], path.name
        body = _flat(theirs.get("Body") or "")
        assert body[:300] in _flat(top.text or ""), path.name
        names = [_attachment_name(a) for a in theirs.get("attachments") or []]
        assert [a["filename"] for a in top.metadata.get("attachments", [])] == names, path.name
        embedded += len(sections) - 1
    # measured: complete.msg embeds six messages, other.msg and outer.msg one each
    assert embedded >= 8


def test_an_attachment_message_is_a_section_of_its_own() -> None:
    corpus = fetched(real_msg, "real-Outlook")
    (outer,) = [p for p in corpus if p.name.endswith("outer.msg")]
    first, second = [s for s in OutlookExtractor().extract(outer.read_bytes(), {})
                     if s.kind == "section"]  # fmt: skip
    assert (first.label, second.label) == ("outer subject", "test")
    assert first.text == "To: outer@foo.bar\nSubject: outer subject\n\nOuter body"
    assert first.metadata["attachments"] == [
        {"filename": "test", "media_type": "message/rfc822", "size": None}
    ]
    assert second.text == "To: test@foobar.com\nSubject: test\n\nbody"


def test_broken_outlook_files_are_refused_clearly() -> None:
    corpus = fetched(real_msg, "real-Outlook")
    data = corpus[0].read_bytes()
    for broken, message in (
        (b"not an ole file at all", "not an OLE compound file"),
        (data[:600], "cannot read the Outlook message"),
    ):
        with pytest.raises(InvalidInput, match=re.escape(message)):
            OutlookExtractor().extract(broken, {})


def test_other_ole_files_are_named_not_taken_for_mail() -> None:
    """Word, Excel and PowerPoint 97-2003 files are OLE compound files too: named by their
    suffix and read by their own extractors, never sent to the outlook extractor."""
    head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    assert sniff(head, "report.doc") == "application/msword"
    assert sniff(head, "zones.xls") == "application/vnd.ms-excel"
    assert sniff(head, "deck.ppt") == "application/vnd.ms-powerpoint"
    assert sniff(head, "blob") == "application/x-ole-storage"
    for kind in ("application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"):
        assert not isinstance(for_media_type(kind), OutlookExtractor)
