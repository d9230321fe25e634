"""Language detection in child processes.

Lingua holds the GIL for the 3-4 s it takes to load the models of twenty languages.
In-process, that stalled everything else start-up does (the embedding model, the
database check, the index load) and every request thread. In children, detection runs
beside the writer's Python work instead of inside it; the service starts them once it is
ready (`load_in_background`), so their ~5 CPU-s of loading do not delay readiness either.

Two children when the candidates allow, one for Latin-script languages and one for
the rest: lingua only ever weighs languages written in a text's script, so the split
answers as one detector would (tested), and each half loads in about half the time.
Every text goes to both; each answers for the texts whose dominant script is its own.
One set of children serves every service in a process (tests and the CLI open
several); they exit when their parent does (end of input).
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
import time
from collections.abc import Iterable, Sequence
from typing import IO

import childproc
from language.detect import check_languages, dominant_script

log = logging.getLogger(__name__)
_NOT_MINE = "-"  # a child's answer for a text in the other group's script

# Codes of the languages lingua writes in a script other than Latin.
NON_LATIN = frozenset(
    [
        "ar",
        "be",
        "bg",
        "bn",
        "el",
        "fa",
        "gu",
        "he",
        "hi",
        "hy",
        "ja",
        "ka",
        "kk",
        "ko",
        "mk",
        "mn",
        "mr",
        "pa",
        "ru",
        "sr",
        "ta",
        "te",
        "th",
        "uk",
        "ur",
        "zh",
    ]
)


class DetectorUnavailable(RuntimeError):
    """A detector process failed to start or died and could not be restarted."""


def split_by_script(languages: Sequence[str]) -> list[tuple[str | None, tuple[str, ...]]]:
    """(group, languages) for each child: 'latin' and 'other' when both have two or more
    candidates (lingua needs two), else one child for all (group None)."""
    latin = tuple(c for c in languages if c not in NON_LATIN)
    other = tuple(c for c in languages if c in NON_LATIN)
    if len(latin) >= 2 and len(other) >= 2:
        return [("latin", latin), ("other", other)]
    return [(None, tuple(languages))]


def serve(group: str | None, languages: list[str], requests: IO[str], answers: IO[str]) -> None:
    """A child's loop, one JSON line in and one out: build the detector, say so, then
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
            prepared = [dominant_script(t) for t in json.loads(line)]
            mine = [
                i
                for i, (script, _) in enumerate(prepared)
                if group is None or (script == "LATIN") == (group == "latin")
            ]
            out: list[str | None] = [_NOT_MINE] * len(prepared)
            found = detector.detect_letters([prepared[i][1] for i in mine])
            for i, code in zip(mine, found, strict=True):
                out[i] = code
            say("ok", out)
        except Exception as exc:
            say("error", f"{type(exc).__name__}: {exc}")


class _Child:
    """One detector process and its pipe; `lock` keeps one conversation on it at a time."""

    def __init__(self, group: str | None, languages: tuple[str, ...]) -> None:
        self.group, self.languages = group, languages
        self.lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._ready = False

    def owns(self, script: str) -> bool:
        """Whether this child answers for text whose dominant script is `script`."""
        return self.group is None or (script == "LATIN") == (self.group == "latin")

    def start(self) -> None:
        self._proc = childproc.spawn(
            "language.process",
            [self.group or "all", *self.languages],
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self._ready = False

    @property
    def running(self) -> bool:
        return self._proc is not None

    @property
    def ready(self) -> bool:
        return self._ready

    def send(self, texts: list[str]) -> None:
        self.wait_ready()  # starts the process first if it is not running
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(texts) + "\n")
        self._proc.stdin.flush()

    def receive(self) -> tuple[str, object]:
        assert self._proc is not None and self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise EOFError(f"exit status {self._proc.poll()}")
        status, detail = json.loads(line)
        return status, detail

    def wait_ready(self) -> None:
        if self._ready:
            return
        if self._proc is None:
            self.start()
        try:
            status, detail = self.receive()
        except (EOFError, OSError, ValueError) as exc:
            self.stop()
            raise DetectorUnavailable(f"language detector process died at start: {exc}") from exc
        if status == "error":
            self.stop()
            raise ValueError(f"language detector: {detail}")
        self._ready = True

    def stop(self) -> None:
        proc, self._proc, self._ready = self._proc, None, False
        if proc is not None:
            childproc.stop(proc, grace=2.0)


