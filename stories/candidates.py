"""What the caller gathers for one new snippet: plain records, compared with it already.

The engine fills them from the index and storage (engine/candidates.py); the rules in
stories/assign.py only read them.
"""

from __future__ import annotations

from dataclasses import dataclass

from stories.features import Features


@dataclass(frozen=True)
class Copy:
    """A stored (or earlier in the batch) snippet with the same content hash."""

    snippet_id: int
    report_id: int
    story_id: int
    published_at: float


@dataclass(frozen=True)
class Neighbour:
    """A stored snippet near the new one (from the vector index)."""

    snippet_id: int
    report_id: int
    story_id: int
    cosine: float
    features: Features


Variant = tuple[float, str, int]  # a report mate among one's nearest: cosine, language, id


@dataclass(frozen=True)
class Member:
    """A report member as seen from the new snippet."""

    cosine: float
    background: float  # mean cosine to its own nearest neighbours (`scoring.background`)
    features: Features
    nearest: float = float("inf")  # cosine to its own nearest neighbour before the new one
    snippet_id: int = -1
    # Its mean name-free score to the rest of its report (`scoring.fit`); inf: alone or
    # not computed.
    fit: float = float("inf")
    # The members of its report in other languages among its `background_k` nearest
    # (`scoring.variant_relief`); the engine fills it only where a third language can
    # occur (`scoring.mates_among_nearest`).
    variants: tuple[Variant, ...] = ()


@dataclass(frozen=True)
class ReportCandidate:
    """A report with every (recent) member, compared with the new snippet."""

    report_id: int
    story_id: int
    members: tuple[Member, ...]


@dataclass(frozen=True)
class StoryCandidate:
    story_id: int
    cosine: float  # cosine between the new vector and the story's centroid
    first_seen: float
    last_seen: float
    # from its members among the new snippet's neighbours (`stories.event_candidates`)
    nearest: float = float("-inf")
    names: frozenset[str] = frozenset()
    numbers: frozenset[str] = frozenset()
