"""The swap: the new generation goes in while the online writer waits.

On the writer thread (it finishes its batch first), snippets committed online since the
snapshot are carried over: their online report and story are translated through the id
maps, they are re-embedded if the model changed, and every report and story they or the
re-clustered window touch is recomputed. Only what changes is written, so the writer
waits for the changes, not for the window: the stories a snippet enters or leaves
(against online assignment as it stands at the swap), the late arrivals' stories, retired
ids, and stories whose title the job changes (`phases.compare`, off the writer, also
drops neighbour cosines online already holds, and `phases.neighbours` writes the others
ahead of the swap when the model stays). A model change rewrites every story of
the window (every centre moves) and copies every vector: that swap still costs the
writer the window. All of it is one SQLite transaction, then the in-memory index
reference is swapped; the job wrote the new index file before (`Reindex`, phase `save`).
A crash before the commit leaves the old generation; after it, the new one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from embeddings.base import Embedder
from engine.reindex.phases import Context
from index.base import VectorIndex
from storage.base import GenerationStore, Repository
from storage.records import Regrouping, ReportState, Scope, StoryState
from stories.groups import group_stats
from stories.idmap import map_ids
from stories.params import Params
from stories.text import model_input

# Puts the new index (and model, when it changed) in force with its parameters.
Install = Callable[[VectorIndex, Embedder | None, Params], None]


@dataclass
class SwapResult:
    carried_over: int  # snippets that arrived online while the job ran
    stories: int  # story rows written
    reports: int  # report rows written
    snippets: int  # snippet rows whose place was written
    neighbour_cosines: int  # snippet rows whose neighbour cosines were written


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
    ctx: Context,
    repo: Repository,
    install: Install,
    embedder: Embedder | None = None,
    *,
    write_all: bool = False,
) -> SwapResult:
    """Runs on the writer thread (`Writer.submit_call`): no online commit interleaves.
    `write_all` rewrites every story of the window, as a model change must (the tests
    hold the two ways to the same result)."""
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
    keep = np.ones(len(scope.ids), dtype=bool)
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
    if len(pinned.ids):
        # not the window's own snippets: one that an online merge moved into a late
        # story would otherwise come twice (the later row won, the counts held both)
        pinned = pinned.subset(~np.isin(pinned.ids, np.concatenate([scope.ids, delta.ids])))

    cur_report, cur_story = _online_now(store, scope, delta, ctx.upto)
    touched = _touched(ctx, scope, (s_report, s_story), (cur_report, cur_story), d_story, delta)
    # and retired ids with their survivors, stories that lost a corrected member, and
    # with another model every story (its centre moves to the new space)
    touched |= set(story_retired) | set(story_retired.values())
    touched |= set(ctx.scope.story_ids[np.isin(ctx.scope.ids, corrected)].tolist())
    if ctx.model_changed or write_all:
        touched |= set(s_story.tolist())
    # a touched story none of whose members the job saw (a story outside the window that
    # an online merge touched): its members come along as they are, so its row is whole
    seen = set(s_story.tolist()) | set(d_story.tolist())
    outside = sorted(touched - seen)
    if outside:
        more = store.members(outside, top)
        more = more.subset(~np.isin(more.ids, np.concatenate([scope.ids, delta.ids, pinned.ids])))
        pinned = Scope.concat([pinned, more])
    # Stories that late arrivals join (or that lost a corrected member) are recomputed here
    # from their members; the other touched ones take what the job computed over the
    # window off the writer (`phases.compare`): the same numbers, without the window's
    # vectors passing through the writer.
    lost = np.isin(ctx.clusters.stories[keep], ctx.clusters.stories[~keep])
    recount = touched & (set(d_story.tolist()) | set(pinned.story_ids.tolist()))
    recount |= touched & set(s_story[lost].tolist())
    if ctx.stats is None or write_all:
        recount = touched
    in_rows = _among(s_story, recount)
    in_stats = _among(s_story, touched - recount)

    ids = np.concatenate([scope.ids[in_rows], delta.ids, pinned.ids])
    old_story = np.concatenate([cur_story[in_rows], delta.story_ids, pinned.story_ids])
    old_report = np.concatenate([cur_report[in_rows], delta.report_ids, pinned.report_ids])
    story = np.concatenate([s_story[in_rows], d_story, pinned.story_ids])
    report = np.concatenate([s_report[in_rows], d_report, pinned.report_ids])
    published = np.concatenate(
        [scope.published_at[in_rows], delta.published_at, pinned.published_at]
    )
    langs = (
        [lang for lang, k in zip(scope.langs, in_rows.tolist(), strict=True) if k]
        + delta.langs
        + pinned.langs
    )
    has_title = np.concatenate([scope.has_title[in_rows], delta.has_title, pinned.has_title])
    extra = np.concatenate([delta.ids, pinned.ids])
    vectors = np.vstack([ctx.vectors[scope_pos[in_rows]], store.vectors_for(extra, ctx.model)])
    every_report = np.concatenate([s_report, d_report, pinned.report_ids])

    gen = _generation(ctx, ids, old_story, story, report, published, langs, has_title, vectors)
    # a snippet changes place when its (report, story) differs from online's now; a
    # report's row changes with its members or its story
    old_report = np.concatenate([old_report, cur_report[in_stats]])
    old_story = np.concatenate([old_story, cur_story[in_stats]])
    new_report = np.concatenate([report, s_report[in_stats]])
    placed = (np.concatenate([story, s_story[in_stats]]) != old_story) | (new_report != old_report)
    changed = np.union1d(new_report[placed], old_report[placed])
    if ctx.stats is not None and in_stats.any():
        _from_stats(ctx, gen, keep, in_stats, s_story, s_report, cur_story, changed)
    if not (ctx.model_changed or write_all):
        # `story_sim` is the cosine to its story's centre when the snippet was last
        # placed (online sets it the same way), so a snippet that stays keeps its row
        gen.snippet_ids, gen.report_ids = gen.snippet_ids[placed], gen.report_ids[placed]
        gen.story_ids, gen.story_sims = gen.story_ids[placed], gen.story_sims[placed]
        keep_ids = set(changed.tolist())
        gen.reports = [r for r in gen.reports if r.id in keep_ids]
    if len(corrected):
        fresh = ~np.isin(gen.knn_ids, corrected)
        gen.knn_ids, gen.knn_sims = gen.knn_ids[fresh], gen.knn_sims[fresh]
    # Every report the window or the late arrivals held that the new generation leaves
    # empty goes (its members moved to other ids); a retired one among them.
    held = np.union1d(ctx.scope.report_ids, delta.report_ids)
    emptied = np.setdiff1d(held, every_report).tolist()
    gen.dropped_reports = sorted(set(report_retired) | set(emptied))
    gen.merged = story_retired
    generation = int(repo.get_meta("generation") or 0) + 1
    gen.meta = {"model": ctx.model, "generation": str(generation)}
    store.apply(gen)

    late = np.concatenate([corrected, delta.ids[delta.ids > ctx.upto]])
    if len(late):
        present = store.rows(late.tolist()).ids
        ctx.index.add(present, store.vectors_for(present, ctx.model))
    install(ctx.index, embedder, ctx.params)
    return SwapResult(
        len(delta.ids), len(gen.stories), len(gen.reports), len(gen.snippet_ids), len(gen.knn_ids)
    )


def _online_now(
    store: GenerationStore, scope: Scope, delta: Scope, upto: int
) -> tuple[np.ndarray, np.ndarray]:
    """The window's (report, story) as online assignment has left them by now: members
    of a story merged online since the snapshot follow its survivor, and members moved
    into a late snippet's report (`assign.rehome`) are where the move put them. Nothing
    else online changes a stored snippet's place (corrections are carried over apart)."""
    report, story = scope.report_ids.copy(), scope.story_ids.copy()
    merged = store.merged_into(np.unique(story).tolist())
    if merged:
        old = np.array(sorted(merged), dtype=np.int64)
        new = np.array([merged[int(i)] for i in old], dtype=np.int64)
        at = np.searchsorted(old, story).clip(0, len(old) - 1)
        hit = old[at] == story
        story[hit] = new[at[hit]]
    if len(delta.ids):
        now = store.report_members(np.unique(delta.report_ids).tolist(), upto)
        at = np.searchsorted(scope.ids, now.ids).clip(0, max(len(scope.ids) - 1, 0))
        hit = (scope.ids[at] == now.ids) if len(scope.ids) else np.zeros(0, dtype=bool)
        report[at[hit]] = now.report_ids[hit]
        story[at[hit]] = now.story_ids[hit]
    return report, story


