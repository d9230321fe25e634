"""The assignment pipeline: a micro-batch of validated snippets in, committed outcomes out.

It only orchestrates: resolve repeats → detect languages and compute features →
embed → search → gather → decide (`stories.assign`) → place → merge → commit.
Only the writer thread calls `process`; that is what makes decisions deterministic
for a given commit order and keeps concurrent POSTs from opening twin stories.
Evaluation drives the same class, so scores measure the service.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from engine.ahead import EmbedAhead
from engine.batch import BatchState
from engine.candidates import Gatherer
from engine.feature_cache import FeatureCache
from engine.generation import Current, Generation
from engine.ids import IdAllocator
from engine.merging import merge_bridged
from engine.placement import Placer, Prepared
from engine.records import Incoming, Outcome
from language.base import Detector
from storage.base import WriterSession
from stories.assign import decide, exact_copy, link_passes, story_links
from stories.features import features_of
from stories.scoring import background
from stories.text import content_hash, model_input


@dataclass
class _Pending:
    """One item's progress through a batch."""

    item: Incoming
    prepared: Prepared | None = None
    outcome: Outcome | None = None
    repeat_of: _Pending | None = None  # same external_id earlier in this batch


# Language detection reads the opening of a snippet: its cost grows with length, and a
# few hundred characters settle the language (bench-passages, 2,254 passages in seven
# languages: 1 wrong in full, 2 wrong at 250 characters; 1.14 → 0.79 ms a text).
DETECT_CHARS = 300


