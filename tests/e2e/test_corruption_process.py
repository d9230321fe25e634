"""Damaged files at start-up, as processes meet them: `storyline serve` rebuilds a bad index
and becomes ready, refuses a bad database with a message and exit code 2, and `storyline
check` says the same (in this process: tests/integration/test_corruption.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from engine.check import check
from tests.helpers import copy_folder, damage_db, damage_index
from tests.serverproc import FAST_START, ROOT, ServerProcess


@pytest.mark.parametrize("how", ["truncated", "bit_flip", "directory"])
def test_damaged_index_service_process_becomes_ready(
    clean_folder: tuple[Path, int], tmp_path: Path, how: str
) -> None:
    data = copy_folder(clean_folder[0], tmp_path / "data")
    damage_index(data / "vectors.faiss", how)
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
        assert ready["index_size"] == clean_folder[1]
        r = httpx.get(f"{server.url}/v1/search", params={"q": "terremoto en Chile", "limit": 1})
        assert r.status_code == 200 and "Chile" in r.json()["stories"][0]["title"]
        assert "corrupt" in server.log_tail(20_000)
        assert server.stop() in (0, -15)  # uvicorn re-raises SIGTERM after a clean shutdown
    report = check(data / "storyline.db", data / "vectors.faiss")
    assert report.ok and report.index_status == "exact", report.as_dict()


@pytest.mark.parametrize("how", ["header", "zeroed_page"])
def test_corrupt_database_service_refuses_to_start(
    clean_folder: tuple[Path, int], tmp_path: Path, how: str
) -> None:
    data = copy_folder(clean_folder[0], tmp_path / "data")
    damage_db(data / "storyline.db", how)
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


def test_check_command_on_a_healthy_folder(clean_folder: tuple[Path, int], tmp_path: Path) -> None:
    data = copy_folder(clean_folder[0], tmp_path / "data")
    run = [sys.executable, "-m", "app.cli", "check", "--data-dir", str(data), "--strict"]
    out = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out
    assert "exact" in out.stdout
    damage_index(data / "vectors.faiss", "bit_flip")
    out = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "corrupt" in out.stdout, out


def test_a_killed_service_restarts_without_the_check_a_backup_copied_over_it_is_checked(
    clean_folder: tuple[Path, int], tmp_path: Path
) -> None:
    """The start after a SIGKILL on a machine that kept running skips SQLite's whole-file
    check (the process cannot have torn a commit) and says so; a backup copied over the
    database after the kill, as docs/operations.md says to restore one, is checked."""
    import shutil

    data = copy_folder(clean_folder[0], tmp_path / "data")
    backup = tmp_path / "backup.db"
    shutil.copy(data / "storyline.db", backup)
    db = data / "storyline.db"
    body = {"title": "Test", "text": "Una prueba de reinicio tras un cierre forzado.", "lang": "es"}
    with ServerProcess(data, {"STORYLINE_LOG_LEVEL": "info"}) as server:
        server.start()
        server.wait_ready()
        assert httpx.post(f"{server.url}/v1/snippets", json=body, timeout=60).status_code == 201
        server.kill()
        server.start()
        server.wait_ready()
        skipped = f"database {db}: check skipped: its last service was not closed"
        assert skipped in server.log_tail(200_000).rsplit("--- start", 1)[-1]
        server.kill()
        for leftover in ("storyline.db-wal", "storyline.db-shm"):  # the old file's WAL
            (data / leftover).unlink(missing_ok=True)
        shutil.copyfile(backup, db)  # in place: the same inode, another time
        server.start()
        ready = server.wait_ready()
        last = server.log_tail(200_000).rsplit("--- start", 1)[-1]  # this start's lines
        assert f"database {db}: checked" in last and skipped not in last, last[-3000:]
        assert ready["index_size"] >= clean_folder[1]
        assert server.stop() in (0, -15)
