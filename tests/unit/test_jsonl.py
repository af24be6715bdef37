"""JSON Lines, the format of most RAG and fine-tuning datasets: a record per line, its line
number kept; a line that is not JSON fails the document naming the line."""

from __future__ import annotations

import json

import pytest

from docledger.errors import InvalidInput
from docledger.extractors import JsonLinesExtractor, for_media_type
from docledger.services.media import sniff


def test_a_record_per_line() -> None:
    lines = [{"question": "Qual porta falha?", "answer": "D7"}, {"question": "Where?", "n": 1}]
    data = ("\n".join(json.dumps(x, ensure_ascii=False) for x in lines[:1]) + "\n\n"
            + json.dumps(lines[1]) + "\n").encode("utf-8")  # fmt: skip
    assert sniff(data, "qa.jsonl", complete=True) == "application/x-ndjson"
    assert isinstance(for_media_type("application/x-ndjson"), JsonLinesExtractor)
    first, second = JsonLinesExtractor().extract(data, {})
    assert json.loads(first.text or "") == lines[0]
    assert json.loads(second.text or "") == lines[1]
    assert (first.metadata["line"], second.metadata["line"]) == (1, 3)
    assert first.kind == "record"


def test_a_line_that_is_not_json_names_its_line() -> None:
    data = b'{"a": 1}\n{"b": 2}\n{"c": \n'
    with pytest.raises(InvalidInput, match="line 3 is not JSON"):
        JsonLinesExtractor().extract(data, {})
    with pytest.raises(InvalidInput, match="line 1 is not JSON"):
        JsonLinesExtractor().extract(b"[" * 100_000 + b"\n", {})
