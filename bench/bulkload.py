"""Load synthetic snippets straight into storage, grouped as the generator made them.

Filling 100k snippets over HTTP runs the online pipeline 100k times (about ten minutes
on two busy cores, most of it exact k-NN over a growing index). For the read, restart
and memory figures the store only has to be a real one: rows written through
the writer session's commit (its own transaction), stories and reports as the
generator's events and reports, vectors from the synthetic embedder, neighbour
backgrounds from each snippet's event. The service then opens it as after any restart.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.synthetic import Snippet, SyntheticEmbedder
from storage.records import BatchWrite, NewSnippet, ReportState, StoryState
from storage.sqlite import SQLiteRepository
from stories.text import content_hash, model_input

BACKGROUND_K = 4


def bulk_load(
    data_dir: Path, items: list[Snippet], embed_chars: int = 2000, chunk: int = 5000
) -> dict:
    embedder = SyntheticEmbedder()
    data_dir.mkdir(parents=True, exist_ok=True)
    repo = SQLiteRepository(data_dir / "storyline.db", embedder.identity.dim)
    try:
        repo.writer.set_meta("model", embedder.identity.key)
        vectors = embedder.embed([model_input(s.title, s.text, embed_chars) for s in items])
        knn = _event_backgrounds(items, vectors)
        stories: dict[int, StoryState] = {}
        reports: dict[int, ReportState] = {}
        story_of = {e: i + 1 for i, e in enumerate(dict.fromkeys(s.event for s in items))}
        report_of = {r: i + 1 for i, r in enumerate(dict.fromkeys(s.report for s in items))}
        seen_hash: set[tuple[int, str]] = set()
        for start in range(0, len(items), chunk):
            rows, touched_s, touched_r = [], {}, {}
            for i in range(start, min(start + chunk, len(items))):
                s, v = items[i], vectors[i]
                sid, rid = story_of[s.event], report_of[s.report]
                story = stories.get(sid) or StoryState(
                    sid, s.published_at, s.published_at, s.published_at, 0, 0,
                    np.zeros_like(v), None, -2.0, {},
                )  # fmt: skip
                report = reports.get(rid)
                if report is None:
                    report = ReportState(rid, sid, s.published_at, 0)
                    story.report_count += 1
                report.snippet_count += 1
                story.snippet_count += 1
                story.last_seen = story.updated_at = s.published_at
                story.centroid_sum = story.centroid_sum + v
                story.languages[s.lang] = story.languages.get(s.lang, 0) + 1
                centroid = story.centroid_sum / max(
                    float(np.linalg.norm(story.centroid_sum)), 1e-12
                )
                sim = float(v @ centroid)
                if story.title_snippet_id is None or sim + 2.0 > story.title_sim:
                    story.title_snippet_id, story.title_sim = i + 1, sim + 2.0
                h = content_hash(s.title, s.text)
                rows.append(
                    NewSnippet(
                        id=i + 1, external_id=s.external_id, title=s.title, text=s.text,
                        lang=s.lang, lang_detected=False, source=s.source, url=s.url,
                        published_at=s.published_at, received_at=s.published_at,
                        content_hash=h, report_id=rid, story_id=sid,
                        status="duplicate" if (rid, h) in seen_hash else "created",
                        vector=v, story_sim=sim, knn_sims=knn[i],
                        new_report=report.snippet_count == 1, new_story=story.snippet_count == 1,
                    )
                )  # fmt: skip
                seen_hash.add((rid, h))
                stories[sid] = touched_s[sid] = story
                reports[rid] = touched_r[rid] = report
            repo.writer.commit(
                BatchWrite(rows, list(touched_s.values()), list(touched_r.values()),
                           embedder.identity.key)
            )  # fmt: skip
        sizes = {sid: st.snippet_count for sid, st in stories.items()}
        return {"snippets": len(items), "stories": len(stories), "reports": len(reports),
                "story_sizes": sizes}  # fmt: skip
    finally:
        repo.close()


def _event_backgrounds(items: list[Snippet], vectors: np.ndarray) -> list[np.ndarray]:
    """Each snippet's best cosines to others of its event (the pipeline keeps the best
    `background_k` over its whole neighbourhood; an event holds nearly all of them)."""
    by_event: dict[int, list[int]] = {}
    for i, s in enumerate(items):
        by_event.setdefault(s.event, []).append(i)
    out: list[np.ndarray] = [np.zeros(0, dtype=np.float32)] * len(items)
    for members in by_event.values():
        m = vectors[members]
        sims = m @ m.T
        np.fill_diagonal(sims, -np.inf)
        for j, i in enumerate(members):
            top = np.sort(sims[j][np.isfinite(sims[j])])[::-1][:BACKGROUND_K]
            out[i] = top.astype(np.float32)
    return out
