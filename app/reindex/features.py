"""Name, figure and word evidence for k-NN edges, computed from stored text.

Only the edges near a threshold ask for it (see `stories.recluster`), so the
per-pair Python cost stays small next to the vectorised scoring.
"""

from __future__ import annotations

import numpy as np

from app.features import features_of
from stories.assign import Features, Params
from stories.entities import rarity_weights, shared_name_evidence
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
        p = self.params
        out = np.zeros(len(a), dtype=np.float32)
        for n, (i, j) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
            fi, fj = self.features[i], self.features[j]
            score = 0.0
            if fi.names and fj.names:
                score += p.name_weight * shared_name_evidence(fi.names, fj.names, self._rarity(i))
            if fi.numbers & fj.numbers:
                score += p.number_weight
            out[n] = score
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
