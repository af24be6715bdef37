"""UUIDv7 ids: the right version and variant bits, the clock, and strict order in a process."""

from __future__ import annotations

import time
import uuid

from docledger.ids import uuid7, uuid7_hex_many, uuid7_time_ms


def test_version_variant_and_time() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid7()
    after = time.time_ns() // 1_000_000
    assert value.version == 7
    assert value.variant == "specified in RFC 4122"
    assert before <= uuid7_time_ms(value) <= after + 1


def test_ids_are_strictly_increasing() -> None:
    ids = [uuid7() for _ in range(50_000)]  # many share a millisecond: the counter orders them
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert [str(i) for i in ids] == sorted(str(i) for i in ids)  # text order too (SQLite, logs)


def test_bulk_ids_are_valid_and_keep_increasing_with_single_ones() -> None:
    def bulk(n: int) -> list[uuid.UUID]:
        return [uuid.UUID(h) for h in uuid7_hex_many(n)]

    ids = [uuid7(), *bulk(10_000), uuid7(), *bulk(5_000), uuid7()]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert {(i.version, i.variant) for i in ids} == {(7, uuid.RFC_4122)}
    assert uuid7_hex_many(0) == []


def test_hex_bulk_ids_are_the_same_ids_spelled_as_stored() -> None:
    """record() hands the drivers 32-hex-digit ids: SQLAlchemy's own spelling on SQLite."""
    spelled = [*uuid7_hex_many(3_000), uuid7().hex, *uuid7_hex_many(2_000)]
    ids = [uuid.UUID(h) for h in spelled]
    assert [i.hex for i in ids] == spelled
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert {(i.version, i.variant) for i in ids} == {(7, uuid.RFC_4122)}
    assert uuid7_hex_many(0) == []
