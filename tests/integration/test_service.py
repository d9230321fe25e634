"""The service on the real default model: persistence, restart, index rebuild, embedding
once. (16 concurrent clients: tests/e2e/test_concurrency.py; the same engine on a fake
model: tests/unit/test_engine.py.)"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import numpy as np
import pytest

from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder, ModelIdentity
from engine.errors import ModelMismatch
from engine.locking import DataDirBusy
from engine.records import Incoming
from engine.service import Service
from tests.helpers import load_jsonl


class Counting:
    """Wraps the real model and counts the texts it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.identity = inner.identity
        self.texts: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.embed(texts)

    def embed_query(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_query(texts)


def incoming(text: str, ext: str | None = None, lang: str | None = None) -> Incoming:
    return Incoming(title=None, text=text, lang=lang, source=None, url=None,
                    published_at=None, external_id=ext, received_at=time.time())  # fmt: skip


def unrelated() -> list[Incoming]:
    return [incoming(d["text"], d["key"], d["lang"]) for d in load_jsonl("unrelated_news.jsonl")]


def test_restart_reuses_stored_vectors(settings: Settings, embedder: Embedder) -> None:
    counting = Counting(embedder)
    svc = build_service(settings, embedder=counting)  # type: ignore[arg-type]
    svc.ingest(unrelated())
    svc.close()
    counting.texts.clear()
    again = build_service(settings, embedder=counting)  # type: ignore[arg-type]
    try:
        assert len(again.index) == 12
        # Only the one-line warm-up went through the model: nothing was re-embedded.
        assert len(counting.texts) == 1 and counting.texts[0].startswith("warm-up")
        (top, *_) = again.search("earthquake in Chile", 3)
        assert "Chile" in top["title"]
    finally:
        again.close()


@pytest.mark.parametrize("damage", ["delete", "truncate", "garbage"])
def test_index_rebuilt_from_database(settings: Settings, embedder: Embedder, damage: str) -> None:
    svc = build_service(settings, embedder=embedder)
    svc.ingest(unrelated())
    expected = svc.search("earthquake in Chile", 3)
    svc.close()
    path = settings.index_path
    if damage == "delete":
        path.unlink()
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        path.write_bytes(b"\0" * 4096)
    again = build_service(settings, embedder=embedder)
    try:
        assert len(again.index) == 12
        assert again.search("earthquake in Chile", 3) == expected
    finally:
        again.close()


def test_unsaved_index_is_topped_up_from_storage(settings: Settings, embedder: Embedder) -> None:
    svc = build_service(settings, embedder=embedder)
    items = unrelated()
    svc.ingest(items[:4])
    svc.snapshot_index()
    svc.ingest(items[4:])
    # Simulate a crash: no final snapshot, only the writer stops and the lock goes.
    svc.writer.stop()
    svc._lock.release()
    again = build_service(settings, embedder=embedder)
    try:
        assert len(again.index) == 12
        assert sorted(again.index.ids().tolist()) == list(range(1, 13))
    finally:
        again.close()


def test_another_model_refuses_the_data(settings: Settings, embedder: Embedder) -> None:
    build_service(settings, embedder=embedder).close()

    class Other(Counting):
        pass

    other = Other(embedder)
    other.identity = ModelIdentity("other", embedder.identity.dim, "1")
    with pytest.raises(ModelMismatch, match="STORYLINE_MODEL"):
        build_service(settings, embedder=other)  # type: ignore[arg-type]


def test_second_writer_on_the_same_folder_is_refused(
    service: Service, settings: Settings, embedder: Embedder
) -> None:
    with pytest.raises(DataDirBusy, match="in use"):
        build_service(settings, embedder=embedder)


@pytest.fixture
def counted(settings: Settings, embedder: Embedder) -> Iterator[tuple[Service, Counting]]:
    """A service on the real model that counts what it embeds."""
    counting = Counting(embedder)
    svc = build_service(settings, embedder=counting)  # type: ignore[arg-type]
    yield svc, counting
    svc.close()


def test_a_repeated_external_id_is_not_embedded_again(counted: tuple[Service, Counting]) -> None:
    svc, counting = counted
    first = svc.ingest([incoming("Floods hit southern Spain.", "f-1", "en")])
    counting.texts.clear()
    again = svc.ingest(
        [
            incoming("Floods hit southern Spain.", "f-1", "en"),
            incoming("Wildfires spread in Greece.", "f-2", "en"),
        ]
    )
    assert [o.status for o in again] == ["exists", "created"]
    assert again[0].id == first[0].id
    assert counting.texts == ["Wildfires spread in Greece."]  # the stored one was not


class Failing(Counting):
    """The real model, but its first call fails."""

    def embed(self, texts: list[str]) -> np.ndarray:
        if not self.texts:
            self.texts.append("(failed)")
            raise RuntimeError("model process died")
        return super().embed(texts)


def test_snippets_are_embedded_once_as_they_arrive_and_the_writer_uses_those_vectors(
    counted: tuple[Service, Counting], embedder: Embedder
) -> None:
    svc, counting = counted
    counting.texts.clear()
    items = unrelated()
    outcomes = svc.ingest(items)
    assert [o.status for o in outcomes] == ["created"] * len(items)
    assert len(counting.texts) == len(items)  # handed ahead at submit, not again
    stored = svc.repo.vectors([o.id for o in outcomes])
    np.testing.assert_allclose(
        np.vstack([stored[o.id] for o in outcomes]),
        embedder.embed([it.text for it in items]),
        atol=1e-5,
    )


def swap(svc: Service, model: Embedder) -> None:
    """A new generation with another model (the index and parameters kept)."""
    svc.current.install(dataclasses.replace(svc.current.get(), embedder=model))


def test_vectors_from_a_replaced_model_or_a_failed_call_are_embedded_again(
    settings: Settings, embedder: Embedder
) -> None:
    svc = build_service(settings, embedder=embedder)
    try:
        pipeline = svc.pipeline
        items = unrelated()
        pipeline.embed_ahead(items[:4])  # by the model in place when they arrived
        swapped = Counting(embedder)
        swap(svc, swapped)  # as a re-index swap does
        assert [o.status for o in pipeline.process(items[:4])] == ["created"] * 4
        assert len(swapped.texts) == 4  # embedded again by the model now in place
        failing = Failing(embedder)
        swap(svc, failing)
        pipeline.embed_ahead(items[4:8])  # this call fails on the embedding thread
        assert [o.status for o in pipeline.process(items[4:8])] == ["created"] * 4
        assert failing.texts[0] == "(failed)" and len(failing.texts) == 5
        assert pipeline.ahead.pending == 0  # nothing handed is left behind
    finally:
        svc.close()
