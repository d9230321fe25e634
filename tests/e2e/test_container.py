"""The image's entry point and health check, run outside a container (no Docker daemon
here or in CI): with the Dockerfile's own environment, the entry point makes a key the way
the README says (`docker run … storyline hash-key`), serves on the port STORYLINE_PORT
names, and the Dockerfile's HEALTHCHECK command fails before the service is ready and
passes after. (The Dockerfile itself: tests/unit/test_dockerfile.py.)"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.helpers import ROOT, free_port
from tests.serverproc import FAST_START

ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
BIN = Path(sys.executable).parent  # the installed `storyline` and `python`


def dockerfile_env() -> dict[str, str]:
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(part.split("=", 1) for part in shlex.split(line[4:]))
    return env


def healthcheck_command() -> list[str]:
    line = next(x for x in (ROOT / "Dockerfile").read_text().splitlines() if "HEALTHCHECK" in x)
    return list(json.loads(line.split(" CMD ", 1)[1]))


def environment(tmp: Path, **extra: str) -> dict[str, str]:
    """The Dockerfile's environment, with a temporary data folder and a free port."""
    env = {**os.environ, **dockerfile_env(), **FAST_START, **extra}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env.update(STORYLINE_DATA_DIR=str(tmp / "data"), STORYLINE_PORT=str(free_port()))
    env.pop("PORT", None)
    return env


def entrypoint(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_entrypoint_runs_storyline_commands_and_anything_else(tmp_path: Path) -> None:
    env = environment(tmp_path)
    for args in (
        ["hash-key", "--role", "write", "--generate"],
        ["storyline", "hash-key", "--generate"],
    ):
        made = entrypoint(*args, env=env)
        assert made.returncode == 0, made.stderr
        key, entry = made.stdout.split()
        assert len(key) >= 32 and re.fullmatch(r"(read|write):[0-9a-f]{64}", entry)
    assert entrypoint("echo", "plain", env=env).stdout == "plain\n"


def test_serves_on_the_configured_port_and_the_health_check_follows_it(tmp_path: Path) -> None:
    env = environment(tmp_path, STORYLINE_PUBLIC_READS="true")
    key, entry = entrypoint("hash-key", "--role", "write", "--generate", env=env).stdout.split()
    env["STORYLINE_API_KEYS"] = entry
    probe = healthcheck_command()
    assert probe[0] == "python"
    probe[0] = sys.executable
    url = f"http://127.0.0.1:{env['STORYLINE_PORT']}"
    before = subprocess.run(probe, env=env, capture_output=True, text=True, timeout=30)
    assert before.returncode == 1 and url in before.stderr  # nothing listens yet
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(["sh", str(ENTRYPOINT)], env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 180
        while subprocess.run(probe, env=env, capture_output=True, timeout=30).returncode != 0:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "the health check never passed"
            time.sleep(0.2)
        # keys set: writes need one; with STORYLINE_PUBLIC_READS the pages open without
        assert httpx.post(f"{url}/v1/snippets", json={"text": "x"}).status_code == 401
        wrote = httpx.post(
            f"{url}/v1/snippets",
            json={"text": "Ein Zug ist entgleist.", "lang": "de"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
        assert wrote.status_code == 201, wrote.text
        assert httpx.get(f"{url}/").status_code == 200
        assert (tmp_path / "data" / "server.url").read_text().strip() == url
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(60)
        log.close()
    # a clean stop (uvicorn re-raises the signal once shut down): the lifespan's end ran
    assert code in (0, -signal.SIGTERM) and not (tmp_path / "data" / "server.url").exists()
