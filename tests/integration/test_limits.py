"""Resource limits over real HTTP: per-key rate limits (429 + Retry-After), the body and
batch size limits (413), and load shedding (503) when a burst outruns a tiny writer queue.
(The token bucket itself: tests/unit/test_ratelimit.py.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from app.http.auth import hash_key
from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder
from tests.helpers import LiveServer, assert_error

READ = "limits-read-key-0123456789"
WRITE = "limits-write-key-0123456789"


@pytest.fixture
def limited(settings: Settings, embedder: Embedder) -> Iterator[str]:
    settings = settings.model_copy(
        update={
            "api_keys": [f"read:{hash_key(READ)}", f"write:{hash_key(WRITE)}"],
            "rate_limit_per_second": 0.01,
            "rate_limit_burst": 3,
        }
    )
    service = build_service(settings, embedder=embedder)
    with LiveServer(service, settings) as server:
        yield server.url
    service.close()


def test_rate_limit_per_key_answers_429_with_retry_after(limited: str) -> None:
    reader = {"Authorization": f"Bearer {READ}"}
    with httpx.Client(base_url=limited, timeout=60) as c:
        assert [c.get("/v1/stories", headers=reader).status_code for _ in range(3)] == [200] * 3
        r = c.get("/v1/stories", headers=reader)
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(r.headers["retry-after"]) <= 100
        # another key has its own bucket
        assert c.get("/v1/stories", headers={"Authorization": f"Bearer {WRITE}"}).status_code == 200
        # probes are not rate limited
        assert all(c.get("/healthz").status_code == 200 for _ in range(10))


def test_open_service_limits_per_client_address(settings: Settings, embedder: Embedder) -> None:
    settings = settings.model_copy(update={"rate_limit_per_second": 0.01, "rate_limit_burst": 2})
    service = build_service(settings, embedder=embedder)
    try:
        with (
            LiveServer(service, settings) as server,
            httpx.Client(base_url=server.url, timeout=60) as c,
        ):
            codes = [c.get("/v1/info").status_code for _ in range(3)]
    finally:
        service.close()
    assert codes == [200, 200, 429]


def test_body_and_batch_size_limits_answer_413_and_store_nothing(
    settings: Settings, embedder: Embedder
) -> None:
    """Every way a request can be too large, refused before anything is stored: a declared
    Content-Length over the limit, a chunked upload without one, a batch over the item
    limit, and a batch whose body is over the byte limit."""
    settings = settings.model_copy(update={"max_body_bytes": 4096, "max_batch_items": 5})
    service = build_service(settings, embedder=embedder)
    try:
        with (
            LiveServer(service, settings) as server,
            httpx.Client(base_url=server.url, timeout=60) as c,
        ):
            big = {"text": "x" * 10_000}
            err = assert_error(c.post("/v1/snippets", json=big), 413)
            assert err["code"] == "too_large"

            def chunks() -> Iterator[bytes]:
                yield b'{"text": "'
                for _ in range(20):
                    yield b"y" * 1000
                yield b'"}'

            streamed = c.post(
                "/v1/snippets", content=chunks(), headers={"content-type": "application/json"}
            )
            assert_error(streamed, 413)
            too_many = {"snippets": [{"text": f"item {i}"} for i in range(6)]}
            err = assert_error(c.post("/v1/snippets/batch", json=too_many), 422)
            assert err["field"] == "snippets" and err["code"] == "too_many"
            heavy = {"snippets": [{"text": "z" * 1000}] * 5}  # 5 items, but over 4096 bytes
            assert_error(c.post("/v1/snippets/batch", json=heavy), 413)
            assert c.get("/readyz").status_code == 200  # still serving
            assert c.get("/v1/info").json()["counts"]["snippets"] == 0
            assert c.post("/v1/snippets", json={"text": "A small one fits."}).status_code == 201
            fits = {"snippets": [{"text": f"Small item number {i}."} for i in range(5)]}
            assert c.post("/v1/snippets/batch", json=fits).status_code == 200
        assert service.repo.counts()["snippets"] == 6
    finally:
        service.close()


def test_burst_beyond_the_writer_queue_sheds_load_with_503(
    settings: Settings, embedder: Embedder
) -> None:
    size = 4
    settings = settings.model_copy(update={"writer_queue_size": size, "writer_linger_ms": 20.0})
    service = build_service(settings, embedder=embedder)
    deepest = 0
    sampling = True

    def sample() -> None:
        nonlocal deepest
        while sampling:
            deepest = max(deepest, service.writer.depth)
            time.sleep(0.0005)

    clients = 48
    barrier = threading.Barrier(clients)
    codes: list[int] = []
    retry_after: list[str] = []
    lock = threading.Lock()

    def fire(n: int, url: str) -> None:
        body = {
            "snippets": [
                {"text": f"Burst item {n}-{i}: the harbour authority reported ship {n * 10 + i}."}
                for i in range(2)
            ]
        }
        with httpx.Client(base_url=url, timeout=120) as c:
            barrier.wait()
            r = c.post("/v1/snippets/batch", json=body)
        with lock:
            codes.append(r.status_code)
            if r.status_code == 503:
                retry_after.append(r.headers.get("retry-after", ""))
                assert r.json()["error"]["code"] == "overloaded"

    try:
        with LiveServer(service, settings) as server:
            watcher = threading.Thread(target=sample)
            watcher.start()
            threads = [threading.Thread(target=fire, args=(n, server.url)) for n in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(300)
            sampling = False
            watcher.join()
            with httpx.Client(base_url=server.url, timeout=60) as c:
                after = c.post("/v1/snippets", json={"text": "After the burst, still serving."})
                assert after.status_code == 201
                assert c.get("/readyz").status_code == 200
                metrics = c.get("/metrics").text
    finally:
        service.close()
    assert len(codes) == clients
    assert set(codes) <= {200, 503}, codes  # shed, never failed
    assert codes.count(503) >= 1 and codes.count(200) >= 1, codes
    assert all(v.isdigit() and int(v) >= 1 for v in retry_after)
    assert deepest <= size  # memory stays bounded by the queue size
    assert service.repo.counts()["snippets"] == 2 * codes.count(200) + 1
    shed = next(
        line for line in metrics.splitlines() if line.startswith("storyline_writer_rejected_total")
    )
    assert float(shed.split()[-1]) == 2 * codes.count(503)
