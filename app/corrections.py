"""Deletion and correction of stored snippets (retractions, legal takedowns, fixes).

Both run on the writer thread (the one place that decides assignments) as one
SQLite transaction each: the row goes (text and vector with it), its report
and story are recomputed, and a PUT re-ingests the corrected snippet under the
same id through the ordinary pipeline before the commit. The FAISS index is
changed in step; `snippet_changes` lets a restart replay what an older index
file lacks, so a crash at any point leaves the old state or the new one.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import numpy as np

from app.pipeline import Pipeline
from app.reader import Gone, NotFound
from app.records import Incoming, Outcome
from index.base import VectorIndex
from storage.corrections import CorrectionStore, Removed

log = logging.getLogger(__name__)


class Conflict(ValueError):
    """The request contradicts stored state (an external_id that names another snippet)."""


@dataclasses.dataclass(frozen=True)
class Deleted:
    id: int
    story_id: int
    report_id: int
    story_gone: bool
    report_gone: bool


class Corrections:
    def __init__(
        self,
        store: CorrectionStore,
        index: VectorIndex,
        pipeline: Pipeline,
        clock: Callable[[], float],
        on_commit: Callable[[int], None],
    ) -> None:
        self.store = store
        self.index = index
        self.pipeline = pipeline
        self.clock = clock
        self.on_commit = on_commit  # told the change seq now reflected in the index

    def delete(self, snippet_id: int) -> Deleted:
        try:
            with self.store.transaction():
                removed = self._remove(snippet_id, "delete")
        except BaseException:
            self._reconcile(snippet_id)
            raise
        self._committed(removed)
        row = removed.snippet
        log.info(
            "snippet %d deleted (story %d%s)",
            row.id,
            row.story_id,
            ", now empty" if removed.story_gone else "",
        )
        return Deleted(row.id, row.story_id, row.report_id, removed.story_gone, removed.report_gone)

    def replace(self, snippet_id: int, item: Incoming) -> Outcome:
        """PUT: same id; omitted `external_id` and `published_at` keep their stored values."""
        try:
            with self.store.transaction():
                removed = self._remove(snippet_id, "replace")
                old = removed.snippet
                external_id = item.external_id or old.external_id
                if external_id != old.external_id:
                    clash = self.pipeline.repo.by_external_ids([external_id], writer=True)  # type: ignore[list-item]
                    if clash:
                        raise Conflict(
                            f"external_id {external_id!r} already names snippet "
                            f"{next(iter(clash.values())).id}"
                        )
                fixed = dataclasses.replace(
                    item,
                    external_id=external_id,
                    published_at=item.published_at or old.published_at,
                )
                outcome = self.pipeline.process_as(fixed, snippet_id)
        except BaseException:
            self._reconcile(snippet_id)
            raise
        self._committed(removed)
        log.info("snippet %d replaced (story %d -> %d)", snippet_id, old.story_id, outcome.story_id)
        return outcome

    def _remove(self, snippet_id: int, action: str) -> Removed:
        removed = self.store.remove(snippet_id, self.clock(), action)
        if removed is None:
            if self.store.snippet_deleted(snippet_id):
                raise Gone(f"snippet {snippet_id} was already deleted")
            raise NotFound(f"snippet {snippet_id} not found")
        self.index.remove(np.array([snippet_id], dtype=np.int64))
        return removed

    def _committed(self, removed: Removed) -> None:
        self.pipeline.rollback()  # cached features and ids reload from what was committed
        self.on_commit(removed.seq)
        if not self.store.purge_wal():
            log.info("WAL busy; deleted text leaves the WAL at the next checkpoint")

    def _reconcile(self, snippet_id: int) -> None:
        """After a failed transaction: the index holds what storage holds for this id."""
        self.pipeline.rollback()
        self.index.remove(np.array([snippet_id], dtype=np.int64))
        stored = self.pipeline.repo.vectors([snippet_id], writer=True).get(snippet_id)
        if stored is not None:
            self.index.add(np.array([snippet_id], dtype=np.int64), stored.reshape(1, -1))
