"""Shapes the service's story views into what the templates draw: pure functions, no I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from stories.text import display_title

# Endonyms for the language switch and badges; other codes are shown as the code itself.
LANGUAGE_NAMES = {
    "ar": "العربية",
    "be": "Беларуская",
    "cs": "Čeština",
    "de": "Deutsch",
    "en": "English",
    "es": "Español",
    "fr": "Français",
    "it": "Italiano",
    "ja": "日本語",
    "kk": "Қазақша",
    "ko": "한국어",
    "nl": "Nederlands",
    "pl": "Polski",
    "pt": "Português",
    "ro": "Română",
    "ru": "Русский",
    "sv": "Svenska",
    "tr": "Türkçe",
    "uk": "Українська",
    "zh": "中文",
}


def language_name(code: str | None) -> str:
    return LANGUAGE_NAMES.get(code or "", code or "")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def human_time(value: str) -> str:
    """RFC 3339 from the views as people read it, always in UTC so pages agree."""
    return parse_time(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def parse_since(value: str) -> float:
    """The list's time filter: a day (what a date input sends) or a full RFC 3339 instant."""
    value = value.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        moment = parse_time(value)
    except ValueError as exc:
        raise ValueError(
            f"since {value!r} is neither a date (YYYY-MM-DD) nor an RFC 3339 time"
        ) from exc
    if moment.tzinfo is None:
        raise ValueError(f"since {value!r} needs a time zone, e.g. 2024-06-14T08:00:00Z")
    return moment.timestamp()


_RANGE = re.compile(r"^\s*([A-Za-z]{1,8})(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


def accepted_languages(header: str | None) -> list[str]:
    """Primary language subtags of an Accept-Language header, most wanted first."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((header or "").split(",")):
        m = _RANGE.match(part)
        if not m:
            continue
        try:
            q = float(m.group(2)) if m.group(2) else 1.0
        except ValueError:
            continue
        if q > 0:
            ranked.append((-q, i, m.group(1).lower()))
    out: list[str] = []
    for _, _, lang in sorted(ranked):
        if lang not in out:
            out.append(lang)
    return out


def preferred_language(header: str | None, available: list[str]) -> str | None:
    """The reader's most wanted language that the story has, or None for the story default."""
    return next((lang for lang in accepted_languages(header) if lang in available), None)


def paragraphs(text: str | None) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text or "") if p.strip()]


def lead_text(snippet: dict, headline: str) -> str:
    """The lead under a headline, without repeating the sentence the headline was cut from."""
    text = (snippet.get("text") or "").strip()
    if not snippet.get("title") and headline and text.startswith(headline):
        return text[len(headline) :].strip()
    return text


def safe_href(url: str | None) -> str | None:
    """Only web links become anchors; anything else (javascript:, data:) stays text."""
    if url and url.lower().startswith(("http://", "https://")):
        return url
    return None


VERSIONS_SHOWN = 12  # per language under one report; the JSON view has them all


@dataclass
class LanguageGroup:
    lang: str
    snippets: list[dict]
    hidden: int = 0  # versions left off the page (a wire story copied by hundreds of sites)


@dataclass
class ReportBlock:
    id: int
    lead: dict
    groups: list[LanguageGroup] = field(default_factory=list)

    @property
    def variant_count(self) -> int:
        return sum(len(g.snippets) + g.hidden for g in self.groups)


def snippet_headline(snippet: dict) -> str:
    return display_title(snippet.get("title"), snippet.get("text"))


def report_block(report: dict, per_language: int = VERSIONS_SHOWN) -> ReportBlock:
    """A report with its variants grouped by language: the lead's language first, then the
    others by how many versions they have; at most `per_language` shown in each."""
    groups: dict[str, list[dict]] = {}
    for v in report["variants"]:
        groups.setdefault(v["lang"], []).append(v)
    lead_lang = report["lead"]["lang"]
    order = sorted(groups, key=lambda lang: (lang != lead_lang, -len(groups[lang]), lang))
    return ReportBlock(
        report["id"],
        report["lead"],
        [
            LanguageGroup(g, groups[g][:per_language], max(0, len(groups[g]) - per_language))
            for g in order
        ],
    )


def split_headline(story: Mapping[str, Any]) -> tuple[ReportBlock | None, list[ReportBlock]]:
    """The report that carries the story's title goes on top, as on a news page; the others
    follow in order. The title snippet is found by the headline the service chose."""
    blocks = [report_block(r) for r in story["reports"]]
    for i, block in enumerate(blocks):
        members = [block.lead] + [s for g in block.groups for s in g.snippets]
        for s in members:
            if s["lang"] == story["lang"] and snippet_headline(s) == story["title"]:
                if s is not block.lead:  # show the title snippet as the lead of its report
                    block = report_block(_promote(story["reports"][i], s))
                return block, blocks[:i] + blocks[i + 1 :]
    return None, blocks


def _promote(report: dict, snippet: dict) -> dict:
    rest = [report["lead"]] + [v for v in report["variants"] if v is not snippet]
    return {"id": report["id"], "lead": snippet, "variants": rest}


def story_snippets(story: Mapping[str, Any]) -> list[dict]:
    return [s for r in story["reports"] for s in [r["lead"], *r["variants"]]]
