"""Where a Markdown text's headings are, as CommonMark reads them (a line scanner, no
dependency).

A ``#`` at the start of a line is not always a heading: in a fenced code block it is a shell
or Python comment, and a README's install block then became a section called "install the
dependencies". And many documents underline their headings instead (``Title`` over ``=====``
or ``-----``, the setext form), which a ``#`` pattern never saw: on Python-Markdown's own 39
documentation files the pattern found the headings markdown-it finds in 11 files. The
scanner follows CommonMark's rules for what matters here: ATX headings (up to three spaces
before 1-6 ``#`` and a space, closing ``#``s dropped), setext headings (the paragraph above
an ``=`` or ``-`` underline), fenced code blocks (backticks or tildes, closed by a fence at
least as long), indented code (four spaces), and YAML front matter at the very start.
"""

from __future__ import annotations

import re

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
#: Lines that start a block of their own (a paragraph above an underline cannot be one).
_OTHER_BLOCK = re.compile(r"^ {0,3}(?:[-+*][ \t]|\d{1,9}[.)][ \t]|>|<|\|)")


def headings(text: str) -> list[tuple[int, str]]:
    """(offset of the heading's first character, its text) per heading, in order."""
    out: list[tuple[int, str]] = []
    fence: str | None = None
    paragraph: list[tuple[int, str]] = []  # (offset, line) of the open paragraph
    offset = 0
    lines = text.splitlines(keepends=True)
    start = _front_matter(lines)
    offset = sum(len(line) for line in lines[:start])
    for raw in lines[start:]:
        line = raw.rstrip("\r\n")
        here, offset = offset, offset + len(raw)
        if fence is not None:
            closing = _FENCE.match(line)
            if (
                closing
                and closing.group(1)[0] == fence[0]
                and len(closing.group(1)) >= len(fence)
                and not closing.group(2).strip()
            ):
                fence = None
            continue
        opening = _FENCE.match(line)
        if opening and not (opening.group(1)[0] == "`" and "`" in opening.group(2)):
            fence, paragraph = opening.group(1), []
            continue
        if not line.strip():
            paragraph = []
            continue
        if line.startswith(("    ", "\t")) and not paragraph:
            continue  # indented code
        atx = _ATX.match(line)
        if atx:
            out.append((here + len(line) - len(line.lstrip(" ")), (atx.group(2) or "").strip()))
            paragraph = []
            continue
        underline = _UNDERLINE.match(line)
        if underline and paragraph and not _OTHER_BLOCK.match(paragraph[0][1]):
            title = " ".join(part.strip() for _, part in paragraph)
            first = paragraph[0]
            out.append((first[0] + len(first[1]) - len(first[1].lstrip(" ")), title))
            paragraph = []
            continue
        paragraph.append((here, line))
    return [(at, title) for at, title in out if title]


def _front_matter(lines: list[str]) -> int:
    """Lines of a YAML front matter block at the start (``---`` ... ``---``), else 0."""
    if not lines or lines[0].rstrip("\r\n") != "---":
        return 0
    for n, line in enumerate(lines[1:], start=1):
        if line.rstrip("\r\n") in {"---", "..."}:
            return n + 1
    return 0
