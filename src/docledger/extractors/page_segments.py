"""A laid-out page as segments: the page, its blocks, lines (and words) in reading order, then
its retrieval chunks. Every extractor that knows where text sits on a page writes these (PDF
layout, OCR, slides, drawings, other engines' OCR output), so search, review and exports
treat them alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from docledger.extractors.chunking import spans
from docledger.extractors.layout import Block, Box, Line


def layout_segments(
    number: int,
    frame_size: tuple[float, float, int],
    blocks: list[Block],
    *,
    unit: str,
    granularity: str,
    chunk_size: int,
    chunk_overlap: int,
    page_meta: Mapping[str, Any],
    first_index: int,
) -> list[dict[str, Any]]:
    """A page's segments: the page, its blocks, lines (and words), then its chunks.

    ``first_index`` is the page segment's position in the extraction's list (parents are
    indexes into it). Chunks are children of the page and never cross it, so each has one
    page and one box.
    """
    width, height, rotation = frame_size
    ordered_lines = [line for block in blocks for line in block.lines]
    page_text = "\n\n".join(block.text for block in blocks)
    out: list[dict[str, Any]] = [
        {
            "kind": "page",
            "page_number": number,
            "text": page_text,
            "bbox": Box(0, 0, width, height).as_dict(unit),
            "metadata": {
                "width": round(width, 3),
                "height": round(height, 3),
                "rotation": rotation,
                **page_meta,
            },
        }
    ]
    with_blocks = granularity in {"blocks", "lines", "words"}
    with_lines = granularity in {"lines", "words"}
    for block in blocks:
        block_index = first_index + len(out)
        if with_blocks:
            assert block.box is not None
            out.append(
                {
                    "kind": "block",
                    "page_number": number,
                    "text": block.text,
                    "bbox": block.box.as_dict(unit),
                    "parent": first_index,
                    **({"label": block.label} if block.label else {}),
                }
            )
        if not with_lines:
            continue
        for line in block.lines:
            line_index = first_index + len(out)
            meta: dict[str, Any] = {}
            if line.size:
                meta["font_size"] = round(line.size, 2)
            if not line.horizontal:
                meta["vertical"] = True
            out.append(
                {
                    "kind": "line",
                    "page_number": number,
                    "text": line.text,
                    "bbox": line.box.as_dict(unit),
                    "parent": block_index if with_blocks else first_index,
                    "confidence": line.confidence,
                    "metadata": meta,
                }
            )
            if granularity == "words":
                out.extend(
                    {
                        "kind": "word",
                        "page_number": number,
                        "text": word.text,
                        "bbox": word.box.as_dict(unit),
                        "parent": line_index,
                    }
                    for word in line.words
                )
    if chunk_size > 0:
        out.extend(
            _chunks(number, blocks, ordered_lines, unit, chunk_size, chunk_overlap, first_index)
        )
    return out


def _chunks(
    number: int,
    blocks: list[Block],
    lines: list[Line],
    unit: str,
    size: int,
    overlap: int,
    parent: int,
) -> list[dict[str, Any]]:
    """Retrieval chunks over the page's text: lines joined by spaces, blocks by a blank
    line; each chunk's box is the union of the lines it touches."""
    pieces: list[str] = []
    starts: list[int] = []
    position = 0
    for b, block in enumerate(blocks):
        if b:
            pieces.append("\n\n")
            position += 2
        for n, line in enumerate(block.lines):
            if n:
                pieces.append(" ")
                position += 1
            starts.append(position)
            text = line.text
            pieces.append(text)
            position += len(text)
    text = "".join(pieces)
    ends = [s + len(line.text) for s, line in zip(starts, lines, strict=True)]
    out = []
    for a, z in spans(text, size, overlap):
        touched = [i for i, (s, e) in enumerate(zip(starts, ends, strict=True)) if s < z and e > a]
        if not touched:
            continue
        box = lines[touched[0]].box
        for i in touched[1:]:
            box = box.union(lines[i].box)
        confidences = [c for i in touched if (c := lines[i].confidence) is not None]
        out.append(
            {
                "kind": "chunk",
                "page_number": number,
                "text": text[a:z],
                "bbox": box.as_dict(unit),
                "parent": parent,
                "confidence": min(confidences) if confidences else None,
                "metadata": {"lines": [touched[0], touched[-1]]},
            }
        )
    return out
