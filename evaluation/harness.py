"""Run a labelled dataset through the real service and score the grouping.

Online mode ingests the items in publication order (ties shuffled with a fixed
seed, so arrival order is not the file's order) through `Service.ingest`: the
same validation-free path, writer, pipeline and thresholds the HTTP API uses.
"""

from __future__ import annotations

import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.records import Incoming
from app.service import Service
from app.settings import Settings
from embeddings import Embedder
from evaluation.datasets import Dataset
from evaluation.metrics import level_scores


class CachedEmbedder:
    """Memoises vectors by text so threshold sweeps embed each text once."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.identity = inner.identity
        self._cache: dict[str, np.ndarray] = {}

    def _get(self, texts: list[str], query: bool) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if (query, t) not in self._cache]
        if missing:
            fn = self.inner.embed_query if query else self.inner.embed
            for t, v in zip(missing, fn(missing), strict=True):
                self._cache[(query, t)] = v  # type: ignore[index]
        if not texts:
            return np.zeros((0, self.identity.dim), dtype=np.float32)
        return np.vstack([self._cache[(query, t)] for t in texts])  # type: ignore[index]

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._get(texts, False)

    def embed_query(self, texts: list[str]) -> np.ndarray:
        return self._get(texts, True)


@dataclass
class RunResult:
    dataset: str
    mode: str
    story: dict
    report: dict
    assignments: dict[str, tuple[int, int]]  # item key -> (story id, report id)
    seconds: float

    def as_dict(self) -> dict:
        return {"dataset": self.dataset, "mode": self.mode, "items": len(self.assignments),
                "story": self.story, "report": self.report, "seconds": round(self.seconds, 2)}


def run_online(
    data: Dataset,
    embedder: Embedder,
    settings: Settings | None = None,
    seed: int = 0,
    batch: int = 64,
) -> RunResult:
    order = list(data.items)
    random.Random(seed).shuffle(order)
    order.sort(key=lambda it: it.published_at)  # stable: ties keep the shuffled order
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="storyline-eval-") as tmp:
        cfg = (settings or Settings()).model_copy(update={"data_dir": Path(tmp)})
        service = Service(cfg, embedder=embedder)
        try:
            got: dict[str, tuple[int, int]] = {}
            for i in range(0, len(order), batch):
                chunk = order[i : i + batch]
                now = time.time()
                outcomes = service.ingest([
                    Incoming(title=it.title, text=it.text, lang=it.lang, source=None, url=None,
                             published_at=it.published_at, external_id=None, received_at=now)
                    for it in chunk
                ])
                for it, out in zip(chunk, outcomes, strict=True):
                    got[it.key] = (out.story_id, out.report_id)
        finally:
            service.close()
    items = data.items
    langs = [it.lang for it in items]
    story = level_scores([got[it.key][0] for it in items], [it.story for it in items], langs)
    report = level_scores([got[it.key][1] for it in items], [it.report for it in items], langs)
    return RunResult(data.name, "online", story, report, got, time.perf_counter() - started)
