"""The exact scorer's two ways of reading a filter's rows: a run of consecutive rows is scored
in place, any other set is gathered; both must rank exactly alike (every metric)."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from docledger.services.vector_matrix import VectorMatrix


@pytest.mark.parametrize("metric", ["cosine", "ip", "l2"])
def test_a_run_of_rows_ranks_as_the_same_rows_gathered(metric: str) -> None:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((500, 16)).astype(np.float32)
    if metric == "cosine":
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    matrix = VectorMatrix(
        counter=1,
        metric=metric,
        ids=[uuid.uuid4() for _ in range(500)],
        vectors=vectors,
        sq_norms=np.einsum("ij,ij->i", vectors, vectors).astype(np.float32),
        columns={},
        codes={},
    )
    q = rng.standard_normal(16).astype(np.float32)
    run = np.arange(120, 260)  # consecutive: scored in place
    shuffled = rng.permutation(run)  # the same rows in another order: gathered
    in_place = matrix.top_rows(q, 7, run)
    gathered = matrix.top_rows(q, 7, shuffled)
    assert [i for i, _ in in_place] == [i for i, _ in gathered]
    assert [s for _, s in in_place] == pytest.approx([s for _, s in gathered])
    # and both equal a brute force over just those rows
    scores = {
        "cosine": vectors[run] @ (q / np.linalg.norm(q)),
        "ip": vectors[run] @ q,
        "l2": -np.linalg.norm(vectors[run] - q, axis=1),
    }[metric]
    best = run[np.argsort(-scores)[:7]]
    assert [i for i, _ in in_place] == [matrix.ids[r] for r in best]
    ((one, _),) = matrix.top_rows(q, 3, np.array([42]))  # a single row is not a run
    assert one == matrix.ids[42]
