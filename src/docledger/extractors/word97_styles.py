"""Which paragraphs of a Word 97-2003 document are headings, from its styles.

A paragraph's style is its ``istd``, kept in the paragraph properties ([MS-DOC] 2.9.175
PapxFkp): the PlcBtePapx in the table stream lists 512-byte pages of the WordDocument stream,
each mapping runs of file positions (where the paragraph's characters lie in the stream) to
properties that start with the istd. The stylesheet (STSH, 2.9.271) gives each istd its
built-in style identifier (``sti``), the same in every language: 1 to 9 are Heading 1 to 9,
62 is Title (the German "Überschrift 1" is sti 1 too).

Best effort by design: headings only add sections, so a stylesheet or a page that does not
add up gives no headings rather than failing a document whose text reads.
"""

from __future__ import annotations

import bisect
import struct

#: FibRgFcLcb97 pair indexes of the stylesheet and of the paragraph properties' page table
STSHF_PAIR, PLCF_BTE_PAPX_PAIR = 1, 13
#: built-in style identifiers of headings: Heading 1..9 and Title
HEADING_STIS = frozenset((*range(1, 10), 62))
PAGE = 512
#: the most stylesheet entries and property pages read
MOST_STYLES, MOST_PAGES = 4_096, 100_000


def _u16(data: bytes, at: int) -> int:
    return int(struct.unpack_from("<H", data, at)[0])


def _u32(data: bytes, at: int) -> int:
    return int(struct.unpack_from("<I", data, at)[0])


def heading_styles(table: bytes, at: int, size: int) -> set[int]:
    """The istds whose built-in style is a heading or the title."""
    stsh = table[at : at + size]
    header = _u16(stsh, 0)
    count = _u16(stsh, 2)  # Stshi.cstd
    pos = 2 + header
    out: set[int] = set()
    for istd in range(min(count, MOST_STYLES)):
        if pos + 2 > len(stsh):
            break
        length = _u16(stsh, pos)
        if length >= 2 and (_u16(stsh, pos + 2) & 0x0FFF) in HEADING_STIS:
            out.add(istd)
        pos += 2 + length
    return out


def paragraph_styles(word: bytes, table: bytes, at: int, size: int) -> list[tuple[int, int]]:
    """(first file position, istd) of each run of paragraphs, sorted by position."""
    count = (size - 4) // 8
    if count <= 0:
        return []
    plc = table[at : at + size]
    pages = struct.unpack_from(f"<{count}I", plc, 4 * (count + 1))
    runs: list[tuple[int, int]] = []
    for number in pages[:MOST_PAGES]:
        first = (number & 0x3FFFFF) * PAGE  # PnFkpPapx: the page number in 22 bits
        page = word[first : first + PAGE]
        if len(page) < PAGE:
            continue
        crun = page[PAGE - 1]
        starts = struct.unpack_from(f"<{crun + 1}I", page, 0)
        for n in range(crun):
            offset = page[4 * (crun + 1) + 13 * n] * 2  # BxPap.bOffset, in words
            if offset == 0:
                runs.append((starts[n], 0))  # no properties: the Normal style
                continue
            cb = page[offset]
            grpprl = offset + 2 if cb == 0 else offset + 1
            runs.append((starts[n], _u16(page, grpprl)))
    runs.sort()
    return runs


def style_at(runs: list[tuple[int, int]], position: int) -> int:
    """The istd of the paragraph whose mark lies at this file position."""
    index = bisect.bisect_right(runs, (position, 1 << 16)) - 1
    return runs[index][1] if index >= 0 else 0
