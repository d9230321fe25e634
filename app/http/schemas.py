"""Request and response bodies (the OpenAPI contract), apart from the service's records."""

from __future__ import annotations

import re
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

# Date, time with seconds (fractions allowed), and an offset: what the README promises.
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


class SnippetIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "title": "Putin sets condition for Ukraine peace talks",
                "text": "Russia is ready to begin negotiations with Ukraine at any moment...",
                "lang": "en",
                "source": "wire",
                "url": "https://example.org/a/1",
                "published_at": "2024-06-14T12:00:00Z",
                "external_id": "wire-2024-06-14-001",
            }
        },
    )

    text: str | None = Field(None, description="Body text; `text` or `title` is required.")
    title: str | None = Field(None, description="Headline.")
    lang: str | None = Field(
        None, description="ISO 639-1 code (e.g. ru, en, es); detected when absent."
    )
    source: str | None = Field(None, max_length=500, description="Outlet or feed name.")
    url: str | None = Field(None, max_length=2048, description="Link to the original.")
    published_at: AwareDatetime | None = Field(
        None, description="RFC 3339 with an offset; defaults to the time of receipt."
    )
    external_id: str | None = Field(
        None,
        min_length=1,
        max_length=256,
        description="Client's id: a repeat POST with the same value returns the stored snippet.",
    )

    @field_validator("published_at", mode="before")
    @classmethod
    def _rfc3339(cls, value: object) -> object:
        """RFC 3339 only: a bare number (Unix seconds? milliseconds?) is refused, not
        guessed at."""
        if value is None or (isinstance(value, str) and RFC3339.fullmatch(value)):
            return value
        raise ValueError(
            "give an RFC 3339 time with an offset, like 2024-06-14T10:00:00Z or "
            "2024-06-14T12:00:00+02:00"
        )


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    snippets: list[Any] = Field(
        ..., description="Snippet objects shaped like the single POST body."
    )


class SnippetOut(BaseModel):
    id: int
    story_id: int
    report_id: int
    lang: str
    status: str = Field(..., description="created | duplicate | exists")


class DeletedOut(BaseModel):
    id: int
    story_id: int = Field(..., description="The story it belonged to.")
    report_id: int
    story_gone: bool = Field(..., description="The story is now empty: GET answers 410.")
    report_gone: bool


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorOut(BaseModel):
    error: ErrorBody


class BatchItemOut(BaseModel):
    id: int | None = None
    story_id: int | None = None
    report_id: int | None = None
    lang: str | None = None
    status: str | None = None
    error: ErrorBody | None = None


class BatchOut(BaseModel):
    results: list[BatchItemOut]


class SnippetView(BaseModel):
    id: int
    external_id: str | None
    title: str | None
    text: str | None
    lang: str
    lang_detected: bool
    source: str | None
    url: str | None
    published_at: str
    received_at: str
    story_id: int
    report_id: int
    status: str


class StorySummary(BaseModel):
    id: int
    title: str
    lang: str | None
    languages: dict[str, int]
    snippet_count: int
    report_count: int
    first_seen: str
    last_seen: str
    updated_at: str
    merged_into: int | None = None


class StoryPage(BaseModel):
    stories: list[StorySummary]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page.")


class ReportOut(BaseModel):
    id: int
    lead: SnippetView
    variants: list[SnippetView]


class StoryView(StorySummary):
    reports: list[ReportOut]
    next_offset: int | None = None  # where the next page of reports starts; None: last page


class SearchHit(StorySummary):
    score: float


class SearchOut(BaseModel):
    query: str
    stories: list[SearchHit]


class ReindexIn(BaseModel):
    """POST /v1/reindex: every field optional (the CLI's options)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str | None = Field(
        None, min_length=1, max_length=500, description="Model to move to (re-embeds)."
    )
    window: float | None = Field(
        None, gt=0, le=36500, description="Re-cluster stories seen in the last N days."
    )
    dry_run: bool = Field(False, description="Report what would change; change nothing.")


class JobOut(BaseModel):
    id: int
    state: str = Field(..., description="queued, running, succeeded or failed.")
    phase: str | None = None
    counts: dict[str, Any] = Field(default_factory=dict)
    summary: dict[str, Any] | None = None
    error: str | None = None
