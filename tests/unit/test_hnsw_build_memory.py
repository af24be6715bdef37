"""pgvector's HNSW build gets memory for the whole graph of the space it indexes: a graph that
outgrows ``maintenance_work_mem`` is finished at the speed of single inserts (measured: 2,365
bytes a 384-dimension vector)."""

from __future__ import annotations

from docledger.db.vector_index import BUILD_MEMORY_MAX_MIB, BUILD_MEMORY_MIB, build_memory_mib


def test_a_small_space_gets_the_floor() -> None:
    assert build_memory_mib(1_000, 384) == BUILD_MEMORY_MIB


def test_a_million_vectors_get_room_for_their_graph() -> None:
    got = build_memory_mib(1_000_000, 384)
    assert 1_000_000 * 2_365 / 2**20 < got < BUILD_MEMORY_MAX_MIB  # 2,255 MiB measured need
    assert build_memory_mib(1_000_000, 768) > got  # wider vectors, bigger graph


def test_the_build_never_asks_more_than_the_ceiling() -> None:
    assert build_memory_mib(50_000_000, 1536) == BUILD_MEMORY_MAX_MIB
