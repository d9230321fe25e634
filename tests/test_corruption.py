"""Damaged files at start-up: a bad index is rebuilt from the database; a bad database
stops the service with a message that names the file and what to do."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder
from engine.check import check
from engine.records import Incoming
from storage.errors import StorageCorruptError
from storage.sqlite import SQLiteRepository
from tests.conftest import load_jsonl
from tests.serverproc import FAST_START, ROOT, ServerProcess

PAGE = 4096


def _seed(data_dir: Path, embedder: Embedder) -> int:
    svc = build_service(Settings(data_dir=data_dir), embedder=embedder)
    try:
        items = [
            Incoming(
                title=None,
                text=d["text"],
                lang=d["lang"],
                source=None,
                url=None,
                published_at=None,
                external_id=d["key"],
                received_at=time.time(),
            )
            for d in load_jsonl("unrelated_news.jsonl")
        ]
        svc.ingest(items)
        return len(items)
    finally:
        svc.close()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Path, int]:
    """A cleanly closed data folder (database checkpointed, index snapshot saved)."""
    data = tmp_path_factory.mktemp("seed") / "data"
    n = _seed(data, embedder)
    conn = sqlite3.connect(data / "storyline.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert check(data / "storyline.db", data / "vectors.faiss").index_status == "exact"
    return data, n


def _copy(seeded: tuple[Path, int], tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(seeded[0], data, ignore=shutil.ignore_patterns("writer.lock"))
    return data


def _damage_index(path: Path, how: str) -> None:
    raw = bytearray(path.read_bytes())
    if how == "truncated":
        path.write_bytes(raw[: len(raw) * 2 // 3])
    elif how == "header_cut":
        path.write_bytes(raw[:20])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "bit_flip":
        raw[len(raw) - 100] ^= 0x01  # one bit inside the vectors
        path.write_bytes(raw)
    elif how == "garbage":
        path.write_bytes(os.urandom(len(raw)))
    elif how == "trailing":
        path.write_bytes(raw + b"\0" * 16)
    elif how == "directory":
        path.unlink()
        path.mkdir()
    else:
        raise AssertionError(how)


INDEX_DAMAGE = ["truncated", "header_cut", "empty", "bit_flip", "garbage", "trailing"]


@pytest.mark.parametrize("how", INDEX_DAMAGE)
def test_damaged_index_is_rebuilt_in_process(
    seeded: tuple[Path, int],
    tmp_path: Path,
    embedder: Embedder,
    how: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = _copy(seeded, tmp_path)
    _damage_index(data / "vectors.faiss", how)
    settings = Settings(data_dir=data)
    with caplog.at_level(logging.WARNING):
        svc = build_service(settings, embedder=embedder)
    try:
        assert "corrupt" in caplog.text and "rebuilt from the database" in caplog.text
        assert svc.ready
        stored = {int(i) for ids, _ in svc.repo.iter_vectors() for i in ids}
        assert set(svc.index.ids().tolist()) == stored and len(stored) == seeded[1]
        top = svc.search("earthquake in Chile", 1)
        assert "Chile" in top[0]["title"]
    finally:
        svc.close()
    report = check(settings.db_path, settings.index_path)
    assert report.ok and report.index_status == "exact", report.as_dict()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["truncated", "bit_flip", "directory"])
def test_damaged_index_service_process_becomes_ready(
    seeded: tuple[Path, int], tmp_path: Path, how: str
) -> None:
    data = _copy(seeded, tmp_path)
    _damage_index(data / "vectors.faiss", how)
    if how == "directory":
        # a directory where the file should be cannot be replaced: the service must say so
        with ServerProcess(data) as server:
            server.start()
            code = server.wait_exit(120)
            assert code != 0
            assert "vectors.faiss" in server.log_tail()
        return
    with ServerProcess(data) as server:
        server.start()
        ready = server.wait_ready()
        assert ready["index_size"] == seeded[1]
        r = httpx.get(f"{server.url}/v1/search", params={"q": "terremoto en Chile", "limit": 1})
        assert r.status_code == 200 and "Chile" in r.json()["stories"][0]["title"]
        assert "corrupt" in server.log_tail(20_000)
        assert server.stop() in (0, -15)  # uvicorn re-raises SIGTERM after a clean shutdown
    report = check(data / "storyline.db", data / "vectors.faiss")
    assert report.ok and report.index_status == "exact", report.as_dict()


def _damage_db(path: Path, how: str) -> None:
    raw = bytearray(path.read_bytes())
    if how == "header":
        raw[:100] = os.urandom(100)
    elif how == "truncated":
        raw = raw[: len(raw) // 2 + 123]
    elif how == "zeroed_page":
        raw[PAGE * 2 : PAGE * 3] = bytes(PAGE)
    elif how == "not_sqlite":
        raw = bytearray(b"this is not a database\n" * 100)
    else:
        raise AssertionError(how)
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("how", ["header", "truncated", "zeroed_page", "not_sqlite"])
def test_corrupt_database_is_refused_in_process(
    seeded: tuple[Path, int], tmp_path: Path, embedder: Embedder, how: str
) -> None:
    data = _copy(seeded, tmp_path)
    _damage_db(data / "storyline.db", how)
    with pytest.raises(StorageCorruptError) as info:
        build_service(Settings(data_dir=data), embedder=embedder)
    message = str(info.value)
    assert str(data / "storyline.db") in message and "backup" in message
    # the refused start must not have left the folder locked or the file rewritten
    assert (data / "storyline.db").stat().st_size > 0


def test_every_damaged_page_is_detected(seeded: tuple[Path, int], tmp_path: Path) -> None:
    """Random bytes over any one page of the database: opening it must fail, never pass."""
    src = seeded[0] / "storyline.db"
    pages = src.stat().st_size // PAGE
    assert pages > 5
    missed = []
    for page in range(pages):
        dst = tmp_path / f"p{page}.db"
        raw = bytearray(src.read_bytes())
        raw[page * PAGE : (page + 1) * PAGE] = os.urandom(PAGE)
        dst.write_bytes(bytes(raw))
        try:
            SQLiteRepository(dst).close()
            missed.append(page)
        except StorageCorruptError:
            pass
    assert not missed, f"pages {missed} of {pages} garbled without the database noticing"


@pytest.mark.slow
@pytest.mark.parametrize("how", ["header", "zeroed_page"])
def test_corrupt_database_service_refuses_to_start(
    seeded: tuple[Path, int], tmp_path: Path, how: str
) -> None:
    data = _copy(seeded, tmp_path)
    _damage_db(data / "storyline.db", how)
    with ServerProcess(data) as server:
        server.start()
        code = server.wait_exit(120)
        log = server.log_tail(20_000)
    assert code == 2, log
    line = f"storyline serve: cannot start: database {data / 'storyline.db'}"
    assert line in log and "restore it from a backup" in log
    # and `storyline check` says the same, with its own exit code
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "check", "--data-dir", str(data)],
        cwd=ROOT,
        env={**os.environ, **FAST_START},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "storyline.db" in out.stderr, out


def test_check_command_on_a_healthy_folder(seeded: tuple[Path, int], tmp_path: Path) -> None:
    data = _copy(seeded, tmp_path)
    run = [sys.executable, "-m", "app.cli", "check", "--data-dir", str(data), "--strict"]
    out = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out
    assert "exact" in out.stdout
    _damage_index(data / "vectors.faiss", "bit_flip")
    out = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "corrupt" in out.stdout, out
