"""The single writer: a bounded queue, micro-batches, one commit per batch.

Requests enqueue and wait on a future; the writer drains whatever is queued
(up to the batch size, lingering a moment so concurrent requests share one
commit and its fsync), runs the pipeline, and resolves the futures only after
the commit. A full queue refuses at once: load is shed, not stored. What is
accepted is handed to `ahead` at once (`engine.embed_queue` embeds it in arrival
order, sharing model calls), so the model works through the queue while the
writer assigns and commits the batches before it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from engine.context import request_id
from engine.errors import Overloaded
from engine.records import Incoming, Outcome

log = logging.getLogger(__name__)


@dataclass
class _Job:
    items: list[Incoming]
    future: Future[Any]
    call: Callable[[], Any] | None = None  # a correction: runs alone, between batches
    request_id: str | None = None  # the writer's log lines name the requests they serve


class Writer:
    def __init__(
        self,
        process: Callable[[list[Incoming]], list[Outcome]],
        on_failure: Callable[[], None],
        after_batch: Callable[[], None],
        max_queue: int,
        batch_size: int,
        linger_ms: float,
        ahead: Callable[[list[Incoming]], None] | None = None,
    ) -> None:
        self._process = process
        self._ahead = ahead
        self._on_failure = on_failure
        self._after_batch = after_batch
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._queued_items = 0
        self._count_lock = threading.Lock()
        self._max_queue = max_queue
        self._batch_size = batch_size
        self._linger = linger_ms / 1000.0
        self._thread = threading.Thread(target=self._run, name="storyline-writer", daemon=True)
        self._started = False
        self._held: _Job | None = None  # a correction met while gathering a batch

    def start(self) -> None:
        if not self._started:
            self._thread.start()
            self._started = True

    @property
    def depth(self) -> int:
        return self._queued_items

    def submit(self, items: list[Incoming]) -> Future[list[Outcome]]:
        with self._count_lock:
            if self._queued_items + len(items) > self._max_queue:
                raise Overloaded(
                    f"writer queue is full ({self._queued_items} snippets waiting); retry later"
                )
            self._queued_items += len(items)
        if self._ahead is not None:
            try:
                self._ahead(items)
            except Exception:  # only an optimisation: the pipeline embeds them in turn
                log.exception("embedding ahead failed; the batch embeds in turn")
        job = _Job(items, Future(), request_id=request_id.get())
        self._queue.put(job)
        return job.future

    def submit_call(self, call: Callable[[], Any]) -> Future[Any]:
        """Run `call` on the writer thread, alone and in queue order (deletions and
        corrections); it counts as one queued item against the bound."""
        with self._count_lock:
            if self._queued_items + 1 > self._max_queue:
                raise Overloaded(
                    f"writer queue is full ({self._queued_items} snippets waiting); retry later"
                )
            self._queued_items += 1
        job = _Job([], Future(), call, request_id.get())
        self._queue.put(job)
        return job.future

    def stop(self, timeout: float = 30.0) -> None:
        if self._started:
            self._queue.put(None)
            self._thread.join(timeout)

    def _gather(self, first: _Job) -> tuple[list[_Job], bool]:
        jobs, size, stop = [first], len(first.items), False
        deadline = time.monotonic() + self._linger
        while size < self._batch_size:
            try:
                remaining = deadline - time.monotonic()
                job = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            if job is None:
                stop = True
                break
            if job.call is not None:
                self._held = job
                break
            jobs.append(job)
            size += len(job.items)
        return jobs, stop

    def _run(self) -> None:
        while True:
            first, self._held = self._held or self._queue.get(), None
            if first is None:
                return
            if first.call is not None:
                token = request_id.set(first.request_id)
                self._run_call(first)
                request_id.reset(token)
                continue
            jobs, stop = self._gather(first)
            token = request_id.set(",".join(dict.fromkeys(j.request_id or "-" for j in jobs)))
            items = [item for job in jobs for item in job.items]
            try:
                outcomes = self._process(items)
            except BaseException as exc:  # the writer must outlive any one batch
                log.exception("writer batch of %d snippets failed", len(items))
                self._on_failure()
                for job in jobs:
                    job.future.set_exception(exc)
            else:
                start = 0
                for job in jobs:
                    job.future.set_result(outcomes[start : start + len(job.items)])
                    start += len(job.items)
            finally:
                with self._count_lock:
                    self._queued_items -= len(items)
            try:
                self._after_batch()
            except Exception:
                log.exception("after-batch step failed (index snapshot); will retry")
            request_id.reset(token)
            if stop:
                return

    def _run_call(self, job: _Job) -> None:
        assert job.call is not None
        try:
            job.future.set_result(job.call())
        except BaseException as exc:  # the writer must outlive any one correction
            if not isinstance(exc, LookupError | ValueError):
                log.exception("writer correction failed")
                self._on_failure()
            job.future.set_exception(exc)
        finally:
            with self._count_lock:
                self._queued_items -= 1
        try:
            self._after_batch()
        except Exception:
            log.exception("after-batch step failed (index snapshot); will retry")
