"""Structured JSON logs: a request id on every line (writer included), echoed to the
client, and no snippet text or keys in the logs at INFO, over real HTTP. (The format
itself: tests/unit/test_logging_format.py.)"""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from app.http.auth import hash_key
from app.observability.logging import JsonFormatter
from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder
from tests.helpers import LiveServer

WRITE = "logging-write-key-SECRET-4711"
MARKER = "Qwzx-private-text-9923"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.INFO)
    # the test's own HTTP client logs its request URLs; only the service is under test
    handler.addFilter(lambda r: not r.name.startswith(("httpx", "httpcore")))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_no_text_or_keys_at_info_and_ids_everywhere(
    settings: Settings, embedder: Embedder, captured: io.StringIO
) -> None:
    settings = settings.model_copy(update={"api_keys": [f"write:{hash_key(WRITE)}"]})
    service = build_service(settings, embedder=embedder)
    auth = {"Authorization": f"Bearer {WRITE}"}
    try:
        with (
            LiveServer(service, settings) as server,
            httpx.Client(base_url=server.url, timeout=60) as c,
        ):
            body = {"title": f"{MARKER} headline", "text": f"{MARKER} body text about a fire."}
            r = c.post("/v1/snippets", json=body, headers={**auth, "X-Request-ID": "req-post-1"})
            assert r.status_code == 201 and r.headers["x-request-id"] == "req-post-1"
            sid = r.json()["id"]
            c.get(f"/v1/stories/{r.json()['story_id']}", headers=auth)
            c.get("/v1/search", params={"q": MARKER}, headers=auth)
            c.post("/v1/snippets", json={"text": "unauthorised"}, headers={"X-API-Key": MARKER})
            fixed = {"text": f"{MARKER} corrected body"}
            assert c.put(f"/v1/snippets/{sid}", json=fixed, headers=auth).status_code == 200
            gone = c.delete(f"/v1/snippets/{sid}", headers={**auth, "X-Request-ID": "req-del-1"})
            assert gone.status_code == 200
            generated = c.get("/healthz").headers["x-request-id"]
            assert re.fullmatch(r"[0-9a-f]{32}", generated)
    finally:
        service.close()
    text = captured.getvalue()
    assert text, "nothing was logged"
    assert MARKER not in text
    assert WRITE not in text and hash_key(WRITE) not in text
    records = lines(captured)
    assert all("request_id" in r and "ts" in r and "level" in r for r in records)
    access = [r for r in records if r["logger"] == "storyline.access"]
    post = next(r for r in access if r["request_id"] == "req-post-1")
    assert post["route"] == "/v1/snippets" and post["status"] == 201
    assert post["key_id"] == "key0:write"
    assert any(r["status"] == 401 for r in access)
    assert {r["request_id"] for r in access} >= {"req-post-1", "req-del-1", generated}
    # the writer thread's line about the deletion names the request that asked for it
    deleted = next(
        r for r in records if "deleted" in r["msg"] and r["logger"] == "engine.corrections"
    )
    assert deleted["request_id"] == "req-del-1"
    assert all(r["request_id"] for r in access)


def test_access_lines_name_every_route_template(
    client: httpx.Client, captured: io.StringIO
) -> None:
    """The documentation pages, the schema and the files under a mount are named by their
    template; only a path no route takes is `<unmatched>`."""
    paths = {
        "/docs": "/docs",
        "/redoc": "/redoc",
        "/openapi.json": "/openapi.json",
        "/docs/assets/swagger-ui.css": "/docs/assets/{path}",
        "/static/style.css": "/static/{path}",
        "/stories/1": "/stories/{story_id}",
        "/no/such/page": "<unmatched>",
    }

    def access() -> list[str]:
        return [r["route"] for r in lines(captured) if r["logger"] == "storyline.access"]

    # A line is written once its answer has gone out, which for a streamed file can be
    # after the client has read it and sent the next request: wait for each request's
    # line before the next, so that the lines come in the order the paths were asked.
    for path in paths:
        before = len(access())
        client.get(path)
        deadline = time.monotonic() + 30
        while len(access()) == before and time.monotonic() < deadline:
            time.sleep(0.01)
    assert access()[-len(paths) :] == list(paths.values())
