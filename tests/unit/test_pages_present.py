"""The pages' pure helpers: Accept-Language, the since filter, the lead paragraph and the
timeline's geometry (the pages over real HTTP: tests/integration/test_pages.py)."""

from __future__ import annotations

import pytest

from app.pages.present import accepted_languages, lead_text, parse_since, preferred_language
from app.pages.timeline import build_timeline


def test_accept_language_parsing() -> None:
    assert accepted_languages("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7") == ["ru", "en"]
    assert accepted_languages("en;q=0.2, es , de;q=0") == ["es", "en"]
    assert accepted_languages("*, ;q=x, 12, fr;q=abc") == []
    assert accepted_languages(None) == []
    assert preferred_language("de, es;q=0.8, en;q=0.5", ["en", "es", "ru"]) == "es"
    assert preferred_language("fr", ["en"]) is None


def test_since_parsing() -> None:
    assert parse_since("2024-06-20") == parse_since("2024-06-20T00:00:00Z") == 1718841600.0
    assert parse_since("2024-06-20T02:00:00+02:00") == 1718841600.0
    for bad in ("yesterday", "2024-13-01", "2024-06-20T00:00:00"):
        with pytest.raises(ValueError):
            parse_since(bad)


def test_lead_does_not_repeat_the_headline() -> None:
    s = {"title": None, "text": "First sentence. Second one.\n\nThird."}
    assert lead_text(s, "First sentence.") == "Second one.\n\nThird."
    assert lead_text({**s, "title": "T"}, "T") == s["text"]
    assert lead_text(s, "First sent…") == s["text"]


def test_timeline_geometry() -> None:
    snippets: list[dict] = [
        {"lang": "ru", "published_at": "2024-06-14T08:00:00Z", "title": "a", "text": None},
        {"lang": "en", "published_at": "2024-06-14T10:00:00Z", "title": "b", "text": None},
        {"lang": "ru", "published_at": "2024-06-14T12:00:00Z", "title": "c", "source": "s"},
    ]
    t = build_timeline(snippets)
    assert t is not None
    assert [(r.lang, r.count) for r in t.rows] == [("ru", 2), ("en", 1)]
    xs = sorted(d.x for d in t.dots)
    assert xs[0] == t.x0 and xs[-1] == t.x1 and xs[1] == pytest.approx((t.x0 + t.x1) / 2)
    assert all(0 < d.y < t.height for d in t.dots)
    assert t.start == "2024-06-14 08:00 UTC" and t.end == "2024-06-14 12:00 UTC"
    assert "s · c" in t.dots[-1].label
    single = build_timeline(snippets[:1])
    assert single is not None and single.dots[0].x == pytest.approx((single.x0 + single.x1) / 2)
    assert build_timeline([]) is None
