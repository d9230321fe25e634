"""Embedding ahead of the writer: texts queued as snippets arrive, embedded on one thread.

Why: the writer used to embed a batch and then assign it, so the model's processes
waited while it assigned, and it waited while they embedded. Queued here, texts are
embedded in arrival order while the writer works through the batches before them.
What waits while the model is busy is embedded together in the next call (up to
`batch` texts), which keeps concurrent single POSTs micro-batched.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np

from embeddings.base import Embedder
from engine.errors import StaleModel


class EmbedQueue:
    def __init__(self, batch: int, current: Callable[[Embedder], bool] = lambda e: True) -> None:
        """`current(embedder)`: whether requests queued for `embedder` are still wanted;
        those that are not fail with StaleModel instead of calling a model that may have
        been closed (a call would start its process again)."""
        self.batch = batch
        self._current = current
        self._pending: deque[tuple[Embedder, list[str], Future[np.ndarray]]] = deque()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, embedder: Embedder, texts: list[str]) -> Future[np.ndarray]:
        """The vectors of `texts`, in their order, once the thread gets to them."""
        future: Future[np.ndarray] = Future()
        with self._ready:
            self._pending.append((embedder, texts, future))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="storyline-embed", daemon=True
                )
                self._thread.start()
            self._ready.notify()
        return future

    def _take(self) -> tuple[Embedder, list[tuple[list[str], Future[np.ndarray]]]]:
        """The oldest request and those behind it for the same model that fit one call."""
        with self._ready:
            while not self._pending:
                self._ready.wait()
            embedder, texts, future = self._pending.popleft()
            group, size = [(texts, future)], len(texts)
            while self._pending:
                other, more, later = self._pending[0]
                if other is not embedder or size + len(more) > self.batch:
                    break
                self._pending.popleft()
                group.append((more, later))
                size += len(more)
        return embedder, group

    def _run(self) -> None:
        while True:
            embedder, group = self._take()
            if not self._current(embedder):
                for _, future in group:
                    future.set_exception(StaleModel("the model was replaced; embed again"))
                continue
            try:
                vectors = embedder.embed([t for texts, _ in group for t in texts])
            except BaseException as exc:  # each waiting batch re-embeds and reports it
                for _, future in group:
                    future.set_exception(exc)
                continue
            start = 0
            for texts, future in group:
                future.set_result(vectors[start : start + len(texts)])
                start += len(texts)
