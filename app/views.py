"""Read models: stored rows turned into the story pages and summaries clients see."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from app.pipeline import title_score
from storage.records import SnippetOutline, SnippetRow, StoryRow
from stories.text import display_title


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def snippet_view(row: SnippetRow) -> dict:
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


def story_summary(story: StoryRow, title: SnippetRow | None) -> dict:
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


@dataclass
class ReportView:
    id: int
    lead: SnippetRow
    variants: list[SnippetRow] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "lead": snippet_view(self.lead),
            "variants": [snippet_view(v) for v in self.variants],
        }


def pick_title(
    outline: list[SnippetOutline], ids: np.ndarray, vectors: np.ndarray, lang: str | None
) -> int | None:
    """Id of the snippet nearest the story centre, headlines first, in `lang` when it has one."""
    if not outline:
        return None
    centroid = vectors.sum(axis=0)
    centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
    sims = dict(zip(ids.tolist(), (vectors @ centroid).tolist(), strict=True))
    pool = [r for r in outline if r.lang == lang] or outline
    return max(pool, key=lambda r: (title_score(r.has_title, sims.get(r.id, -1.0)), -r.id)).id


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
    out = []
    for report_id, members in by_report.items():
        lead = next((m for m in members if m.lang == lang), members[0])
        out.append(ReportView(report_id, lead, [m for m in members if m is not lead]))
    return out
