"""Background jobs persisted in SQLite: one of a kind at a time, readable after a restart.

A job is a function of a `JobHandle`; it reports its phase and counts through
the handle and returns a summary. The registry runs it in a thread (HTTP) or in
the caller's thread (CLI) and records the outcome; a job still marked running
when the process starts again is marked failed (interrupted).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from engine.errors import JobCancelled, JobConflict
from storage.base import JobStore

log = logging.getLogger(__name__)

STATES = ("queued", "running", "succeeded", "failed")


class JobHandle:
    """What a running job sees: where to report progress, and whether to stop."""

    def __init__(self, store: JobStore, job_id: int, cancel: threading.Event) -> None:
        self.store = store
        self.id = job_id
        self.counts: dict[str, Any] = {}
        self._cancel = cancel
        self._last_write = 0.0

    def phase(self, name: str) -> None:
        self.check()
        self.store.update(self.id, phase=name, counts=self.counts)

    def count(self, **values: Any) -> None:
        """Merge counts; persisted at most twice a second (and at every phase change)."""
        self.counts.update(values)
        now = time.monotonic()
        if now - self._last_write >= 0.5:
            self._last_write = now
            self.store.update(self.id, counts=self.counts)

    def check(self) -> None:
        if self._cancel.is_set():
            raise JobCancelled("cancelled: the service shut down while the job ran")


JobFn = Callable[[JobHandle], dict[str, Any]]


class JobRegistry:
    def __init__(self, store: JobStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._threads: list[threading.Thread] = []

    def recover(self) -> list[int]:
        """Called once at start-up, before any job can run in this process."""
        failed = self.store.fail_interrupted()
        if failed:
            log.warning("jobs %s were interrupted by a restart; marked failed", failed)
        return failed

    def get(self, job_id: int) -> dict[str, Any] | None:
        return self.store.get(job_id)

    def _create(self, kind: str, params: dict[str, Any]) -> int:
        with self._lock:
            running = self.store.active(kind)
            if running is not None:
                raise JobConflict(kind, running)
            return self.store.create(kind, params)

    def start(self, kind: str, params: dict[str, Any], fn: JobFn) -> dict[str, Any]:
        """Queue `fn` on a background thread; returns the job as stored."""
        job_id = self._create(kind, params)
        thread = threading.Thread(
            target=self._run, args=(job_id, fn), name=f"storyline-job-{job_id}", daemon=True
        )
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        job = self.store.get(job_id)
        assert job is not None
        return job

    def run(self, kind: str, params: dict[str, Any], fn: JobFn) -> dict[str, Any]:
        """Run `fn` in this thread (the CLI); returns the job as stored at the end."""
        job_id = self._create(kind, params)
        self._run(job_id, fn, reraise=True)
        job = self.store.get(job_id)
        assert job is not None
        return job

    def _run(self, job_id: int, fn: JobFn, reraise: bool = False) -> None:
        handle = JobHandle(self.store, job_id, self._cancel)
        self.store.update(job_id, state="running", started_at=time.time())
        try:
            summary = fn(handle)
        except Exception as exc:
            log.exception("job %d failed", job_id)
            self.store.update(
                job_id,
                state="failed",
                error=str(exc) or type(exc).__name__,
                counts=handle.counts,
                finished_at=time.time(),
            )
            if reraise:
                raise
            return
        # BaseException (a simulated kill in tests, KeyboardInterrupt) leaves the job
        # marked running, exactly as a dead process would; start-up recovery fails it.
        self.store.update(
            job_id,
            state="succeeded",
            phase="done",
            summary=summary,
            counts=handle.counts,
            finished_at=time.time(),
        )

    def wait(self, timeout: float | None = None) -> None:
        for t in list(self._threads):
            t.join(timeout)

    def shutdown(self, timeout: float = 30.0) -> None:
        """Ask running jobs to stop at their next checkpoint and wait for them."""
        self._cancel.set()
        self.wait(timeout)
