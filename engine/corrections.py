"""Deletion and correction of stored snippets (retractions, legal takedowns, fixes).

Both run on the writer thread (the one place that decides assignments) as one
transaction each: the row goes (text and vector with it), its report and story are
recomputed (`stories.aggregate`), and a PUT re-ingests the corrected snippet under
the same id through the ordinary pipeline before the commit. The vector index is
changed in step; the change log lets a restart replay what an older index file
lacks, so a crash at any point leaves the old state or the new one.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import numpy as np

from engine.errors import Conflict, Gone, NotFound
from engine.generation import Current
from engine.pipeline import Pipeline
from engine.recompute import recompute_story
from engine.records import Deleted, Incoming, Outcome
from storage.base import Repository
from storage.records import Removed

log = logging.getLogger(__name__)


class Corrections:
    def __init__(
        self,
        repo: Repository,
        current: Current,
        pipeline: Pipeline,
        clock: Callable[[], float],
        on_commit: Callable[[int], None],
    ) -> None:
        self.repo = repo
        self.session = repo.writer
        self.store = repo.corrections
        self.current = current
        self.pipeline = pipeline
        self.clock = clock
        self.on_commit = on_commit  # told the change seq now reflected in the index

    def delete(self, snippet_id: int) -> Deleted:
        self._known_id(snippet_id)
        try:
            with self.session.transaction():
                removed, story_gone = self._remove(snippet_id, "delete")
        except BaseException:
            self._reconcile(snippet_id)
            raise
        self._committed(removed)
        row = removed.snippet
        log.info(
            "snippet %d deleted (story %d%s)",
            row.id,
            row.story_id,
            ", now empty" if story_gone else "",
        )
        return Deleted(row.id, row.story_id, row.report_id, story_gone, removed.report_gone)

    def replace(self, snippet_id: int, item: Incoming) -> Outcome:
        """PUT: same id; omitted `external_id` and `published_at` keep their stored values."""
        self._known_id(snippet_id)
        try:
            with self.session.transaction():
                removed, _ = self._remove(snippet_id, "replace")
                old = removed.snippet
                external_id = item.external_id or old.external_id
                if external_id is not None and external_id != old.external_id:
                    clash = self.session.by_external_ids([external_id])
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

    @staticmethod
    def _known_id(snippet_id: int) -> None:
        """Ids start at 1: anything else names nothing (and must not reach the index,
        where -1 marks an empty result)."""
        if not 1 <= snippet_id < 2**63:
            raise NotFound(f"snippet {snippet_id} not found")

    def _remove(self, snippet_id: int, action: str) -> tuple[Removed, bool]:
        """The row goes and its story is recomputed; whether the story is now gone."""
        now = self.clock()
        removed = self.store.remove(snippet_id, now, action)
        if removed is None:
            if self.repo.snippet_deleted(snippet_id):
                raise Gone(f"snippet {snippet_id} was already deleted")
            raise NotFound(f"snippet {snippet_id} not found")
        story_gone = recompute_story(self.store, removed.snippet.story_id, now)
        self.current.get().index.remove(np.array([snippet_id], dtype=np.int64))
        return removed, story_gone

    def _committed(self, removed: Removed) -> None:
        self.pipeline.rollback()  # cached features and ids reload from what was committed
        self.on_commit(removed.seq)
        if self.session.checkpoint("TRUNCATE") != 0:
            log.info("WAL busy; deleted text leaves the WAL at the next checkpoint")

    def _reconcile(self, snippet_id: int) -> None:
        """After a failed transaction: the index holds what storage holds for this id."""
        self.pipeline.rollback()
        index = self.current.get().index
        index.remove(np.array([snippet_id], dtype=np.int64))
        stored = self.session.vectors([snippet_id]).get(snippet_id)
        if stored is not None:
            index.add(np.array([snippet_id], dtype=np.int64), stored.reshape(1, -1))
