"""The HTML pages over a real socket: escaping, 404 page, pagination, filters, search and the
story page's language choice. Parsed with the standard library, so they run everywhere.
(The pure helpers behind them: tests/unit/test_pages_present.py; in a browser:
tests/e2e/test_browser.py.)"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest

from app.pages.present import VERSIONS_SHOWN
from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder
from engine.service import Service
from tests.helpers import HOCKEY_RU, SEED_TITLE, LiveServer, ingest_batch, seed_snippets


class _Text(HTMLParser):
    """Visible text of a page (what a reader sees), tags dropped, entities decoded."""

    SKIP = {"script", "style", "title"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.SKIP:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.depth:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def card_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'class="story-card" data-story-id="(\d+)"', html)]


def next_link(html: str) -> str | None:
    m = re.search(r'rel="next" href="([^"]+)"', html)
    return m.group(1).replace("&amp;", "&") if m else None


@pytest.fixture(scope="module")
def seeded(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[tuple[httpx.Client, list[dict]]]:
    """One service with the seed story and the unrelated news, shared by the read-only tests."""
    data = tmp_path_factory.mktemp("pages") / "data"
    service = build_service(Settings(data_dir=data, writer_linger_ms=1.0), embedder=embedder)
    try:
        with LiveServer(service) as live, httpx.Client(base_url=live.url, timeout=60) as client:
            yield client, ingest_batch(client, seed_snippets())
    finally:
        service.close()


def seed_story_id(results: list[dict]) -> int:
    return results[0]["story_id"]  # the seed story's lead is the first snippet


# -- the list -----------------------------------------------------------------------


def test_list_shows_story_cards(seeded: tuple[httpx.Client, list[dict]]) -> None:
    client, results = seeded
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    sid = seed_story_id(results)
    story = client.get(f"/v1/stories/{sid}").json()
    card = re.search(rf'data-story-id="{sid}">(.*?)</li>', r.text, re.S)
    assert card, "the seed story has a card on the first page"
    text = visible(card.group(1))
    assert SEED_TITLE in text
    assert f"{story['report_count']} reports" in text
    assert f"{story['snippet_count']} snippets" in text
    for lang, n in story["languages"].items():
        assert f"{lang} {n}" in text  # a badge per language with its count
    assert "first seen 2024-06-14 08:00 UTC" in text
    assert "wire-en" in text and "wire-ru" in text  # sources
    assert '<link rel="stylesheet" href="/static/style.css">' in r.text
    css = client.get("/static/style.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    paths = client.get("/openapi.json").json()["paths"]  # the schema describes JSON only
    assert "/" not in paths and "/stories/{story_id}" not in paths and "/v1/stories" in paths


def test_pagination_follows_next_links(seeded: tuple[httpx.Client, list[dict]]) -> None:
    client, _ = seeded
    total = len(client.get("/v1/stories", params={"limit": 100}).json()["stories"])
    seen: list[int] = []
    url: str | None = "/?limit=5"
    pages = 0
    while url:
        r = client.get(url)
        assert r.status_code == 200
        ids = card_ids(r.text)
        assert len(ids) <= 5
        seen += ids
        pages += 1
        if pages > 1:
            assert 'rel="first"' in r.text  # a way back to the newest
        url = next_link(r.text)
    assert len(seen) == len(set(seen)) == total
    assert pages == -(-total // 5)
    r = client.get("/", params={"cursor": "not-a-cursor"})
    assert r.status_code == 400 and "text/html" in r.headers["content-type"]
    assert "cursor" in visible(r.text)


def test_language_and_time_filters(seeded: tuple[httpx.Client, list[dict]]) -> None:
    client, _ = seeded
    ru = client.get("/", params={"lang": "ru"})
    expected = [s["id"] for s in client.get("/v1/stories", params={"lang": "ru"}).json()["stories"]]
    assert card_ids(ru.text) == expected and expected
    assert '<option value="ru" selected>' in ru.text
    es = client.get("/", params={"lang": "es"})
    assert all(
        "es" in client.get(f"/v1/stories/{i}").json()["languages"] for i in card_ids(es.text)
    )
    # the seed story is from 14 June; the unrelated news runs from 10 to 21 June
    late = client.get("/", params={"since": "2024-06-20"})
    api = client.get("/v1/stories", params={"since": "2024-06-20T00:00:00Z"}).json()["stories"]
    assert card_ids(late.text) == [s["id"] for s in api] and len(api) == 2
    assert 'value="2024-06-20"' in late.text
    # an empty form field is no filter at all
    assert card_ids(client.get("/?lang=&since=&q=").text) == card_ids(client.get("/").text)
    for params in ({"lang": "xx"}, {"since": "yesterday"}, {"limit": "many"}):
        r = client.get("/", params=params)
        assert r.status_code == 422 and "text/html" in r.headers["content-type"], params


def test_search_finds_a_russian_story_from_spanish(seeded: tuple[httpx.Client, list[dict]]) -> None:
    client, _ = seeded
    r = client.get("/", params={"q": "La selección rusa de hockey venció a Kazajistán"})
    assert r.status_code == 200
    text = visible(r.text)
    ids = card_ids(r.text)
    first = client.get(f"/v1/stories/{ids[0]}").json()
    assert first["languages"] == {"ru": 1} and HOCKEY_RU in first["title"]
    assert "match " in text  # the similarity is shown
    assert 'value="La selección rusa de hockey venció a Kazajistán"' in r.text  # kept in the box
    only_en = client.get("/", params={"q": "hockey Rusia Kazajistán", "lang": "en"})
    assert ids[0] not in card_ids(only_en.text)  # the language filter applies to search too


# -- the story page -----------------------------------------------------------------


def test_story_page_language_choice(seeded: tuple[httpx.Client, list[dict]]) -> None:
    client, results = seeded
    sid = seed_story_id(results)
    default = client.get(f"/stories/{sid}")
    assert default.status_code == 200 and default.headers["vary"] == "Accept-Language"
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", default.text, re.S)
    assert h1 and SEED_TITLE in h1.group(1)
    ru = client.get(f"/stories/{sid}", headers={"accept-language": "ru-RU,ru;q=0.9,en;q=0.8"})
    ru_title = client.get(f"/v1/stories/{sid}", params={"lang": "ru"}).json()["title"]
    assert re.search(r'<h1 lang="ru">\s*' + re.escape(ru_title), ru.text)
    assert ru.headers["content-language"] == "ru"
    # an explicit ?lang wins over the header; a language the story lacks falls back
    en = client.get(f"/stories/{sid}?lang=en", headers={"accept-language": "ru"})
    assert '<h1 lang="en">' in en.text
    fr = client.get(f"/stories/{sid}", headers={"accept-language": "fr-FR, de;q=0.5"})
    assert SEED_TITLE in visible(fr.text)
    assert 'href="?lang=ru"' in default.text and 'href="?lang=es"' in default.text
    assert f'href="/v1/stories/{sid}?lang=ru"' in ru.text  # the JSON view
    assert client.get(f"/stories/{sid}?lang=xx").status_code == 422


def test_story_page_lists_every_snippet_once(seeded: tuple[httpx.Client, list[dict]]) -> None:
    """Reports in the service's order, each snippet shown once as a lead or a variant,
    variants grouped by language with source, link and time, and a timeline dot each."""
    client, results = seeded
    sid = seed_story_id(results)
    story = client.get(f"/v1/stories/{sid}").json()
    html = client.get(f"/stories/{sid}").text
    report_ids = [int(x) for x in re.findall(r'class="report[^"]*" data-report-id="(\d+)"', html)]
    assert sorted(report_ids) == sorted(r["id"] for r in story["reports"])
    rest = [r["id"] for r in story["reports"] if r["id"] != report_ids[0]]
    assert report_ids[1:] == rest  # the headline's report on top, the others in order
    for report in story["reports"]:
        for v in report["variants"]:
            item = re.search(
                rf'data-snippet-id="{v["id"]}" data-lang="(\w+)">(.*?)</li>', html, re.S
            )
            assert item, f"variant {v['id']} is shown"
            assert item.group(1) == v["lang"]
            assert v["source"] in item.group(2) and v["url"] in item.group(2)
    svg = re.search(r"<svg.*?</svg>", html, re.S)
    assert svg and svg.group(0).count("<circle") == story["snippet_count"]
    rows = re.findall(r'<g class="row c\d">\s*<text[^>]*>(\w+) (\d+)</text>', svg.group(0))
    assert dict((lang, int(n)) for lang, n in rows) == story["languages"]


def test_unknown_story_is_a_404_page(seeded: tuple[httpx.Client, list[dict]]) -> None:
    client, _ = seeded
    for path in (
        "/stories/999999",
        "/stories/abc",
        "/stories/-1",
        "/stories/١٢",
        "/stories/" + "9" * 30,
    ):
        r = client.get(path)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), path
        assert "404" in visible(r.text) and "not found" in visible(r.text)
        assert 'href="/"' in r.text
    # the JSON API keeps its JSON errors
    assert client.get("/v1/stories/999999").json()["error"]["code"] == "not_found"


def test_deleted_story_is_a_410_page(client: httpx.Client) -> None:
    (res,) = ingest_batch(
        client, [{"text": "A lone snippet that its sender withdraws.", "lang": "en"}]
    )
    assert client.get(f"/stories/{res['story_id']}").status_code == 200
    assert client.delete(f"/v1/snippets/{res['id']}").status_code == 200
    r = client.get(f"/stories/{res['story_id']}")
    assert r.status_code == 410 and r.headers["content-type"].startswith("text/html")
    assert "410 · Gone" in visible(r.text)
    assert res["story_id"] not in card_ids(client.get("/").text)


def test_many_copies_are_capped_per_language(client: httpx.Client) -> None:
    text = "The central bank raised its key rate by half a point to fight inflation."
    results = ingest_batch(
        client,
        [
            {"text": text, "lang": "en", "source": f"site-{i:02d}"}
            for i in range(VERSIONS_SHOWN + 3)
        ],
    )
    assert {r["report_id"] for r in results} == {results[0]["report_id"]}  # exact copies
    html = client.get(f"/stories/{results[0]['story_id']}").text
    assert html.count('class="variant"') == VERSIONS_SHOWN
    assert f"{VERSIONS_SHOWN + 2} other versions" in visible(html)
    assert "and 2 more in English: see the JSON view" in visible(html)


# -- untrusted text and merged stories ----------------------------------------------


MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)> Bold <b>claims</b> & more'


def test_snippet_markup_is_escaped(client: httpx.Client) -> None:
    (res,) = ingest_batch(
        client,
        [
            {
                "title": MARKUP,
                "text": f'{MARKUP}\n\nA second paragraph about "quotes" & ampersands.',
                "lang": "en",
                "source": '<i>evil</i> "source"',
                "url": 'https://example.org/a?x=1&y="2"',
            }
        ],
    )
    # the search page too (a query close enough to pass STORYLINE_SEARCH_MIN_SCORE)
    for path in ("/", f"/stories/{res['story_id']}", "/?q=script+alert+claims"):
        html = client.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>claims" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html, path
        assert MARKUP in visible(html)  # shown to the reader as the text it is
    story = client.get(f"/stories/{res['story_id']}").text
    assert "&lt;i&gt;evil&lt;/i&gt; &#34;source&#34;" in story
    assert 'href="https://example.org/a?x=1&amp;y=&#34;2&#34;"' in story


def test_merged_story_shows_a_notice(client: httpx.Client, service: Service) -> None:
    a, b = ingest_batch(
        client,
        [
            {"text": "Astronomers detected water vapour on a distant exoplanet.", "lang": "en"},
            {"text": "El Real Madrid ganó 3-1 al Barcelona en el clásico.", "lang": "es"},
        ],
    )
    assert a["story_id"] != b["story_id"]
    page = client.get(f"/stories/{a['story_id']}").text
    assert "merged into" not in page
    # the re-index marks merged stories in this column; set it as it would
    with sqlite3.connect(service.config.db_path) as db:
        db.execute(
            "UPDATE stories SET merged_into = ? WHERE id = ?", (b["story_id"], a["story_id"])
        )
    merged = client.get(f"/stories/{a['story_id']}")
    assert merged.status_code == 200
    assert "This story was merged into story" in visible(merged.text)
    assert f'href="/stories/{b["story_id"]}"' in merged.text
