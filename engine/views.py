"""Read models: stored rows turned into the snippets, stories and pages clients see.

Typed dictionaries, so the HTTP layer validates them against its response schemas
and the CLI and pages read them as they are.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NotRequired, TypedDict

from storage.records import SnippetOutline, SnippetRow, StoryRow
from stories.text import display_title


class SnippetView(TypedDict):
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


class ReportView(TypedDict):
    id: int
    lead: SnippetView
    variants: list[SnippetView]


class StorySummary(TypedDict):
    id: int
    title: str
    lang: str | None
    languages: dict[str, int]
    snippet_count: int
    report_count: int
    first_seen: str
    last_seen: str
    updated_at: str
    merged_into: int | None
    score: NotRequired[float]  # search hits only: cosine of the best snippet to the query


class StoryView(StorySummary):
    reports: list[ReportView]
    next_offset: int | None


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def snippet_view(row: SnippetRow) -> SnippetView:
    return {
        "id": row.id,
        "external_id": row.external_id,
        "title": row.title,
        "text": row.text,
        "lang": row.lang,
        "lang_detected": row.lang_detected,
        "source": row.source,
        "url": row.url,
        "published_at": rfc3339(row.published_at),
        "received_at": rfc3339(row.received_at),
        "story_id": row.story_id,
        "report_id": row.report_id,
        "status": row.status,
    }


def story_summary(story: StoryRow, title: SnippetRow | None) -> StorySummary:
    return {
        "id": story.id,
        "title": display_title(title.title, title.text) if title else "",
        "lang": title.lang if title else None,
        "languages": story.languages,
        "snippet_count": story.snippet_count,
        "report_count": story.report_count,
        "first_seen": rfc3339(story.first_seen),
        "last_seen": rfc3339(story.last_seen),
        "updated_at": rfc3339(story.updated_at),
        "merged_into": story.merged_into,
    }


def report_order(outline: list[SnippetOutline]) -> list[int]:
    """Report ids in order of first appearance (the order `group_reports` gives)."""
    seen: dict[int, None] = {}
    for row in sorted(outline, key=lambda r: (r.published_at, r.id)):
        seen.setdefault(row.report_id, None)
    return list(seen)


def group_reports(rows: list[SnippetRow], lang: str | None) -> list[ReportView]:
    """Reports in order of first appearance; the lead is the earliest snippet in `lang`."""
    by_report: dict[int, list[SnippetRow]] = {}
    for row in sorted(rows, key=lambda r: (r.published_at, r.id)):
        by_report.setdefault(row.report_id, []).append(row)
    out: list[ReportView] = []
    for report_id, members in by_report.items():
        lead = next((m for m in members if m.lang == lang), members[0])
        out.append(
            {
                "id": report_id,
                "lead": snippet_view(lead),
                "variants": [snippet_view(m) for m in members if m is not lead],
            }
        )
    return out
