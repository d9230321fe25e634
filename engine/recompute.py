"""A story's aggregate recomputed from its stored members (after a deletion, or by
`storyline check --repair`); the rule is `stories.aggregate`."""

from __future__ import annotations

from storage.base import CorrectionStore
from storage.records import StoryState
from stories.aggregate import Members, story_aggregate


def recompute_story(store: CorrectionStore, story_id: int, now: float) -> bool:
    """Rewrite the story from its members, inside the writer's transaction; True when
    none is left (the story is then gone for good and its id answers 410)."""
    rows, title = store.story_members(story_id)
    members = Members(
        rows.ids, rows.vectors, rows.published_at, rows.langs, rows.report_ids, rows.has_title
    )
    agg = story_aggregate(members, title)
    if agg is None:
        store.drop_story(story_id, now)
        return True
    store.replace_story(
        StoryState(
            id=story_id,
            first_seen=agg.first_seen,
            last_seen=agg.last_seen,
            updated_at=now,
            snippet_count=agg.snippet_count,
            report_count=agg.report_count,
            centroid_sum=agg.centroid_sum,
            title_snippet_id=agg.title_snippet_id,
            title_sim=agg.title_sim,
            languages=agg.languages,
        )
    )
    return False
