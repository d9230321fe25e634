"""Gather what an assignment decision needs from the index and storage.

Everything here reads; the decision itself is `stories.assign.decide`. Items
earlier in the same micro-batch are not committed yet, so they are passed in
and merged with what storage returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.features import FeatureCache, features_of
from storage.records import NewSnippet, ReportState, StoryState
from storage.sqlite import SQLiteRepository
from stories.assign import Features, Member, Neighbour, Params, ReportCandidate, background


@dataclass
class Earlier:
    """An item decided earlier in this batch: committed together with the current one."""

    row: NewSnippet
    features: Features


@dataclass
class BatchState:
    """Everything a batch changes, committed in one transaction at its end."""

    stories: dict[int, StoryState] = field(default_factory=dict)
    reports: dict[int, ReportState] = field(default_factory=dict)
    rows: list[NewSnippet] = field(default_factory=list)
    knn: dict[int, np.ndarray] = field(default_factory=dict)  # stored snippets' fresh lists
    by_id: dict[int, Earlier] = field(default_factory=dict)
    merged: dict[int, int] = field(default_factory=dict)  # retired story id -> survivor

    def alias(self, story_id: int) -> int:
        return self.merged.get(story_id, story_id)


class Gatherer:
    def __init__(
        self,
        repo: SQLiteRepository,
        features: FeatureCache,
        params: Params,
        knn: int,
        max_reports: int,
        members_per_report: int,
    ) -> None:
        self.repo = repo
        self.features = features
        self.params = params
        self.knn = knn
        self.max_reports = max_reports
        self.members_per_report = members_per_report

    def _features(self, ids: list[int]) -> dict[int, Features]:
        out = {i: f for i in ids if (f := self.features.get(i)) is not None}
        missing = [i for i in ids if i not in out]
        for sid, row in self.repo.snippets(missing, writer=True).items():
            out[sid] = features_of(row.title, row.text, row.lang, row.published_at)
            self.features.put(sid, out[sid])
        return out

    def knn_of(self, ids: list[int], batch: BatchState) -> dict[int, np.ndarray]:
        out = {i: batch.knn[i] for i in ids if i in batch.knn}
        out.update({i: batch.by_id[i].row.knn_sims for i in ids if i in batch.by_id})
        missing = [i for i in ids if i not in out]
        if missing:
            out.update(self.repo.knn_sims(missing))
        return out

    def neighbours(
        self, scores: np.ndarray, ids: np.ndarray, vector: np.ndarray, batch: BatchState
    ) -> list[Neighbour]:
        """Index hits plus this batch's earlier items, best first, at most `knn`."""
        found = [(float(s), int(i)) for s, i in zip(scores, ids, strict=True) if i >= 0]
        place = self.repo.placements([i for _, i in found]) if found else {}
        feats = self._features(list(place))
        out = [
            Neighbour(sid, *place[sid], sim, feats[sid])
            for sim, sid in found
            if sid in feats  # a row removed after the search is simply skipped
        ]
        # One matrix product for the batch's earlier items, and Neighbour objects only for
        # those that can make the cut (ties at the cut included): a loop over all of them
        # made a batch of n cost O(n^2) Python work.
        earlier = list(batch.by_id.values())
        if earlier:
            sims = np.vstack([e.row.vector for e in earlier]) @ vector
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
        self, vector: np.ndarray, neighbours: list[Neighbour], batch: BatchState
    ) -> list[ReportCandidate]:
        """The reports of the nearest neighbours, each with all its recent members."""
        wanted = list(dict.fromkeys(n.report_id for n in neighbours))[: self.max_reports]
        if not wanted:
            return []
        story_of = {n.report_id: n.story_id for n in neighbours}
        stored = self.repo.report_members(wanted, self.members_per_report)
        members_of = {
            rid: [i for i in stored.get(rid, []) if i not in batch.by_id] for rid in wanted
        }
        for e in batch.by_id.values():
            if e.row.report_id in members_of:
                members_of[e.row.report_id].append(e.row.id)
        ids = [i for ms in members_of.values() for i in ms]
        stored_ids = [i for i in ids if i not in batch.by_id]
        vectors = self.repo.vectors(stored_ids, writer=True)
        vectors.update({i: batch.by_id[i].row.vector for i in ids if i in batch.by_id})
        feats = self._features(stored_ids)
        feats.update({i: batch.by_id[i].features for i in ids if i in batch.by_id})
        knn = self.knn_of(ids, batch)
        out = []
        for rid in wanted:
            members = tuple(
                Member(
                    float(vectors[i] @ vector), background(knn[i].tolist(), self.params), feats[i]
                )
                for i in members_of[rid]
                if i in vectors
            )
            if members:
                out.append(ReportCandidate(rid, story_of[rid], members))
        return out

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
