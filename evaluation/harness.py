"""Run a labelled dataset through the real service and score the grouping.

Online mode ingests the items in publication order (ties shuffled with a fixed
seed, so arrival order is not the file's order) through `Service.ingest`: the
same writer, pipeline and parameters the HTTP API uses, so a score measures the
service and a threshold sweep moves the service's own knobs (`stories.params.Params`
fields, as the `STORYLINE_*` settings override them). Re-index mode ingests the
same way, then runs the nightly re-index job (`engine.reindex`: batch re-cluster,
id mapping, swap) on that data folder and scores where the snippets ended up.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import Embedder
from engine.config import EngineConfig
from engine.generation import params_for
from engine.records import Incoming, Outcome
from engine.reindex.options import ReindexOptions
from engine.service import Service
from evaluation.confusions import confusions
from evaluation.datasets import Dataset
from evaluation.metrics import level_scores
from language import DEFAULT_LANGUAGES

MODES = ("online", "reindex")
Overrides = Mapping[str, Any]  # `stories.params.Params` fields to change


class CachedEmbedder:
    """Memoises vectors by text so threshold sweeps embed each text once."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.identity = inner.identity
        self._cache: dict[tuple[bool, str], np.ndarray] = {}

    def _get(self, texts: list[str], query: bool) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if (query, t) not in self._cache]
        if missing:
            fn = self.inner.embed_query if query else self.inner.embed
            for t, v in zip(missing, fn(missing), strict=True):
                self._cache[(query, t)] = v
        if not texts:
            return np.zeros((0, self.identity.dim), dtype=np.float32)
        return np.vstack([self._cache[(query, t)] for t in texts])

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._get(texts, False)

    def embed_query(self, texts: list[str]) -> np.ndarray:
        return self._get(texts, True)


@dataclass
class RunResult:
    dataset: str
    mode: str
    scores: dict[str, dict[str, Any]]  # level -> level_scores(...)
    assignments: dict[str, tuple[int, int]]  # item key -> (story id, report id)
    seconds: float
    thresholds: dict[str, Any] = field(default_factory=dict)  # what the service used


@dataclass
class EvalResult:
    """Scores averaged over `orders` arrival orders."""

    dataset: str
    mode: str
    items: int
    orders: int
    scores: dict[str, dict[str, Any]]
    thresholds: dict[str, Any] = field(default_factory=dict)
    model: str = ""
    seconds: float = 0.0
    # the first arrival order's mixed and split groups per level (`evaluation.confusions`)
    confusions: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "mode": self.mode,
            "model": self.model,
            "items": self.items,
            "orders": self.orders,
            **self.scores,
            "thresholds": self.thresholds,
            "confusions": self.confusions,
            "seconds": round(self.seconds, 2),
        }


def _ordered(data: Dataset, seed: int) -> list:
    order = list(data.items)
    random.Random(seed).shuffle(order)
    order.sort(key=lambda it: it.published_at)  # stable: ties keep the shuffled order
    return order


def _ingest(service: Service, order: list, batch: int) -> dict[str, Outcome]:
    got: dict[str, Outcome] = {}
    for i in range(0, len(order), batch):
        chunk = order[i : i + batch]
        now = time.time()
        outcomes = service.ingest(
            [
                Incoming(
                    title=it.title,
                    text=it.text,
                    lang=it.lang,
                    source=None,
                    url=None,
                    published_at=it.published_at,
                    external_id=None,
                    received_at=now,
                )
                for it in chunk
            ]
        )
        got.update((it.key, out) for it, out in zip(chunk, outcomes, strict=True))
    return got


def score(data: Dataset, got: dict[str, tuple[int, int]]) -> dict[str, dict[str, Any]]:
    """Level scores for the levels the dataset is labelled at."""
    items = data.items
    langs = [it.lang for it in items]
    out: dict[str, dict[str, Any]] = {}
    if "story" in data.levels:
        out["story"] = level_scores(
            [got[it.key][0] for it in items], [it.story for it in items], langs
        )
    if "report" in data.levels:
        out["report"] = level_scores(
            [got[it.key][1] for it in items], [it.report for it in items], langs
        )
    return out


def run_online(
    data: Dataset,
    embedder: Embedder,
    overrides: Overrides | None = None,
    seed: int = 0,
    batch: int = 64,
) -> RunResult:
    """Ingest in publication order and score where the snippets ended up (a later snippet
    can merge two stories, so the answers given at ingest are not the final state)."""
    return _run(data, embedder, overrides, seed, batch, reindex=False)


def run_reindex(
    data: Dataset,
    embedder: Embedder,
    overrides: Overrides | None = None,
    seed: int = 0,
    batch: int = 64,
) -> RunResult:
    """Ingest online, then run the nightly re-index job (re-cluster everything, map ids,
    swap) on the same data folder, and score where the snippets ended up."""
    return _run(data, embedder, overrides, seed, batch, reindex=True)


def open_service(data_dir: Path, embedder: Embedder, overrides: Overrides | None = None) -> Service:
    """The real service on a data folder, with the model's parameters and `overrides`."""
    from language.process import shared_detector

    return Service(
        EngineConfig(data_dir=data_dir),
        embedder,
        shared_detector(DEFAULT_LANGUAGES),  # loads only if a snippet lacks `lang`
        partial(params_for, overrides=dict(overrides or {})),
    )


def _run(
    data: Dataset,
    embedder: Embedder,
    overrides: Overrides | None,
    seed: int,
    batch: int,
    reindex: bool,
) -> RunResult:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="storyline-eval-") as tmp:
        service = open_service(Path(tmp), embedder, overrides)
        try:
            out = _ingest(service, _ordered(data, seed), batch)
            if reindex:
                options = ReindexOptions()
                service.jobs.run("reindex", options.as_dict(), service.reindex_job(options))
            rows = service.repo.snippets([o.id for o in out.values()])
            used = service.params.as_dict()
        finally:
            service.close()
    got = {k: (rows[o.id].story_id, rows[o.id].report_id) for k, o in out.items()}
    seconds = time.perf_counter() - started
    mode = "reindex" if reindex else "online"
    return RunResult(data.name, mode, score(data, got), got, seconds, used)


def _mean(values: list[Any]) -> Any:
    if isinstance(values[0], dict):
        return {k: _mean([v[k] for v in values]) for k in values[0]}
    present = [v for v in values if v is not None]
    if not present:
        return None
    return round(sum(present) / len(present), 4)


def evaluate(
    data: Dataset,
    embedder: Embedder,
    overrides: Overrides | None = None,
    mode: str = "online",
    orders: int | None = None,
) -> EvalResult:
    """Run `data` in `orders` arrival orders (the dataset's own default) and average."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    runner = run_online if mode == "online" else run_reindex
    n = orders or data.orders
    started = time.perf_counter()
    runs = [runner(data, embedder, overrides, seed=s) for s in range(n)]
    return EvalResult(
        dataset=data.name,
        mode=mode,
        items=len(data.items),
        orders=n,
        scores=_mean([r.scores for r in runs]),
        thresholds=runs[0].thresholds,
        model=embedder.identity.key,
        seconds=time.perf_counter() - started,
        confusions={
            level: confusions(data, runs[0].assignments, i)
            for i, level in enumerate(("story", "report"))
            if level in data.levels
        },
    )
