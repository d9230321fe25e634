"""Online story merges in the batch state: the rule is `stories.merges`, this applies it."""

from __future__ import annotations

import logging
from collections.abc import Callable

from engine.batch import BatchState
from storage.base import WriterSession
from storage.records import StoryState
from stories.merges import StoryMass, merges, survivor
from stories.params import Params

log = logging.getLogger(__name__)


def _mass(state: StoryState) -> StoryMass:
    return StoryMass(
        state.id, state.centroid_sum, state.snippet_count, state.first_seen, state.last_seen
    )


def merge_bridged(
    story_id: int,
    passed: list[int],
    batch: BatchState,
    session: WriterSession,
    params: Params,
    clock: Callable[[], float],
) -> None:
    """Fold in the stories that the one a snippet just joined turns out to bridge:
    `passed` are the other stories the snippet itself would have joined."""
    others = [s for s in dict.fromkeys(batch.alias(s) for s in passed) if s != story_id]
    if not others:
        return
    candidates = [_mass(batch.story(s, session)) for s in others]
    for other in merges(_mass(batch.story(story_id, session)), candidates, params):
        joined = _mass(batch.story(story_id, session))
        mass = _mass(batch.story(other, session))
        if not merges(joined, [mass], params):  # the story grew: check again
            continue
        keep, retire = survivor(joined, mass)
        _absorb(batch.stories[keep], batch.stories[retire], batch, clock())
        story_id = keep


def _absorb(keep: StoryState, retire: StoryState, batch: BatchState, now: float) -> None:
    keep.snippet_count += retire.snippet_count
    keep.report_count += retire.report_count
    keep.centroid_sum = keep.centroid_sum + retire.centroid_sum
    keep.first_seen = min(keep.first_seen, retire.first_seen)
    keep.last_seen = max(keep.last_seen, retire.last_seen)
    keep.updated_at = now
    for lang, n in retire.languages.items():
        keep.languages[lang] = keep.languages.get(lang, 0) + n
    if keep.title_snippet_id is None:
        keep.title_snippet_id, keep.title_sim = retire.title_snippet_id, retire.title_sim
    retire.snippet_count = retire.report_count = 0
    retire.languages = {}
    # A redirect has no title of its own (its title snippet may be deleted later): readers
    # of the retired id get the survivor's.
    retire.title_snippet_id, retire.title_sim = None, -2.0
    batch.retire(retire.id, keep.id)
    log.debug("story %d merged into %d", retire.id, keep.id)
