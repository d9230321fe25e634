"""Deterministic stand-ins for the model and the language detector (unit tests only)."""

from __future__ import annotations

import re
import zlib

import numpy as np

from embeddings.base import ModelIdentity

DIM = 64
WORD = re.compile(r"\w+")


def word_vector(word: str) -> np.ndarray:
    """A fixed pseudo-random direction per word (seeded by a stable hash, not hash())."""
    return np.random.default_rng(zlib.crc32(word.encode("utf-8"))).standard_normal(DIM)


class FakeEmbedder:
    """The normalised sum of each lower-cased word's vector: texts that share words have
    a high cosine, texts that share none are near 0. Deterministic across runs."""

    identity = ModelIdentity("fake", DIM, "1")

    def __init__(self) -> None:
        self.texts: list[str] = []  # every text embedded, in order

    def embed(self, texts: list[str]) -> np.ndarray:
        self.texts.extend(texts)
        out = np.zeros((len(texts), DIM), dtype=np.float64)
        for row, text in enumerate(texts):
            for word in WORD.findall(text.lower()):
                out[row] += word_vector(word)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return (out / norms).astype(np.float32)

    def embed_query(self, texts: list[str]) -> np.ndarray:
        return self.embed(texts)


class FakeDetector:
    def detect_many(self, texts: list[str]) -> list[str | None]:
        return ["en"] * len(texts)
