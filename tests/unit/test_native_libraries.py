"""Native libraries docledger loads into one process must not crash each other.

usearch 2.26.2 to 2.26.6 made any later ``import onnxruntime`` (the OCR extra) die with a
segmentation fault; a search followed by an OCR extraction in one worker is an ordinary day.
Each order runs in a fresh interpreter, since a crash would take the test process with it.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

ORDERS = [
    ("usearch.index", "onnxruntime"),
    ("onnxruntime", "usearch.index"),
    ("usearch.index", "pypdfium2"),
]


@pytest.mark.parametrize(("first", "then"), ORDERS)
def test_libraries_load_in_either_order(first: str, then: str) -> None:
    for name in (first, then):
        if importlib.util.find_spec(name.split(".")[0]) is None:
            pytest.skip(f"{name} is not installed (an optional extra)")
    done = subprocess.run(
        [sys.executable, "-c", f"import {first}; import {then}; print('loaded')"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-400:])
    assert done.stdout.strip() == "loaded"
