"""The vector index as a cache of the database: loaded, checked, topped up, snapshotted.

A snapshot records a watermark (every snippet with id <= it is in the file) and the
change-log position it reflects, so a restart only adds what the file missed and
replays deletions and corrections committed after it. A file that cannot be trusted
is rebuilt from the stored vectors: a restart never re-embeds.
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine import startup
from index import IndexCorruptError, VectorIndex, build_index, load_index
from index.fileformat import remove_stale_temps
from storage.base import Repository

log = logging.getLogger(__name__)


@dataclass
class _Saved:
    watermark: int = 0  # every snippet with id <= watermark is in the saved file
    size: int = 0  # vectors in the saved file
    changes: int = -1  # the change-log position it reflects (-1: none saved or loaded)
    index: weakref.ref[VectorIndex] | None = None  # the in-memory index it was made from


FOLD_PER_BATCH = 64  # deferred vectors built into the HNSW graph after each writer batch


def _built(index: VectorIndex) -> int:
    """Vectors in the structure a saved file holds (not those waiting deferred)."""
    return len(index) - index.deferred


class IndexFiles:
    def __init__(self, repo: Repository, path: Path, snapshot_every: int) -> None:
        self.repo = repo
        self.path = path
        self.snapshot_every = snapshot_every
        self.changes_seq = 0  # deletions/replacements the in-memory index reflects
        self._saved = _Saved()
        self._due_from = 0  # index size at the last snapshot begun: the next is due after
        self._running: threading.Thread | None = None  # a snapshot being written

    def open(self, model: str, dim: int) -> VectorIndex:
        """Load the saved index and top it up from storage; rebuild when it cannot be trusted."""
        index: VectorIndex | None = None
        if remove_stale_temps(self.path):  # a snapshot cut short by a crash; we hold the dir
            log.warning("removed unfinished index snapshot files beside %s", self.path)
        if self.path.exists():
            try:
                index = self._load(model, dim)
            except IndexCorruptError as exc:
                log.warning("%s", exc)
                index = None
        # What came after the file's watermark is deferred: searchable at once, built into
        # an HNSW graph after writer batches (`fold`), not before ready (about 3.7 ms a
        # vector at a million on 2 cores: a start after a crash just before a snapshot
        # would insert 20,000). A rebuild from the database inserts as it always did.
        if index is None:
            index = build_index(dim, self.repo.counts()["snippets"])
            self._saved = _Saved()
            top_up = index.add
        else:
            top_up = index.defer
        added = 0
        for ids, vectors in self.repo.iter_vectors(after_id=self._saved.watermark):
            top_up(ids, vectors)
            added += len(ids)
        self._saved.size = self._due_from = min(len(index) - added, _built(index))
        self._saved.index = weakref.ref(index)
        self.changes_seq = self.repo.last_change()
        log.info("index ready: %d vectors (%d added from the database)", len(index), added)
        return index

    def empty(self, dim: int) -> VectorIndex:
        """Stored vectors belong to another model: the re-index builds the real one."""
        startup.take("index", self.path)  # a load begun ahead is let go
        return build_index(dim, 0)

    def _load(self, model: str, dim: int) -> VectorIndex | None:
        ahead = startup.take("index", self.path)
        index, meta = (
            ahead.result() if ahead is not None else load_index(self.path, trust_mark=True)
        )
        watermark = int(meta.get("watermark", -1))
        changes = int(meta.get("changes", 0))
        fits = meta.get("model") == model and index.dim == dim
        if fits:
            self._replay(index, changes, watermark)
        if not fits or len(index) != self.repo.count_up_to(watermark):
            log.warning("index file %s is stale; rebuilding from the database", self.path)
            return None
        self._saved = _Saved(watermark=watermark, changes=changes)
        return index

    def _replay(self, index: VectorIndex, since: int, watermark: int) -> None:
        """Deletions and replacements committed after the file was saved: drop the ids,
        then put back the stored vector of those that still exist (replaced ones)."""
        ids, _ = self.repo.changes_after(since)
        if not ids:
            return
        index.remove(np.array(ids, dtype=np.int64))
        kept = self.repo.vectors([i for i in ids if i <= watermark])
        if kept:
            order = sorted(kept)
            index.add(np.array(order, dtype=np.int64), np.vstack([kept[i] for i in order]))
        log.info("index file replayed %d deletions/replacements", len(ids))

    def top_up(self, index: VectorIndex) -> None:
        """After a failed batch: add whatever storage has that the index lacks (a commit
        may have succeeded before the failure)."""
        have = index.ids()
        top = int(have.max()) if len(have) else 0
        for ids, vectors in self.repo.iter_vectors(after_id=top):
            index.add(ids, vectors)

    def changes_applied(self, seq: int) -> None:
        self.changes_seq = max(self.changes_seq, seq)

    def fold(self, index: VectorIndex) -> None:
        """Called by the writer after each batch: deferred vectors go into the index's
        structure, `FOLD_PER_BATCH` of the backlog (a quarter of a second at a million on
        2 cores) and as many as the batch itself sent to the tail, so that the tail a
        start left shrinks as the service works. An idle service keeps it (searched
        exactly) until the next batch."""
        index.fold(FOLD_PER_BATCH)

    def maybe_snapshot(self, index: VectorIndex, model: str) -> None:
        """Called by the writer after each batch: a due snapshot is written on a thread of
        its own (at a million vectors the file is 2.3 GB: seconds the writer would wait);
        the writer waits only while the index is copied."""
        if _built(index) - self._due_from < self.snapshot_every:
            return
        if self._running is not None and self._running.is_alive():
            return
        changes = self.changes_seq  # read before the copy: replaying more is harmless

        def save() -> None:
            try:
                self.snapshot(index, model, changes)
            except Exception:  # the next due snapshot tries again; restart rebuilds
                log.exception("index snapshot to %s failed", self.path)

        self._due_from = _built(index)  # not due again while this one runs
        self._running = threading.Thread(target=save, name="index-snapshot", daemon=True)
        self._running.start()

    def wait(self) -> None:
        """Until a snapshot in flight is written (before a final one, at close)."""
        if self._running is not None:
            self._running.join()

    def snapshot(self, index: VectorIndex, model: str, changes: int | None = None) -> None:
        """`changes`: the change-log position the index reflects, when it is not the one in
        force (the re-index saves its new index before the swap, from its snapshot)."""
        changes = self.changes_seq if changes is None else changes
        size = _built(index)
        meta = index.save(self.path, {"model": model, "watermark": None, "changes": changes})
        self._saved = _Saved(int(meta["watermark"]), size, changes, weakref.ref(index))

    def unchanged(self, index: VectorIndex) -> bool:
        """Whether the file already holds `index` as it is, less what waits deferred (no
        file holds that: the next start defers it again): a clean stop then writes
        nothing (at a million vectors a snapshot takes 10 s, more than a container's
        usual grace before SIGKILL). New vectors have ids above the watermark; a
        deletion or correction moves the change log; a swap installs another index."""
        saved = self._saved
        if saved.index is None or saved.index() is not index:
            return False
        if _built(index) != saved.size or self.changes_seq != saved.changes:
            return False
        if index.deferred:  # new ids wait in the tail, which no file holds; the graph is as saved
            return True
        ids = index.ids()
        return len(ids) == 0 or int(ids.max()) <= saved.watermark
