"""The re-index phases before the swap. Each reads the snapshot and fills the context;
nothing a reader can see changes until `swap`.

Written as steps over id ranges and arrays (embed a batch, search a batch,
cluster the edges, map ids) so that they can later run as partitions on a
distributed engine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from engine.reindex.options import ReindexOptions, StopHook
from index import VectorIndex, rebuild
from index.graph import knn_graph
from storage.base import GenerationStore
from storage.records import Scope
from stories.evidence import EdgeEvidence
from stories.features import Features
from stories.groups import GroupStats, group_stats
from stories.idmap import IdMap, map_ids
from stories.params import Params
from stories.recluster import Clusters
from stories.repair import repair
from stories.text import model_input

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


@dataclass
class Context:
    """Everything one re-index run has learnt so far."""

    store: GenerationStore
    options: ReindexOptions
    embed: Callable[[list[str]], np.ndarray]
    model: str  # identity key of the target model
    dim: int
    params: Params
    knn: int
    embed_chars: int
    batch: int
    model_changed: bool
    hook: StopHook
    progress: Progress
    upto: int = 0  # snapshot: every snippet with id <= upto is in scope
    changes_seq: int = 0  # deletions/corrections up to here are in the snapshot
    cutoff: float | None = None
    reembedded: int = 0
    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    index: VectorIndex | None = None
    scope: Scope | None = None
    scope_pos: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    neighbours: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    sims: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    knn_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    knn_sims: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    clusters: Clusters | None = None
    stories: IdMap | None = None
    reports: IdMap | None = None
    retitled: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    stats: GroupStats | None = None  # the window's new stories and reports, as the job saw it
    knn_written: int = 0  # neighbour cosine rows written ahead of the swap (`neighbours`)


def snapshot(ctx: Context) -> None:
    ctx.upto = ctx.store.max_snippet_id()
    days = ctx.options.window_days
    newest = ctx.store.newest_published(ctx.upto)
    # the window counts back from the newest snippet, not the clock, so a backfill
    # of old news is re-clustered like live news
    ctx.cutoff = None if days is None or newest is None else newest - days * 86400.0
    if ctx.model_changed:
        ctx.cutoff = None  # centroids of every story must move to the new model's space


def embed(ctx: Context) -> None:
    """Re-embed what another model made, committing per batch (a re-run resumes)."""
    stale = ctx.store.stale_ids(ctx.upto, ctx.model)
    total = ctx.store.count_stale(ctx.upto, ctx.model)
    done = total - len(stale)
    ctx.progress("embed", done, total)
    for n, start in enumerate(range(0, len(stale), ctx.batch), 1):
        ids = stale[start : start + ctx.batch]
        texts = ctx.store.texts(ids.tolist())
        ids = np.array([i for i in ids.tolist() if i in texts], dtype=np.int64)  # deleted since
        inputs = [model_input(texts[i][0], texts[i][1], ctx.embed_chars) for i in ids.tolist()]
        if len(ids):
            ctx.store.save_reembedded(ids, ctx.embed(inputs), ctx.model)
        ctx.reembedded += len(ids)
        done += len(ids)
        ctx.progress("embed", done, total)
        ctx.hook.after_batch(n)


def build(ctx: Context) -> None:
    """Every vector of the snapshot (for the target model) and a fresh index over them."""
    parts_ids, parts_vecs = [], []
    loaded = 0
    for ids, vecs in ctx.store.iter_vectors(ctx.model, ctx.upto):
        if vecs.shape[1] != ctx.dim:
            raise RuntimeError(
                f"snippet {int(ids[0])} has a {vecs.shape[1]}-d vector but {ctx.model} makes "
                f"{ctx.dim}-d ones; its re-embedding is missing"
            )
        parts_ids.append(ids)
        parts_vecs.append(vecs)
        loaded += len(ids)
        ctx.progress("index", loaded, ctx.upto)
    ctx.ids = np.concatenate(parts_ids) if parts_ids else np.zeros(0, dtype=np.int64)
    ctx.vectors = np.vstack(parts_vecs) if parts_vecs else np.zeros((0, ctx.dim), dtype=np.float32)
    ctx.index = rebuild(ctx.dim, ctx.ids, ctx.vectors)


def knn(ctx: Context) -> None:
    """k-NN of the scope over the whole snapshot: the graph to cluster and fresh
    backgrounds (`index.graph`: exact while small, IVF when large)."""
    ctx.scope = ctx.store.scope(ctx.upto, ctx.cutoff)
    ctx.scope_pos = np.searchsorted(ctx.ids, ctx.scope.ids)
    query = np.arange(len(ctx.ids)) if ctx.model_changed else ctx.scope_pos
    k = min(ctx.knn + 1, len(ctx.ids))
    bk = ctx.params.background_k
    scores, found = knn_graph(
        ctx.vectors, query, k, progress=lambda done, total: ctx.progress("knn", done, total)
    )
    other = (found >= 0) & (found != query[:, None])
    # drop self (and padding), keep the order: a stable sort pushes them to the end
    order = np.argsort(~other, axis=1, kind="stable")
    found = np.take_along_axis(found, order, axis=1)[:, : max(k - 1, 0)]
    scores = np.take_along_axis(scores, order, axis=1)[:, : max(k - 1, 0)]
    other = np.take_along_axis(other, order, axis=1)[:, : max(k - 1, 0)]
    top = np.full((len(query), bk), np.nan, dtype=np.float32)
    w = min(bk, other.shape[1])
    top[:, :w] = np.where(other[:, :w], scores[:, :w], np.nan)
    ctx.knn_ids, ctx.knn_sims = ctx.ids[query], top
    in_scope = np.full(len(ctx.ids), -1, dtype=np.int64)
    in_scope[ctx.scope_pos] = np.arange(len(ctx.scope_pos))
    rows = in_scope[query]
    sel = rows >= 0
    mapped = np.where(other, in_scope[np.where(other, found, 0)], -1)
    ctx.neighbours = np.full((len(ctx.scope_pos), other.shape[1]), -1, dtype=np.int64)
    ctx.sims = np.zeros((len(ctx.scope_pos), other.shape[1]), dtype=np.float32)
    ctx.neighbours[rows[sel]] = mapped[sel]
    ctx.sims[rows[sel]] = np.where(mapped[sel] >= 0, scores[sel], 0.0)


def cluster(ctx: Context, text_evidence: bool = True) -> None:
    assert ctx.scope is not None
    scope = ctx.scope
    _, lang = np.unique(np.array(scope.langs, dtype=object).astype(str), return_inverse=True)
    evidence = None
    if text_evidence and len(scope.ids):
        texts = ctx.store.texts(scope.ids.tolist())
        # A snippet deleted since the snapshot has no text left: it clusters on its vector
        # alone, and the swap drops it (its deletion is in the change log).
        rows = [
            texts.get(i, (None, None, lang, published))
            for i, lang, published in zip(
                scope.ids.tolist(), scope.langs, scope.published_at.tolist(), strict=True
            )
        ]
        evidence = EdgeEvidence.from_texts(rows, ctx.neighbours, ctx.params)
    ctx.progress("cluster", 0, len(scope.ids))
    feats = (
        evidence.features
        if evidence is not None
        else [
            Features(lang, t)
            for lang, t in zip(scope.langs, scope.published_at.tolist(), strict=True)
        ]
    )
    ctx.clusters = repair(
        ctx.vectors[ctx.scope_pos],
        ctx.neighbours,
        ctx.sims,
        lang.reshape(-1),
        scope.published_at,
        scope.report_ids,
        scope.story_ids,
        feats,
        ctx.params,
        bonus=evidence.bonus if evidence else None,
    )
    ctx.progress("cluster", len(scope.ids), len(scope.ids))


def plan(ctx: Context) -> None:
    assert ctx.scope is not None and ctx.clusters is not None
    ctx.stories = map_ids(ctx.scope.story_ids, ctx.clusters.stories)
    ctx.reports = map_ids(ctx.scope.report_ids, ctx.clusters.reports)


def compare(ctx: Context, chunk: int = 20_000) -> None:
    """What the swap can take from here instead of computing it on the writer: every new
    story's and report's aggregates over the window; neighbour cosines that online
    already keeps as the job found them (left out of the swap); stories whose title the
    job changes. With another model every cosine and centre changes, so no cosine is
    left out."""
    assert ctx.scope is not None and ctx.clusters is not None and ctx.stories is not None
    scope = ctx.scope
    if not len(scope.ids):
        return
    stats = group_stats(
        ctx.clusters.stories,
        ctx.clusters.reports,
        ctx.vectors[ctx.scope_pos],
        scope.published_at,
        scope.langs,
        scope.has_title,
    )
    ctx.stats = stats
    if ctx.model_changed:
        return
    keep = np.ones(len(ctx.knn_ids), dtype=bool)
    width = ctx.knn_sims.shape[1] if ctx.knn_sims.ndim == 2 else 0
    for start in range(0, len(ctx.knn_ids), chunk):
        part = ctx.knn_ids[start : start + chunk]
        stored = ctx.store.stored_knn(part.tolist())
        old = np.full((len(part), width), np.nan, dtype=np.float32)
        missing = np.zeros(len(part), dtype=bool)
        for k, i in enumerate(part.tolist()):
            row = stored.get(i)
            if row is None or len(row) > width:
                missing[k] = True
            else:
                old[k, : len(row)] = row
        new = ctx.knn_sims[start : start + chunk]
        same = np.isclose(old, new, rtol=0.0, atol=1e-5) | (np.isnan(old) & np.isnan(new))
        keep[start : start + chunk] = missing | ~same.all(axis=1)
        ctx.progress("compare", start + len(part), len(ctx.knn_ids))
    ctx.knn_ids, ctx.knn_sims = ctx.knn_ids[keep], ctx.knn_sims[keep]
    final = ctx.stories.ids[stats.stories]  # -1: a new story (written anyway)
    title = scope.ids[stats.title]
    kept = np.flatnonzero(final >= 0)
    stored_titles = ctx.store.titles(final[kept].tolist())
    differs = [int(title[k]) for k in kept.tolist() if stored_titles.get(int(final[k])) != title[k]]
    ctx.retitled = np.array(differs, dtype=np.int64)


def neighbours(
    ctx: Context,
    on_writer: Callable[[Callable[[], None]], Future[None]],
    corrected: Callable[[int], list[int]],
    chunk: int = 4_000,
) -> None:
    """The neighbour cosines `compare` left (those that differ from the stored ones) are
    written ahead of the swap, a few thousand rows per writer transaction, so that the
    swap's pause does not hold them: at a million snippets they were 90k of its rows,
    1.8 s of its SQL and half of its commit (bench/swap_sql.py). They belong to the
    vectors, not to the assignment, so the old generation can hold them for the minutes
    until the swap. With another model they change with the vectors, which the swap
    writes: they stay with it. Snippets deleted or replaced since the snapshot keep
    their online rows (`corrected(seq)`: their ids), as the swap keeps their state."""
    if ctx.model_changed or not len(ctx.knn_ids):
        return
    total = len(ctx.knn_ids)
    for start in range(0, total, chunk):
        ids = ctx.knn_ids[start : start + chunk]
        sims = ctx.knn_sims[start : start + chunk]

        def write(ids: np.ndarray = ids, sims: np.ndarray = sims) -> None:
            keep = ~np.isin(ids, np.array(corrected(ctx.changes_seq), dtype=np.int64))
            ctx.store.write_neighbour_cosines(ids[keep], sims[keep])
            ctx.knn_written += int(keep.sum())

        on_writer(write).result()
        ctx.progress("neighbours", start + len(ids), total)
    ctx.knn_ids, ctx.knn_sims = ctx.knn_ids[:0], ctx.knn_sims[:0]


def changes(ctx: Context, limit: int = 50) -> dict:
    """What the plan changes, for the summary and `--dry-run`."""
    assert ctx.scope is not None and ctx.clusters is not None and ctx.stories is not None
    final = ctx.stories.ids[ctx.clusters.stories]
    moved = ctx.scope.story_ids != final
    split = []
    if ctx.stories.split:
        pairs, counts = np.unique(
            np.stack([ctx.scope.story_ids, ctx.clusters.stories], axis=1),
            axis=0,
            return_counts=True,
        )
        olds, parts = np.unique(pairs[:, 0], return_counts=True)
        for old in olds[parts > 1][:limit].tolist():
            mine = pairs[:, 0] == old
            split.append({"story": old, "parts": sorted(counts[mine].tolist(), reverse=True)})
    merges = []
    for old, c in list(ctx.stories.retired.items())[:limit]:
        target = int(ctx.stories.ids[c])
        merges.append({"story": old, "into": target if target >= 0 else "new story"})
    moved_ids = ctx.scope.ids[moved][:limit].tolist()
    return {
        "merges": merges,
        "splits": split,
        "moved_snippets": int(moved.sum()),
        "moved_examples": [
            {"snippet": int(s), "from": int(a), "to": int(b) if b >= 0 else "new story"}
            for s, a, b in zip(
                moved_ids, ctx.scope.story_ids[moved][:limit], final[moved][:limit], strict=True
            )
        ],
    }
