"""Embedders. The built-in one needs no model download, so the main job works offline."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    """Feature hashing of words and character trigrams into a signed, L2-normalised vector.

    Deterministic and dependency-free: good for keyword-ish similarity and tests, not a
    substitute for a sentence-embedding model (plug one in by embedding texts yourself and
    calling ``ledger.embeddings.upsert``)."""

    model = "docledger-hashing-v1"

    def __init__(self, dimensions: int = 256) -> None:
        self.dimensions = dimensions

    def _features(self, text: str) -> list[str]:
        words = [w.lower() for w in _WORD.findall(text)]
        grams = [f"#{w[i : i + 3]}" for w in words for i in range(max(1, len(w) - 2))]
        return words + grams

    def embed(self, texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature in self._features(text):
                h = int.from_bytes(
                    hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little"
                )
                out[row, h % self.dimensions] += 1.0 if h >> 63 else -1.0
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
        return out
