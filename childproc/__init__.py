"""Child processes the service runs beside itself (the embedding model, language detection).

Each is a fresh interpreter running one module of this project (no fork of a threaded
parent, and no re-import of the parent's main script as multiprocessing's spawn does),
fed through its stdin and answering on its stdout. It ends at the end of its input, so
closing the pipe stops it and a parent's death, even by SIGKILL, ends it too.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[1]


def spawn(module: str, args: list[str], **popen: Any) -> subprocess.Popen[Any]:
    """`python -m module args...` with this project (and the working folder, where a
    user's `py:` model factory may live) on its path; `popen` adds Popen options."""
    env = dict(os.environ)
    paths = [str(_ROOT), os.getcwd(), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        **popen,
    )


def stop(proc: subprocess.Popen[Any], grace: float) -> None:
    """Close the child's input (its loop ends there), wait `grace` seconds, then kill."""
    with contextlib.suppress(OSError, ValueError):
        assert proc.stdin is not None
        proc.stdin.close()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(grace)
    if proc.stdout is not None:
        proc.stdout.close()