class DetectorProcess:
    """`LanguageDetector.detect_many` / `detect`, answered by child processes.

    While the children load, a detection waits only for the children whose script its
    texts are written in: the non-Latin child loads in half the time of the Latin one
    (1.2 against 2.5 CPU-s for the default languages), so Russian or Greek snippets are
    detected seconds before the Latin-script models are in."""

    def __init__(self, languages: Iterable[str]) -> None:
        """Nothing runs until `load_in_background`, `wait_ready` or the first detection."""
        self.languages = tuple(languages)
        self._lock = threading.Lock()  # one detection at a time
        self._children = [_Child(g, langs) for g, langs in split_by_script(self.languages)]
        self._loader: threading.Thread | None = None
        self._loader_lock = threading.Lock()

    def load_in_background(self) -> None:
        """Load the models on a thread of its own; a detection meanwhile waits for the
        children its texts need (it takes their locks)."""
        with self._loader_lock:
            if self._loader is None:
                self._loader = threading.Thread(
                    target=self._load, name="language-models", daemon=True
                )
                self._loader.start()

    def _load(self) -> None:
        started = time.monotonic()
        try:
            self.wait_ready()
        except Exception:  # the next detection retries and reports it to its caller
            log.exception("language detector failed to load")
        else:
            log.info("language detection ready (%.1f s)", time.monotonic() - started)

    @property
    def ready(self) -> bool:
        """Whether every child has said it is ready (no waiting)."""
        return all(child.ready for child in self._children)

    def wait_ready(self) -> None:
        """Block until the models are loaded; ValueError if the languages were refused."""
        self._start_all()
        for child in self._children:
            with child.lock:
                child.wait_ready()

    def _start_all(self) -> None:
        """Start every child that is not running before waiting for any: they load at once
        (at start-up, and again after one died)."""
        for child in self._children:
            if child.running:  # never wait for a lock the loader holds while a child loads
                continue
            with child.lock:
                if not child.running:
                    child.start()

    def _needed(self, batch: list[str]) -> list[_Child]:
        """The children that answer for `batch`: all once loaded; while they load, only
        those whose script the texts are written in."""
        if len(self._children) == 1 or self.ready:
            return self._children
        scripts = {dominant_script(text)[0] for text in batch}
        return [c for c in self._children if any(c.owns(script) for script in scripts)]

    def detect_many(self, texts: Sequence[str]) -> list[str | None]:
        if not texts:
            return []
        batch = list(texts)
        with self._lock:
            for attempt in (1, 2):
                try:
                    self._start_all()
                    answers = self._ask(self._needed(batch), batch)
                except (EOFError, OSError, DetectorUnavailable) as exc:
                    self._stop_all()  # resynchronise every pipe from scratch
                    if attempt == 2:
                        raise DetectorUnavailable(f"language detector process died: {exc}") from exc
                    log.warning("language detector process died (%s); restarting it", exc)
                    continue
                failed = [str(detail) for status, detail in answers if status == "error"]
                if failed:
                    raise RuntimeError(f"language detection failed: {failed[0]}")
                return _merge([detail for _, detail in answers], len(batch))  # type: ignore[misc]
        raise AssertionError("unreachable")

    @staticmethod
    def _ask(children: list[_Child], batch: list[str]) -> list[tuple[str, object]]:
        """Every child at work at once, then collect; their locks taken in one order."""
        with contextlib.ExitStack() as held:
            for child in children:
                held.enter_context(child.lock)
            for child in children:
                child.send(batch)
            return [child.receive() for child in children]

    def _stop_all(self) -> None:
        for child in self._children:
            with child.lock:
                child.stop()

    def detect(self, text: str) -> str | None:
        return self.detect_many([text])[0]

    def close(self) -> None:
        with self._lock:
            self._stop_all()


def _merge(answers: list[list[str | None]], n: int) -> list[str | None]:
    """Each text's answer from the child whose script it is written in."""
    out: list[str | None] = [None] * n
    for answer in answers:
        for i, code in enumerate(answer):
            if code != _NOT_MINE:
                out[i] = code
    return out


_shared: dict[tuple[str, ...], DetectorProcess] = {}
_shared_lock = threading.Lock()


def shared_detector(languages: Iterable[str]) -> DetectorProcess:
    """The process-wide detector for these languages (the codes are checked here, at once);
    its children start at `load_in_background` or at the first detection."""
    key = check_languages(languages)
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
    group = sys.argv[1]
    try:
        serve(None if group == "all" else group, sys.argv[2:], sys.stdin, sys.stdout)
    except BrokenPipeError:  # the parent died (a SIGKILL): nobody to answer, nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # (the docs' recipe)
