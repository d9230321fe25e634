"""Prometheus metrics, one registry per service (tests run several in one process).

Counters and histograms are updated where things happen (HTTP middleware,
writer, embedder, re-index); gauges that mirror state (queue depth, index size,
story count) are read from the service at scrape time, so they cannot drift.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
BATCH = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
PHASE = (0.1, 1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400)

GAUGES = {
    "writer_queue_depth": "Snippets and corrections waiting for the writer.",
    "index_size": "Vectors in the in-memory FAISS index.",
    "stories": "Live stories (merged and deleted ones not counted).",
    "snippets": "Stored snippets.",
}


class _StateGauges(Collector):
    def __init__(self, read: Callable[[], dict[str, float]]) -> None:
        self._read = read

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The names alone: registering would otherwise collect, and counting the rows of
        a million snippets held start-up for a second."""
        for name, doc in GAUGES.items():
            yield GaugeMetricFamily(f"storyline_{name}", doc)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        values = self._read()
        for name, doc in GAUGES.items():
            if name in values:
                yield GaugeMetricFamily(f"storyline_{name}", doc, value=values[name])


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self._gauges: _StateGauges | None = None
        self.requests = Counter(
            "storyline_http_requests",
            "HTTP requests by route template, method and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "storyline_http_request_duration_seconds",
            "HTTP request latency by route template and method.",
            ["method", "route"],
            buckets=LATENCY,
            registry=r,
        )
        self.ingested = Counter(
            "storyline_snippets_ingested",
            "Snippets answered by the writer, by status (created, duplicate, exists).",
            ["status"],
            registry=r,
        )
        self.shed = Counter(
            "storyline_writer_rejected",
            "Snippets refused with 503 because the writer queue was full.",
            registry=r,
        )
        self.corrections = Counter(
            "storyline_snippet_corrections",
            "Snippets deleted or replaced (DELETE/PUT /v1/snippets/{id}).",
            ["action"],
            registry=r,
        )
        self.embed_batch = Histogram(
            "storyline_embedding_batch_size",
            "Texts per model call.",
            buckets=BATCH,
            registry=r,
        )
        self.embed_seconds = Histogram(
            "storyline_embedding_duration_seconds",
            "Latency of one model call.",
            buckets=LATENCY,
            registry=r,
        )
        self.reindex_phase = Histogram(
            "storyline_reindex_phase_duration_seconds",
            "Duration of each re-index phase.",
            ["phase"],
            buckets=PHASE,
            registry=r,
        )

    def watch(self, read: Callable[[], dict[str, float]]) -> None:
        """Register the state gauges; `read` is called at every scrape (a second call
        replaces the first: an app started again on the same service)."""
        if self._gauges is not None:
            self.registry.unregister(self._gauges)
        self._gauges = _StateGauges(read)
        self.registry.register(self._gauges)

    # -- engine.observer.Observer --------------------------------------------
    def observe_embedding(self, texts: int, seconds: float) -> None:
        self.embed_batch.observe(texts)
        self.embed_seconds.observe(seconds)

    def count_outcomes(self, statuses: list[str]) -> None:
        for status in statuses:
            self.ingested.labels(status).inc()

    def count_shed(self, snippets: int) -> None:
        self.shed.inc(snippets)

    def count_correction(self, action: str) -> None:
        self.corrections.labels(action).inc()

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time one re-index phase: `with metrics.phase("embed"): ...`."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.reindex_phase.labels(name).observe(time.perf_counter() - started)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
