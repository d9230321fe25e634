"""API keys over real HTTP: every endpoint against every role, public switches and open
mode. (Key configuration and `storyline hash-key`: tests/unit/test_auth_keys.py; `serve`
refusing an open public bind: tests/e2e/test_serve_process.py.)"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from app.api import create_app
from app.http.auth import hash_key
from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder
from tests.helpers import LiveServer

KEYS = {
    "read": "read-key-0123456789abcdef",
    "write": "write-key-0123456789abcdef",
    "admin": "admin-key-0123456789abcdef",
}
RANK = {None: 0, "bogus": 0, "read": 1, "write": 2, "admin": 3}
NEED = {"read": 1, "write": 2, "admin": 3}


def entries() -> list[str]:
    return [f"{role}:{hash_key(key)}" for role, key in KEYS.items()]


def headers(who: str | None) -> dict[str, str]:
    if who is None:
        return {}
    key = "not-a-configured-key-000000" if who == "bogus" else KEYS[who]
    return {"Authorization": f"Bearer {key}"}


class Secured:
    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.admin = httpx.Client(base_url=server.url, timeout=60, headers=headers("admin"))
        self.n = 0

    def snippet(self) -> dict:
        """A fresh snippet (DELETE and PUT consume them)."""
        self.n += 1
        r = self.admin.post(
            "/v1/snippets",
            json={"text": f"The city council approved budget number {self.n} on Tuesday."},
        )
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Secured]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("auth") / "data", writer_linger_ms=1.0, api_keys=entries()
    )
    service = build_service(settings, embedder=embedder)
    with LiveServer(service, settings) as server:
        s = Secured(server)
        yield s
        s.admin.close()
    service.close()


Call = Callable[[httpx.Client, Secured], httpx.Response]
ENDPOINTS: dict[str, tuple[str, Call]] = {
    "POST /v1/snippets": (
        "write",
        lambda c, s: c.post("/v1/snippets", json={"text": "Rain is expected in Oslo tomorrow."}),
    ),
    "POST /v1/snippets/batch": (
        "write",
        lambda c, s: c.post("/v1/snippets/batch", json={"snippets": [{"text": "Snow in Bergen."}]}),
    ),
    "PUT /v1/snippets/{id}": (
        "write",
        lambda c, s: c.put(
            f"/v1/snippets/{s.snippet()['id']}", json={"text": "Corrected: the council delayed."}
        ),
    ),
    "DELETE /v1/snippets/{id}": (
        "write",
        lambda c, s: c.delete(f"/v1/snippets/{s.snippet()['id']}"),
    ),
    "GET /v1/snippets/{id}": ("read", lambda c, s: c.get(f"/v1/snippets/{s.snippet()['id']}")),
    "GET /v1/stories": ("read", lambda c, s: c.get("/v1/stories")),
    "GET /v1/stories/{id}": (
        "read",
        lambda c, s: c.get(f"/v1/stories/{s.snippet()['story_id']}"),
    ),
    "GET /v1/search": ("read", lambda c, s: c.get("/v1/search", params={"q": "budget"})),
    "GET /v1/info": ("read", lambda c, s: c.get("/v1/info")),
    "GET /metrics": ("read", lambda c, s: c.get("/metrics")),
}


@pytest.mark.parametrize("who", [None, "bogus", "read", "write", "admin"])
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_every_endpoint_and_role(secured: Secured, endpoint: str, who: str | None) -> None:
    role, call = ENDPOINTS[endpoint]
    with httpx.Client(base_url=secured.server.url, timeout=60, headers=headers(who)) as c:
        r = call(c, secured)
    if RANK[who] >= NEED[role]:
        assert r.status_code < 300, (endpoint, who, r.text)
        return
    expected = 403 if who in KEYS else 401
    assert r.status_code == expected, (endpoint, who, r.text)
    body = r.json()["error"]
    assert body["code"] == ("forbidden" if expected == 403 else "unauthorized")
    if expected == 401:
        assert r.headers["www-authenticate"] == "Bearer"
    for key in KEYS.values():
        assert key not in r.text


def routes(app: object, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every route, through included routers."""
    for route in getattr(app, "routes", []):
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from routes(inner, prefix + route.include_context.prefix)
            continue
        for method in sorted(getattr(route, "methods", None) or set()):
            if method != "HEAD":
                yield method, prefix + getattr(route, "path", "")


def concrete(path: str) -> str:
    parts = [("1" if p.endswith("_id}") else p.strip("{}")) for p in path.split("/")]
    return "/".join(parts)


