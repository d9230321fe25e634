"""Plain records crossing the storage seam; no database types leak out of storage/."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class NewSnippet:
    """A snippet with its decision, ready to commit (ids are assigned by the writer)."""

    id: int
    external_id: str | None
    title: str | None
    text: str | None
    lang: str
    lang_detected: bool
    source: str | None
    url: str | None
    published_at: float
    received_at: float
    content_hash: str
    report_id: int
    story_id: int
    status: str  # "created" or "duplicate"
    vector: np.ndarray
    story_sim: float  # cosine to the story centroid when assigned: used to pick titles
    knn_sims: np.ndarray  # cosines to its nearest neighbours so far, best first
    new_report: bool
    new_story: bool


@dataclass(frozen=True)
class SnippetRow:
    id: int
    external_id: str | None
    title: str | None
    text: str | None
    lang: str
    lang_detected: bool
    source: str | None
    url: str | None
    published_at: float
    received_at: float
    content_hash: str
    report_id: int
    story_id: int
    status: str
    story_sim: float


@dataclass(frozen=True)
class SnippetOutline:
    """What ordering a story's reports and choosing its title need, without the text."""

    id: int
    report_id: int
    published_at: float
    lang: str
    has_title: bool


@dataclass(frozen=True)
class ReportRow:
    id: int
    story_id: int
    first_seen: float
    snippet_count: int


@dataclass(frozen=True)
class StoryRow:
    id: int
    first_seen: float
    last_seen: float
    updated_at: float
    snippet_count: int
    report_count: int
    languages: dict[str, int]
    merged_into: int | None = None


@dataclass
class StoryState:
    """A story as the writer updates it; committed whole, so a crash never half-applies it."""

    id: int
    first_seen: float
    last_seen: float
    updated_at: float
    snippet_count: int
    report_count: int
    centroid_sum: np.ndarray
    title_snippet_id: int | None
    title_sim: float
    languages: dict[str, int]


@dataclass
class ReportState:
    id: int
    story_id: int
    first_seen: float
    snippet_count: int
