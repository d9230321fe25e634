"""The embedder interface: texts in, L2-normalised float32 rows out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class ModelIdentity:
    """What a stored vector was made with; a change means re-embedding."""

    name: str
    dim: int
    version: str

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"


@runtime_checkable
class Embedder(Protocol):
    @property
    def identity(self) -> ModelIdentity:
        """Read-only: a plain attribute or a property (a model process learns it late)."""
        ...

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed documents: (n, dim) float32, rows of unit length."""
        ...

    def embed_query(self, texts: list[str]) -> np.ndarray:
        """Embed search queries (some models prefix queries differently)."""
        ...


def normalise_rows(x: np.ndarray) -> np.ndarray:
    """Float32 rows of unit length; zero rows stay zero instead of turning into NaN."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.maximum(norms, 1e-12, out=norms)
    return x / norms
