"""Embedding ahead of the writer: the bookkeeping between request threads and the writer.

Request threads hand snippets as they are queued (`hand`), and the embedding queue
(`engine.embed_queue`) embeds them in runs while the writer assigns the batches
before; the writer then takes each item's vector (`take`), waiting for it if need
be. A vector depends on the text alone, so it stays right whatever earlier items
decide.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future

import numpy as np

from embeddings.base import Embedder
from engine.embed_queue import EmbedQueue
from engine.records import Incoming
from stories.text import model_input


class EmbedAhead:
    def __init__(self, batch: int, chars: int, current: Callable[[Embedder], bool]) -> None:
        """`current(embedder)`: whether vectors of that model are still wanted."""
        self.batch = batch
        self.chars = chars
        self._queue = EmbedQueue(batch, current=current)
        self._handed: dict[int, tuple[Incoming, Embedder, Future[np.ndarray], int]] = {}
        self._lock = threading.Lock()  # request threads hand, the writer takes

    def hand(self, items: Sequence[Incoming], embedder: Embedder) -> None:
        """Queue items for `embedder` in runs of `batch`; items already handed are skipped."""
        with self._lock:
            items = [i for i in items if id(i) not in self._handed]
            for start in range(0, len(items), self.batch):
                run = items[start : start + self.batch]
                texts = [model_input(i.title, i.text, self.chars) for i in run]
                future = self._queue.submit(embedder, texts)
                for row, item in enumerate(run):
                    self._handed[id(item)] = (item, embedder, future, row)

    def take(self, items: Sequence[Incoming], embedder: Embedder) -> list[np.ndarray | None]:
        """Each item's vector from `embedder` (waiting for it), or None where it was not
        handed, its embedding failed, or another model made it (a re-index swap): the
        caller embeds those itself, where a failure reaches it."""
        with self._lock:
            entries = [self._handed.pop(id(i), None) for i in items]
        out: list[np.ndarray | None] = []
        for item, entry in zip(items, entries, strict=True):
            if entry is None or entry[0] is not item or entry[1] is not embedder:
                out.append(None)
                continue
            _, _, future, row = entry
            out.append(future.result()[row] if future.exception() is None else None)
        return out

    @property
    def pending(self) -> int:
        """Items handed and not yet taken or forgotten."""
        return len(self._handed)

    def forget(self, items: Sequence[Incoming]) -> None:
        """Vectors not taken up (`exists`, or a failed batch)."""
        with self._lock:
            for item in items:
                self._handed.pop(id(item), None)
