"""Shared fixtures: the real default model once per session, services on temp folders,
and a real uvicorn server on a loopback socket."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from app.api import create_app
from app.observability.metrics import Metrics
from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder, load_embedder
from engine.service import Service

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return load_embedder("usem3", threads=2)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", writer_linger_ms=1.0)


@pytest.fixture
def service(settings: Settings, embedder: Embedder) -> Iterator[Service]:
    svc = build_service(settings, embedder=embedder, observer=Metrics())
    yield svc
    svc.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """uvicorn serving the app on 127.0.0.1 in a thread: real sockets, real HTTP.
    `settings`: what the HTTP layer runs with (keys, limits); default ones otherwise."""

    def __init__(self, service: Service, settings: Settings | None = None) -> None:
        self.service = service
        self.port = free_port()
        settings = settings or Settings(data_dir=service.config.data_dir)
        app = create_app(settings, service=service)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 30 s")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def live(service: Service, settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(service, settings) as server:
        yield server


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=60) as c:
        yield c


def load_jsonl(name: str) -> list[dict]:
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
