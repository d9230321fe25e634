"""Service-level records: what the writer accepts and what it answers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Incoming:
    """A validated snippet on its way to the writer (no ids, no vector yet)."""

    title: str | None
    text: str | None
    lang: str | None
    source: str | None
    url: str | None
    published_at: float | None
    external_id: str | None
    received_at: float


@dataclass(frozen=True)
class Outcome:
    id: int
    story_id: int
    report_id: int
    lang: str
    status: str  # created | duplicate | exists


@dataclass(frozen=True)
class Deleted:
    id: int
    story_id: int
    report_id: int
    story_gone: bool
    report_gone: bool
