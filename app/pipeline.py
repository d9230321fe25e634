"""The assignment pipeline: a micro-batch of validated snippets in, committed outcomes out.

Only the writer thread calls `Pipeline.process`; that is what makes decisions
deterministic for a given commit order and keeps concurrent POSTs from opening
twin stories. Evaluation drives the same class, so scores measure the service.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from app.features import FeatureCache, features_of
from app.records import Incoming, Outcome
from embeddings.base import Embedder
from index.base import VectorIndex
from language import LanguageDetector
from storage.records import NewSnippet, ReportState, StoryState
from storage.sqlite import SQLiteRepository
from stories.assign import Decision, Features, Neighbour, Params, StoryCandidate, decide
from stories.text import content_hash, model_input

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    """One item's progress through a batch."""

    item: Incoming
    lang: str = ""
    lang_detected: bool = False
    published_at: float = 0.0
    hash: str = ""
    outcome: Outcome | None = None
    vector: np.ndarray | None = None
    features: Features | None = None
    row: NewSnippet | None = None
    repeat_of: _Pending | None = None  # same external_id earlier in this batch


@dataclass
class _Batch:
    stories: dict[int, StoryState] = field(default_factory=dict)
    reports: dict[int, ReportState] = field(default_factory=dict)
    rows: list[NewSnippet] = field(default_factory=list)


