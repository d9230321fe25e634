"""The re-index swap when corrections race it, on the fake model: one case built by hand
so the defect's exact shape is met every time (the randomised runs meet it by chance)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from engine.check import check
from engine.config import EngineConfig
from engine.generation import params_for
from engine.records import Incoming
from engine.reindex import ReindexOptions, StopHook, phases
from engine.reindex.swap import swap
from engine.service import Service
from stories.recluster import Clusters
from tests.fakes import FakeDetector, FakeEmbedder

T0 = 1718366400.0
WORDS = "harbour strike dockers wages port Rotterdam cranes union ships cargo"


def incoming(text: str) -> Incoming:
    return Incoming(None, text, "en", None, None, T0, None, T0)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    logging.getLogger("embeddings.calibration").setLevel(logging.ERROR)
    svc = Service(
        EngineConfig(data_dir=tmp_path / "d", writer_linger_ms=1.0),
        FakeEmbedder(),
        FakeDetector(),
        partial(params_for, overrides={"report": 0.9, "story": 0.4}),
    )
    yield svc
    svc.close()


def context(service: Service) -> phases.Context:
    gen = service.current.get()
    return phases.Context(
        store=service.repo.generations,
        options=ReindexOptions(),
        embed=gen.embedder.embed,
        model=gen.embedder.identity.key,
        dim=gen.embedder.identity.dim,
        params=gen.params,
        knn=gen.params.knn,
        embed_chars=2000,
        batch=64,
        model_changed=False,
        hook=StopHook(),
        progress=lambda *_: None,
    )


def test_a_report_split_by_the_job_whose_keeper_was_corrected_leaves_no_ghost(
    service: Service,
) -> None:
    """The re-cluster splits report R = {S, T}: S's part keeps R's id, T's part gets a new
    one. S is corrected (PUT, another text) before the swap, so S leaves the window and
    R online holds T alone. The swap moved T to the new id and left R's row counting one
    snippet it no longer had (`check` failed; a second re-index did not repair it)."""
    s, t, u = service.ingest(
        [
            incoming(f"{WORDS} first wording"),
            incoming(f"{WORDS} first wording again"),
            incoming("Parliament votes on a pension reform bill after a long debate"),
        ]
    )
    assert s.report_id == t.report_id != u.report_id
    ctx = context(service)
    ctx.changes_seq = service.repo.last_change()
    for step in (phases.snapshot, phases.embed, phases.build, phases.knn, phases.cluster):
        step(ctx)  # type: ignore[operator]
    assert ctx.scope is not None and ctx.clusters is not None
    ids = ctx.scope.ids.tolist()
    reports = ctx.clusters.reports.copy()
    reports[ids.index(t.id)] = reports.max() + 1  # the job splits T off; S's part comes first
    ctx.clusters = Clusters(reports, ctx.clusters.stories, ctx.clusters.rounds)
    phases.plan(ctx)
    assert ctx.reports is not None
    assert ctx.reports.ids[reports[ids.index(s.id)]] == s.report_id  # S's part keeps R

    corrected = service.replace_snippet(s.id, incoming("Tea prices rise in Kenya after drought"))
    assert corrected.result().report_id != s.report_id  # S left R online
    service.writer.submit_call(lambda: swap(ctx, service.repo, service.install)).result()

    report = check(service.config.db_path, service.config.index_path)
    assert report.ok, report.problems
    stored = service.get_snippet(t.id)
    assert service.repo.conn.execute(
        "SELECT snippet_count FROM reports WHERE id = ?", (stored["report_id"],)
    ).fetchone() == (1,)
    left = service.repo.conn.execute(
        "SELECT COUNT(*) FROM reports r WHERE NOT EXISTS "
        "(SELECT 1 FROM snippets s WHERE s.report_id = r.id)"
    ).fetchone()[0]
    assert left == 0
    assert np.isin(ctx.scope.ids, [s.id, t.id]).sum() == 2  # the case really had both
