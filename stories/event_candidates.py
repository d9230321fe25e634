"""A candidate story as the event link sees it, and its feature rows.

Online assignment, the fit of the link and the nightly repair all build these the same
way: a story's centre cosine and span from its aggregates, and its nearest member,
names and figures from those of its members that are among the snippet's neighbours
(the members that resemble the snippet are the ones whose names say the most).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from stories.event import features, gap_days, names_share, story_frequency
from stories.features import Features


@dataclass
class StoryView:
    key: Any  # story id (online, repair) or true label (fit)
    cosine: float  # between the snippet and the story's unit centre
    first_seen: float
    last_seen: float
    nearest: float = float("-inf")
    names: frozenset[str] = frozenset()
    numbers: frozenset[str] = frozenset()
    _names: set[str] = field(default_factory=set, repr=False)
    _numbers: set[str] = field(default_factory=set, repr=False)

    def add(self, cosine: float, member: Features) -> None:
        """A member of the story among the snippet's neighbours (`freeze` before reading
        `names` and `numbers`)."""
        self.nearest = max(self.nearest, cosine)
        self._names |= member.names
        self._numbers |= member.numbers

    def freeze(self) -> StoryView:
        """`names` and `numbers` with every member added so far."""
        if self._names:
            self.names = self.names | self._names
            self._names = set()
        if self._numbers:
            self.numbers = self.numbers | self._numbers
            self._numbers = set()
        return self


class LinkTarget(Protocol):
    """What the link reads of a candidate story: a frozen `StoryView` or the engine's
    `stories.candidates.StoryCandidate`."""

    @property
    def cosine(self) -> float: ...
    @property
    def first_seen(self) -> float: ...
    @property
    def last_seen(self) -> float: ...
    @property
    def nearest(self) -> float: ...
    @property
    def names(self) -> frozenset[str]: ...
    @property
    def numbers(self) -> frozenset[str]: ...


T = TypeVar("T", bound=LinkTarget)


def candidate_rows(new: Features, views: Sequence[T]) -> list[tuple[T, tuple[float, ...]]]:
    """Each candidate with its feature row (`stories.event.FEATURES`); a name's rarity is
    over these candidates: one every candidate carries is the topic."""
    counts, total = story_frequency(v.names for v in views)
    out = []
    for v in views:
        share = names_share(new.names, v.names, counts, total)
        nearest = v.nearest if v.nearest != float("-inf") else v.cosine
        out.append(
            (
                v,
                features(
                    v.cosine,
                    nearest,
                    share,
                    bool(new.names and v.names),
                    bool(new.numbers & v.numbers),
                    gap_days(new.published_at, v.first_seen, v.last_seen),
                ),
            )
        )
    return out
