"""UUIDv7 ids: the right version and variant bits, the clock, and strict order in a process."""

from __future__ import annotations

import pickle
import time
import uuid

import pytest

from docledger import ids
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


@pytest.mark.parametrize(
    "text",
    [
        "0b8a3c6a9f2e4d1b8c7e6f5a4b3c2d1e",
        "01938f5e7a3b7c2d9e8f0a1b2c3d4e5f",  # a UUIDv7
        "0" * 32,
        "f" * 32,
        "F" * 32,
        "0b8a3c6a-9f2e-4d1b-8c7e-6f5a4b3c2d1e",
        "{0b8a3c6a-9f2e-4d1b-8c7e-6f5a4b3c2d1e}",
        "urn:uuid:0b8a3c6a-9f2e-4d1b-8c7e-6f5a4b3c2d1e",
        "+" + "0" * 31,
        " " + "1" * 31,
        "-" + "0" * 31,
        "-" * 32,
        "g" * 32,
        "_" * 32,
        "0_" * 16,
        "{" + "0" * 30 + "}",
        "0" * 31,
        "0" * 33,
        "",
        "\u0660" * 32,  # Arabic-Indic zeros: int() reads them, the constructor too
    ],
)
def test_from_hex_equals_the_constructor_and_refuses_what_it_refuses(text: str) -> None:
    try:
        want: uuid.UUID | None = uuid.UUID(text)
    except ValueError:
        want = None
    if want is None:
        with pytest.raises(ValueError):  # noqa: PT011 - the constructor's own messages vary
            ids.from_hex(text)
        return
    got = ids.from_hex(text)
    assert got == want
    assert hash(got) == hash(want)
    assert str(got) == str(want)
    assert got.version == want.version
    assert got.is_safe == want.is_safe
    assert pickle.loads(pickle.dumps(got)) == want  # noqa: S301 - our own bytes


@pytest.mark.parametrize(
    "raw", [bytes.fromhex("0b8a3c6a9f2e4d1b8c7e6f5a4b3c2d1e"), bytes(16), b"\xff" * 16]
)
def test_from_bytes_equals_the_constructor(raw: bytes) -> None:
    got = ids.from_bytes(raw)
    assert got == uuid.UUID(bytes=raw)
    assert got.bytes == raw


@pytest.mark.parametrize("raw", [b"", bytes(15), bytes(17)])
def test_from_bytes_refuses_what_is_not_16_bytes(raw: bytes) -> None:
    with pytest.raises(ValueError, match="16-char"):
        uuid.UUID(bytes=raw)
    with pytest.raises(ValueError, match="16 bytes"):
        ids.from_bytes(raw)


@pytest.mark.parametrize("value", [-1, 1 << 128])
def test_from_int_refuses_what_is_not_128_bits(value: int) -> None:
    with pytest.raises(ValueError, match="128-bit"):
        ids.from_int(value)
