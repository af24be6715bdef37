"""Sentence-aware chunk boundaries, shared by every extractor that emits retrieval chunks.

A chunk ends at a paragraph break or a sentence end when one lies in the second half of the
window, or just past it (a sentence is finished rather than cut when its end is near); only
text with no boundary nearby is cut at a space. Chunks are what search returns by default,
so a cut through a sentence is a fact split across two hits.
"""

from __future__ import annotations

import re

from docledger.errors import InvalidInput

_SENTENCE_END = re.compile(r"[.!?\u2026\u3002][\"'\u201d\u2019)\]]*(?=\s)|\n\s*\n")
#: How far past the window a sentence end may lie and still be waited for (share of size).
OVERSHOOT = 0.25


def _boundaries(text: str) -> list[int]:
    return [m.end() for m in _SENTENCE_END.finditer(text)]


def spans(text: str, size: int, overlap: int = 0) -> list[tuple[int, int]]:
    """(start, end) character spans covering ``text``'s non-blank content in order."""
    if size <= 0 or overlap < 0 or overlap >= size:
        raise InvalidInput("chunking needs size > 0 and 0 <= overlap < size")
    ends = _boundaries(text)
    out: list[tuple[int, int]] = []
    start, n = 0, len(text)
    while start < n:
        while start < n and text[start].isspace():
            start += 1
        if start >= n:
            break
        limit = start + size
        if limit >= n:
            out.append((start, n))
            break
        cut = _choose(text, ends, start, limit, size)
        out.append((start, cut))
        if cut >= n:
            break
        start = max(_next_start(text, ends, cut, overlap), start + 1) if overlap else cut
    return [(a, _rstrip(text, a, b)) for a, b in out if text[a:b].strip()]


def _choose(text: str, ends: list[int], start: int, limit: int, size: int) -> int:
    inside = [e for e in ends if start + size // 2 < e <= limit]
    if inside:
        return inside[-1]
    after = [e for e in ends if limit < e <= limit + int(size * OVERSHOOT)]
    if after:
        return after[0]
    space = text.rfind(" ", start + size // 2, limit)
    return space if space > start else limit


def _next_start(text: str, ends: list[int], cut: int, overlap: int) -> int:
    """Back up by about ``overlap`` characters, to a sentence start when one is there."""
    back = max(cut - overlap, 0)
    starts = [e for e in ends if back <= e < cut]
    if starts:
        return starts[0]
    space = text.find(" ", back, cut)
    return space + 1 if space >= 0 else cut


def _rstrip(text: str, a: int, b: int) -> int:
    while b > a and text[b - 1].isspace():
        b -= 1
    return b