class Pipeline:
    def __init__(
        self,
        repo: SQLiteRepository,
        index: VectorIndex,
        embedder: Embedder,
        detector: LanguageDetector,
        params: Params,
        knn: int = 32,
        embed_chars: int = 2000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.repo = repo
        self.index = index
        self.embedder = embedder
        self.detector = detector
        self.params = params
        self.knn = knn
        self.embed_chars = embed_chars
        self.clock = clock
        self.features = FeatureCache()
        self._next_snippet, self._next_report, self._next_story = (n + 1 for n in repo.max_ids())

    # -- public --------------------------------------------------------------
    def process(self, items: list[Incoming]) -> list[Outcome]:
        pending = [_Pending(item) for item in items]
        self._resolve_existing(pending)
        todo = [p for p in pending if p.outcome is None and p.repeat_of is None]
        self._prepare(todo)
        batch = _Batch()
        self._assign(todo, batch)
        if batch.rows:
            self.repo.commit(
                batch.rows,
                list(batch.stories.values()),
                list(batch.reports.values()),
                self.embedder.identity.key,
            )
            ids = np.array([r.id for r in batch.rows], dtype=np.int64)
            self.index.add(ids, np.vstack([r.vector for r in batch.rows]))
            for p in todo:
                if p.row is not None and p.features is not None:
                    self.features.put(p.row.id, p.features)
        for p in pending:
            if p.repeat_of is not None:
                first = p.repeat_of.outcome
                assert first is not None
                p.outcome = Outcome(first.id, first.story_id, first.report_id, first.lang, "exists")
        outcomes = [p.outcome for p in pending]
        assert all(o is not None for o in outcomes)
        return outcomes  # type: ignore[return-value]

    def rollback(self) -> None:
        """Forget in-memory state after a failed commit: it is reloaded from storage."""
        self.features.clear()
        self._next_snippet, self._next_report, self._next_story = (
            n + 1 for n in self.repo.max_ids()
        )

    def _choose_title(
        self,
        story: StoryState,
        centroid: np.ndarray,
        snippet_id: int,
        p: _Pending,
        sim: float,
        batch: _Batch,
    ) -> None:
        """Keep the story's title on the snippet closest to its moving centre.

        Only the reigning title and the newcomer are compared (two dot products),
        so a title can lag behind the centre until the nightly re-index.
        """
        mine = title_score(bool(p.item.title), sim)
        current = story.title_snippet_id
        if current is not None:
            vector = next((r.vector for r in batch.rows if r.id == current), None)
            if vector is None:
                vector = self.repo.vectors([current], writer=True).get(current)
            if vector is not None:
                has_title = story.title_sim >= 1.5
                story.title_sim = title_score(has_title, float(vector @ centroid))
        if current is None or mine > story.title_sim:
            story.title_snippet_id, story.title_sim = snippet_id, mine

    # -- steps ---------------------------------------------------------------
    def _resolve_existing(self, pending: list[_Pending]) -> None:
        """`external_id` seen before (stored, or earlier in this batch) answers `exists`."""
        wanted = [p.item.external_id for p in pending if p.item.external_id]
        stored = self.repo.by_external_ids(wanted) if wanted else {}
        first_in_batch: dict[str, _Pending] = {}
        for p in pending:
            ext = p.item.external_id
            if not ext:
                continue
            if ext in stored:
                row = stored[ext]
                p.outcome = Outcome(row.id, row.story_id, row.report_id, row.lang, "exists")
            elif ext in first_in_batch:
                p.repeat_of = first_in_batch[ext]
            else:
                first_in_batch[ext] = p

    def _prepare(self, todo: list[_Pending]) -> None:
        missing = [p for p in todo if not p.item.lang]
        detected = self.detector.detect_many(
            [" ".join(x for x in (p.item.title, p.item.text) if x) for p in missing]
        )
        for p, lang in zip(missing, detected, strict=True):
            p.lang, p.lang_detected = lang or "und", True
        for p in todo:
            if p.item.lang:
                p.lang = p.item.lang
            p.published_at = p.item.published_at or p.item.received_at
            p.hash = content_hash(p.item.title, p.item.text)
            p.features = features_of(p.item.title, p.item.text, p.lang, p.published_at)
        if todo:
            texts = [model_input(p.item.title, p.item.text, self.embed_chars) for p in todo]
            vectors = self.embedder.embed(texts)
            for p, v in zip(todo, vectors, strict=True):
                p.vector = v

    def _assign(self, todo: list[_Pending], batch: _Batch) -> None:
        fresh = todo
        if fresh:
            queries = np.vstack([p.vector for p in fresh])
            scores, ids = self.index.search(queries, self.knn)
            inner = queries @ queries.T
        for i, p in enumerate(fresh):
            exact = self._exact_duplicate(p, fresh[:i])
            if exact is not None:
                decision = exact
            else:
                neighbours = self._neighbours(scores[i], ids[i], fresh[:i], inner[i, :i])
                stories = self._story_candidates(p, neighbours, batch)
                decision = decide(p.features, neighbours, stories, self.params)  # type: ignore[arg-type]
            self._apply(p, decision, batch)

    def _exact_duplicate(self, p: _Pending, earlier: list[_Pending]) -> Decision | None:
        window = self.params.window_seconds
        for q in reversed(earlier):
            if q.hash == p.hash and q.row and abs(q.published_at - p.published_at) <= window:
                return Decision("duplicate", q.row.report_id, q.row.story_id, 1.0, q.row.id)
        for row in self.repo.by_hash(p.hash):
            if abs(row.published_at - p.published_at) <= window:
                return Decision("duplicate", row.report_id, row.story_id, 1.0, row.id)
        return None

    def _neighbours(
        self,
        scores: np.ndarray,
        ids: np.ndarray,
        earlier: list[_Pending],
        earlier_sims: np.ndarray,
    ) -> list[Neighbour]:
        found = [(float(s), int(i)) for s, i in zip(scores, ids, strict=True) if i >= 0]
        rows = self.repo.snippets([i for _, i in found], writer=True) if found else {}
        out = []
        for sim, sid in found:
            row = rows.get(sid)
            if row is None:
                continue  # removed from storage after the search
            feats = self.features.get(sid)
            if feats is None:
                feats = features_of(row.title, row.text, row.lang, row.published_at)
                self.features.put(sid, feats)
            out.append(Neighbour(sid, row.report_id, row.story_id, sim, feats))
        for q, sim in zip(earlier, earlier_sims, strict=True):
            if q.row is not None and q.features is not None:
                out.append(
                    Neighbour(q.row.id, q.row.report_id, q.row.story_id, float(sim), q.features)
                )
        out.sort(key=lambda n: -n.cosine)
        return out[: self.knn]

    def _story(self, story_id: int, batch: _Batch) -> StoryState:
        if story_id not in batch.stories:
            batch.stories.update(self.repo.story_states([story_id]))
        return batch.stories[story_id]

    def _story_candidates(
        self, p: _Pending, neighbours: list[Neighbour], batch: _Batch
    ) -> list[StoryCandidate]:
        assert p.vector is not None
        out = []
        for story_id in dict.fromkeys(n.story_id for n in neighbours):
            state = self._story(story_id, batch)
            centroid = state.centroid_sum / max(float(np.linalg.norm(state.centroid_sum)), 1e-12)
            out.append(
                StoryCandidate(
                    story_id, float(p.vector @ centroid), state.first_seen, state.last_seen
                )
            )
        return out

    def _apply(self, p: _Pending, decision: Decision, batch: _Batch) -> None:
        assert p.vector is not None
        now = self.clock()
        snippet_id = self._next_snippet
        self._next_snippet += 1
        new_story = decision.story_id is None
        new_report = decision.report_id is None
        if new_story:
            story = StoryState(
                id=self._next_story,
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
            self._next_story += 1
            batch.stories[story.id] = story
        else:
            story = self._story(decision.story_id, batch)  # type: ignore[arg-type]
        if new_report:
            report = ReportState(self._next_report, story.id, p.published_at, 0)
            self._next_report += 1
            story.report_count += 1
        else:
            rid = decision.report_id
            assert rid is not None
            if rid not in batch.reports:
                batch.reports.update(self.repo.report_states([rid]))
            report = batch.reports[rid]
        batch.reports[report.id] = report
        report.snippet_count += 1
        report.first_seen = min(report.first_seen, p.published_at)

        story.snippet_count += 1
        story.first_seen = min(story.first_seen, p.published_at)
        story.last_seen = max(story.last_seen, p.published_at)
        story.updated_at = now
        story.centroid_sum = story.centroid_sum + p.vector
        story.languages[p.lang] = story.languages.get(p.lang, 0) + 1
        centroid = story.centroid_sum / max(float(np.linalg.norm(story.centroid_sum)), 1e-12)
        story_sim = float(p.vector @ centroid)
        self._choose_title(story, centroid, snippet_id, p, story_sim, batch)

        status = "duplicate" if decision.level == "duplicate" else "created"
        p.row = NewSnippet(
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
            status=status,
            vector=p.vector,
            story_sim=story_sim,
            new_report=new_report,
            new_story=new_story,
        )
        batch.rows.append(p.row)
        p.outcome = Outcome(snippet_id, story.id, report.id, p.lang, status)


def title_score(has_title: bool, sim: float) -> float:
    """Snippets with a real headline first, then closeness to the story centre (cos <= 1)."""
    return sim + (2.0 if has_title else 0.0)
