"""Lineage DTOs: an edge between a run and an entity, and a node reached by a walk."""

from __future__ import annotations

import uuid

from docledger.schemas.common import OutputModel
from docledger.vocab import EntityType, LineageDirection


class LineageNode(OutputModel):
    """An entity reached by a lineage walk, with the run that links it and the distance.
    ``via_run_id`` is None where the schema itself links the two (a version and its document,
    an extraction and its version, a segment and its extraction)."""

    entity_type: EntityType
    entity_id: str
    via_run_id: uuid.UUID | None
    depth: int


class LineageEdge(OutputModel):
    run_id: uuid.UUID
    direction: LineageDirection
    entity_type: EntityType
    entity_id: str
