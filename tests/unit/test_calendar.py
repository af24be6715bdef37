"""Calendars (.ics) read as their reader sees them: icalendar's 164 test files (RFC 5545's
examples, time zones, folded and escaped lines, bare events, broken files) against the
icalendar library's own reading of them."""

from __future__ import annotations

from typing import Any

import icalendar
import pytest

from docledger.errors import InvalidInput
from docledger.extractors import CalendarExtractor, for_media_type
from docledger.services.media import sniff
from tests.corpus import fetched, real_calendars

READ = ("VEVENT", "VTODO", "VJOURNAL")
SHOWN = ("SUMMARY", "DESCRIPTION", "LOCATION", "STATUS", "ORGANIZER", "ATTENDEE", "DTSTART",
         "DTEND", "DUE")  # fmt: skip


def _truth(data: bytes) -> list[Any] | None:
    """The components with something to read, as icalendar reads them (None: it cannot)."""
    try:
        parsed = icalendar.Calendar.from_ical(data)
    except Exception:  # whatever the library refuses, this test leaves out
        return None
    found = []
    for calendar in parsed if isinstance(parsed, list) else [parsed]:
        found += [c for c in calendar.walk() if c.name in READ and any(k in c for k in SHOWN)]
    return found


def test_every_real_calendar_reads_as_icalendar_reads_it() -> None:
    """Each file is typed as a calendar, and each event, to-do and journal entry with
    anything to read is a section, in order, holding the summary, description and location
    icalendar unescapes, labelled with the summary."""
    files = fetched(real_calendars, "iCalendar")
    assert len(files) >= 150
    compared = 0
    for path in files:
        data = path.read_bytes()
        assert sniff(data, path.name) == "text/calendar", path.name
        extractor = for_media_type("text/calendar")
        assert isinstance(extractor, CalendarExtractor)
        truth = _truth(data)
        try:
            segments = extractor.extract(data, {})
        except InvalidInput:
            assert truth is None or not truth, path.name  # only what has nothing to read
            continue
        if truth is None:
            continue
        sections = [s for s in segments if s.kind == "section"]
        assert len(sections) == len(truth), path.name
        for section, component in zip(sections, truth, strict=True):
            text = section.text or ""
            summary = str(component.get("SUMMARY", "")).strip()
            assert section.label == (summary or "(no summary)"), path.name
            for key in ("SUMMARY", "DESCRIPTION", "LOCATION"):
                value = str(component.get(key, "")).strip()
                assert value in text, (path.name, key)
            assert section.metadata["component"] == component.name
            compared += 1
    # measured: 142 components compared
    assert compared >= 140


def test_an_invite_reads_as_its_reader_sees_it() -> None:
    data = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Lisbon\r\n"
        b"DESCRIPTION:not text\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:v-17\r\n"
        b"SUMMARY:Site visit\\, block C\r\nDTSTART;TZID=Europe/Lisbon:20261207T090000\r\n"
        b"DTEND;TZID=Europe/Lisbon:20261207T110000\r\nLOCATION:Rua X\\; gate 2\r\n"
        b'ORGANIZER;CN="Eng. Ana: PM":mailto:ana@example.com\r\n'
        b"ATTENDEE;CN=Rui:mailto:rui@example.com\r\nATTENDEE:mailto:ops@example.com\r\n"
        b"DESCRIPTION:Check the crack at C4.\\nBring the gauge; it is a lo\r\n ng walk.\r\n"
        b"BEGIN:VALARM\r\nDESCRIPTION:alarm text\r\nEND:VALARM\r\nEND:VEVENT\r\n"
        b"END:VCALENDAR\r\n"
    )
    assert sniff(data, None) == "text/calendar"
    (section, *chunks) = CalendarExtractor().extract(data, {})
    assert section.label == "Site visit, block C"
    assert section.text == (
        "Summary: Site visit, block C\n"
        "When: 20261207T090000 (Europe/Lisbon) to 20261207T110000 (Europe/Lisbon)\n"
        "Where: Rua X; gate 2\n"
        "Organizer: Eng. Ana: PM <ana@example.com>\n"
        "Attendees: Rui <rui@example.com>, ops@example.com\n\n"
        "Check the crack at C4.\nBring the gauge; it is a long walk."
    )
    assert section.metadata == {
        "start": 0,
        "end": len(section.text or ""),
        "component": "VEVENT",
        "uid": "v-17",
        "dtstart": "20261207T090000",
        "dtend": "20261207T110000",
    }
    assert chunks


@pytest.mark.parametrize("data", [b"", b"just text\n", b"BEGIN-VCALENDAR\n"])
def test_what_is_no_calendar_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidInput, match="not an iCalendar file"):
        CalendarExtractor().extract(data, {})
