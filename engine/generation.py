"""The model, its parameters and the vector index in force: swapped whole.

Everything that assigns, corrects or searches reads `Current.get()` once per batch
or request, so the nightly re-index installs a new generation by replacing one
reference, and no reader ever sees a new index with an old model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from embeddings import Embedder, ModelIdentity, calibration_for
from engine.observer import Observer
from index.base import VectorIndex
from stories.params import Params

ParamsFor = Callable[[ModelIdentity], Params]


def params_for(identity: ModelIdentity, overrides: Mapping[str, Any] | None = None) -> Params:
    """The model's calibrated parameters with the given overrides (None: keep)."""
    return Params.calibrated(calibration_for(identity)).override(**(overrides or {}))


@dataclass(frozen=True)
class Generation:
    embedder: Embedder  # the model, behind the lock it shares with search
    params: Params
    index: VectorIndex


class Current:
    def __init__(self, generation: Generation) -> None:
        self._generation = generation

    def get(self) -> Generation:
        return self._generation

    def install(self, generation: Generation) -> Generation:
        """Put `generation` in force; returns the one it replaces."""
        old, self._generation = self._generation, generation
        return old


class LockedEmbedder:
    """The embedder behind a lock: the writer and search queries share one model."""

    def __init__(self, inner: Embedder, lock: threading.Lock, observer: Observer) -> None:
        self.inner = inner
        self._lock = lock
        self._observer = observer
        self.identity = inner.identity

    def embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            started = time.perf_counter()
            out = self.inner.embed(texts)
        self._observer.observe_embedding(len(texts), time.perf_counter() - started)
        return out

    def embed_query(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return self.inner.embed_query(texts)
