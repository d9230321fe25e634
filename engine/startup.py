"""Start-up steps run on threads, and those `storyline serve` begins before the service.

At a million snippets most of a restart is reading two whole files: the database's
integrity check after a crash (4.7 s) and the index file's checksum and parse (3-4 s).
`begin` starts both before the web stack is imported; the service takes each result
(`take`) when it gets to that step, or runs the step itself when nothing was begun or
the file is no longer the one that was read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from index import load_index
from storage import check_database

T = TypeVar("T")


class Background(Generic[T]):
    """One start-up step run on a thread, its result (or error) collected later."""

    def __init__(self, fn: Callable[[], T], name: str) -> None:
        self._fn = fn
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as exc:  # handed to the caller of result()
            self._error = exc

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return cast(T, self._value)  # None only when the step returns None


# Steps begun ahead, by (step, resolved path): the file's identity then, and the step.
_begun: dict[tuple[str, Path], tuple[tuple[int, ...] | None, Background[Any]]] = {}
_lock = threading.Lock()


def _identity(path: Path) -> tuple[int, ...] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _start(step: str, path: Path, fn: Callable[[], Any]) -> None:
    key = (step, Path(path).resolve())
    with _lock:
        _begun[key] = (_identity(path), Background(fn, f"ahead-{step}"))


def begin(db_path: Path, index_path: Path) -> None:
    """The database check (skipped after a clean stop, as the service would) and the
    index file's load, begun now on threads of their own (hashlib and SQLite work
    without the interpreter lock)."""
    if db_path.exists():
        _start("database", db_path, lambda: check_database(db_path))
    if index_path.exists():
        _start("index", index_path, lambda: load_index(index_path, trust_mark=True))


def take(step: str, path: Path) -> Background[Any] | None:
    """The step begun ahead for `path`, if any; None (and the step let go) when the file
    changed since it was read, so that the caller runs it on the file as it is now. The
    database check is taken whatever its file's identity: the service's own writes,
    which began since, change it."""
    with _lock:
        begun = _begun.pop((step, Path(path).resolve()), None)
    if begun is None:
        return None
    identity, background = begun
    if step != "database" and identity != _identity(path):
        return None
    return background
