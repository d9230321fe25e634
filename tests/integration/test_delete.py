"""DELETE and PUT /v1/snippets/{id}: gone from storage, index and every view; aggregates
recomputed; consistent after a restart and after a rebuild from storage. (A SIGKILL
between commit and index snapshot: tests/e2e/test_delete_crash.py.)"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder
from engine.errors import Gone
from engine.service import Service
from tests.helpers import OTHER, QUAKE, LiveServer, consistency, post_all


@pytest.fixture
def quake(client: httpx.Client) -> list[dict]:
    posted = post_all(client, [*QUAKE, OTHER])
    story = posted[0]["story_id"]
    assert sum(p["story_id"] == story for p in posted[:4]) >= 3, posted  # model sanity
    return posted


def test_delete_removes_everywhere_and_recomputes(
    client: httpx.Client, service: Service, quake: list[dict]
) -> None:
    story_id = quake[0]["story_id"]
    before = client.get(f"/v1/stories/{story_id}").json()
    title_id = service.repo.title_snippets([story_id])[story_id].id
    victim = next(p for p in quake if p["id"] == title_id)

    r = client.delete(f"/v1/snippets/{victim['id']}")
    assert r.status_code == 200, r.text
    assert r.json()["story_gone"] is False and r.json()["story_id"] == story_id

    assert client.get(f"/v1/snippets/{victim['id']}").status_code == 410
    assert victim["id"] not in service.index
    after = client.get(f"/v1/stories/{story_id}").json()
    assert after["snippet_count"] == before["snippet_count"] - 1
    shown = [s["id"] for rep in after["reports"] for s in [rep["lead"], *rep["variants"]]]
    assert victim["id"] not in shown and len(shown) == after["snippet_count"]
    assert after["title"] != before["title"]  # the title snippet went; another took over
    new_title = service.repo.title_snippets([story_id])[story_id]
    assert new_title.id != victim["id"] and new_title.story_id == story_id
    listed = client.get("/v1/stories").json()["stories"]
    assert {s["id"]: s["snippet_count"] for s in listed}[story_id] == after["snippet_count"]
    hits = client.get("/v1/search", params={"q": "earthquake Tokyo"}).json()["stories"]
    assert hits and hits[0]["id"] == story_id and hits[0]["title"] == after["title"]
    assert client.get("/v1/info").json()["counts"]["snippets"] == len(quake) - 1
    consistency(service)

    again = client.delete(f"/v1/snippets/{victim['id']}")
    assert again.status_code == 410 and again.json()["error"]["code"] == "gone"
    assert client.delete("/v1/snippets/999999").status_code == 404


def test_report_lead_moves_when_the_lead_is_deleted(
    client: httpx.Client, service: Service, quake: list[dict]
) -> None:
    story = client.get(f"/v1/stories/{quake[0]['story_id']}").json()
    report = max(story["reports"], key=lambda rep: len(rep["variants"]))
    if not report["variants"]:
        pytest.skip("the model put every quake snippet in its own report")
    lead = report["lead"]["id"]
    assert client.delete(f"/v1/snippets/{lead}").status_code == 200
    after = client.get(f"/v1/stories/{story['id']}").json()
    same = next(rep for rep in after["reports"] if rep["id"] == report["id"])
    assert same["lead"]["id"] == report["variants"][0]["id"]
    assert len(same["variants"]) == len(report["variants"]) - 1
    consistency(service)


def test_story_left_empty_answers_410_and_ids_are_not_reused(
    client: httpx.Client, service: Service, quake: list[dict], embedder: Embedder
) -> None:
    football = quake[-1]
    assert quake[0]["story_id"] != football["story_id"]
    r = client.delete(f"/v1/snippets/{football['id']}")
    assert r.json() == {**r.json(), "story_gone": True, "report_gone": True}
    gone = client.get(f"/v1/stories/{football['story_id']}")
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "gone"
    assert football["story_id"] not in [
        s["id"] for s in client.get("/v1/stories").json()["stories"]
    ]
    # the largest ids in use were just deleted: new snippets must not take them over
    fresh = post_all(client, [{**OTHER, "external_id": "football-2", "text": OTHER["text"] + "!"}])
    assert fresh[0]["id"] > football["id"] and fresh[0]["story_id"] > football["story_id"]
    consistency(service)


def test_put_replaces_and_reassigns(
    client: httpx.Client, service: Service, quake: list[dict]
) -> None:
    target = quake[3]  # the trains snippet: becomes a football report
    old_story = target["story_id"]
    body = {
        "title": "Barcelona lose the Clasico to Real Madrid",
        "text": "Barcelona lost 1-3 to Real Madrid in the Clasico; Madrid scored twice late on.",
        "lang": "en",
    }
    r = client.put(f"/v1/snippets/{target['id']}", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["id"] == target["id"] and out["story_id"] == quake[-1]["story_id"]
    got = client.get(f"/v1/snippets/{target['id']}").json()
    assert got["title"] == body["title"] and got["external_id"] == "q-trains"
    assert got["published_at"] == "2024-06-14T11:00:00Z"  # omitted: the stored value stays
    shown = client.get(f"/v1/stories/{old_story}").json()
    assert target["id"] not in [
        s["id"] for rep in shown["reports"] for s in [rep["lead"], *rep["variants"]]
    ]
    vec = service.repo.vectors([target["id"]])[target["id"]]
    scores, ids = service.index.search(vec.reshape(1, -1), 1)
    assert ids[0][0] == target["id"] and scores[0][0] == pytest.approx(1.0, abs=1e-4)
    # the repeat POST of the external id answers the corrected snippet
    again = client.post("/v1/snippets", json={**QUAKE[0], "external_id": "q-trains"}).json()
    assert again["status"] == "exists" and again["story_id"] == out["story_id"]
    consistency(service)


def test_put_errors(client: httpx.Client, quake: list[dict]) -> None:
    body = {"text": "Un nuevo texto corregido sobre el terremoto en Tokio."}
    assert client.put("/v1/snippets/999999", json=body).status_code == 404
    clash = client.put(f"/v1/snippets/{quake[0]['id']}", json={**body, "external_id": "q-ru"})
    assert clash.status_code == 409 and clash.json()["error"]["field"] == "external_id"
    assert client.get(f"/v1/snippets/{quake[0]['id']}").json()["external_id"] == "q-en"
    assert client.put(f"/v1/snippets/{quake[0]['id']}", json={"lang": "en"}).status_code == 422
    assert client.delete(f"/v1/snippets/{quake[1]['id']}").status_code == 200
    assert client.put(f"/v1/snippets/{quake[1]['id']}", json=body).status_code == 410


def _file_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.glob("storyline.db*")))


def test_deleted_text_leaves_no_trace_in_the_database_files(
    client: httpx.Client, service: Service
) -> None:
    marker = "Zyxqwv-takedown-7731"
    body = {"title": f"Report {marker}", "text": f"{marker} said the mayor resigned. " * 30}
    posted = post_all(client, [body])[0]
    data_dir = service.config.data_dir
    assert marker.encode() in _file_bytes(data_dir)
    assert client.delete(f"/v1/snippets/{posted['id']}").status_code == 200
    assert marker.encode() not in _file_bytes(data_dir)


def test_survives_restart_and_rebuild(
    settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    first = build_service(settings, embedder=embedder)
    with LiveServer(first) as live, httpx.Client(base_url=live.url, timeout=60) as c:
        posted = post_all(c, [*QUAKE, OTHER])
        assert c.delete(f"/v1/snippets/{posted[0]['id']}").status_code == 200
        assert (
            c.put(f"/v1/snippets/{posted[1]['id']}", json=OTHER | {"external_id": None}).status_code
            == 200
        )
    first.close()
    again = build_service(settings, embedder=embedder)
    try:
        consistency(again)
        assert posted[0]["id"] not in again.index
        with pytest.raises(Gone):
            again.get_snippet(posted[0]["id"])
    finally:
        again.close()
    settings.index_path.unlink()  # rebuilt from storage alone
    rebuilt = build_service(settings, embedder=embedder)
    try:
        consistency(rebuilt)
        assert posted[0]["id"] not in rebuilt.index
    finally:
        rebuilt.close()


def test_deletions_survive_a_reindex(
    client: httpx.Client, service: Service, quake: list[dict]
) -> None:
    football, victim = quake[-1], quake[1]
    assert client.delete(f"/v1/snippets/{football['id']}").status_code == 200
    assert client.delete(f"/v1/snippets/{victim['id']}").status_code == 200
    started = client.post("/v1/reindex", json={})
    if started.status_code == 404:
        pytest.skip("POST /v1/reindex is not mounted in this build")
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{started.json()['id']}").json()
        if job["state"] not in ("queued", "running"):
            break
        time.sleep(0.2)
    assert job["state"] == "succeeded", job
    assert client.get(f"/v1/snippets/{victim['id']}").status_code == 410
    assert client.get(f"/v1/stories/{football['story_id']}").status_code == 410
    assert victim["id"] not in service.index and football["id"] not in service.index
    assert service.repo.counts()["snippets"] == len(quake) - 2
    consistency(service)
