"""Geometry of the story timeline: one row per language, one dot per snippet, drawn by the
template as inline SVG so the page needs no script."""

from __future__ import annotations

from dataclasses import dataclass

from app.pages.present import human_time, parse_time, snippet_headline

WIDTH = 640
LABEL = 44  # room for the language code left of each row
PAD = 10
ROW = 24
AXIS = 26  # room for the time labels under the rows


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    row: int  # which language row: the template colours dots by it
    label: str  # tooltip: time, source and headline


@dataclass(frozen=True)
class Row:
    lang: str
    y: float
    count: int


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    x0: float  # left and right ends of the time axis
    x1: float
    rows: list[Row]
    dots: list[Dot]
    start: str
    end: str


def build_timeline(snippets: list[dict]) -> Timeline | None:
    """Snippets (as the story view gives them) placed by publication time; languages with
    more snippets get the upper rows."""
    if not snippets:
        return None
    times = [parse_time(s["published_at"]).timestamp() for s in snippets]
    t0, t1 = min(times), max(times)
    counts: dict[str, int] = {}
    for s in snippets:
        counts[s["lang"]] = counts.get(s["lang"], 0) + 1
    langs = sorted(counts, key=lambda lang: (-counts[lang], lang))
    x0, x1 = LABEL + PAD, WIDTH - PAD
    row_of = {lang: i for i, lang in enumerate(langs)}
    row_y = {lang: PAD + ROW * i + ROW / 2 for i, lang in enumerate(langs)}
    dots = []
    for s, t in sorted(zip(snippets, times, strict=True), key=lambda st: st[1]):
        frac = (t - t0) / (t1 - t0) if t1 > t0 else 0.5
        source = f" · {s['source']}" if s.get("source") else ""
        label = f"{human_time(s['published_at'])}{source} · {snippet_headline(s)}"
        dots.append(
            Dot(round(x0 + frac * (x1 - x0), 1), row_y[s["lang"]], row_of[s["lang"]], label)
        )
    rows = [Row(lang, row_y[lang], counts[lang]) for lang in langs]
    height = PAD + ROW * len(langs) + AXIS
    first = min(snippets, key=lambda s: parse_time(s["published_at"]))["published_at"]
    last = max(snippets, key=lambda s: parse_time(s["published_at"]))["published_at"]
    return Timeline(WIDTH, height, x0, x1, rows, dots, human_time(first), human_time(last))
