"""What the rules need to know about a snippet besides its vector, computed once per text."""

from __future__ import annotations

from dataclasses import dataclass

from stories.entities import names, numbers
from stories.text import words


@dataclass(frozen=True)
class Features:
    lang: str
    published_at: float  # seconds since the epoch
    names: frozenset[str] = frozenset()  # script-free name keys (stories/entities.py)
    numbers: frozenset[str] = frozenset()  # figures with their grouping removed
    words: frozenset[str] = frozenset()  # normalised words, for the near-copy overlap


def features_of(title: str | None, text: str | None, lang: str, published_at: float) -> Features:
    body = " ".join(p for p in (title, text) if p)
    return Features(
        lang=lang,
        published_at=published_at,
        names=names(body),
        numbers=numbers(body),
        words=words(body),
    )
