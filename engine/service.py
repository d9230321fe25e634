"""The service: storage, index, model and writer for one data folder; every entry point
(HTTP, CLI, evaluation) calls this."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from embeddings import Embedder
from engine import startup
from engine.config import EngineConfig
from engine.corrections import Corrections
from engine.cursors import KEY_NAME, new_key
from engine.errors import ModelMismatch, NotFound, Overloaded
from engine.generation import Current, Generation, LockedEmbedder, ParamsFor
from engine.index_files import IndexFiles
from engine.jobs import JobRegistry
from engine.locking import DataDirLock
from engine.observer import Observer, Quiet
from engine.pipeline import Pipeline
from engine.reader import StoryReader
from engine.records import Deleted, Incoming, Outcome
from engine.reindex.options import ReindexOptions
from engine.search import Search
from engine.startup import Background
from engine.views import SnippetView, StorySummary, StoryView
from engine.writer import Writer
from index.base import VectorIndex
from language.base import Detector
from storage import open_repository
from storage.base import Repository
from stories.params import Params

log = logging.getLogger(__name__)


class Service:
    def __init__(
        self,
        config: EngineConfig,
        embedder: Embedder,
        detector: Detector,
        params_for: ParamsFor,
        *,
        load_model: Callable[[str], Embedder] | None = None,
        owns_model: bool = False,
        adopt_model: bool = False,
        observer: Observer | None = None,
    ) -> None:
        """`params_for`: a model's parameters (its calibration with the settings'
        overrides). `load_model`: another model by spec, for a re-index that moves to it.
        `owns_model`: close `embedder` (a model process) with the service. `adopt_model`:
        open data embedded by another model (for `storyline reindex --model`, which
        re-embeds it) instead of refusing with ModelMismatch."""
        self.config = config
        self.detector = detector
        self.params_for = params_for
        self.load_model = load_model
        self.adopt_model = adopt_model
        self.observer: Observer = observer or Quiet()
        self.started_at = time.time()
        self.ready = False
        self._model = embedder
        self._owns_model = owns_model
        self._embed_lock = threading.Lock()  # the writer and search share one model
        try:
            self._start()
        except BaseException:
            self._close_model()  # it would otherwise live as long as this process
            raise

    # -- start-up ------------------------------------------------------------
    def _start(self) -> None:
        config = self.config
        # The model's weights and the database check (and index load) overlap: they are
        # most of start-up; SQLite and numpy release the GIL, and the model usually loads
        # in a process of its own.
        warm = Background(lambda: _warm(self._model), "model-weights")
        identity = self._model.identity
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = DataDirLock(config.data_dir)
        self.repo: Repository = open_repository(config.db_path, identity.dim, check=False)
        integrity = startup.take("database", config.db_path) or Background(
            lambda: self.repo.check_integrity(trust_clean_close=True), "database-check"
        )
        try:
            index = self._open_storage()
        except sqlite3.DatabaseError:  # damage met before the check finished: say it clearly
            integrity.result()
            # the check was skipped (the file was trusted) or passed: no mark may skip it
            # again, and it runs now, so that the error names the file and what to do
            self.repo.distrust()
            self.repo.check_integrity()
            raise
        log.info("database %s: %s", config.db_path, integrity.result())
        self.repo.hold_marks()
        warm.result()
        self.current = Current(self._generation(self._model, self.params_for(identity), index))
        self.reader = StoryReader(self.repo)
        self.search_index = Search(self.repo, self.current)
        self.pipeline = Pipeline(
            self.repo.writer,
            self.current,
            self.detector,
            embed_chars=config.embed_chars,
            embed_batch=config.embed_batch,
        )
        self.corrections = Corrections(
            self.repo, self.current, self.pipeline, time.time, self.index_files.changes_applied
        )
        self.writer = Writer(
            self.pipeline.process,
            on_failure=self._recover,
            after_batch=self._maybe_snapshot,
            max_queue=config.writer_queue_size,
            batch_size=config.embed_batch,
            linger_ms=config.writer_linger_ms,
            ahead=self._embed_ahead,
        )
        self.writer.start()
        self.ready = True

    def _open_storage(self) -> VectorIndex:
        self._check_model()
        self._ensure_keys()
        self.jobs = JobRegistry(self.repo.jobs)
        self.jobs.recover()
        identity = self._model.identity
        self.index_files = IndexFiles(
            self.repo, self.config.index_path, self.config.index_snapshot_every
        )
        if self.model_stale:  # stored vectors belong to another model: the re-index builds it
            return self.index_files.empty(identity.dim)
        return self.index_files.open(identity.key, identity.dim)

    def _ensure_keys(self) -> None:
        """The key that signs pagination cursors, made once per data folder."""
        if self.repo.get_meta(KEY_NAME) is None:
            self.repo.writer.set_meta(KEY_NAME, new_key())

    def _check_model(self) -> None:
        key = self._model.identity.key
        stored = self.repo.get_meta("model")
        self.model_stale = stored is not None and stored != key and self.adopt_model
        if stored is None:
            self.repo.writer.set_meta("model", key)
        elif self.model_stale:
            log.warning("data embedded with %s, model is %s: a re-index must follow", stored, key)
        elif stored != key:
            raise ModelMismatch(
                f"the data in {self.config.data_dir} was embedded with {stored}, but the "
                f"configured model is {key}; set STORYLINE_MODEL to the stored model, or use "
                "another STORYLINE_DATA_DIR"
            )

    def _generation(self, model: Embedder, params: Params, index: VectorIndex) -> Generation:
        return Generation(LockedEmbedder(model, self._embed_lock, self.observer), params, index)

    # -- the generation in force ---------------------------------------------
    @property
    def embedder(self) -> Embedder:
        """The model in force (not behind the service's lock)."""
        return self._model

    @property
    def params(self) -> Params:
        return self.current.get().params

    @property
    def index(self) -> VectorIndex:
        return self.current.get().index

    def install(self, index: VectorIndex, embedder: Embedder | None, params: Params) -> None:
        """The re-index swap, on the writer thread: a new index (and model), caches reset."""
        model = embedder or self._model
        if embedder is not None and embedder is not self._model:
            self._close_model()  # the old model's process: nothing calls it now
            self._model, self._owns_model = embedder, True
            self.repo.set_dim(embedder.identity.dim)
        self.current.install(self._generation(model, params, index))
        self.model_stale = False
        self.index_files.changes_seq = self.repo.last_change()
        self.pipeline.rollback()

    def _close_model(self) -> None:
        close = getattr(self._model, "close", None)
        if self._owns_model and close is not None:
            close()

    def _recover(self) -> None:
        """After a failed batch: drop writer caches, let the index catch up with storage."""
        self.pipeline.rollback()
        self.index_files.top_up(self.index)

    def _maybe_snapshot(self) -> None:
        self.index_files.fold(self.index)
        self.index_files.maybe_snapshot(self.index, self._model.identity.key)

    def snapshot_index(self) -> None:
        self.index_files.snapshot(self.index, self._model.identity.key)

    def save_index_ahead(self, index: VectorIndex, model: str, changes: int) -> None:
        """The re-index's new index, written by the job before the swap: the writer never
        waits for a file of every vector. Until the swap it is only a cache that still
        fits (same model: same vectors; another model: it does not fit the stored model,
        so a restart in between rebuilds from the database). A periodic snapshot of the
        old index still being written finishes first; one the writer starts after it
        could still land later: for the same model the file is as good, for another a
        restart rebuilds the index from the database."""
        self.index_files.wait()
        self.index_files.snapshot(index, model, changes)

    def close(self) -> None:
        self.ready = False
        self.jobs.shutdown()
        self.writer.stop()
        try:
            self.index_files.wait()
            if not self.index_files.unchanged(self.index):
                self.snapshot_index()
        finally:
            self.repo.close()
            self._lock.release()
            self._close_model()

    # -- writes --------------------------------------------------------------
    def submit(self, items: list[Incoming]) -> Future[list[Outcome]]:
        """Queue snippets for the writer; the future resolves after they are committed."""
        try:
            future = self.writer.submit(items)
        except Overloaded:
            self.observer.count_shed(len(items))
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
            self.observer.count_outcomes([o.status for o in future.result()])

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

    def _count_correction(self, future: Future[Any], action: str) -> None:
        if not future.cancelled() and future.exception() is None:
            self.observer.count_correction(action)

    # -- jobs ----------------------------------------------------------------
    def start_reindex(self, options: ReindexOptions) -> dict[str, Any]:
        """Start a re-index in the background (JobConflict while one runs)."""
        return self.jobs.start("reindex", options.as_dict(), self.reindex_job(options))

    def reindex_job(self, options: ReindexOptions, **kwargs: Any) -> Any:
        """The re-index as a job callable, given only what it needs of this service."""
        from engine.reindex.runner import Host, Reindex

        host = Host(
            repo=self.repo,
            current=self.current,
            model=self.config.model,
            params_for=self.params_for,
            load_model=self._load_model,
            on_writer=self.writer.submit_call,
            install=self.install,
            save_index=self.save_index_ahead,
            observer=self.observer,
            embed_chars=self.config.embed_chars,
            embed_batch=self.config.embed_batch,
        )
        return Reindex(host, options, **kwargs)

    def _load_model(self, spec: str) -> Embedder:
        if self.load_model is None:
            raise ValueError(f"this service cannot load another model ({spec})")
        return self.load_model(spec)

    def get_job(self, job_id: int) -> dict[str, Any]:
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFound(f"job {job_id} not found")
        return job

    # -- reads ---------------------------------------------------------------
    def get_snippet(self, snippet_id: int) -> SnippetView:
        return self.reader.get_snippet(snippet_id)

    def list_stories(
        self,
        limit: int,
        cursor: str | None = None,
        lang: str | None = None,
        since: float | None = None,
    ) -> tuple[list[StorySummary], str | None]:
        return self.reader.list_stories(limit, cursor, lang, since)

    def get_story(
        self, story_id: int, lang: str | None = None, offset: int = 0, limit: int | None = None
    ) -> StoryView:
        return self.reader.get_story(story_id, lang, offset, limit)

    def story_languages(self, story_id: int) -> dict[str, int]:
        return self.reader.story_languages(story_id)

    def story_sources(self, story_ids: list[int]) -> dict[int, list[dict[str, str | int]]]:
        return self.reader.story_sources(story_ids)

    def search(self, query: str, limit: int, min_score: float = -1.0) -> list[StorySummary]:
        return self.search_index.stories(query, limit, min_score)

    def gauges(self) -> dict[str, float]:
        counts = self.repo.counts()
        return {
            "writer_queue_depth": self.writer.depth,
            "index_size": len(self.index),
            "stories": counts["stories"],
            "snippets": counts["snippets"],
        }

    def info(self) -> dict[str, Any]:
        ident = self._model.identity
        params = self.params
        return {
            "model": {"name": ident.name, "dim": ident.dim, "version": ident.version},
            "thresholds": params.as_dict(),
            "window_days": params.window_seconds / 86400.0,
            "counts": self.repo.counts(),
            "index": {"kind": self.index.kind, "size": len(self.index)},
            "writer_queue": self.writer.depth,
        }


def _warm(embedder: Embedder) -> None:
    """Every model process loaded (readiness waits for all) and the weights touched."""
    wait_ready = getattr(embedder, "wait_ready", None)
    if wait_ready is not None:
        wait_ready()
    embedder.embed(["warm-up: load the weights before saying ready"])
