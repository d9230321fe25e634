"""Gather what an assignment decision needs from the index and storage.

Everything here reads; the decision itself is `stories.assign.decide`. Items
earlier in the same micro-batch are not committed yet, so they come from the
batch state and are merged with what storage returns.
"""

from __future__ import annotations

import numpy as np

from engine.batch import BatchState
from engine.feature_cache import FeatureCache
from storage.base import WriterSession
from stories.candidates import Copy, Member, Neighbour, ReportCandidate, StoryCandidate, Variant
from stories.event_candidates import StoryView
from stories.features import Features, features_of
from stories.params import Params
from stories.scoring import (
    background,
    can_reach_report,
    fit,
    holds_nearest,
    is_nearest,
    mates_among_nearest,
)
from stories.vectors import unit


class Gatherer:
    """One per batch: the generation's parameters stay fixed while it is assigned."""

    def __init__(self, session: WriterSession, features: FeatureCache, params: Params) -> None:
        self.session = session
        self.features = features
        self.params = params
        self.knn = params.knn

    def _features(self, ids: list[int]) -> dict[int, Features]:
        out = {i: f for i in ids if (f := self.features.get(i)) is not None}
        missing = [i for i in ids if i not in out]
        for sid, row in self.session.snippets(missing).items():
            out[sid] = features_of(row.title, row.text, row.lang, row.published_at)
            self.features.put(sid, out[sid])
        return out

    def published_at(self, snippet_id: int) -> float:
        return self._features([snippet_id])[snippet_id].published_at

    def knn_of(self, ids: list[int], batch: BatchState) -> dict[int, np.ndarray]:
        """Fresh lists: this batch's updates first, then what storage held at its start."""
        out = {}
        missing = []
        for i in ids:
            if i in batch.knn:
                out[i] = batch.knn[i]
            elif i in batch.by_id:
                out[i] = batch.by_id[i].row.knn_sims
            elif i in batch.stored_knn:
                out[i] = batch.stored_knn[i]
            else:
                missing.append(i)
        if missing:
            found = self.session.knn_sims(missing)
            batch.stored_knn.update(found)
            out.update(found)
        return out

    def _placements(self, ids: list[int], batch: BatchState) -> dict[int, tuple[int, int]]:
        missing = [i for i in ids if i not in batch.stored_place]
        if missing:
            for sid, (rid, story, knn) in self.session.placements(missing).items():
                batch.stored_place[sid] = (rid, story)
                batch.stored_knn.setdefault(sid, knn)
        return {i: batch.stored_place[i] for i in ids if i in batch.stored_place}

    def _vectors(self, ids: list[int], batch: BatchState) -> dict[int, np.ndarray]:
        missing = [i for i in ids if i not in batch.stored_vectors]
        if missing:
            for sid, (vector, knn) in self.session.vectors_and_knn(missing).items():
                batch.stored_vectors[sid] = vector
                batch.stored_knn.setdefault(sid, knn)
        return {i: batch.stored_vectors[i] for i in ids if i in batch.stored_vectors}

    def neighbours(
        self, scores: np.ndarray, ids: np.ndarray, vector: np.ndarray, batch: BatchState
    ) -> list[Neighbour]:
        """Index hits plus this batch's earlier items, best first, at most `knn`."""
        found = [(float(s), int(i)) for s, i in zip(scores, ids, strict=True) if i >= 0]
        place = self._placements([i for _, i in found], batch) if found else {}
        feats = self._features(list(place))
        out = [
            Neighbour(sid, *place[sid], sim, feats[sid])
            for sim, sid in found
            if sid in feats  # a row removed after the search is simply skipped
        ]
        # One matrix product for the batch's earlier items, and Neighbour objects only for
        # those that can make the cut (ties at the cut included): a loop over all of them
        # made a batch of n cost O(n^2) Python work.
        earlier, matrix = batch.earlier()
        if earlier:
            sims = matrix @ vector
            keep = np.arange(len(earlier))
            if len(earlier) > self.knn:
                keep = np.flatnonzero(sims >= np.partition(sims, -self.knn)[-self.knn])
            for j in keep.tolist():
                e = earlier[j]
                out.append(
                    Neighbour(e.row.id, e.row.report_id, e.row.story_id, float(sims[j]), e.features)
                )
        out.sort(key=lambda n: -n.cosine)
        return out[: self.knn]

    def reports(
        self, vector: np.ndarray, neighbours: list[Neighbour], batch: BatchState, lang: str
    ) -> list[ReportCandidate]:
        """The reports of the nearest neighbours, each with all its recent members; those
        whose members are too far to reach the report level (`can_reach_report`) are left out.
        `lang`: the new snippet's (members' variants are found only where they can count)."""
        wanted = list(dict.fromkeys(n.report_id for n in neighbours))[: self.params.max_reports]
        if not wanted:
            return []
        story_of = {n.report_id: n.story_id for n in neighbours}
        missing = [r for r in wanted if r not in batch.stored_members]
        if missing:
            batch.stored_members.update(
                self.session.report_members(missing, self.params.members_per_report)
            )
        stored = batch.stored_members
        members_of = {
            rid: [i for i in stored.get(rid, []) if i not in batch.by_id] for rid in wanted
        }
        for e in batch.by_id.values():
            if e.row.report_id in members_of:
                members_of[e.row.report_id].append(e.row.id)
        ids = [i for ms in members_of.values() for i in ms]
        vectors = self._vectors([i for i in ids if i not in batch.by_id], batch)
        vectors.update({i: batch.by_id[i].row.vector for i in ids if i in batch.by_id})
        cosines: dict[int, float] = {}
        if vectors:
            found = list(vectors)
            sims = np.vstack([vectors[i] for i in found]) @ vector
            cosines = dict(zip(found, sims.tolist(), strict=True))
        # Features and neighbour lists only for reports that can still pass.
        hopeful = {}
        nearest = neighbours[0].cosine  # `neighbours` come best first
        for rid in wanted:
            present = [i for i in members_of[rid] if i in cosines]  # rows removed meanwhile
            sims = [cosines[i] for i in present]
            if present and can_reach_report(
                sum(sims) / len(sims), self.params, holds_nearest(sims, nearest)
            ):
                hopeful[rid] = present
        ids = [i for ms in hopeful.values() for i in ms]
        feats = self._features([i for i in ids if i not in batch.by_id])
        feats.update({i: batch.by_id[i].features for i in ids if i in batch.by_id})
        knn = self.knn_of(ids, batch)
        bg = {i: background(knn[i].tolist(), self.params) for i in ids}
        variants: dict[int, tuple[Variant, ...]] = {}
        if self.params.variant_relief:
            variants = self._variants(hopeful, vectors, knn, feats, lang)
        fits = {}
        if self.params.rehome:
            fits = self._fits(hopeful, nearest, cosines, vectors, bg, feats, variants)
        return [
            ReportCandidate(
                rid,
                story_of[rid],
                tuple(
                    Member(
                        cosines[i],
                        bg[i],
                        feats[i],
                        float(knn[i][0]) if len(knn[i]) else float("-inf"),
                        i,
                        fits.get(i, float("inf")),
                        variants.get(i, ()),
                    )
                    for i in members
                ),
            )
            for rid, members in hopeful.items()
        ]

    def _fits(
        self,
        hopeful: dict[int, list[int]],
        nearest: float,
        cosines: dict[int, float],
        vectors: dict[int, np.ndarray],
        bg: dict[int, float],
        feats: dict[int, Features],
        variants: dict[int, tuple[Variant, ...]],
    ) -> dict[int, float]:
        """`scoring.fit` of the new snippet's nearest neighbour, when it shares a report:
        the one member `assign.rehome` and `assign.take_back` can move (a mutual pair
        needs the nearest)."""
        out = {}
        for members in hopeful.values():
            if len(members) < 2:
                continue
            for a in members:
                if not is_nearest(cosines[a], nearest):
                    continue
                others = [o for o in members if o != a]
                sims = np.vstack([vectors[o] for o in others]) @ vectors[a]
                out[a] = fit(
                    feats[a],
                    bg[a],
                    [
                        Member(float(c), bg[o], feats[o], variants=variants.get(o, ()))
                        for c, o in zip(sims, others, strict=True)
                    ],
                    self.params,
                    variants.get(a, ()),
                )
        return out

    def _variants(
        self,
        hopeful: dict[int, list[int]],
        vectors: dict[int, np.ndarray],
        knn: dict[int, np.ndarray],
        feats: dict[int, Features],
        lang: str,
    ) -> dict[int, tuple[Variant, ...]]:
        """`Member.variants` of the reports where a variant can be in a third language:
        for the new snippet's pairs (two languages besides `lang`) or for re-homing's fit
        of one member against the rest (three languages)."""
        out: dict[int, tuple[Variant, ...]] = {}
        k = self.params.background_k
        for members in hopeful.values():
            langs = [feats[i].lang for i in members]
            kinds = set(langs)
            if len(kinds - {lang}) < 2 and len(kinds) < 3:
                continue
            block = np.vstack([vectors[i] for i in members])
            nearest = [
                sorted((c for c in knn[i].tolist() if c == c), reverse=True)[:k] for i in members
            ]
            found = mates_among_nearest(members, langs, (block @ block.T).tolist(), nearest)
            out.update((i, v) for i, v in zip(members, found, strict=True) if v)
        return out

    def copies(self, content_hash: str, batch: BatchState) -> list[Copy]:
        """Snippets with the same content hash: this batch's, latest first, then stored
        ones, oldest first (the order `assign.exact_copy` takes the first of)."""
        out = [
            Copy(e.id, e.report_id, e.story_id, e.published_at)
            for e in reversed(batch.rows)
            if e.content_hash == content_hash
        ]
        # as this batch left them: a stored copy may have been re-homed, its story merged
        out += [
            Copy(
                r.id,
                batch.moved.get(r.id, r.report_id),
                batch.alias(r.story_id) if r.story_id in batch.merged else r.story_id,
                r.published_at,
            )
            for r in self.session.by_hash(content_hash)
        ]
        return out

    def stories(
        self, vector: np.ndarray, neighbours: list[Neighbour], batch: BatchState
    ) -> list[StoryCandidate]:
        """The stories of the neighbours, with the new vector's cosine to each centre and
        what the event link reads from their members among the neighbours."""
        views: dict[int, StoryView] = {}
        for n in neighbours:
            view = views.get(n.story_id)
            if view is None:
                state = batch.story(n.story_id, self.session)
                view = views[n.story_id] = StoryView(
                    n.story_id,
                    float(vector @ unit(state.centroid_sum)),
                    state.first_seen,
                    state.last_seen,
                )
            view.add(n.cosine, n.features)
        for v in views.values():
            v.freeze()
        return [
            StoryCandidate(
                int(v.key), v.cosine, v.first_seen, v.last_seen, v.nearest, v.names, v.numbers
            )
            for v in views.values()
        ]

    def refresh_knn(self, neighbours: list[Neighbour], batch: BatchState) -> None:
        """The new snippet may now be among its neighbours' nearest: update their lists.

        Exact as long as the new snippet is within each such neighbour's top
        `knn` hits, which holds for the few (`background_k`) that matter.
        """
        k = self.params.background_k
        current = self.knn_of([n.snippet_id for n in neighbours], batch)
        for n in neighbours:
            old = current.get(n.snippet_id)
            if old is None:
                continue
            if len(old) >= k and n.cosine <= float(old[-1]):
                continue
            fresh = np.sort(np.append(old, np.float32(n.cosine)))[::-1][:k].astype(np.float32)
            if n.snippet_id in batch.by_id:
                batch.by_id[n.snippet_id].row.knn_sims = fresh
            else:
                batch.knn[n.snippet_id] = fresh
