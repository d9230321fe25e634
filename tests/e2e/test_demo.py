"""`storyline demo` as a newcomer runs it (`make demo` calls it): it serves a folder of its
own, loads the seed story and the NTREX passages over HTTP, prints the story pages' URLs,
keeps serving until Ctrl-C, and a second load through `--url` stores nothing twice.
(Its data: tests/unit/test_demo_data.py.)"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.helpers import ROOT, free_port
from tests.serverproc import FAST_START


def test_demo_serves_real_stories_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, **FAST_START, "STORYLINE_LOG_LEVEL": "warning"}
    demo = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "demo", "--port", str(port), "--passages", "120"]
        + ["--data-dir", str(tmp_path / "demo-data")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        printed = []
        assert demo.stdout is not None
        for line in demo.stdout:
            printed.append(line)
            if "serving until Ctrl-C" in line:
                break
        out = "".join(printed)
        assert demo.poll() is None, out
        loaded = re.search(r"loaded (\d+) snippets in [\d.]+ s: (\d+) stories", out)
        assert loaded and int(loaded.group(1)) == 13 + 120, out
        url = f"http://127.0.0.1:{port}"
        seed = re.search(rf"the seed story: +({re.escape(url)}/stories/\d+)", out)
        assert seed, out
        page = httpx.get(seed.group(1))
        assert page.status_code == 200 and "Putin" in page.text
        listed = httpx.get(f"{url}/").text
        assert listed.count('class="story-card"') >= 10
        again = subprocess.run(
            [sys.executable, "-m", "app.cli", "demo", "--url", url, "--passages", "120"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert again.returncode == 0, again.stderr
        assert f"{loaded.group(2)} stories" in again.stdout  # external_ids: nothing twice
        assert httpx.get(f"{url}/v1/info").json()["counts"]["snippets"] == 133
    finally:
        demo.send_signal(signal.SIGINT)  # what Ctrl-C sends
        code = demo.wait(60)
    assert code == 0, demo.stdout.read() if demo.stdout else ""
    assert not (tmp_path / "demo-data" / "server.url").exists()  # its server stopped cleanly


def test_demo_stops_its_server_when_terminated(tmp_path: Path) -> None:
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "demo", "--port", str(port), "--passages", "10"]
        + ["--data-dir", str(tmp_path / "demo-data")],
        cwd=ROOT,
        env={**os.environ, **FAST_START},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert demo.stdout is not None
    for line in demo.stdout:
        if "serving until Ctrl-C" in line:
            break
    demo.send_signal(signal.SIGTERM)  # `kill`
    assert demo.wait(60) == 0
    assert not (tmp_path / "demo-data" / "server.url").exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
