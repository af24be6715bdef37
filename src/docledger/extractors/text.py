"""Markdown, plain text and JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from docledger.errors import InvalidInput
from docledger.extractors.base import CHUNK_PARAMS, Param, check_chunking, check_params
from docledger.extractors.chunking import spans
from docledger.extractors.encoding import decode
from docledger.extractors.markdown import headings
from docledger.schemas.extraction import SegmentIn


class TextExtractor:
    """A section per Markdown heading (``docledger.extractors.markdown``; one for the whole
    text without any), then sentence-aware
    chunks of up to ``chunk_size`` characters as its children (what search returns). The
    text is read in the file's own encoding (``docledger.extractors.encoding``), named in
    each section's metadata when it is not UTF-8."""

    name: str = "text"
    #: 3: read in the file's own encoding (a byte-order mark, UTF-8, else detected), and
    #: headings found as CommonMark finds them (setext ones too, none in code blocks)
    version: str = "3"
    media_types: tuple[str, ...] = ("text/markdown", "text/plain")
    params = {**CHUNK_PARAMS}

    def check(self, params: Mapping[str, Any]) -> dict[str, Any]:
        values = check_params(self.params, params, self.name)
        check_chunking(values)
        return values

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]:
        values = self.check(params)
        text, encoding = decode(data)
        noted = {} if encoding == "utf-8" else {"encoding": encoding}
        marks = self.marks(text)
        return sectioned(text, marks, values["chunk_size"], values["chunk_overlap"], noted)

    def marks(self, text: str) -> list[tuple[int, str]]:
        """Where sections start: Markdown's headings."""
        return headings(text)


class ConfigTextExtractor(TextExtractor):
    """YAML and TOML files: text in chunks, one section (their ``#`` lines are comments,
    not headings)."""

    name: str = "config"
    version: str = "1"
    media_types: tuple[str, ...] = ("application/yaml", "application/toml")

    def marks(self, text: str) -> list[tuple[int, str]]:
        return []


def titled(
    found: list[tuple[str, str, dict[str, Any]]], values: Mapping[str, Any], untitled: str
) -> list[SegmentIn]:
    """A section per (title, text, metadata) item, labelled with its title (``untitled``
    when it has none), and its chunks: messages of a mailbox, events of a calendar."""
    out: list[SegmentIn] = []
    for title, text, meta in found:
        part = sectioned(text, [(0, title or untitled)], values["chunk_size"],
                         values["chunk_overlap"], meta)  # fmt: skip
        for segment in part:
            if segment.parent is not None:
                segment.parent += len(out)
        out.extend(part)
    return out


def with_parts(
    text: str,
    marks: list[tuple[int, str]],
    body_end: int,
    values: Mapping[str, Any],
    parts: Mapping[str, str],
) -> list[SegmentIn]:
    """``sectioned`` for a document whose body is followed by parts of other kinds (notes,
    headers, comments): each section from ``body_end`` on names its part in
    ``metadata.part`` (``parts``: its title to the part's name)."""
    segments = sectioned(text, marks, values["chunk_size"], values["chunk_overlap"], {})
    for segment in segments:
        if segment.kind == "section" and segment.metadata.get("start", 0) >= body_end:
            segment.metadata["part"] = parts.get(segment.label or "", "body")
    return segments


def sectioned(
    text: str,
    marks: list[tuple[int, str]],
    chunk_size: int,
    chunk_overlap: int,
    noted: Mapping[str, Any],
) -> list[SegmentIn]:
    """A ``section`` from each heading mark (offset, title) to the next (and one for any text
    before the first), each followed by its sentence-aware chunks; offsets are the text's."""
    if not marks or marks[0][0] > 0:
        marks = [(0, ""), *marks]
    segments: list[SegmentIn] = []
    for n, (start, title) in enumerate(marks):
        end = marks[n + 1][0] if n + 1 < len(marks) else len(text)
        body = text[start:end]
        if not body.strip():
            continue
        parent = len(segments)
        segments.append(
            SegmentIn(
                kind="section",
                label=title[:200] or None,
                text=body,
                metadata={"start": start, "end": end, **noted},
            )
        )
        segments.extend(
            SegmentIn(
                kind="chunk",
                text=body[a:b],
                parent=parent,
                metadata={"start": start + a, "end": start + b},
            )
            for a, b in spans(body, chunk_size, chunk_overlap)
        )
    return segments


class JsonExtractor:
    """One ``record`` segment per top-level element (array items or object members)."""

    name: str = "json"
    version: str = "1"
    media_types: tuple[str, ...] = ("application/json",)
    params: dict[str, Param] = {}

    def check(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return check_params(self.params, params, self.name)

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]:
        self.check(params)
        try:
            doc = json.loads(decode(data)[0])
        except (ValueError, RecursionError) as exc:
            raise InvalidInput(f"not valid JSON: {str(exc)[:200]}") from exc
        items: list[tuple[str | None, Any]]
        if isinstance(doc, list):
            items = [(None, v) for v in doc]
        elif isinstance(doc, dict):
            items = list(doc.items())
        else:
            items = [(None, doc)]
        return records(items)


def records(
    items: list[tuple[str | None, Any]], where: str = "index", at: list[int] | None = None
) -> list[SegmentIn]:
    """A ``record`` per (key, value), its text the value as sorted JSON, ``metadata[where]``
    its position (``at``, else its index)."""
    try:
        return [
            SegmentIn(
                kind="record",
                label=None if key is None else key[:200],
                text=json.dumps(value, sort_keys=True, ensure_ascii=False),
                metadata={where: n if at is None else at[n]},
            )
            for n, (key, value) in enumerate(items)
        ]
    except RecursionError as exc:
        raise InvalidInput("JSON nested too deeply to record") from exc


class JsonLinesExtractor(JsonExtractor):
    """JSON Lines (``.jsonl``, the format of most RAG and fine-tuning datasets): a ``record``
    per line (``metadata.line``); blank lines are skipped, and a line that is not JSON fails
    the document naming the line (a half-read dataset would look complete)."""

    name: str = "jsonl"
    version: str = "1"
    media_types: tuple[str, ...] = ("application/x-ndjson", "application/jsonl")

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]:
        self.check(params)
        text, _ = decode(data)
        items: list[tuple[str | None, Any]] = []
        numbers = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append((None, json.loads(line)))
            except (ValueError, RecursionError) as exc:
                raise InvalidInput(f"line {number} is not JSON: {str(exc)[:200]}") from exc
            numbers.append(number)
        return records(items, "line", numbers)
