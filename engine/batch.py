"""What one writer batch has decided and read, until it commits in one transaction.

Storage does not change until the batch commits, so items decided earlier in the
batch live here and are merged with what storage returns; what the batch has read
of committed rows is kept too (consecutive items share most neighbours).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from storage.base import WriterSession
from storage.records import BatchWrite, NewSnippet, ReportState, StoryState
from stories.features import Features


@dataclass
class Earlier:
    """An item decided earlier in this batch: committed together with the current one."""

    row: NewSnippet
    features: Features


@dataclass
class BatchState:
    stories: dict[int, StoryState] = field(default_factory=dict)
    reports: dict[int, ReportState] = field(default_factory=dict)
    rows: list[NewSnippet] = field(default_factory=list)
    knn: dict[int, np.ndarray] = field(default_factory=dict)  # stored snippets' fresh lists
    by_id: dict[int, Earlier] = field(default_factory=dict)
    merged: dict[int, int] = field(default_factory=dict)  # retired story id -> survivor
    # What this batch has read of committed rows.
    stored_place: dict[int, tuple[int, int]] = field(default_factory=dict)
    stored_knn: dict[int, np.ndarray] = field(default_factory=dict)
    stored_vectors: dict[int, np.ndarray] = field(default_factory=dict)
    stored_members: dict[int, list[int]] = field(default_factory=dict)
    moved: dict[int, int] = field(default_factory=dict)  # stored snippet -> its new report
    _order: list[Earlier] = field(default_factory=list)
    _matrix: np.ndarray | None = None

    def alias(self, story_id: int) -> int:
        return self.merged.get(story_id, story_id)

    def add(self, earlier: Earlier) -> None:
        """Record an item decided in this batch; its vector joins the batch's matrix."""
        self.rows.append(earlier.row)
        self.by_id[earlier.row.id] = earlier
        self._order.append(earlier)
        vector = earlier.row.vector
        if self._matrix is None or len(self._order) > len(self._matrix):
            grown = np.empty((max(64, 2 * len(self._order)), len(vector)), dtype=np.float32)
            if self._matrix is not None:
                grown[: len(self._order) - 1] = self._matrix[: len(self._order) - 1]
            self._matrix = grown
        self._matrix[len(self._order) - 1] = vector

    def earlier(self) -> tuple[list[Earlier], np.ndarray]:
        """Items decided so far in this batch and their vectors as one matrix."""
        if self._matrix is None:
            return [], np.empty((0, 0), dtype=np.float32)
        return self._order, self._matrix[: len(self._order)]

    def story(self, story_id: int, session: WriterSession) -> StoryState:
        """The story as this batch has changed it (read from storage the first time)."""
        if story_id not in self.stories:
            self.stories.update(session.story_states([story_id]))
        return self.stories[story_id]

    def report(self, report_id: int, session: WriterSession) -> ReportState:
        if report_id not in self.reports:
            self.reports.update(session.report_states([report_id]))
        return self.reports[report_id]

    def move_stored(self, snippet_id: int, source: int, to: ReportState) -> None:
        """A committed snippet leaves report `source` for `to` (same story): what the batch
        has read of it follows, and the commit moves its row."""
        self.moved[snippet_id] = to.id
        self.stored_place[snippet_id] = (to.id, to.story_id)
        self.stored_members.setdefault(to.id, []).append(snippet_id)
        if snippet_id in self.stored_members.get(source, []):
            self.stored_members[source].remove(snippet_id)

    def retire(self, retired: int, kept: int) -> None:
        """Story `retired` merged into `kept`: rows, reports and earlier redirects follow."""
        for old, new in list(self.merged.items()):
            if new == retired:
                self.merged[old] = kept
        self.merged[retired] = kept
        for row in self.rows:
            if row.story_id == retired:
                row.story_id = kept
        for report in self.reports.values():
            if report.story_id == retired:
                report.story_id = kept

    def write(self, model: str) -> BatchWrite:
        return BatchWrite(
            self.rows,
            list(self.stories.values()),
            list(self.reports.values()),
            model,
            knn=self.knn,
            merges=self.merged,
            moves=self.moved,
        )
