"""`make install` against a recording stand-in for pip (no network): torch first from
PyTorch's CPU index, the plain pin with a warning when that index cannot be reached, the
installed torch pinned for every later install, the dev extras only for `install-dev`.
(A real install from a fresh clone is what CI's .ci/run does, and what
tests/e2e/test_readme_smoke.py follows.)"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

from tests.helpers import ROOT

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PIN = re.search(r"^TORCH_VERSION := (\S+)", (ROOT / "Makefile").read_text(), re.M).group(1)

FAKE_PIP = """#!/bin/sh
echo "$*" >> "$CALLS"
case "$*" in
    *--index-url*) if [ -n "$INDEX_DOWN" ]; then echo "no route to the index" >&2; exit 1; fi ;;
esac
exit 0
"""
FAKE_PYTHON = """#!/bin/sh
case "$*" in
    *importlib.metadata*) echo "torch==$TORCH_FOUND" ;;
    *"import torch"*) echo "torch $TORCH_FOUND (CPU build)" ;;
esac
"""


def make(target: str, venv: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    bin_ = venv / "bin"
    bin_.mkdir(parents=True, exist_ok=True)
    for name, body in (("pip", FAKE_PIP), ("python", FAKE_PYTHON)):
        (bin_ / name).write_text(body)
        (bin_ / name).chmod(0o755)
    calls = venv / "calls.log"
    full = {**os.environ, "CALLS": str(calls), "TORCH_FOUND": f"{PIN}+cpu", **env}
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):  # not under `make test`'s
        full.pop(name, None)
    done = subprocess.run(
        ["make", "-s", target, f"VENV={venv}"],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done, calls.read_text().splitlines() if calls.exists() else []


def test_torch_comes_from_the_cpu_index_and_stays(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    done, calls = make("install", venv)
    assert done.returncode == 0, done.stderr
    constraints = venv / "constraints.txt"
    assert calls == [
        f"install --quiet --retries 1 --timeout 20 --index-url {CPU_INDEX} torch=={PIN}",
        f"install --quiet --constraint {constraints} -e .",
    ]
    assert constraints.read_text().strip() == f"torch=={PIN}+cpu"
    assert "warning" not in done.stderr and "(CPU build)" in done.stdout
    again, calls = make("install", venv)  # the stamp: nothing to do
    assert again.returncode == 0 and len(calls) == 2
    dev, calls = make("install-dev", venv)
    assert dev.returncode == 0, dev.stderr
    assert calls[2:] == [f"install --quiet --constraint {constraints} -e .[dev]"]


def test_without_the_cpu_index_the_plain_pin_with_a_warning(tmp_path: Path) -> None:
    done, calls = make("install", tmp_path / "venv", INDEX_DOWN="1", TORCH_FOUND=PIN)
    assert done.returncode == 0, done.stderr
    assert [shlex.split(c)[-1] for c in calls] == [f"torch=={PIN}", f"torch=={PIN}", "."]
    assert "--index-url" in calls[0] and calls[1] == f"install --quiet torch=={PIN}"
    assert f"warning: {CPU_INDEX} could not be reached" in done.stderr
    assert "CUDA build" in done.stderr
    assert (tmp_path / "venv" / "constraints.txt").read_text().strip() == f"torch=={PIN}"
