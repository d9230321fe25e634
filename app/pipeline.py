"""The assignment pipeline: a micro-batch of validated snippets in, committed outcomes out.

Only the writer thread calls `Pipeline.process`; that is what makes decisions
deterministic for a given commit order and keeps concurrent POSTs from opening
twin stories. Evaluation drives the same class, so scores measure the service.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from app.candidates import BatchState, Earlier, Gatherer
from app.embed_queue import EmbedQueue
from app.features import FeatureCache, features_of
from app.records import Incoming, Outcome
from embeddings.base import Embedder
from index.base import VectorIndex
from language import LanguageDetector
from language.process import DetectorProcess
from storage.records import NewSnippet, ReportState, StoryState
from storage.sqlite import SQLiteRepository
from stories.assign import (
    Decision,
    Features,
    Params,
    StoryCandidate,
    StoryMass,
    background,
    decide,
    merges,
    survivor,
)
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
    repeat_of: _Pending | None = None  # same external_id earlier in this batch


def title_score(has_title: bool, sim: float) -> float:
    """Snippets with a real headline first, then closeness to the story centre (cos <= 1)."""
    return sim + (2.0 if has_title else 0.0)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


class Pipeline:
    def __init__(
        self,
        repo: SQLiteRepository,
        index: VectorIndex,
        embedder: Embedder,
        detector: LanguageDetector | DetectorProcess,
        params: Params,
        knn: int = 32,
        embed_chars: int = 2000,
        embed_batch: int = 64,
        max_reports: int = 8,
        members_per_report: int = 16,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.repo = repo
        self.index = index
        self.embedder = embedder
        self.detector = detector
        self.params = params
        self.knn = knn
        self.embed_chars = embed_chars
        self.embed_batch = embed_batch
        self.clock = clock
        self.features = FeatureCache()
        self.gather = Gatherer(repo, self.features, params, knn, max_reports, members_per_report)
        self._ahead: dict[int, tuple[Incoming, Embedder, Future[np.ndarray], int]] = {}
        self._embed_queue = EmbedQueue(embed_batch, current=lambda e: e is self.embedder)
        self._ahead_lock = threading.Lock()  # request threads hand, the writer takes
        self._reset_ids()

    def _reset_ids(self) -> None:
        self._next_snippet, self._next_report, self._next_story = (
            n + 1 for n in self.repo.max_ids()
        )

    # -- public --------------------------------------------------------------
    def embed_ahead(self, items: list[Incoming]) -> None:
        """Queue items for embedding (`app.embed_queue`) in runs of `embed_batch`, so
        that the model embeds the next run while the writer assigns the one before.
        The writer hands snippets as they are queued (any thread); `process` embeds
        what was not handed (a correction, a direct caller) itself, run by run, rather
        than behind everything queued since. A vector depends on the text alone, so it
        stays right whatever earlier items decide. Items already handed are skipped."""
        with self._ahead_lock:
            items = [i for i in items if id(i) not in self._ahead]
            if not items:
                return
            embedder = self.embedder
            for start in range(0, len(items), self.embed_batch):
                run = items[start : start + self.embed_batch]
                texts = [model_input(i.title, i.text, self.embed_chars) for i in run]
                future = self._embed_queue.submit(embedder, texts)
                for row, item in enumerate(run):
                    self._ahead[id(item)] = (item, embedder, future, row)

    def process(self, items: list[Incoming]) -> list[Outcome]:
        pending = [_Pending(item) for item in items]
        self._resolve_existing(pending)
        todo = [p for p in pending if p.outcome is None and p.repeat_of is None]
        self._prepare(todo)
        batch = BatchState()
        try:
            self._assign(todo, batch)
        finally:
            with self._ahead_lock:  # vectors not taken up (`exists`, or a failure)
                for item in items:
                    self._ahead.pop(id(item), None)
        if batch.rows:
            self.repo.commit(
                batch.rows,
                list(batch.stories.values()),
                list(batch.reports.values()),
                self.embedder.identity.key,
                batch.knn,
                merges=batch.merged,
                moves=batch.moved,
            )
            ids = np.array([r.id for r in batch.rows], dtype=np.int64)
            self.index.add(ids, np.vstack([r.vector for r in batch.rows]))
            for e in batch.by_id.values():
                self.features.put(e.row.id, e.features)
        for p in pending:
            out = p.outcome
            if out is None:
                continue
            if out.story_id in batch.merged:
                out = dataclasses.replace(out, story_id=batch.alias(out.story_id))
            earlier = batch.by_id.get(out.id)
            if earlier is not None and earlier.row.report_id != out.report_id:
                # re-homed by a later item of this batch (`assign.rehome`)
                out = dataclasses.replace(out, report_id=earlier.row.report_id)
            p.outcome = out
        for p in pending:
            if p.repeat_of is not None:
                first = p.repeat_of.outcome
                assert first is not None
                p.outcome = Outcome(first.id, first.story_id, first.report_id, first.lang, "exists")
        outcomes = [p.outcome for p in pending]
        assert all(o is not None for o in outcomes)
        return outcomes  # type: ignore[return-value]

    def process_as(self, item: Incoming, snippet_id: int) -> Outcome:
        """Ingest one corrected snippet under an id it held before (PUT); the caller has
        removed the old row in the same open transaction."""
        following = self._next_snippet
        self._next_snippet = snippet_id
        try:
            (outcome,) = self.process([item])
        finally:
            self._next_snippet = max(following, snippet_id + 1)
        return outcome

    def rollback(self) -> None:
        """Forget in-memory state after a failed commit: it is reloaded from storage."""
        self.features.clear()
        self._reset_ids()

    # -- steps ---------------------------------------------------------------
    def _resolve_existing(self, pending: list[_Pending]) -> None:
        """`external_id` seen before (stored, or earlier in this batch) answers `exists`."""
        wanted = [p.item.external_id for p in pending if p.item.external_id]
        stored = self.repo.by_external_ids(wanted, writer=True) if wanted else {}
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

    def _embed(self, run: list[_Pending]) -> None:
        """Each item's vector from `embed_ahead`'s table (waiting for it if need be).
        One not handed, one whose embedding failed, or one made by a model since replaced
        (a re-index swap) is embedded here, where a failure reaches the caller."""
        rest = []
        with self._ahead_lock:
            entries = [self._ahead.pop(id(p.item), None) for p in run]
        for p, entry in zip(run, entries, strict=True):
            if entry is None or entry[0] is not p.item or entry[1] is not self.embedder:
                rest.append(p)
                continue
            _, _, future, row = entry
            if future.exception() is None:
                p.vector = future.result()[row]
            else:
                rest.append(p)
        if rest:
            texts = [model_input(p.item.title, p.item.text, self.embed_chars) for p in rest]
            for p, v in zip(rest, self.embedder.embed(texts), strict=True):
                p.vector = v

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

    def _assign(self, todo: list[_Pending], batch: BatchState) -> None:
        """Run by run as `embed_ahead` embeds them. Storage and the index do not change
        until the batch commits (earlier items of the batch come from `batch`), so
        searching run by run finds what one search for the batch would."""
        for start in range(0, len(todo), self.embed_batch):
            self._assign_run(todo[start : start + self.embed_batch], batch)

    def _assign_run(self, todo: list[_Pending], batch: BatchState) -> None:
        self._embed(todo)
        queries = np.vstack([p.vector for p in todo])
        scores, ids = self.index.search(queries, self.knn)
        for i, p in enumerate(todo):
            assert p.vector is not None and p.features is not None
            neighbours = self.gather.neighbours(scores[i], ids[i], p.vector, batch)
            if batch.merged:
                neighbours = [
                    dataclasses.replace(n, story_id=batch.alias(n.story_id))
                    if n.story_id in batch.merged
                    else n
                    for n in neighbours
                ]
            knn = sorted((n.cosine for n in neighbours), reverse=True)
            knn = knn[: self.params.background_k]
            decision = self._exact_duplicate(p, batch)
            stories: list[StoryCandidate] = []
            if decision is None:
                reports = self.gather.reports(p.vector, neighbours, batch)
                stories = self._story_candidates(p.vector, neighbours, batch)
                decision = decide(
                    p.features,
                    background(knn, self.params),
                    neighbours,
                    reports,
                    stories,
                    self.params,
                )
            self.gather.refresh_knn(neighbours, batch)
            self._apply(p, decision, np.array(knn, dtype=np.float32), batch)
            if decision.level in ("report", "story") and decision.story_id is not None:
                # Only stories the snippet itself would have joined: it must bridge them.
                passed = [s.story_id for s in stories if s.cosine >= self.params.story]
                self._merge_bridged(decision.story_id, passed, batch)

    def _exact_duplicate(self, p: _Pending, batch: BatchState) -> Decision | None:
        window = self.params.window_seconds
        for e in reversed(batch.rows):
            if e.content_hash == p.hash and abs(e.published_at - p.published_at) <= window:
                return Decision("duplicate", e.report_id, e.story_id, 1.0, e.id)
        for row in self.repo.by_hash(p.hash):
            if abs(row.published_at - p.published_at) <= window:
                return Decision("duplicate", row.report_id, row.story_id, 1.0, row.id)
        return None

    def _story(self, story_id: int, batch: BatchState) -> StoryState:
        if story_id not in batch.stories:
            batch.stories.update(self.repo.story_states([story_id]))
        return batch.stories[story_id]

    def _story_candidates(
        self, vector: np.ndarray, neighbours: list, batch: BatchState
    ) -> list[StoryCandidate]:
        out = []
        for story_id in dict.fromkeys(n.story_id for n in neighbours):
            state = self._story(story_id, batch)
            out.append(
                StoryCandidate(
                    story_id,
                    float(vector @ _unit(state.centroid_sum)),
                    state.first_seen,
                    state.last_seen,
                )
            )
        return out

    def _apply(self, p: _Pending, decision: Decision, knn: np.ndarray, batch: BatchState) -> None:
        assert p.vector is not None and p.features is not None
        now = self.clock()
        snippet_id = self._next_snippet
        self._next_snippet += 1
        if decision.story_id is None:
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
            story = self._story(decision.story_id, batch)
        if decision.report_id is None:
            report = ReportState(self._next_report, story.id, p.published_at, 0)
            self._next_report += 1
            story.report_count += 1
        else:
            if decision.report_id not in batch.reports:
                batch.reports.update(self.repo.report_states([decision.report_id]))
            report = batch.reports[decision.report_id]
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
        centroid = _unit(story.centroid_sum)
        story_sim = float(p.vector @ centroid)
        self._choose_title(story, centroid, snippet_id, bool(p.item.title), story_sim, batch)

        status = "duplicate" if decision.level == "duplicate" else "created"
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
            status=status,
            vector=p.vector,
            story_sim=story_sim,
            knn_sims=knn,
            new_report=decision.report_id is None,
            new_story=decision.story_id is None,
        )
        batch.rows.append(row)
        batch.add(Earlier(row, p.features))
        p.outcome = Outcome(snippet_id, story.id, report.id, p.lang, status)

    def _move(self, snippet_id: int, to: ReportState, batch: BatchState) -> None:
        """A report member leaves for `to` (`assign.rehome`): counts, caches and the row."""
        earlier = batch.by_id.get(snippet_id)
        if earlier is not None:
            source, published = earlier.row.report_id, earlier.row.published_at
            earlier.row.report_id = to.id
        else:
            source = batch.stored_place[snippet_id][0]
            published = self.gather.published_at(snippet_id)
            batch.moved[snippet_id] = to.id
            batch.stored_place[snippet_id] = (to.id, to.story_id)
            batch.stored_members.setdefault(to.id, []).append(snippet_id)
            if snippet_id in batch.stored_members.get(source, []):
                batch.stored_members[source].remove(snippet_id)
        if source not in batch.reports:
            batch.reports.update(self.repo.report_states([source]))
        batch.reports[source].snippet_count -= 1
        to.snippet_count += 1
        to.first_seen = min(to.first_seen, published)

    @staticmethod
    def _mass(state: StoryState) -> StoryMass:
        return StoryMass(
            state.id, state.centroid_sum, state.snippet_count, state.first_seen, state.last_seen
        )

    def _merge_bridged(self, story_id: int, passed: list[int], batch: BatchState) -> None:
        """Fold in the stories the snippet just joined turns out to bridge (see `merges`)."""
        others = [s for s in dict.fromkeys(batch.alias(s) for s in passed) if s != story_id]
        if not others:
            return
        candidates = [self._mass(self._story(s, batch)) for s in others]
        for other in merges(self._mass(self._story(story_id, batch)), candidates, self.params):
            joined = self._mass(self._story(story_id, batch))
            mass = self._mass(self._story(other, batch))
            if not merges(joined, [mass], self.params):  # the story grew: check again
                continue
            keep, retire = survivor(joined, mass)
            self._absorb(batch.stories[keep], batch.stories[retire], batch)
            story_id = keep

    def _absorb(self, keep: StoryState, retire: StoryState, batch: BatchState) -> None:
        keep.snippet_count += retire.snippet_count
        keep.report_count += retire.report_count
        keep.centroid_sum = keep.centroid_sum + retire.centroid_sum
        keep.first_seen = min(keep.first_seen, retire.first_seen)
        keep.last_seen = max(keep.last_seen, retire.last_seen)
        keep.updated_at = self.clock()
        for lang, n in retire.languages.items():
            keep.languages[lang] = keep.languages.get(lang, 0) + n
        if keep.title_snippet_id is None:
            keep.title_snippet_id, keep.title_sim = retire.title_snippet_id, retire.title_sim
        retire.snippet_count = retire.report_count = 0
        retire.languages = {}
        for old, new in list(batch.merged.items()):
            if new == retire.id:
                batch.merged[old] = keep.id
        batch.merged[retire.id] = keep.id
        for row in batch.rows:
            if row.story_id == retire.id:
                row.story_id = keep.id
        for report in batch.reports.values():
            if report.story_id == retire.id:
                report.story_id = keep.id
        log.debug("story %d merged into %d", retire.id, keep.id)

    def _choose_title(
        self,
        story: StoryState,
        centroid: np.ndarray,
        snippet_id: int,
        has_title: bool,
        sim: float,
        batch: BatchState,
    ) -> None:
        """Keep the story's title on the snippet closest to its moving centre.

        Only the reigning title and the newcomer are compared (two dot products),
        so a title can lag behind the centre until the nightly re-index.
        """
        mine = title_score(has_title, sim)
        current = story.title_snippet_id
        if current is not None:
            earlier = batch.by_id.get(current)
            vector = (
                earlier.row.vector
                if earlier
                else self.repo.vectors([current], writer=True).get(current)
            )
            if vector is not None:
                story.title_sim = title_score(story.title_sim >= 1.5, float(vector @ centroid))
        if current is None or mine > story.title_sim:
            story.title_snippet_id, story.title_sim = snippet_id, mine
