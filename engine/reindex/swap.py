"""The swap: the new generation goes in while the online writer waits.

Holding the service's swap lock (the writer finishes its batch and waits),
snippets committed online since the snapshot are carried over: their online
report and story are translated through the id maps, they are re-embedded if
the model changed, and every report and story they or the re-clustered window
touch is recomputed. All of it is one SQLite transaction; then the new index
file replaces the old one (tmp + os.replace) and the in-memory index reference
is swapped. A crash before the commit leaves the old generation; after it, the
new one (a stale index file is rebuilt from the database at start-up).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from embeddings.base import Embedder
from engine.reindex.phases import Context
from index.base import VectorIndex
from storage.base import Repository
from storage.records import Regrouping, ReportState, Scope, StoryState
from stories.idmap import map_ids
from stories.params import Params
from stories.text import model_input
from stories.titles import choose_titles
from stories.vectors import group_sums

# Puts the new index (and model, when it changed) in force with its parameters.
Install = Callable[[VectorIndex, Embedder | None, Params], None]


@dataclass
class SwapResult:
    carried_over: int  # snippets that arrived online while the job ran
    stories: int  # stories written
    reports: int


def _translate(
    delta: Scope,
    report_story: dict[int, int],
    report_retired: dict[int, int],
    story_retired: dict[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Online assignments of late snippets, expressed in the new generation's ids."""
    reports, stories = [], []
    for r, s in zip(delta.report_ids.tolist(), delta.story_ids.tolist(), strict=True):
        r = report_retired.get(r, r)
        reports.append(r)
        stories.append(report_story.get(r, story_retired.get(s, s)))
    return np.array(reports, dtype=np.int64), np.array(stories, dtype=np.int64)


def _corrected(ctx: Context, repo: Repository) -> np.ndarray:
    """Snapshot snippets deleted or replaced (DELETE/PUT) while the job ran."""
    ids, _ = repo.changes_after(ctx.changes_seq)
    return np.array(sorted({i for i in ids if i <= ctx.upto}), dtype=np.int64)


def swap(
    ctx: Context, repo: Repository, install: Install, embedder: Embedder | None = None
) -> SwapResult:
    """Runs on the writer thread (`Writer.submit_call`): no online commit interleaves."""
    assert ctx.scope is not None and ctx.clusters is not None
    assert ctx.stories is not None and ctx.reports is not None and ctx.index is not None
    store = ctx.store
    top = store.max_snippet_id()
    delta = store.scope(top, None, after=ctx.upto)
    corrected = _corrected(ctx, repo)
    scope, labels_story, labels_report, scope_pos = (
        ctx.scope,
        ctx.clusters.stories,
        ctx.clusters.reports,
        ctx.scope_pos,
    )
    story_map, report_map = ctx.stories, ctx.reports
    if len(corrected):
        # Their online state wins: carried over like late arrivals (if they still exist).
        # The id maps are made again over what stays: a cluster of corrected snippets
        # alone must not keep an old id while its other members' rows move elsewhere
        # (that left a report row counting a snippet it no longer had).
        keep = ~np.isin(scope.ids, corrected)
        scope = scope.subset(keep)
        _, labels_story = np.unique(labels_story[keep], return_inverse=True)
        _, labels_report = np.unique(labels_report[keep], return_inverse=True)
        labels_story, labels_report = labels_story.reshape(-1), labels_report.reshape(-1)
        scope_pos = scope_pos[keep]
        story_map = map_ids(scope.story_ids, labels_story)
        report_map = map_ids(scope.report_ids, labels_report)
        delta = Scope.concat([store.rows(corrected.tolist()), delta])
        ctx.index.remove(corrected)
    if ctx.model_changed and len(delta.ids):
        stale = store.stale_ids(top, ctx.model)
        if len(stale):
            texts = store.texts(stale.tolist())
            inputs = [model_input(texts[i][0], texts[i][1], ctx.embed_chars) for i in stale]
            store.save_reembedded(stale, ctx.embed(inputs), ctx.model)
    _, next_report, next_story = (n + 1 for n in repo.writer.max_ids())
    story_final, story_retired = story_map.resolve(next_story)
    report_final, report_retired = report_map.resolve(next_report)
    s_story = story_final[labels_story]
    s_report = report_final[labels_report]
    report_story = dict(zip(s_report.tolist(), s_story.tolist(), strict=True))
    d_report, d_story = _translate(delta, report_story, report_retired, story_retired)

    pinned_ids = sorted(set(d_story.tolist()) - set(s_story.tolist()))
    pinned = store.members(pinned_ids, ctx.upto) if pinned_ids else Scope.concat([])
    if len(pinned.ids) and len(delta.ids):
        pinned = pinned.subset(~np.isin(pinned.ids, delta.ids))

    ids = np.concatenate([scope.ids, delta.ids, pinned.ids])
    old_story = np.concatenate([scope.story_ids, delta.story_ids, pinned.story_ids])
    story = np.concatenate([s_story, d_story, pinned.story_ids])
    report = np.concatenate([s_report, d_report, pinned.report_ids])
    published = np.concatenate([scope.published_at, delta.published_at, pinned.published_at])
    langs = scope.langs + delta.langs + pinned.langs
    has_title = np.concatenate([scope.has_title, delta.has_title, pinned.has_title])
    extra = np.concatenate([delta.ids, pinned.ids])
    vectors = np.vstack([ctx.vectors[scope_pos], store.vectors_for(extra, ctx.model)])

    gen = _generation(ctx, ids, old_story, story, report, published, langs, has_title, vectors)
    if len(corrected):
        fresh = ~np.isin(gen.knn_ids, corrected)
        gen.knn_ids, gen.knn_sims = gen.knn_ids[fresh], gen.knn_sims[fresh]
    # Every report the window or the late arrivals held that the new generation leaves
    # empty goes (its members moved to other ids); a retired one among them.
    held = set(ctx.scope.report_ids.tolist()) | set(delta.report_ids.tolist())
    gen.dropped_reports = sorted(set(report_retired) | (held - set(report.tolist())))
    gen.merged = story_retired
    generation = int(repo.get_meta("generation") or 0) + 1
    gen.meta = {"model": ctx.model, "generation": str(generation)}
    store.apply(gen)

    late = np.concatenate([corrected, delta.ids[delta.ids > ctx.upto]])
    if len(late):
        present = store.rows(late.tolist()).ids
        ctx.index.add(present, store.vectors_for(present, ctx.model))
    install(ctx.index, embedder, ctx.params)
    return SwapResult(len(delta.ids), len(gen.stories), len(gen.reports))


