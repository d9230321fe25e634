"""Carry out a decision in the batch state: ids, counts, centres, titles, moved members.

The rules decided where the snippet goes (`stories.assign`); this keeps the story and
report aggregates the batch will commit in step with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.batch import BatchState, Earlier
from engine.candidates import Gatherer
from engine.ids import IdAllocator
from engine.records import Incoming
from storage.base import WriterSession
from storage.records import NewSnippet, ReportState, StoryState
from stories.assign import Decision
from stories.features import Features
from stories.titles import challenge
from stories.vectors import unit


@dataclass
class Prepared:
    """One item ready to be placed: what the pipeline learnt of it before deciding."""

    item: Incoming
    lang: str
    lang_detected: bool
    published_at: float
    hash: str
    vector: np.ndarray
    features: Features


class Placer:
    def __init__(
        self,
        session: WriterSession,
        ids: IdAllocator,
        gather: Gatherer,
        clock: Callable[[], float],
    ) -> None:
        self.session = session
        self.ids = ids
        self.gather = gather
        self.clock = clock

    def place(
        self, p: Prepared, decision: Decision, knn: np.ndarray, batch: BatchState
    ) -> NewSnippet:
        now = self.clock()
        snippet_id = self.ids.snippet()
        if decision.story_id is None:
            story = self._new_story(p, now)
            batch.stories[story.id] = story
        else:
            story = batch.story(decision.story_id, self.session)
        if decision.report_id is None:
            report = ReportState(self.ids.report(), story.id, p.published_at, 0)
            story.report_count += 1
        else:
            report = batch.report(decision.report_id, self.session)
            report.story_id = story.id  # stored rows may still name a story merged this batch
        batch.reports[report.id] = report
        report.snippet_count += 1
        report.first_seen = min(report.first_seen, p.published_at)
        if decision.moved_snippet is not None:
            self._move(decision.moved_snippet, report, batch)

        story.snippet_count += 1
        story.first_seen = min(story.first_seen, p.published_at)
        story.last_seen = max(story.last_seen, p.published_at)
        story.updated_at = now
        story.centroid_sum = story.centroid_sum + p.vector
        story.languages[p.lang] = story.languages.get(p.lang, 0) + 1
        centroid = unit(story.centroid_sum)
        story_sim = float(p.vector @ centroid)
        self._challenge_title(story, centroid, (snippet_id, bool(p.item.title), story_sim), batch)

        row = NewSnippet(
            id=snippet_id,
            external_id=p.item.external_id,
            title=p.item.title,
            text=p.item.text,
            lang=p.lang,
            lang_detected=p.lang_detected,
            source=p.item.source,
            url=p.item.url,
            published_at=p.published_at,
            received_at=p.item.received_at,
            content_hash=p.hash,
            report_id=report.id,
            story_id=story.id,
            status="duplicate" if decision.level == "duplicate" else "created",
            vector=p.vector,
            story_sim=story_sim,
            knn_sims=knn,
            new_report=decision.report_id is None,
            new_story=decision.story_id is None,
        )
        batch.add(Earlier(row, p.features))
        return row

    def _new_story(self, p: Prepared, now: float) -> StoryState:
        return StoryState(
            id=self.ids.story(),
            first_seen=p.published_at,
            last_seen=p.published_at,
            updated_at=now,
            snippet_count=0,
            report_count=0,
            centroid_sum=np.zeros_like(p.vector),
            title_snippet_id=None,
            title_sim=-2.0,
            languages={},
        )

    def _move(self, snippet_id: int, to: ReportState, batch: BatchState) -> None:
        """A report member leaves for `to` (`assign.rehome`): counts and the row follow."""
        earlier = batch.by_id.get(snippet_id)
        if earlier is not None:
            source, published = earlier.row.report_id, earlier.row.published_at
            earlier.row.report_id = to.id
        else:
            source = batch.stored_place[snippet_id][0]
            published = self.gather.published_at(snippet_id)
            batch.move_stored(snippet_id, source, to)
        batch.report(source, self.session).snippet_count -= 1
        to.snippet_count += 1
        to.first_seen = min(to.first_seen, published)

    def _challenge_title(
        self,
        story: StoryState,
        centroid: np.ndarray,
        newcomer: tuple[int, bool, float],
        batch: BatchState,
    ) -> None:
        """Only the reigning title and the newcomer are compared (two dot products), so a
        title can lag behind the centre until the nightly re-index."""
        current = story.title_snippet_id
        vector = None
        if current is not None:
            earlier = batch.by_id.get(current)
            vector = earlier.row.vector if earlier else self.session.vectors([current]).get(current)
        reigning = None if current is None else (current, story.title_sim)
        story.title_snippet_id, story.title_sim = challenge(reigning, vector, newcomer, centroid)
