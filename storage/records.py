"""Plain records crossing the storage seam; no database types leak out of storage/."""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass
class BatchWrite:
    """Everything one writer batch commits, in one transaction."""

    snippets: list[NewSnippet]
    stories: list[StoryState]
    reports: list[ReportState]
    model: str  # identity key of the model that made the vectors
    knn: dict[int, np.ndarray] = field(default_factory=dict)  # stored snippets' fresh lists
    merges: dict[int, int] = field(default_factory=dict)  # retired story id -> survivor
    moves: dict[int, int] = field(default_factory=dict)  # stored snippet -> its new report


@dataclass(frozen=True)
class Removed:
    """A snippet row taken out by a deletion or correction."""

    snippet: SnippetRow
    report_gone: bool
    seq: int  # its position in the change log


@dataclass(frozen=True)
class StoryMembers:
    """What remains of one story, one entry per snippet, in id order."""

    ids: np.ndarray  # int64 (n,)
    vectors: np.ndarray  # float32 (n, d)
    published_at: np.ndarray  # float64 (n,)
    langs: list[str]
    report_ids: np.ndarray  # int64 (n,)
    has_title: np.ndarray  # bool (n,)


@dataclass
class Scope:
    """Snippets a re-index works on, as parallel arrays in id order."""

    ids: np.ndarray  # int64
    story_ids: np.ndarray
    report_ids: np.ndarray
    published_at: np.ndarray  # float64
    langs: list[str]
    has_title: np.ndarray  # bool

    @classmethod
    def concat(cls, parts: list[Scope]) -> Scope:
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, empty.copy(), empty.copy(), np.zeros(0), [], np.zeros(0, dtype=bool))
        return cls(
            ids=np.concatenate([p.ids for p in parts]),
            story_ids=np.concatenate([p.story_ids for p in parts]),
            report_ids=np.concatenate([p.report_ids for p in parts]),
            published_at=np.concatenate([p.published_at for p in parts]),
            langs=[lang for p in parts for lang in p.langs],
            has_title=np.concatenate([p.has_title for p in parts]),
        )

    def subset(self, keep: np.ndarray) -> Scope:
        """The items where the boolean mask `keep` holds."""
        return Scope(
            self.ids[keep],
            self.story_ids[keep],
            self.report_ids[keep],
            self.published_at[keep],
            [lang for lang, k in zip(self.langs, keep.tolist(), strict=True) if k],
            self.has_title[keep],
        )


@dataclass
class Regrouping:
    """Everything a re-index swap writes, in one transaction."""

    snippet_ids: np.ndarray
    report_ids: np.ndarray
    story_ids: np.ndarray
    story_sims: np.ndarray
    knn_ids: np.ndarray  # snippets whose knn_sims are refreshed
    knn_sims: np.ndarray  # (len(knn_ids), background_k), NaN where none
    reports: list[ReportState]
    stories: list[StoryState]
    dropped_reports: list[int]
    merged: dict[int, int]  # retired story id -> surviving story id
    model: str
    meta: dict[str, str] = field(default_factory=dict)
