"""One re-index run: the phases in order, timed, reported through a job handle.

Nothing readers see changes before `swap`; `--dry-run` stops after `map` and
reports what the swap would change. The swap itself runs on the writer thread
(queued like a correction), so online snippets keep being accepted while the
job works and are carried into the new generation at the swap.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from embeddings import Embedder
from engine.check import repair
from engine.errors import JobCancelled
from engine.generation import Current, ParamsFor
from engine.jobs import JobHandle
from engine.observer import Observer
from engine.reindex import phases
from engine.reindex.options import ReindexOptions, StopHook
from engine.reindex.swap import Install, swap
from index.base import VectorIndex
from storage.base import Repository

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
T = TypeVar("T")


@dataclass(frozen=True)
class Host:
    """What the job needs of the service around it, and nothing else."""

    repo: Repository
    current: Current  # the generation in force (its model is the default target)
    model: str  # the spec of the model in force
    params_for: ParamsFor  # a model's calibrated parameters with the settings' overrides
    load_model: Callable[[str], Embedder]  # another model, for a re-index that moves to it
    on_writer: Callable[[Callable[[], Any]], Future[Any]]  # run a call on the writer thread
    install: Install  # put the new generation in force (on the writer thread)
    save_index: Callable[[VectorIndex, str, int], None]  # the new index file, before the swap
    observer: Observer
    embed_chars: int = 2000
    embed_batch: int = 64


class ReindexFailed(RuntimeError):
    """A phase failed; the message names it and the error."""


class Reindex:
    """A callable job: `registry.run("reindex", options.as_dict(), Reindex(...))`."""

    def __init__(
        self,
        host: Host,
        options: ReindexOptions,
        *,
        target: Embedder | None = None,
        progress: Progress | None = None,
        hook: StopHook | None = None,
        text_evidence: bool = True,
        batch: int | None = None,
    ) -> None:
        self.host = host
        self.options = options
        self.target = target
        self.progress = progress
        self.hook = hook or StopHook()
        self.text_evidence = text_evidence
        self.batch = batch  # re-embedding batch (each one committed); default 4 writer batches

    def _target(self) -> Embedder:
        if self.target is not None:
            return self.target
        spec = self.options.model
        if spec is None or spec == self.host.model:
            return self.host.current.get().embedder
        return self.host.load_model(spec)

    def __call__(self, handle: JobHandle) -> dict[str, Any]:
        target = self._target()
        installed = False
        try:
            summary = self._run(handle, target)
            installed = not self.options.dry_run
            return summary
        finally:
            # A model this job started and the swap did not install (a dry run, a failure).
            close = getattr(target, "close", None)
            own = target is self.target or target is self.host.current.get().embedder
            if not installed and not own and close is not None:
                close()

    def _run(self, handle: JobHandle, target: Embedder) -> dict[str, Any]:
        host = self.host
        gen = host.current.get()
        own = target is gen.embedder
        stored = host.repo.get_meta("model")
        key = target.identity.key

        def report(phase: str, done: int, total: int) -> None:
            handle.check()  # a shutting-down service stops the job here
            handle.count(**{phase: {"done": done, "total": total}})
            if self.progress is not None:
                self.progress(phase, done, total)

        params = gen.params if own else host.params_for(target.identity)
        ctx = phases.Context(
            store=host.repo.generations,
            options=self.options,
            embed=target.embed,
            model=key,
            dim=target.identity.dim,
            params=params,
            knn=params.knn,
            embed_chars=host.embed_chars,
            batch=self.batch or 4 * host.embed_batch,
            model_changed=stored != key,
            hook=self.hook,
            progress=report,
        )
        before = host.repo.counts()
        seconds: dict[str, float] = {}

        def snapshot() -> None:
            ctx.changes_seq = host.repo.last_change()  # DELETE/PUT log up to here
            phases.snapshot(ctx)

        steps: list[tuple[str, Callable[[], Any]]] = [
            ("snapshot", snapshot),
            ("embed", lambda: phases.embed(ctx)),
            ("index", lambda: phases.build(ctx)),
            ("knn", lambda: phases.knn(ctx)),
            ("cluster", lambda: phases.cluster(ctx, self.text_evidence)),
            ("map", lambda: phases.plan(ctx)),
        ]
        for name, step in steps:
            self._phase(handle, name, step, seconds)
        assert ctx.stories is not None and ctx.reports is not None and ctx.scope is not None
        changes = phases.changes(ctx)
        summary: dict[str, Any] = {
            "dry_run": self.options.dry_run,
            "model": key,
            "model_changed": ctx.model_changed,
            "snapshot_snippet_id": ctx.upto,
            "window_days": None if ctx.cutoff is None else self.options.window_days,
            "snippets_in_scope": int(len(ctx.scope.ids)),
            "snippets_reembedded": ctx.reembedded,
            "stories_before": before["stories"],
            "stories_in_scope_before": int(len(np.unique(ctx.scope.story_ids))),
            "stories_in_scope_after": int(len(ctx.stories.ids)),
            "merged": ctx.stories.merged,
            "split": ctx.stories.split,
            "ids_kept": ctx.stories.kept,
            "unchanged": ctx.stories.unchanged,
            "new_ids": ctx.stories.fresh,
            "reports_before": int(len(np.unique(ctx.scope.report_ids))),
            "reports_after": int(len(ctx.reports.ids)),
            "moved_snippets": changes["moved_snippets"],
            "index": {
                "kind": ctx.index.kind if ctx.index is not None else None,
                "size": len(ctx.ids),
            },
            "rounds": list(ctx.clusters.rounds) if ctx.clusters else None,
        }
        if self.options.dry_run:
            summary["stories_after"] = (
                before["stories"]
                - summary["stories_in_scope_before"]
                + summary["stories_in_scope_after"]
            )
            summary["changes"] = changes
            summary["seconds"] = seconds
            return summary
        result: dict[str, Any] = {}
        assert ctx.index is not None
        index = ctx.index
        self._phase(handle, "compare", lambda: phases.compare(ctx), seconds)
        self._phase(handle, "save", lambda: host.save_index(index, key, ctx.changes_seq), seconds)

        def corrected(seq: int) -> list[int]:
            return host.repo.changes_after(seq)[0]

        self._phase(
            handle, "neighbours", lambda: phases.neighbours(ctx, host.on_writer, corrected), seconds
        )

        def do_swap() -> None:
            model = None if own else target
            out = host.on_writer(lambda: swap(ctx, host.repo, host.install, model))
            result["swap"] = out.result()

        self._phase(handle, "swap", do_swap, seconds)
        self._phase(handle, "cleanup", lambda: ctx.store.drop_reembedded(), seconds)

        def do_repair() -> None:  # what a crash or a race left, from the stored rows
            # asked off the writer: a whole-database repair on it would pause ingest
            # after every swap, to find nothing in the usual case
            needed = host.repo.needs_repair()
            result["repaired"] = (
                host.on_writer(lambda: repair(host.repo)).result() if needed else []
            )

        self._phase(handle, "repair", do_repair, seconds)
        after = host.repo.counts()
        summary["stories_after"] = after["stories"]
        done = result["swap"]
        summary["carried_over"] = done.carried_over
        summary["rewritten"] = {
            "stories": done.stories,
            "reports": done.reports,
            "snippets": done.snippets,
            "neighbour_cosines": done.neighbour_cosines + ctx.knn_written,
        }
        summary["repaired"] = result["repaired"]
        summary["seconds"] = seconds
        return summary

    def _phase(
        self, handle: JobHandle, name: str, step: Callable[[], Any], seconds: dict[str, float]
    ) -> None:
        handle.phase(name)
        started = time.perf_counter()
        try:
            with self.host.observer.phase(name):
                step()
        except (JobCancelled, ReindexFailed):
            raise
        except Exception as exc:  # an operator must learn where and what, not a bare key
            raise ReindexFailed(
                f"phase {name} failed: {type(exc).__name__}: {exc}; the service keeps the "
                "previous generation; run the re-index again, and report this message if "
                "it repeats"
            ) from exc
        seconds[name] = round(time.perf_counter() - started, 3)
        log.info("reindex phase %s took %.2fs", name, seconds[name])
        self.hook.after_phase(name)
