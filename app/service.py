"""The service: wires storage, index, model and pipeline; every entry point calls this."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

import numpy as np

from app import __version__
from app.corrections import Corrections, Deleted
from app.jobs import JobRegistry
from app.locking import DataDirLock
from app.observability.metrics import Metrics
from app.params import assignment_params, thresholds_in_force
from app.pipeline import Pipeline
from app.reader import NotFound, StoryReader
from app.records import Incoming, Outcome
from app.reindex.options import ReindexOptions
from app.settings import Settings
from app.views import story_summary
from app.writer import Overloaded, Writer
from embeddings import Embedder, load_embedder
from embeddings.process import EmbedderProcess, model_process
from index import IndexCorruptError, VectorIndex, build_index, load_index
from index.fileformat import remove_stale_temps
from language.process import shared_detector
from storage import SQLiteRepository
from storage.corrections import CorrectionStore
from stories.assign import Params

log = logging.getLogger(__name__)


class ModelMismatch(RuntimeError):
    """Stored vectors were made by another model than the one configured."""


@dataclass
class IndexState:
    watermark: int = 0  # every snippet with id <= watermark is in the saved file
    saved_size: int = 0  # vectors in the saved file


class Service:
    def __init__(
        self, settings: Settings, embedder: Embedder | None = None, *, adopt_model: bool = False
    ) -> None:
        """`adopt_model`: open data embedded by another model (for `storyline reindex
        --model`, which re-embeds it) instead of refusing with ModelMismatch."""
        self.settings = settings
        self.adopt_model = adopt_model
        self.started_at = time.time()
        self.ready = False
        self.metrics = Metrics()
        # Language models load after start-up (see the end): lingua's ~5 CPU-s would
        # otherwise share the two cores with everything that makes the service ready.
        self.detector = shared_detector(settings.languages)
        self._own_model: EmbedderProcess | None = None
        if embedder is None and settings.model_process:
            workers, threads = settings.model_layout()
            embedder = self._own_model = model_process(
                settings.model, threads=threads, device=settings.device, workers=workers
            )
        self.embedder = embedder or load_embedder(
            settings.model, threads=settings.embed_threads, device=settings.device
        )
        try:
            self._start()
        except BaseException:
            if self._own_model is not None:  # it would otherwise live as long as this process
                self._own_model.close()
            raise
        # Reads, and writes that name their `lang`, are served from here on; a snippet
        # without one waits until the detector has loaded (about 2-3 s after start-up).
        self.detector.load_in_background()

    # -- start-up ------------------------------------------------------------
    def _start(self) -> None:
        settings = self.settings
        # The model's weights and the database check (and index load) overlap: they are
        # most of start-up; SQLite and numpy release the GIL, and the model usually loads
        # in a process of its own.
        warm = _Background(lambda: _warm(self.embedder), "model-weights")
        identity = self.embedder.identity
        self.thresholds = thresholds_in_force(identity, settings)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = DataDirLock(settings.data_dir)
        self.repo = SQLiteRepository(settings.db_path, identity.dim, check=False)
        integrity = _Background(self.repo.check_integrity, "database-check")
        try:
            self._open_storage()
        except sqlite3.DatabaseError:  # damage met before the check finished: say it clearly
            integrity.result()
            raise
        integrity.result()
        warm.result()
        self._embed_lock = threading.Lock()
        self.pipeline = Pipeline(
            self.repo,
            self.index,
            _Locked(self.embedder, self._embed_lock, self.metrics),
            self.detector,
            assignment_params(self.thresholds, settings),
            knn=settings.knn,
            embed_chars=settings.embed_chars,
            embed_batch=settings.embed_batch_size,
        )
        self.corrections = Corrections(
            self.changes, self.index, self.pipeline, time.time, self._changes_applied
        )
        self.writer = Writer(
            self.pipeline.process,
            on_failure=self._recover,
            after_batch=self._maybe_snapshot,
            max_queue=settings.writer_queue_size,
            batch_size=settings.embed_batch_size,
            linger_ms=settings.writer_linger_ms,
            ahead=self._embed_ahead,
        )
        self.writer.start()
        self.metrics.watch(self._gauges)
        self.ready = True

    def _open_storage(self) -> None:
        self.reader = StoryReader(self.repo)
        self.changes = CorrectionStore(self.repo)
        self._changes_seq = 0  # deletions/replacements the in-memory index reflects
        self._check_model()
        self.jobs = JobRegistry(self.repo)
        self.jobs.recover()
        self.index_state = IndexState()
        self.index = self._open_index()

    def _check_model(self) -> None:
        key = self.embedder.identity.key
        stored = self.repo.get_meta("model")
        self.model_stale = stored is not None and stored != key and self.adopt_model
        if stored is None:
            self.repo.set_meta("model", key)
        elif self.model_stale:
            log.warning("data embedded with %s, model is %s: a re-index must follow", stored, key)
        elif stored != key:
            raise ModelMismatch(
                f"the data in {self.settings.data_dir} was embedded with {stored}, but the "
                f"configured model is {key}; set STORYLINE_MODEL to the stored model, or use "
                "another STORYLINE_DATA_DIR"
            )

    def _open_index(self) -> VectorIndex:
        """Load the saved index and top it up from storage; rebuild when it cannot be trusted."""
        path = self.settings.index_path
        dim = self.embedder.identity.dim
        if self.model_stale:  # stored vectors belong to another model: the re-index builds it
            return build_index(dim, 0)
        index: VectorIndex | None = None
        if remove_stale_temps(path):  # a snapshot cut short by a crash; we hold the dir lock
            log.warning("removed unfinished index snapshot files beside %s", path)
        if path.exists():
            try:
                index, meta = load_index(path)
                watermark = int(meta.get("watermark", -1))
                if meta.get("model") == self.embedder.identity.key and index.dim == dim:
                    self._replay_changes(index, int(meta.get("changes", 0)), watermark)
                if (
                    meta.get("model") != self.embedder.identity.key
                    or index.dim != dim
                    or len(index) != self.repo.count_up_to(watermark)
                ):
                    log.warning("index file %s is stale; rebuilding from the database", path)
                    index = None
                else:
                    self.index_state.watermark = watermark
            except IndexCorruptError as exc:
                log.warning("%s", exc)
                index = None
        if index is None:
            total = self.repo.counts()["snippets"]
            index = build_index(dim, total)
            self.index_state.watermark = 0
        added = 0
        for ids, vectors in self.repo.iter_vectors(after_id=self.index_state.watermark):
            index.add(ids, vectors)
            added += len(ids)
        self.index_state.saved_size = len(index) - added
        self._changes_seq = self.changes.last_change()
        log.info("index ready: %d vectors (%d added from the database)", len(index), added)
        return index

    def _replay_changes(self, index: VectorIndex, since: int, watermark: int) -> None:
        """Deletions and replacements committed after the index file was saved: drop the
        ids, then put back the stored vector of those that still exist (replaced ones)."""
        ids, _ = self.changes.changes_after(since)
        if not ids:
            return
        index.remove(np.array(ids, dtype=np.int64))
        kept = self.repo.vectors([i for i in ids if i <= watermark])
        if kept:
            order = sorted(kept)
            index.add(np.array(order, dtype=np.int64), np.vstack([kept[i] for i in order]))
        log.info("index file replayed %d deletions/replacements", len(ids))

    def _recover(self) -> None:
        """After a failed batch: drop writer caches and add whatever storage has that the
        index lacks (a commit may have succeeded before the failure)."""
        self.pipeline.rollback()
        have = self.index.ids()
        top = int(have.max()) if len(have) else 0
        for ids, vectors in self.repo.iter_vectors(after_id=top):
            self.index.add(ids, vectors)

    def _maybe_snapshot(self) -> None:
        if len(self.index) - self.index_state.saved_size >= self.settings.index_snapshot_every:
            self.snapshot_index()

    def snapshot_index(self) -> None:
        ids = self.index.ids()
        watermark = int(ids.max()) if len(ids) else 0
        self.index.save(
            self.settings.index_path,
            {
                "model": self.embedder.identity.key,
                "watermark": watermark,
                "changes": self._changes_seq,
            },
        )
        self.index_state = IndexState(watermark=watermark, saved_size=len(ids))

    def close(self) -> None:
        self.ready = False
        self.jobs.shutdown()
        self.writer.stop()
        try:
            self.snapshot_index()
        finally:
            self.repo.close()
            self._lock.release()
            if self._own_model is not None:
                self._own_model.close()

    # -- writes --------------------------------------------------------------
    def submit(self, items: list[Incoming]) -> Future[list[Outcome]]:
        """Queue snippets for the writer; the future resolves after they are committed."""
        try:
            future = self.writer.submit(items)
        except Overloaded:
            self.metrics.shed.inc(len(items))
            raise
        future.add_done_callback(self._count_outcomes)
        return future

    def _embed_ahead(self, items: list[Incoming]) -> None:
        """Queued snippets start embedding at once (`Pipeline.embed_ahead`), except those
        whose external_id is stored: a retried batch costs no model time. Checked on a
        read connection; the writer decides `exists` for itself."""
        keys = [i.external_id for i in items if i.external_id]
        stored = self.repo.by_external_ids(keys) if keys else {}
        self.pipeline.embed_ahead([i for i in items if i.external_id not in stored])

    def _count_outcomes(self, future: Future[list[Outcome]]) -> None:
        if not future.cancelled() and future.exception() is None:
            for outcome in future.result():
                self.metrics.ingested.labels(outcome.status).inc()

    def _gauges(self) -> dict[str, float]:
        counts = self.repo.counts()
        return {
            "writer_queue_depth": self.writer.depth,
            "index_size": len(self.index),
            "stories": counts["stories"],
            "snippets": counts["snippets"],
        }

    def ingest(self, items: list[Incoming]) -> list[Outcome]:
        return self.submit(items).result()

    def delete_snippet(self, snippet_id: int) -> Future[Deleted]:
        """Queue a deletion for the writer; resolves after commit (NotFound if unknown)."""
        future = self.writer.submit_call(lambda: self.corrections.delete(snippet_id))
        future.add_done_callback(lambda f: self._count_correction(f, "delete"))
        return future

    def replace_snippet(self, snippet_id: int, item: Incoming) -> Future[Outcome]:
        """Queue a correction (PUT): the snippet is re-assigned under the same id."""
        future = self.writer.submit_call(lambda: self.corrections.replace(snippet_id, item))
        future.add_done_callback(lambda f: self._count_correction(f, "replace"))
        return future

    def _count_correction(self, future: Future, action: str) -> None:
        if not future.cancelled() and future.exception() is None:
            self.metrics.corrections.labels(action).inc()

    def _changes_applied(self, seq: int) -> None:
        self._changes_seq = max(self._changes_seq, seq)

    # -- jobs ----------------------------------------------------------------
    def start_reindex(self, options: ReindexOptions) -> dict:
        """Start a re-index in the background (JobConflict while one runs)."""
        from app.reindex.runner import Reindex

        return self.jobs.start("reindex", options.as_dict(), Reindex(self, options))

    def get_job(self, job_id: int) -> dict:
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFound(f"job {job_id} not found")
        return job

    def install_generation(
        self, index: VectorIndex, embedder: Embedder | None, params: Params
    ) -> None:
        """The re-index swap, on the writer thread: new index (and model), caches reset."""
        if embedder is not None:
            if self._own_model is not None and embedder is not self._own_model:
                self._own_model.close()  # the old model's process: nothing calls it now
            self._own_model = embedder if isinstance(embedder, EmbedderProcess) else None
            self.embedder = embedder
            self.pipeline.embedder = _Locked(embedder, self._embed_lock, self.metrics)
            self.pipeline.params = self.pipeline.gather.params = params
            self.thresholds = thresholds_in_force(embedder.identity, self.settings)
            self.repo.dim = embedder.identity.dim
        self.model_stale = False
        self.index = self.pipeline.index = self.corrections.index = index
        self._changes_seq = self.changes.last_change()
        self.pipeline.rollback()
        self.snapshot_index()

    # -- reads ---------------------------------------------------------------
    def get_snippet(self, snippet_id: int) -> dict:
        return self.reader.get_snippet(snippet_id)

    def list_stories(
        self,
        limit: int,
        cursor: str | None = None,
        lang: str | None = None,
        since: float | None = None,
    ) -> tuple[list[dict], str | None]:
        return self.reader.list_stories(limit, cursor, lang, since)

    def get_story(
        self, story_id: int, lang: str | None = None, offset: int = 0, limit: int | None = None
    ) -> dict:
        return self.reader.get_story(story_id, lang, offset, limit)

    def story_languages(self, story_id: int) -> dict[str, int]:
        return self.reader.story_languages(story_id)

    def story_sources(self, story_ids: list[int]) -> dict[int, list[dict]]:
        return self.reader.story_sources(story_ids)

    def search(self, query: str, limit: int) -> list[dict]:
        with self._embed_lock:
            q = self.embedder.embed_query([query])
        k = min(max(limit * 10, 50), 1000)
        scores, ids = self.index.search(q, k)
        hits = [(float(s), int(i)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]
        rows = self.repo.snippets([i for _, i in hits])
        best: dict[int, float] = {}
        for score, sid in hits:
            row = rows.get(sid)
            if row is not None and score > best.get(row.story_id, -2.0):
                best[row.story_id] = score
        ranked = sorted(best.items(), key=lambda kv: -kv[1])[:limit]
        ids_ = [sid for sid, _ in ranked]
        stories = self.repo.stories(ids_)
        titles = self.repo.title_snippets(ids_)
        out = []
        for sid, score in ranked:
            if sid in stories:
                item = story_summary(stories[sid], titles.get(sid))
                item["score"] = round(score, 4)
                out.append(item)
        return out

    def info(self) -> dict:
        ident = self.embedder.identity
        return {
            "version": __version__,
            "model": {"name": ident.name, "dim": ident.dim, "version": ident.version},
            "thresholds": self.thresholds.as_dict(),
            "window_days": self.settings.window_days,
            "counts": self.repo.counts(),
            "index": {"kind": self.index.kind, "size": len(self.index)},
            "writer_queue": self.writer.depth,
            "limits": {
                "max_text_chars": self.settings.max_text_chars,
                "max_title_chars": self.settings.max_title_chars,
                "max_batch_items": self.settings.max_batch_items,
                "max_body_bytes": self.settings.max_body_bytes,
                "max_page_size": self.settings.max_page_size,
            },
        }


T = TypeVar("T")


class _Background(Generic[T]):
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


def _warm(embedder: Embedder) -> None:
    """Every model process loaded (readiness waits for all) and the weights touched."""
    if isinstance(embedder, EmbedderProcess):
        embedder.wait_ready()
    embedder.embed(["warm-up: load the weights before saying ready"])


class _Locked:
    """The embedder behind a lock: the writer and search queries share one model."""

    def __init__(self, inner: Embedder, lock: threading.Lock, metrics: Metrics) -> None:
        self._inner = inner
        self._lock = lock
        self._metrics = metrics
        self.identity = inner.identity

    def embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            started = time.perf_counter()
            out = self._inner.embed(texts)
        self._metrics.observe_embedding(len(texts), time.perf_counter() - started)
        return out

    def embed_query(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return self._inner.embed_query(texts)
