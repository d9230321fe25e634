"""Language detection in a child process.

Lingua holds the GIL for the 2-3 s it takes to load its models. In-process, that
stalls everything else start-up does (the embedding model, the database check, the
index load) and every request thread, whatever thread it runs on. In a child it
loads on the other core while the service starts, and detection runs beside the
writer's Python work instead of inside it. One child serves every service in a
process (tests and the CLI open several); it exits when its parent does.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)
_ROOT = Path(__file__).resolve().parents[1]


class DetectorUnavailable(RuntimeError):
    """The detector process failed to start or died and could not be restarted."""


def serve(languages: list[str], requests: IO[str], answers: IO[str]) -> None:
    """The child's loop, one JSON line in and one out: build the detector, say so, then
    answer batches of texts until the parent closes the pipe."""
    from language.detect import LanguageDetector

    def say(status: str, detail: object) -> None:
        answers.write(json.dumps([status, detail]) + "\n")
        answers.flush()

    try:
        detector = LanguageDetector(languages)
    except Exception as exc:  # reported to the parent, which raises it there
        say("error", f"{type(exc).__name__}: {exc}")
        return
    say("ready", None)
    for line in requests:
        try:
            say("ok", detector.detect_many(json.loads(line)))
        except Exception as exc:
            say("error", f"{type(exc).__name__}: {exc}")


class DetectorProcess:
    """`LanguageDetector.detect_many` / `detect`, answered by a child process."""

    def __init__(self, languages: Iterable[str]) -> None:
        self.languages = tuple(languages)
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._ready = False
        self._start()

    def _start(self) -> None:
        # A fresh interpreter running only this module: no fork of a threaded parent, and
        # no re-import of the parent's main script (multiprocessing's spawn does that).
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "language.process", *self.languages],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True,
            encoding="utf-8", bufsize=1,
        )  # fmt: skip
        self._ready = False

    def _exchange(self, message: list[str] | None) -> tuple[str, object]:
        assert self._proc is not None and self._proc.stdin and self._proc.stdout
        if message is not None:
            self._proc.stdin.write(json.dumps(message) + "\n")
            self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise EOFError(f"exit status {self._proc.poll()}")
        status, detail = json.loads(line)
        return status, detail

    def wait_ready(self) -> None:
        """Block until the models are loaded; ValueError if the languages were refused."""
        with self._lock:
            self._wait_ready()

    def _wait_ready(self) -> None:
        if self._ready:
            return
        try:
            status, detail = self._exchange(None)
        except (EOFError, OSError, ValueError) as exc:
            self._stop()
            raise DetectorUnavailable(f"language detector process died at start: {exc}") from exc
        if status == "error":
            self._stop()
            raise ValueError(f"language detector: {detail}")
        self._ready = True

    def detect_many(self, texts: Sequence[str]) -> list[str | None]:
        if not texts:
            return []
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._proc is None:
                        self._start()
                    self._wait_ready()
                    status, result = self._exchange(list(texts))
                except (EOFError, OSError, DetectorUnavailable) as exc:
                    self._stop()
                    if attempt == 2:
                        raise DetectorUnavailable(f"language detector process died: {exc}") from exc
                    log.warning("language detector process died (%s); restarting it", exc)
                    continue
                if status == "error":
                    raise RuntimeError(f"language detection failed: {result}")
                assert isinstance(result, list)
                return result
        raise AssertionError("unreachable")

    def detect(self, text: str) -> str | None:
        return self.detect_many([text])[0]

    def _stop(self) -> None:
        proc, self._proc, self._ready = self._proc, None, False
        if proc is None:
            return
        with contextlib.suppress(OSError, ValueError):
            assert proc.stdin is not None
            proc.stdin.close()  # the child's loop ends at end of input
        try:
            proc.wait(2.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(2.0)
        if proc.stdout is not None:
            proc.stdout.close()

    def close(self) -> None:
        with self._lock:
            self._stop()


_shared: dict[tuple[str, ...], DetectorProcess] = {}
_shared_lock = threading.Lock()


def shared_detector(languages: Iterable[str]) -> DetectorProcess:
    """The process-wide detector for these languages, started on first request (the CLI
    asks before it imports the web stack, so the models load meanwhile)."""
    key = tuple(languages)
    with _shared_lock:
        found = _shared.get(key)
        if found is None:
            found = _shared[key] = DetectorProcess(key)
        return found


@atexit.register
def _close_shared() -> None:
    for detector in list(_shared.values()):
        detector.close()
    _shared.clear()


if __name__ == "__main__":
    serve(sys.argv[1:], sys.stdin, sys.stdout)
