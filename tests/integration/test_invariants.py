"""The service's own invariants after documented calls racing each other: deletions and
corrections during a re-index, deletions after merges, and `check --repair`.

Each test names the defect it guards (they once left `storyline check` failing after
nothing but documented calls). The long randomised run is tests/e2e/test_stateful.py.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.cli import main
from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder
from engine.check import check, repair
from engine.errors import Gone
from engine.records import Incoming
from engine.reindex import ReindexOptions
from engine.reindex import phases as reindex_phases
from engine.service import Service
from evaluation.datasets import seed_story, tatoeba
from tests.helpers import (
    PauseHook,
    assert_consistent,
    consistency,
    ingest_items,
    run_reindex,
    split_online,
)


def clean(service: Service) -> None:
    report = check(service.config.db_path, service.config.index_path)
    assert report.ok, report.problems
    consistency(service)


def corpus(service: Service, pairs: int = 60) -> dict[str, int]:
    """The seed story and some translation pairs: reports the re-cluster redraws."""
    items = seed_story().items + tatoeba("deu").subset(pairs).items
    return ingest_items(service, items)


def edited(service: Service, sid: int, text: str) -> Incoming:
    row = service.get_snippet(sid)
    return Incoming(None, text, row["lang"], None, None, None, None, 0.0)


def test_deletions_while_a_reindex_runs_leave_it_to_succeed(service: Service) -> None:
    """Defect 1: snippets deleted in the first second of a job made it fail in phase
    `cluster` with the bare text "2403" (a KeyError for a deleted id)."""
    ids = corpus(service)
    hook = PauseHook("knn")  # after the snapshot and the k-NN graph, before clustering
    opts = ReindexOptions()
    job = service.jobs.start("reindex", opts.as_dict(), service.reindex_job(opts, hook=hook))
    assert hook.reached.wait(60)
    gone = sorted(ids.values())[::7][:20]
    for sid in gone:
        service.delete_snippet(sid).result()
    hook.go.set()
    service.jobs.wait(120)
    state = service.get_job(job["id"])
    assert state["state"] == "succeeded", state["error"]
    for sid in gone:
        with pytest.raises(Gone):
            service.get_snippet(sid)
    clean(service)
    assert_consistent(service)


def test_corrections_while_a_reindex_runs_leave_no_ghost_reports(service: Service) -> None:
    """Defect 2: PUTs during a job left reports whose count said 1 but which held no
    snippet (a cluster of corrected snippets alone kept the report's id while its other
    member moved to a fresh one), and a second re-index did not repair them."""
    ids = corpus(service)
    hook = PauseHook("cluster")
    opts = ReindexOptions()
    job = service.jobs.start("reindex", opts.as_dict(), service.reindex_job(opts, hook=hook))
    assert hook.reached.wait(60)
    texts = [service.get_snippet(sid)["text"] for sid in sorted(ids.values())]
    # 16 corrections: each snippet takes another's text, so it moves to other reports
    targets = sorted(ids.values())[1::5][:16]
    for n, sid in enumerate(targets):
        service.replace_snippet(sid, edited(service, sid, texts[-1 - n])).result()
    hook.go.set()
    service.jobs.wait(120)
    assert service.get_job(job["id"])["state"] == "succeeded"
    clean(service)
    run_reindex(service)  # and a second job keeps it so
    clean(service)


def test_a_failed_phase_names_itself(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus(service, pairs=5)

    def broken(*args: object, **kw: object) -> None:
        raise KeyError(2403)

    monkeypatch.setattr(reindex_phases, "cluster", broken)
    with pytest.raises(RuntimeError):
        run_reindex(service)
    job = service.get_job(max(j for j in range(1, 10) if service.jobs.get(j)))
    assert job["state"] == "failed"
    assert "phase cluster failed: KeyError: 2403" in job["error"]
    assert "run the re-index again" in job["error"]
    clean(service)  # the old generation stands


def test_deleting_the_snippets_of_merged_stories_leaves_titles_that_exist(
    tmp_path: Path, embedder: Embedder
) -> None:
    """Defect 3: a story merged into another kept its title snippet; deleting that
    snippet left `check` reporting stories whose title snippet does not exist, and the
    merged id's view had an empty title."""
    settings, ids = split_online(tmp_path, embedder)  # every report its own story
    service = build_service(settings, embedder=embedder)
    try:
        job = run_reindex(service)
        assert job["summary"]["merged"] > 0
        db = sqlite3.connect(service.config.db_path)
        retired = db.execute(
            "SELECT id, merged_into, title_snippet_id FROM stories WHERE merged_into IS NOT NULL"
        ).fetchall()
        db.close()
        assert retired and all(title is None for _, _, title in retired)
        for sid in sorted(ids.values())[::2]:  # the old title snippets among them
            service.delete_snippet(sid).result()
        clean(service)
        for old, _, _ in retired:
            view = service.get_story(old)
            if view["merged_into"] is None:
                continue  # the survivor itself emptied: nothing to compare
            assert view["title"] == service.get_story(view["merged_into"])["title"]
    finally:
        service.close()


def test_repair_puts_right_what_the_rows_settle(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(data_dir=tmp_path / "d", writer_linger_ms=1.0)
    service = build_service(settings, embedder=embedder)
    try:
        corpus(service, pairs=10)
    finally:
        service.close()
    db = sqlite3.connect(settings.db_path)
    with db:  # damage of the kinds the defects left: counts, titles, an empty report
        db.execute("UPDATE reports SET snippet_count = snippet_count + 1 WHERE id = 1")
        db.execute(
            "UPDATE stories SET snippet_count = 99, title_snippet_id = 987654 "
            "WHERE id IN (SELECT MIN(id) FROM stories)"
        )
        db.execute(
            "INSERT INTO reports (id, story_id, first_seen, snippet_count) VALUES (999, 1, 0, 1)"
        )
    db.close()
    assert not check(settings.db_path, settings.index_path).ok
    code = main(["check", "--repair", "--data-dir", str(settings.data_dir)])
    assert code == 0
    assert check(settings.db_path, settings.index_path).ok
    service = build_service(settings, embedder=embedder)
    try:
        consistency(service)
        assert repair(service.repo) == []  # nothing left to do, and it says so
    finally:
        service.close()


def test_repair_beside_a_running_service_is_refused(
    service: Service, capsys: pytest.CaptureFixture
) -> None:
    code = main(["check", "--repair", "--data-dir", str(service.config.data_dir)])
    assert code == 2
    assert "POST /v1/reindex" in capsys.readouterr().err
