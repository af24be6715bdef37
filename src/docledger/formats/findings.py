"""Feature outputs: the feature engine's findings with their latest output of each type
(epics, stories, API contracts) and their evidence, as one JSON document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from docledger.formats.base import BaseFormat, Sink, Source, dumps

NAME = "features.json"


class FeatureOutputsFormat(BaseFormat):
    name = "feature-outputs"
    source = "findings"
    description = "findings with their latest versioned outputs and evidence, one JSON file"

    def write(self, records: Source, sink: Sink, options: Mapping[str, Any]) -> None:
        out = sink.open(NAME, "application/json")
        out.write('{"findings":[')
        first = True
        for record in records():
            out.write(("\n" if first else ",\n") + dumps(record))
            first = False
            sink.count(NAME)
        out.write("\n]}\n")
