"""Time-ordered UUIDv7 identifiers (RFC 9562).

Random UUID4 keys scatter inserts across a B-tree; UUIDv7 keys grow with time, so new rows land
on the right-most index page on both SQLite and PostgreSQL. Python 3.11 has no ``uuid.uuid7``.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from typing import Any

_lock = threading.Lock()
_last_ms = 0
_seq = 0


def uuid7() -> uuid.UUID:
    """Return a UUIDv7; ids made in one process are strictly increasing.

    Within one millisecond a 12-bit counter (``rand_a``, seeded randomly) keeps the order; when it
    overflows the timestamp is advanced by one millisecond, as RFC 9562 section 6.2 allows.
    """
    global _last_ms, _seq  # noqa: PLW0603 - one process-wide monotonic clock
    with _lock:
        now = time.time_ns() // 1_000_000
        if now > _last_ms:
            _last_ms = now
            _seq = int.from_bytes(os.urandom(2), "big") & 0x3FF  # leave headroom in 12 bits
        else:
            _seq += 1
            if _seq > 0xFFF:
                _last_ms += 1
                _seq = 0
        ms, seq = _last_ms, _seq
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | seq << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def _uuid7_ints(count: int) -> list[int]:
    """``count`` increasing UUIDv7 values with one lock and one call for randomness."""
    global _last_ms, _seq  # noqa: PLW0603 - the same clock as uuid7()
    if count <= 0:
        return []
    with _lock:
        now = time.time_ns() // 1_000_000
        if now > _last_ms:
            _last_ms = now
            _seq = int.from_bytes(os.urandom(2), "big") & 0x3FF
        else:
            _seq += 1
        stamps = []
        for _ in range(count):
            if _seq > 0xFFF:
                _last_ms += 1
                _seq = 0
            stamps.append((_last_ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | _seq << 64)
            _seq += 1
        _seq -= 1  # the last one handed out
    noise = os.urandom(8 * count)
    mask = (1 << 62) - 1
    variant = 0b10 << 62
    return [
        stamp | variant | (int.from_bytes(noise[8 * n : 8 * n + 8], "big") & mask)
        for n, stamp in enumerate(stamps)
    ]


def uuid7_hex_many(count: int) -> list[str]:
    """``count`` increasing UUIDv7s as 32 hex digits: the form SQLite stores and PostgreSQL's
    uuid input (COPY text) accepts, so bulk writers skip building UUID objects and converting
    them back (that was a tenth of recording 250 segments)."""
    return [f"{value:032x}" for value in _uuid7_ints(count)]


def uuid7_time_ms(value: uuid.UUID) -> int:
    """The Unix time in milliseconds stored in a UUIDv7."""
    return value.int >> 80


def new_id() -> uuid.UUID:
    """Primary key for a new row."""
    return uuid7()


def from_int(
    value: int, _new: Any = object.__new__, _set: Any = object.__setattr__,
    _uuid: Any = uuid.UUID, _safe: Any = uuid.SafeUUID.unknown,
) -> uuid.UUID:  # fmt: skip
    """A UUID of a 128-bit integer, made as ``uuid.UUID`` makes it but without its argument
    parsing: a search builds 40 of them from rows per query, and the constructor was a tenth
    of the time docledger adds to the index's own (``bench/knn.py --ann``). The defaults bind
    names once (global look-ups were a third of the saving)."""
    if not 0 <= value < 1 << 128:
        raise ValueError("a UUID is a 128-bit number")
    made: uuid.UUID = _new(_uuid)
    _set(made, "int", value)
    _set(made, "is_safe", _safe)
    return made


def from_hex(text: str) -> uuid.UUID:
    """A UUID of 32 hex digits (the form SQLite stores ids in), or of any form ``uuid.UUID``
    reads; equal to ``uuid.UUID(text)`` and refusing what it refuses (32 characters that are
    not all hex digits fail ``int``, as in the constructor, which calls it too)."""
    if len(text) == 32 and text[0] != "-":  # the constructor drops hyphens: "-0...0" fails
        return from_int(int(text, 16))
    return uuid.UUID(text)


def from_bytes(raw: bytes) -> uuid.UUID:
    """A UUID of its 16 big-endian bytes, as ``uuid.UUID(bytes=raw)``."""
    if len(raw) != 16:
        raise ValueError("a UUID is 16 bytes")
    return from_int(int.from_bytes(raw, "big"))