class Pipeline:
    def __init__(
        self,
        session: WriterSession,
        current: Current,
        detector: Detector,
        embed_chars: int = 2000,
        embed_batch: int = 64,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.session = session
        self.current = current
        self.detector = detector
        self.embed_chars = embed_chars
        self.embed_batch = embed_batch
        self.clock = clock
        self.features = FeatureCache()
        self.ids = IdAllocator(session)
        self.ahead = EmbedAhead(
            embed_batch, embed_chars, current=lambda e: e is self.current.get().embedder
        )

    # -- public --------------------------------------------------------------
    def embed_ahead(self, items: list[Incoming]) -> None:
        """Start embedding queued items now (`engine.ahead`), so that the model embeds the
        next run while the writer assigns the one before. What was not handed (a
        correction, a direct caller) `process` embeds itself, run by run, rather than
        behind everything queued since."""
        self.ahead.hand(items, self.current.get().embedder)

    def process(self, items: list[Incoming]) -> list[Outcome]:
        gen = self.current.get()
        pending = [_Pending(item) for item in items]
        self._resolve_existing(pending)
        todo = [p for p in pending if p.outcome is None and p.repeat_of is None]
        batch = BatchState()
        try:
            self._assign(self._prepare([p.item for p in todo], gen), todo, batch, gen)
        finally:
            self.ahead.forget(items)  # vectors not taken up (`exists`, or a failure)
        if batch.rows:
            self.session.commit(batch.write(gen.embedder.identity.key))
            ids = np.array([r.id for r in batch.rows], dtype=np.int64)
            gen.index.add(ids, np.vstack([r.vector for r in batch.rows]))
            for e in batch.by_id.values():
                self.features.put(e.row.id, e.features)
        for p in pending:
            if p.repeat_of is None:
                p.outcome = self._settled(p, batch)
        return [self._answer(p) for p in pending]

    def process_as(self, item: Incoming, snippet_id: int) -> Outcome:
        """Ingest one corrected snippet under an id it held before (PUT); the caller has
        removed the old row in the same open transaction."""
        with self.ids.reusing(snippet_id):
            (outcome,) = self.process([item])
        return outcome

    def rollback(self) -> None:
        """Forget in-memory state after a failed commit: it is reloaded from storage."""
        self.features.clear()
        self.ids.reset()

    # -- steps ---------------------------------------------------------------
    def _resolve_existing(self, pending: list[_Pending]) -> None:
        """`external_id` seen before (stored, or earlier in this batch) answers `exists`."""
        wanted = [p.item.external_id for p in pending if p.item.external_id]
        stored = self.session.by_external_ids(wanted) if wanted else {}
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

    def _prepare(self, items: Sequence[Incoming], gen: Generation) -> list[Prepared]:
        """Language (detected where not given), publication time, hash and features."""
        missing = [i for i in items if not i.lang]
        detected = iter(
            self.detector.detect_many([model_input(i.title, i.text, DETECT_CHARS) for i in missing])
        )
        out = []
        for item in items:
            lang = item.lang or next(detected) or "und"
            published = item.published_at or item.received_at
            out.append(
                Prepared(
                    item=item,
                    lang=lang,
                    lang_detected=not item.lang,
                    published_at=published,
                    hash=content_hash(item.title, item.text),
                    vector=np.zeros(0, dtype=np.float32),  # filled run by run (`_embed`)
                    features=features_of(item.title, item.text, lang, published),
                )
            )
        return out

    def _embed(self, run: list[Prepared], gen: Generation) -> None:
        """Each item's vector from what was embedded ahead; what was not (or failed, or
        came from a replaced model) is embedded here, where a failure reaches the caller."""
        found = self.ahead.take([p.item for p in run], gen.embedder)
        rest = [p for p, v in zip(run, found, strict=True) if v is None]
        for p, v in zip(run, found, strict=True):
            if v is not None:
                p.vector = v
        if rest:
            texts = [model_input(p.item.title, p.item.text, self.embed_chars) for p in rest]
            for p, v in zip(rest, gen.embedder.embed(texts), strict=True):
                p.vector = v

    def _assign(
        self, prepared: list[Prepared], todo: list[_Pending], batch: BatchState, gen: Generation
    ) -> None:
        """Run by run as they are embedded. Storage and the index do not change until the
        batch commits (earlier items of the batch come from `batch`), so searching run by
        run finds what one search for the batch would."""
        gather = Gatherer(self.session, self.features, gen.params)
        placer = Placer(self.session, self.ids, gather, self.clock)
        for start in range(0, len(prepared), self.embed_batch):
            run = prepared[start : start + self.embed_batch]
            self._embed(run, gen)
            scores, ids = gen.index.search(np.vstack([p.vector for p in run]), gen.params.knn)
            for i, p in enumerate(run):
                todo[start + i].outcome = self._assign_one(
                    p, scores[i], ids[i], batch, gen, gather, placer
                )

    def _assign_one(
        self,
        p: Prepared,
        scores: np.ndarray,
        ids: np.ndarray,
        batch: BatchState,
        gen: Generation,
        gather: Gatherer,
        placer: Placer,
    ) -> Outcome:
        params = gen.params
        neighbours = gather.neighbours(scores, ids, p.vector, batch)
        if batch.merged:
            neighbours = [
                dataclasses.replace(n, story_id=batch.alias(n.story_id))
                if n.story_id in batch.merged
                else n
                for n in neighbours
            ]
        knn = sorted((n.cosine for n in neighbours), reverse=True)[: params.background_k]
        copies = gather.copies(p.hash, batch)
        stories, reports = [], []
        if exact_copy(p.features, copies, params) is None:  # else nothing more to gather
            reports = gather.reports(p.vector, neighbours, batch, p.features.lang)
            stories = gather.stories(p.vector, neighbours, batch)
        links = story_links(p.features, stories, params)
        decision = decide(
            p.features, background(knn, params), copies, neighbours, reports, stories, params, links
        )
        gather.refresh_knn(neighbours, batch)
        row = placer.place(p, decision, np.array(knn, dtype=np.float32), batch)
        outcome = Outcome(row.id, row.story_id, row.report_id, p.lang, row.status)
        if decision.level in ("report", "story") and decision.story_id is not None:
            # Only stories the snippet itself would have joined: it must bridge them.
            margin = params.linker.merge_margin if params.linker is not None else 0.0
            passed = [s.story_id for s, link in links if link_passes(link, params, margin)]
            merge_bridged(decision.story_id, passed, batch, self.session, params, self.clock)
        return outcome

    @staticmethod
    def _settled(p: _Pending, batch: BatchState) -> Outcome:
        """The answer after the whole batch: a later item may have merged its story or
        re-homed it (`assign.rehome`)."""
        out = p.outcome
        assert out is not None
        if out.story_id in batch.merged:
            out = dataclasses.replace(out, story_id=batch.alias(out.story_id))
        earlier = batch.by_id.get(out.id)
        if earlier is not None and earlier.row.report_id != out.report_id:
            out = dataclasses.replace(out, report_id=earlier.row.report_id)
        return out

    @staticmethod
    def _answer(p: _Pending) -> Outcome:
        """A repeat of an external_id earlier in the batch answers as that one, `exists`."""
        if p.repeat_of is None:
            assert p.outcome is not None
            return p.outcome
        first = p.repeat_of.outcome
        assert first is not None
        return Outcome(first.id, first.story_id, first.report_id, first.lang, "exists")
