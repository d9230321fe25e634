"""GET /metrics in Prometheus text format, scraped over real HTTP and parsed."""

from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder
from engine.service import Service


def scrape(client: httpx.Client) -> dict[tuple[str, tuple], float]:
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_ingest_embedding_and_state(client: httpx.Client, service: Service) -> None:
    texts = [
        "The central bank raised interest rates by half a point on Thursday.",
        "Le parlement a adopté la réforme des retraites après un long débat.",
    ]
    ids = [client.post("/v1/snippets", json={"text": t}).json() for t in texts]
    assert client.post("/v1/snippets", json={"text": texts[0]}).json()["status"] == "duplicate"
    client.post("/v1/snippets/batch", json={"snippets": [{"text": "Batch item about tea."}]})
    client.get(f"/v1/stories/{ids[0]['story_id']}")
    client.get(f"/v1/stories/{ids[1]['story_id']}")
    client.get("/v1/stories/987654")
    client.get("/no/such/path/12345")

    m = scrape(client)
    assert (
        value(m, "storyline_http_requests_total", method="POST", route="/v1/snippets", status="201")
        == 3
    )
    stories = dict(method="GET", route="/v1/stories/{story_id}")
    assert value(m, "storyline_http_requests_total", **stories, status="200") == 2
    assert value(m, "storyline_http_requests_total", **stories, status="404") == 1
    assert (
        value(m, "storyline_http_requests_total", method="GET", route="<unmatched>", status="404")
        == 1
    )
    assert not any("987654" in str(k) or "12345" in str(k) for k in m)  # templates, not ids
    assert value(m, "storyline_http_request_duration_seconds_count", **stories) == 3
    assert value(m, "storyline_http_request_duration_seconds_bucket", **stories, le="+Inf") == 3

    assert value(m, "storyline_snippets_ingested_total", status="created") == 3
    assert value(m, "storyline_snippets_ingested_total", status="duplicate") == 1
    assert value(m, "storyline_embedding_batch_size_count") >= 3
    assert value(m, "storyline_embedding_batch_size_sum") >= 3  # every new text was embedded
    assert value(m, "storyline_embedding_duration_seconds_count") >= 3

    counts = service.repo.counts()
    assert value(m, "storyline_index_size") == len(service.index) == counts["snippets"] == 4
    assert value(m, "storyline_stories") == counts["stories"]
    assert value(m, "storyline_snippets") == 4
    assert ("storyline_writer_queue_depth", ()) in m

    client.delete(f"/v1/snippets/{ids[1]['id']}")
    m = scrape(client)
    assert value(m, "storyline_snippet_corrections_total", action="delete") == 1
    assert value(m, "storyline_index_size") == 3


def test_reindex_phase_timer(service: Service, client: httpx.Client) -> None:
    with service.observer.phase("embed"):
        pass
    with pytest.raises(RuntimeError), service.observer.phase("cluster"):
        raise RuntimeError("a failed phase is timed too")
    m = scrape(client)
    assert value(m, "storyline_reindex_phase_duration_seconds_count", phase="embed") == 1
    assert value(m, "storyline_reindex_phase_duration_seconds_count", phase="cluster") == 1


def test_a_real_reindex_records_its_phases(client: httpx.Client) -> None:
    texts = [
        "Floods hit southern Spain.",
        "Inundaciones en el sur de España.",
        "Toyota shares rose.",
    ]
    for t in texts:
        assert client.post("/v1/snippets", json={"text": t}).status_code == 201
    job = client.post("/v1/reindex", json={}).json()
    for _ in range(600):
        state = client.get(f"/v1/jobs/{job['id']}").json()
        if state["state"] in ("succeeded", "failed"):
            break
        time.sleep(0.05)
    assert state["state"] == "succeeded", state
    m = scrape(client)
    for phase in ("knn", "cluster", "swap"):
        assert value(m, "storyline_reindex_phase_duration_seconds_count", phase=phase) == 1


def test_each_service_has_its_own_registry(
    service: Service, settings: Settings, embedder: Embedder, tmp_path
) -> None:
    other = build_service(
        settings.model_copy(update={"data_dir": tmp_path / "other"}), embedder=embedder
    )
    try:
        service.observer.ingested.labels("created").inc(5)
        body, _ = other.observer.render()
        assert b'storyline_snippets_ingested_total{status="created"} 5.0' not in body
        assert b"storyline_index_size 0.0" in body
    finally:
        other.close()
