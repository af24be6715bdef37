"""Page layout from positioned characters: words, lines, blocks, and their reading order.

Input is what a PDF engine or an OCR model reports: characters (or OCR lines) with boxes in
docledger's convention (top-left origin, y down, page units). The rules are geometric and
deliberately few, so they hold on documents nobody here wrote:

- a word ends at whitespace, at a line break the engine reports, or at a gap wider than a
  third of the character height;
- a line ends at the engine's line break, or (horizontal text) where the next word does not
  share its baseline band or lies more than ``COLUMN_GAP`` line heights to the right (two
  columns the content stream interleaves);
- a line joins the block whose last line sits directly above it (gap under ``BLOCK_GAP``
  line heights, overlapping horizontally, similar size); recent blocks are all tried, so
  interleaved columns still form their own blocks;
- blocks are ordered by recursive XY-cut: columns (a vertical gutter no block crosses) left to
  right, then bands top to bottom, then top-left first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

#: A horizontal gap wider than this many line heights starts a new line (a column gutter).
COLUMN_GAP = 1.5
#: A vertical gap up to this many line heights keeps a line in the block above it.
BLOCK_GAP = 0.8
#: Blocks searched (most recent first) for one a new line continues.
OPEN_BLOCKS = 12
#: A gap wider than this share of the character height ends a word.
WORD_GAP = 0.33


@dataclass(slots=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def union(self, other: Box) -> Box:
        return Box(
            min(self.x0, other.x0),
            min(self.y0, other.y0),
            max(self.x1, other.x1),
            max(self.y1, other.y1),
        )

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def as_dict(self, unit: str = "pt", digits: int = 3) -> dict[str, float | str]:
        return {
            "x0": round(self.x0, digits),
            "y0": round(self.y0, digits),
            "x1": round(self.x1, digits),
            "y1": round(self.y1, digits),
            "unit": unit,
        }


@dataclass(slots=True)
class Word:
    text: str
    box: Box


@dataclass(slots=True)
class Line:
    words: list[Word]
    box: Box
    size: float = 0.0
    horizontal: bool = True
    confidence: float | None = None

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass(slots=True)
class Block:
    lines: list[Line] = field(default_factory=list)
    box: Box | None = None
    #: what the source calls the block (a PAGE XML region's type: heading, caption, ...)
    label: str | None = None

    def add(self, line: Line) -> None:
        self.lines.append(line)
        self.box = line.box if self.box is None else self.box.union(line.box)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def union(boxes: Iterable[Box]) -> Box:
    """The smallest box holding all of ``boxes`` (at least one)."""
    items = list(boxes)
    return Box(
        min(b.x0 for b in items),
        min(b.y0 for b in items),
        max(b.x1 for b in items),
        max(b.y1 for b in items),
    )


def split_line(words: list[Word], size: float, horizontal: bool) -> list[Line]:
    """One engine line as one or more lines: horizontal text is cut where the next word
    leaves the baseline band or jumps right by more than a column gap."""
    if not horizontal:
        return [Line(list(words), union(w.box for w in words), size, horizontal)]
    out: list[Line] = []
    first = words[0].box
    run: list[Word] = [words[0]]
    x0, y0, x1, y1 = first.x0, first.y0, first.x1, first.y1
    prev = first
    for word in words[1:]:
        box = word.box
        low, high = prev.y1 - prev.y0, box.y1 - box.y0
        overlap = min(prev.y1, box.y1) - max(prev.y0, box.y0)
        if (
            overlap < 0.4 * min(low, high)
            or box.x0 - prev.x1 > COLUMN_GAP * max(low, high, 1e-6)
            or box.x1 < prev.x0
        ):
            out.append(Line(run, Box(x0, y0, x1, y1), size, horizontal))
            run = []
            x0, y0, x1, y1 = box.x0, box.y0, box.x1, box.y1
        else:
            x0, y0 = min(x0, box.x0), min(y0, box.y0)
            x1, y1 = max(x1, box.x1), max(y1, box.y1)
        run.append(word)
        prev = box
    out.append(Line(run, Box(x0, y0, x1, y1), size, horizontal))
    return out


def _continues(block: Block, line: Line) -> bool:
    last = block.lines[-1]
    if last.horizontal != line.horizontal or not line.horizontal:
        return False
    h = max(last.box.height, line.box.height, 1e-6)
    gap = line.box.y0 - last.box.y1
    if gap < -0.3 * h or gap > BLOCK_GAP * h:
        return False
    if min(last.box.x1, line.box.x1) - max(last.box.x0, line.box.x0) <= 0:
        return False
    small, big = sorted((last.box.height, line.box.height))
    return big <= 1.35 * max(small, 1e-6)


def blocks_of(lines: Sequence[Line]) -> list[Block]:
    """Lines (in the engine's order) grouped into blocks, in reading order."""
    blocks: list[Block] = []
    for line in lines:
        for block in reversed(blocks[-OPEN_BLOCKS:]):
            if _continues(block, line):
                block.add(line)
                break
        else:
            fresh = Block()
            fresh.add(line)
            blocks.append(fresh)
    return reading_order(blocks)


def _groups(blocks: list[Block], vertical: bool, min_gap: float) -> list[list[Block]]:
    def lo(b: Block) -> float:
        assert b.box is not None
        return b.box.x0 if vertical else b.box.y0

    def hi(b: Block) -> float:
        assert b.box is not None
        return b.box.x1 if vertical else b.box.y1

    ordered = sorted(blocks, key=lambda b: (lo(b), hi(b)))
    groups: list[list[Block]] = [[ordered[0]]]
    reach = hi(ordered[0])
    for b in ordered[1:]:
        if lo(b) > reach + min_gap:
            groups.append([b])
        else:
            groups[-1].append(b)
        reach = max(reach, hi(b))
    return groups


def reading_order(blocks: list[Block], gutter: float = 4.0) -> list[Block]:
    """Recursive XY-cut: columns first (a gutter at least ``gutter`` wide that no block
    crosses), then horizontal bands, then top-left first."""
    if len(blocks) <= 1:
        return list(blocks)
    for vertical, gap in ((True, gutter), (False, 0.0)):
        groups = _groups(blocks, vertical, gap)
        if len(groups) > 1:
            return [b for g in groups for b in reading_order(g, gutter)]
    return sorted(blocks, key=lambda b: (b.box.y0 if b.box else 0.0, b.box.x0 if b.box else 0.0))
