"""Name, figure and word evidence for the edges of a k-NN graph (the batch re-cluster).

The same per-pair terms as online (`scoring.names_and_figures`, the near-copy word
overlap), with each item's name rarity taken over its own neighbourhood as online
takes it over the new snippet's. Only edges near a threshold ask for it
(`recluster.recluster`), so the per-pair Python cost stays small next to the
vectorised scoring.
"""

from __future__ import annotations

import numpy as np

from stories.entities import rarity_weights
from stories.features import Features, features_of
from stories.params import Params
from stories.scoring import names_and_figures
from stories.text import jaccard


class EdgeEvidence:
    def __init__(self, features: list[Features], neighbours: np.ndarray, params: Params) -> None:
        self.features = features
        self.neighbours = neighbours
        self.params = params
        self._weights: dict[int, dict[str, float]] = {}

    @classmethod
    def from_texts(
        cls,
        texts: list[tuple[str | None, str | None, str, float]],
        neighbours: np.ndarray,
        params: Params,
    ) -> EdgeEvidence:
        """`texts`: (title, text, lang, published_at) per item."""
        feats = [features_of(title, text, lang, pub) for title, text, lang, pub in texts]
        return cls(feats, neighbours, params)

    def _rarity(self, i: int) -> dict[str, float]:
        """Rarity of names within i's neighbourhood, as online (the new item plus its k-NN)."""
        found = self._weights.get(i)
        if found is None:
            row = [int(j) for j in self.neighbours[i] if j >= 0]
            found = rarity_weights([self.features[i].names, *(self.features[j].names for j in row)])
            self._weights[i] = found
        return found

    def bonus(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """`scoring.names_and_figures` of each edge (a[n], b[n])."""
        out = np.zeros(len(a), dtype=np.float32)
        feats = self.features
        for n, (i, j) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
            out[n] = names_and_figures(feats[i], feats[j], self._rarity(i), self.params)
        return out

    def near_copy(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        need = self.params.near_copy_words
        return np.array(
            [
                jaccard(self.features[i].words, self.features[j].words) >= need
                for i, j in zip(a.tolist(), b.tolist(), strict=True)
            ],
            dtype=bool,
        )