def _touched(
    ctx: Context,
    scope: Scope,
    new: tuple[np.ndarray, np.ndarray],
    now: tuple[np.ndarray, np.ndarray],
    d_story: np.ndarray,
    delta: Scope,
) -> set[int]:
    """Only these stories' rows are written: those a window snippet enters or leaves
    (its new (report, story) against online's now), the late arrivals' stories before
    and after translation, and those whose title the job changes. The rest of the window
    keeps its rows as they are."""
    (s_report, s_story), (cur_report, cur_story) = new, now
    moved = (s_report != cur_report) | (s_story != cur_story)
    return (
        set(s_story[moved].tolist())
        | set(cur_story[moved].tolist())
        | set(d_story.tolist())
        | set(delta.story_ids.tolist())
        | _retitled(ctx.retitled, scope.ids, s_story)
    )


def _retitled(title_ids: np.ndarray, scope_ids: np.ndarray, story: np.ndarray) -> set[int]:
    """The new stories of the snippets the job would make their titles (see
    `phases.compare`); a title snippet deleted since drops out."""
    if not len(title_ids) or not len(scope_ids):
        return set()
    at = np.searchsorted(scope_ids, title_ids).clip(0, len(scope_ids) - 1)
    return set(story[at[scope_ids[at] == title_ids]].tolist())