def _generation(
    ctx: Context,
    ids: np.ndarray,
    old_story: np.ndarray,
    story: np.ndarray,
    report: np.ndarray,
    published: np.ndarray,
    langs: list[str],
    has_title: np.ndarray,
    vectors: np.ndarray,
) -> Regrouping:
    now = time.time()
    # reports
    rids, rinv = np.unique(report, return_inverse=True)
    rinv = rinv.reshape(-1)
    r_first = np.full(len(rids), np.inf)
    np.minimum.at(r_first, rinv, published)
    r_count = np.bincount(rinv, minlength=len(rids))
    r_story = np.empty(len(rids), dtype=np.int64)
    r_story[rinv] = story
    reports = [
        ReportState(int(i), int(s), float(f), int(c))
        for i, s, f, c in zip(rids, r_story, r_first, r_count, strict=True)
    ]
    # stories
    sids, sinv = np.unique(story, return_inverse=True)
    sinv = sinv.reshape(-1)
    sums = group_sums(sinv, vectors, len(sids))
    title_pos, title_score, sims = choose_titles(sinv, vectors, has_title)
    first = np.full(len(sids), np.inf)
    last = np.full(len(sids), -np.inf)
    np.minimum.at(first, sinv, published)
    np.maximum.at(last, sinv, published)
    count = np.bincount(sinv, minlength=len(sids))
    report_count = np.bincount(
        np.unique(np.stack([sinv, rinv], axis=1), axis=0)[:, 0], minlength=len(sids)
    )
    languages: list[dict[str, int]] = [{} for _ in sids]
    for k, lang in zip(sinv.tolist(), langs, strict=True):
        languages[k][lang] = languages[k].get(lang, 0) + 1
    moved = old_story != story
    changed = set(story[moved].tolist()) | set(old_story[moved].tolist())
    stamps = ctx.store.story_updated_at(sids.tolist())
    stories = [
        StoryState(
            id=int(sid),
            first_seen=float(first[k]),
            last_seen=float(last[k]),
            updated_at=now if int(sid) in changed or int(sid) not in stamps else stamps[int(sid)],
            snippet_count=int(count[k]),
            report_count=int(report_count[k]),
            centroid_sum=sums[k],
            title_snippet_id=int(ids[title_pos[k]]),
            title_sim=float(title_score[k]),
            languages=languages[k],
        )
        for k, sid in enumerate(sids)
    ]
    return Regrouping(
        snippet_ids=ids,
        report_ids=report,
        story_ids=story,
        story_sims=sims,
        knn_ids=ctx.knn_ids,
        knn_sims=ctx.knn_sims,
        reports=reports,
        stories=stories,
        dropped_reports=[],
        merged={},
        model=ctx.model,
    )
