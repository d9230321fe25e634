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
from typing import TYPE_CHECKING, Any

import numpy as np

from app.jobs import JobHandle
from app.params import assignment_params, thresholds_in_force
from app.reindex import phases
from app.reindex.options import ReindexOptions, StopHook
from app.reindex.swap import swap
from embeddings import Embedder, load_embedder
from embeddings.process import EmbedderProcess
from storage.reindex import GenerationStore
from stories.assign import Params

if TYPE_CHECKING:
    from app.service import Service

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


def params_for(service: Service, embedder: Embedder) -> Params:
    """The target model's calibrated thresholds with the settings' overrides, as online."""
    s = service.settings
    if embedder is service.embedder:
        return service.pipeline.params
    return assignment_params(thresholds_in_force(embedder.identity, s), s)


class Reindex:
    """A callable job: `registry.run("reindex", options.as_dict(), Reindex(...))`."""

    def __init__(
        self,
        service: Service,
        options: ReindexOptions,
        *,
        target: Embedder | None = None,
        progress: Progress | None = None,
        hook: StopHook | None = None,
        text_evidence: bool = True,
        batch: int | None = None,
    ) -> None:
        self.service = service
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
        if spec is None or spec == self.service.settings.model:
            return self.service.embedder
        s = self.service.settings
        if s.model_process:  # as the service runs its own model: see embeddings/process.py
            workers, threads = s.model_layout()
            return EmbedderProcess(spec, threads=threads, device=s.device, workers=workers)
        return load_embedder(spec, threads=s.embed_threads, device=s.device)

    def __call__(self, handle: JobHandle) -> dict[str, Any]:
        target = self._target()
        try:
            return self._run(handle, target)
        finally:
            # A model this job started and the swap did not install (a dry run, a failure).
            if (
                isinstance(target, EmbedderProcess)
                and target is not self.target
                and target is not self.service.embedder
            ):
                target.close()

    def _run(self, handle: JobHandle, target: Embedder) -> dict[str, Any]:
        service = self.service
        own = target is service.embedder
        stored = service.repo.get_meta("model")
        key = target.identity.key

        def report(phase: str, done: int, total: int) -> None:
            handle.check()  # a shutting-down service stops the job here
            handle.count(**{phase: {"done": done, "total": total}})
            if self.progress is not None:
                self.progress(phase, done, total)

        ctx = phases.Context(
            store=GenerationStore(service.repo),
            options=self.options,
            embed=service.pipeline.embedder.embed if own else target.embed,
            model=key,
            dim=target.identity.dim,
            params=params_for(service, target),
            knn=service.settings.knn,
            embed_chars=service.settings.embed_chars,
            batch=self.batch or 4 * service.settings.embed_batch_size,
            model_changed=stored != key,
            hook=self.hook,
            progress=report,
        )
        before = service.repo.counts()
        seconds: dict[str, float] = {}

        def snapshot() -> None:
            changes = getattr(service, "changes", None)  # DELETE/PUT log, when present
            ctx.changes_seq = changes.last_change() if changes is not None else 0
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

        def do_swap() -> None:
            out = service.writer.submit_call(lambda: swap(ctx, service, None if own else target))
            result["swap"] = out.result()

        self._phase(handle, "swap", do_swap, seconds)
        self._phase(handle, "cleanup", lambda: ctx.store.drop_reembedded(), seconds)
        after = service.repo.counts()
        summary["stories_after"] = after["stories"]
        summary["carried_over"] = result["swap"].carried_over
        summary["seconds"] = seconds
        return summary

    def _phase(
        self, handle: JobHandle, name: str, step: Callable[[], Any], seconds: dict[str, float]
    ) -> None:
        handle.phase(name)
        started = time.perf_counter()
        with self.service.metrics.phase(name):
            step()
        seconds[name] = round(time.perf_counter() - started, 3)
        log.info("reindex phase %s took %.2fs", name, seconds[name])
        self.hook.after_phase(name)
