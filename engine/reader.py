"""Story views straight from storage: needs neither the model nor the index, so the CLI's
read commands stay light and can run beside a live service."""

from __future__ import annotations

import numpy as np

from engine.cursors import KEY_NAME, Cursors, new_key
from engine.errors import Gone, NotFound
from engine.views import (
    SnippetView,
    StorySummary,
    StoryView,
    group_reports,
    report_order,
    snippet_view,
    story_summary,
)
from storage.base import Repository
from storage.records import SnippetOutline
from stories.titles import in_language


class StoryReader:
    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._cursors: Cursors | None = None

    @property
    def cursors(self) -> Cursors:
        """Signed with the data folder's key; a folder made before cursors were signed
        (and not started since) gets a key for this process only."""
        if self._cursors is None:
            self._cursors = Cursors(self.repo.get_meta(KEY_NAME) or new_key())
        return self._cursors

    def get_snippet(self, snippet_id: int) -> SnippetView:
        row = self.repo.get_snippet(snippet_id)
        if row is None:
            if self.repo.snippet_deleted(snippet_id):
                raise Gone(f"snippet {snippet_id} was deleted")
            raise NotFound(f"snippet {snippet_id} not found")
        return snippet_view(row)

    def list_stories(
        self,
        limit: int,
        cursor: str | None = None,
        lang: str | None = None,
        since: float | None = None,
    ) -> tuple[list[StorySummary], str | None]:
        after = self.cursors.decode(cursor) if cursor else None
        with self.repo.read_snapshot():  # one generation, even while a re-index swaps
            return self._page(limit, after, lang, since)

    def _page(
        self, limit: int, after: tuple[float, int] | None, lang: str | None, since: float | None
    ) -> tuple[list[StorySummary], str | None]:
        ids = self.repo.story_page(limit + 1, after, lang, since)
        more = len(ids) > limit
        ids = ids[:limit]
        stories = self.repo.stories(ids)
        titles = self.repo.title_snippets(ids)
        out = [story_summary(stories[i], titles.get(i)) for i in ids if i in stories]
        next_cursor = None
        if more and ids:
            last = stories[ids[-1]]
            next_cursor = self.cursors.encode(last.updated_at, last.id)
        return out, next_cursor

    def get_story(
        self, story_id: int, lang: str | None = None, offset: int = 0, limit: int | None = None
    ) -> StoryView:
        """The story view; `offset`/`limit` page through its reports (a running story can
        hold thousands of snippets), `next_offset` says where the next page starts."""
        with self.repo.read_snapshot():  # one generation, even while a re-index swaps
            return self._story(story_id, lang, offset, limit)

    def _story(self, story_id: int, lang: str | None, offset: int, limit: int | None) -> StoryView:
        story = self.repo.stories([story_id]).get(story_id)
        if story is None:
            if self.repo.story_gone(story_id):
                raise Gone(f"story {story_id} is gone: all its snippets were deleted")
            raise NotFound(f"story {story_id} not found")
        # The outline (no text) orders the reports; only the page's reports are read in
        # full and rendered: a running story holds thousands of snippets.
        outline = self.repo.story_outline(story_id)
        if story.merged_into is not None:  # a redirect has no title: the survivor's
            title = self.repo.title_snippets([story.merged_into]).get(story.merged_into)
        elif lang is None:
            title = self.repo.title_snippets([story_id]).get(story_id)
        else:
            chosen = self._title_in(story_id, outline, lang)
            title = None if chosen is None else self.repo.snippets([chosen]).get(chosen)
        order = report_order(outline)
        end = len(order) if limit is None else offset + limit
        page = order[offset:end]
        rows = self.repo.story_snippets(story_id, page) if page else []
        return {
            **story_summary(story, title),
            "reports": group_reports(rows, lang),
            "next_offset": end if end < len(order) else None,
        }

    def _title_in(self, story_id: int, outline: list[SnippetOutline], lang: str) -> int | None:
        """The title for a reader of `lang` (`stories.titles.in_language`)."""
        if not outline:
            return None
        ids, vectors = self.repo.story_vectors(story_id)
        centroid = vectors.sum(axis=0)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
        sims = dict(zip(ids.tolist(), (vectors @ centroid).tolist(), strict=True))
        return in_language(
            [r.id for r in outline],
            [r.has_title for r in outline],
            [r.lang for r in outline],
            sims,
            lang,
        )

    def story_languages(self, story_id: int) -> dict[str, int]:
        """Snippets per language, most first: pages choose the reader's language from it."""
        story = self.repo.stories([story_id]).get(story_id)
        if story is None:  # raises NotFound or Gone, as the JSON view does
            return dict(self.get_story(story_id)["languages"])
        return story.languages

    def story_sources(
        self, story_ids: list[int], per_story: int = 5
    ) -> dict[int, list[dict[str, str | int]]]:
        """Each story's most frequent sources, for the list page."""
        found = self.repo.story_sources(story_ids, per_story)
        return {sid: [{"source": s, "count": n} for s, n in got] for sid, got in found.items()}