def guarded(server: LiveServer, paths: Callable[[str], bool]) -> list[tuple[str, str]]:
    """Requests without a key to every matching route; answers other than 401."""
    app = create_app(Settings(api_keys=entries()))  # only its route table is used
    open_ = []
    found = [(m, p) for m, p in routes(app) if paths(p)]
    with httpx.Client(base_url=server.url, timeout=60) as c:
        for method, path in found:
            r = c.request(method, concrete(path))
            if r.status_code != 401:
                open_.append((method, path))
    assert found
    return open_


def test_every_v1_route_is_guarded(secured: Secured) -> None:
    """Routes added later (re-index, jobs) are covered too: none answers without a key."""
    assert guarded(secured.server, lambda p: p.startswith("/v1/") or p == "/metrics") == []


def test_web_pages_are_reads(secured: Secured) -> None:
    assert guarded(secured.server, lambda p: p == "/" or p.startswith("/stories")) == []


def test_reindex_and_jobs_need_admin(secured: Secured) -> None:
    """Re-index (and its job status) needs an admin key: write and read keys get 403."""
    with httpx.Client(base_url=secured.server.url, timeout=60) as c:
        r = c.post("/v1/reindex", json={"dry_run": True}, headers=headers("write"))
        if r.status_code == 404 and r.json()["error"]["code"] == "not_found":
            pytest.skip("POST /v1/reindex is not mounted in this build")
        assert r.status_code == 403
        assert c.post("/v1/reindex", json={"dry_run": True}).status_code == 401
        assert c.get("/v1/jobs/1", headers=headers("read")).status_code == 403
        started = c.post("/v1/reindex", json={"dry_run": True}, headers=headers("admin"))
        assert started.status_code == 202, started.text
        job = started.json()["id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state = c.get(f"/v1/jobs/{job}", headers=headers("admin")).json()["state"]
            if state not in ("queued", "running"):
                break
            time.sleep(0.2)
        assert state == "succeeded"


def test_probes_stay_open(secured: Secured) -> None:
    with httpx.Client(base_url=secured.server.url, timeout=60) as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/readyz").status_code == 200


def test_x_api_key_header_and_malformed_authorization(secured: Secured) -> None:
    with httpx.Client(base_url=secured.server.url, timeout=60) as c:
        assert c.get("/v1/stories", headers={"X-API-Key": KEYS["read"]}).status_code == 200
        basic = c.get("/v1/stories", headers={"Authorization": "Basic dXNlcjpwYXNz"})
        assert basic.status_code == 401 and "Bearer" in basic.json()["error"]["message"]
        hashed = c.get("/v1/stories", headers={"X-API-Key": hash_key(KEYS["read"])})
        assert hashed.status_code == 401  # the stored hash is not itself a key


@pytest.fixture
def public(settings: Settings, embedder: Embedder) -> Iterator[str]:
    settings = settings.model_copy(update={"api_keys": entries(), "public_reads": True})
    service = build_service(settings, embedder=embedder)
    with LiveServer(service, settings) as server:
        yield server.url
    service.close()


def test_public_reads(public: str) -> None:
    with httpx.Client(base_url=public, timeout=60) as c:
        assert c.get("/v1/stories").status_code == 200
        assert c.get("/v1/search", params={"q": "x"}).status_code == 200
        assert c.get("/metrics").status_code == 401  # metrics have their own switch
        assert c.post("/v1/snippets", json={"text": "Hello there"}).status_code == 401
        bad = c.get("/v1/stories", headers=headers("bogus"))
        assert bad.status_code == 401  # a wrong key is refused even where none is needed
        ok = c.post("/v1/snippets", json={"text": "Hello there"}, headers=headers("write"))
        assert ok.status_code == 201


def test_open_mode_without_keys(client: httpx.Client) -> None:
    assert (
        client.post("/v1/snippets", json={"text": "Open service accepts this."}).status_code == 201
    )
    assert client.get("/metrics").status_code == 200


def test_open_mode_warns_at_start(
    settings: Settings, embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    service = build_service(settings, embedder=embedder)
    with caplog.at_level("WARNING"), LiveServer(service, settings):
        pass
    service.close()
    assert any("OPEN" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


def test_keyless_writes_are_refused_before_the_body_is_read(secured: Secured) -> None:
    """Invalid JSON would answer 400 if it were parsed; the gate answers 401 first."""
    with httpx.Client(base_url=secured.server.url, timeout=60) as c:
        for who in (None, "bogus", "read"):
            r = c.post(
                "/v1/snippets",
                content=b"{not json" + b" " * 100_000,
                headers={"content-type": "application/json", **headers(who)},
            )
            assert r.status_code == (403 if who == "read" else 401), r.text
        writer = c.post(
            "/v1/snippets",
            content=b"{not json",
            headers={"content-type": "application/json", **headers("write")},
        )
        assert writer.status_code == 400
