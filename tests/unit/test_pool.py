"""The worker pool's restart policy (the pool itself is tested through the CLI in
tests/integration/test_queue_pool.py)."""

from __future__ import annotations

from docledger.worker.pool import RESTART_MAX_PAUSE_S, RESTART_PAUSE_S, restart_pause


def test_pool_restart_pause_backs_off_for_crash_loops_only() -> None:
    deaths, pauses = 0, []
    for _ in range(8):  # children dying right after their start
        deaths, pause = restart_pause(deaths, lived_s=0.2)
        pauses.append(pause)
    assert pauses[:3] == [RESTART_PAUSE_S, 2 * RESTART_PAUSE_S, 4 * RESTART_PAUSE_S]
    assert pauses[-1] == RESTART_MAX_PAUSE_S
    assert pauses == sorted(pauses)
    # a child that had been running a while restarts after the base pause again
    assert restart_pause(deaths, lived_s=3600.0) == (1, RESTART_PAUSE_S)
