"""Calendars (``.ics``, iCalendar, RFC 5545): meeting invites, site visits and deadlines as
their reader sees them.

Read as plain text, an invite is folded lines, ``DTSTART;TZID=...:20261206T090000`` and
escapes (``\\n``, ``\\,``). Here the content lines are unfolded (a line starting with a space
or tab continues the one before), split into name, parameters (quoted values may hold ``:``)
and value, and text values unescaped; each event, to-do or journal entry becomes a
``section`` labelled with its summary: Summary, When (start and end or due, with their time
zone), Where, Organizer, Attendees (by their common names), Status, then the description,
followed by sentence-aware ``chunk``s. Time zone definitions and alarms are not text.
``metadata`` holds the component, its ``uid``, ``dtstart`` and ``dtend`` (a to-do's ``due``)
as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from docledger.errors import InvalidInput
from docledger.extractors.encoding import decode
from docledger.extractors.text import TextExtractor, titled
from docledger.schemas.extraction import SegmentIn

MEDIA_TYPE = "text/calendar"
#: The components read, and what their end is called.
READ = {"VEVENT": "DTEND", "VTODO": "DUE", "VJOURNAL": "DTEND"}
#: Components read from one calendar.
MOST_COMPONENTS = 100_000
_FOLD = re.compile(r"\r?\n[ \t]")
_ESCAPE = re.compile(r"\\([\\;,nN])")
_NAME = re.compile(r"[A-Za-z0-9-]+")


def _parsed(line: str) -> tuple[list[str], str] | None:
    """A content line's name and parameters (split at the semicolons outside quotes; a
    backslash keeps the next character, as writers that escape ``;`` in a parameter expect)
    and its value (after the first colon outside quotes); None without a colon."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for at, char in enumerate(line):
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char in ";:" and not quoted:
            parts.append("".join(current))
            current = []
            if char == ":":
                return parts, line[at + 1 :]
        else:
            current.append(char)
    return None


def content_lines(text: str) -> list[tuple[str, dict[str, str], str]]:
    """(NAME, {PARAM: value}, value) per unfolded content line."""
    out = []
    for line in _FOLD.sub("", text).splitlines():
        found = _parsed(line)
        if found is None or not _NAME.fullmatch(found[0][0]):
            continue
        (name, *raw), value = found
        params = {}
        for item in raw:
            key, _, given = item.partition("=")
            params[key.strip().upper()] = given.strip()
        out.append((name.upper(), params, value))
    return out


def unescaped(value: str) -> str:
    """A TEXT value as written before escaping."""
    return _ESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def _person(params: Mapping[str, str], value: str) -> str:
    address = value[7:] if value.lower().startswith("mailto:") else value
    name = params.get("CN", "").strip()
    return f"{name} <{address}>" if name and address else name or address


def _when(props: Mapping[str, tuple[dict[str, str], str]], end: str) -> str:
    parts = []
    for key in ("DTSTART", end):
        if key in props:
            params, value = props[key]
            zone = params.get("TZID")
            parts.append(f"{value} ({zone})" if zone else value)
    return " to ".join(parts)


def _entry(
    kind: str,
    props: dict[str, tuple[dict[str, str], str]],
    attendees: list[str],
) -> tuple[str, str, dict[str, Any]]:
    """(label, text, metadata) of one component."""
    end = READ[kind]

    def text(key: str) -> str:
        return unescaped(props[key][1]).strip() if key in props else ""

    summary = text("SUMMARY")
    lines = [
        ("Summary", summary),
        ("When", _when(props, end)),
        ("Where", text("LOCATION")),
        ("Organizer", _person(*props["ORGANIZER"]) if "ORGANIZER" in props else ""),
        ("Attendees", ", ".join(attendees)),
        ("Status", text("STATUS")),
    ]
    body = "\n".join(f"{name}: {value}" for name, value in lines if value)
    description = text("DESCRIPTION")
    if description:
        body += "\n\n" + description
    meta: dict[str, Any] = {"component": kind}
    for key, field in (("UID", "uid"), ("DTSTART", "dtstart"), (end, end.lower())):
        if key in props:
            meta[field] = props[key][1][:200]
    return summary, body, meta


def components(text: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, text, metadata) of each event, to-do and journal entry, in order."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    stack: list[str] = []
    props: dict[str, tuple[dict[str, str], str]] = {}
    attendees: list[str] = []
    for name, params, value in content_lines(text):
        if name == "BEGIN":
            stack.append(value.strip().upper())
            if stack[-1] in READ:
                props, attendees = {}, []
        elif name == "END":
            kind = stack.pop() if stack else ""
            if kind in READ and len(out) < MOST_COMPONENTS:
                out.append(_entry(kind, props, attendees))
        elif stack and stack[-1] in READ:  # not an alarm's or a time zone's lines
            if name == "ATTENDEE":
                attendees.append(_person(params, value))
            else:
                props.setdefault(name, (params, value))
    return out


class CalendarExtractor(TextExtractor):
    """Calendars (``.ics``): a ``section`` per event, to-do or journal entry, labelled with
    its summary, and its ``chunk``s (see ``docledger.extractors.calendar``)."""

    name: str = "calendar"
    version: str = "1"
    media_types: tuple[str, ...] = (MEDIA_TYPE,)

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]:
        values = self.check(params)
        text, _encoding = decode(data)
        if not re.search(r"(?im)^BEGIN:V[A-Z]+", text[:4096]):  # a calendar or a bare event
            raise InvalidInput("not an iCalendar file: it begins no calendar component")
        return titled(components(text), values, "(no summary)")