def _among(values: np.ndarray, chosen: set[int]) -> np.ndarray:
    return np.isin(values, np.fromiter(chosen, dtype=np.int64, count=len(chosen)))


def _from_stats(
    ctx: Context,
    gen: Regrouping,
    keep: np.ndarray,
    rows: np.ndarray,
    s_story: np.ndarray,
    s_report: np.ndarray,
    cur_story: np.ndarray,
    changed_reports: np.ndarray,
) -> None:
    """Adds to `gen` the stories (and the window's snippets in them, `rows` of the kept
    window) whose members are exactly as the job saw them, from its stats, and those of
    their reports in `changed_reports` (the others' rows stand)."""
    assert ctx.stats is not None and ctx.scope is not None and ctx.clusters is not None
    stats = ctx.stats
    pos = np.flatnonzero(keep)[rows]  # positions in the job's window
    story, report = s_story[rows], s_report[rows]
    moved = story != cur_story[rows]
    changed = set(story[moved].tolist()) | set(cur_story[rows][moved].tolist())
    now = time.time()
    sids, first = np.unique(story, return_index=True)
    k = stats.story_index(ctx.clusters.stories[pos[first]])
    stamps = ctx.store.story_updated_at(sids.tolist())
    for sid, j in zip(sids.tolist(), k.tolist(), strict=True):
        gen.stories.append(
            StoryState(
                id=sid,
                first_seen=float(stats.first[j]),
                last_seen=float(stats.last[j]),
                updated_at=now if sid in changed or sid not in stamps else stamps[sid],
                snippet_count=int(stats.count[j]),
                report_count=int(stats.report_count[j]),
                centroid_sum=stats.sums[j],
                title_snippet_id=int(ctx.scope.ids[stats.title[j]]),
                title_sim=float(stats.title_score[j]),
                languages=stats.languages[j],
            )
        )
    rewrite = np.isin(report, changed_reports)
    rids, first = np.unique(report[rewrite], return_index=True)
    first = np.flatnonzero(rewrite)[first]
    r = stats.report_index(ctx.clusters.reports[pos[first]])
    gen.reports.extend(
        ReportState(
            int(rid), int(sid), float(stats.report_first[j]), int(stats.report_count_items[j])
        )
        for rid, sid, j in zip(rids.tolist(), story[first].tolist(), r.tolist(), strict=True)
    )
    gen.snippet_ids = np.concatenate([gen.snippet_ids, ctx.scope.ids[pos]])
    gen.report_ids = np.concatenate([gen.report_ids, report])
    gen.story_ids = np.concatenate([gen.story_ids, story])
    gen.story_sims = np.concatenate([gen.story_sims, stats.sims[pos]])


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
    g = group_stats(story, report, vectors, published, langs, has_title)
    reports = [
        ReportState(int(i), int(s), float(f), int(c))
        for i, s, f, c in zip(
            g.reports, g.report_story, g.report_first, g.report_count_items, strict=True
        )
    ]
    moved = old_story != story
    changed = set(story[moved].tolist()) | set(old_story[moved].tolist())
    stamps = ctx.store.story_updated_at(g.stories.tolist())
    stories = [
        StoryState(
            id=int(sid),
            first_seen=float(g.first[k]),
            last_seen=float(g.last[k]),
            updated_at=now if int(sid) in changed or int(sid) not in stamps else stamps[int(sid)],
            snippet_count=int(g.count[k]),
            report_count=int(g.report_count[k]),
            centroid_sum=g.sums[k],
            title_snippet_id=int(ids[g.title[k]]),
            title_sim=float(g.title_score[k]),
            languages=g.languages[k],
        )
        for k, sid in enumerate(g.stories)
    ]
    return Regrouping(
        snippet_ids=ids,
        report_ids=report,
        story_ids=story,
        story_sims=g.sims,
        knn_ids=ctx.knn_ids,
        knn_sims=ctx.knn_sims,
        reports=reports,
        stories=stories,
        dropped_reports=[],
        merged={},
        model=ctx.model,
    )
