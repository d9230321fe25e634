"""Online story merges: arrival order can open two stories for one event.

Its reactions can arrive before the event itself; a later snippet that bridges the
two shows it. Stories are compared as wholes (sums of unit vectors), so one bridging
snippet cannot chain two events together. Pure: sums and counts in, decisions out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from stories.event import features, span_gap_days
from stories.params import Params


@dataclass(frozen=True)
class StoryMass:
    """A story as the sum of its unit vectors: enough for average-link comparisons."""

    story_id: int
    vector_sum: np.ndarray
    count: int
    first_seen: float
    last_seen: float


def absorption(a: StoryMass, b: StoryMass) -> float:
    """Mean cosine of the smaller story's members to the larger story's centroid.

    For a one-snippet story this is exactly the score that snippet would have
    had joining the other one, so a merge passes the same test as a join.
    """
    small, large = (a, b) if (a.count, -a.story_id) < (b.count, -b.story_id) else (b, a)
    norm = float(np.linalg.norm(large.vector_sum))
    if small.count == 0 or norm == 0.0:
        return float("-inf")
    return float(small.vector_sum @ large.vector_sum) / (norm * small.count)


def merges(joined: StoryMass, others: Sequence[StoryMass], params: Params) -> list[int]:
    """Stories that the one a snippet just joined should absorb, best first.

    Arrival order can open two stories for one event (its reactions come in
    before the event itself); a later snippet that bridges them shows it. They
    merge when the smaller story's members would, on average, have joined the
    larger one (`absorption` at or above the story threshold): the stories as
    wholes must match, so one bridging snippet cannot chain two events together.
    """
    window = params.window_seconds
    linker = params.linker
    if linker is not None:
        # The bridging snippet's event link to each cleared the merge margin (the caller
        # passed only those): who, where and when agree. The stories as wholes must not
        # contradict it: judged on their centres alone (online has no member's names at
        # hand), as the nightly repair judges a member none of whose neighbours is in the
        # other story, they must reach the repair margin, so one bridging snippet cannot
        # chain two events on one topic together.
        out = []
        for o in sorted(others, key=lambda o: -absorption(joined, o)):
            if o.story_id == joined.story_id or not (
                o.first_seen - window <= joined.last_seen
                and joined.first_seen <= o.last_seen + window
            ):
                continue
            centre = absorption(joined, o)
            gap = span_gap_days(joined.first_seen, joined.last_seen, o.first_seen, o.last_seen)
            whole = features(centre, centre, 0.0, False, False, gap)
            if linker.logit(whole) >= linker.repair_margin:
                out.append(o.story_id)
        return out
    scored = [
        (absorption(joined, o), o.story_id)
        for o in others
        if o.story_id != joined.story_id
        and o.first_seen - window <= joined.last_seen
        and joined.first_seen <= o.last_seen + window
        and coherence(joined, o) >= params.story
    ]
    return [sid for score, sid in sorted(scored, reverse=True) if score >= params.story]


def coherence(*parts: StoryMass) -> float:
    """Mean cosine of a story's members to its own centroid: the length of the mean vector.

    A merged story must stay as tight as a join asks of one snippet, so stories
    that have already drifted (a centroid between several events attracts
    everything) do not swallow more.
    """
    total = sum(p.count for p in parts)
    if total == 0:
        return float("-inf")
    return float(np.linalg.norm(sum(p.vector_sum for p in parts))) / total


def survivor(a: StoryMass, b: StoryMass) -> tuple[int, int]:
    """(kept id, retired id): the larger story keeps its id, on a tie the older one."""
    if (a.count, -a.story_id) >= (b.count, -b.story_id):
        return a.story_id, b.story_id
    return b.story_id, a.story_id
