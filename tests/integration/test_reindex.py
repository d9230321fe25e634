"""Re-index end to end on the real model, FAISS and SQLite: quality against online
assignment, stable ids, redirects, late arrivals, kills in every phase, model change.
(Over HTTP and the CLI: tests/integration/test_reindex_http.py; the long Tatoeba run:
tests/e2e/test_reindex_long.py.)"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder
from embeddings.base import ModelIdentity
from engine.errors import ModelMismatch
from engine.records import Incoming
from engine.reindex import PHASES, Killed, ReindexOptions, StopHook
from engine.service import Service
from evaluation.datasets import Dataset, Item, seed_story
from stories.text import model_input
from tests.helpers import (
    LiveServer,
    PauseHook,
    assert_consistent,
    assignments,
    ingest_items,
    item_incoming,
    run_reindex,
    scores,
    split_online,
)

DAY = 86400.0


# -- helpers (the shared ones: tests/helpers.py) -----------------------------------
def crash(service: Service) -> None:
    """Stop like a killed process: no index snapshot, no job bookkeeping."""
    service.writer.stop()
    service.repo.close()
    service._lock.release()


def peripheral_first(data: Dataset, embedder: Embedder) -> list[Item]:
    """A bad arrival order: the snippets farthest from their story's centre come first."""
    vecs = embedder.embed([model_input(it.title, it.text, 2000) for it in data.items])
    centre: dict[str, np.ndarray] = {}
    for it, v in zip(data.items, vecs, strict=True):
        centre[it.story] = centre.get(it.story, 0) + v
    dist = [float(v @ centre[it.story]) for it, v in zip(data.items, vecs, strict=True)]
    return [it for _, it in sorted(zip(dist, data.items, strict=True), key=lambda p: p[0])]


class PermutedEmbedder:
    """Another 'model': the same model with its dimensions permuted (unit length and all
    cosines kept), under another identity, so a re-embed is visible in stored vectors."""

    def __init__(self, inner: Embedder, version: str = "perm-1") -> None:
        self.inner = inner
        self.perm = np.random.default_rng(0).permutation(inner.identity.dim)
        self.identity = ModelIdentity(inner.identity.name, inner.identity.dim, version)

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.ascontiguousarray(self.inner.embed(texts)[:, self.perm])

    def embed_query(self, texts: list[str]) -> np.ndarray:
        return self.embed(texts)


# -- quality ---------------------------------------------------------------------
def test_reindex_repairs_a_bad_arrival_order(service: Service, embedder: Embedder) -> None:
    data = seed_story()
    ids = ingest_items(service, peripheral_first(data, embedder), batch=1)
    story_before, report_before = scores(service, data, ids)
    job = run_reindex(service)
    assert job["state"] == "succeeded", job["error"]
    story_after, report_after = scores(service, data, ids)
    # the re-index repairs: it joins, moves only whole reports, and lowers no score
    # (stories/repair.py); a bad order's split reports may join
    assert story_after["bcubed"]["f1"] >= story_before["bcubed"]["f1"]
    assert story_after["groups"] <= story_before["groups"]
    assert report_after["groups"] <= report_before["groups"]
    assert report_after["bcubed"]["recall"] >= report_before["bcubed"]["recall"]
    assert report_after["bcubed"]["f1"] >= report_before["bcubed"]["f1"] - 0.01
    assert_consistent(service)


# -- ids -------------------------------------------------------------------------
def test_second_reindex_changes_no_id(service: Service) -> None:
    ingest_items(service, seed_story().items)
    assert run_reindex(service)["state"] == "succeeded"
    first = assignments(service)
    job = run_reindex(service)
    s = job["summary"]
    assert assignments(service) == first
    assert (s["merged"], s["split"], s["new_ids"], s["moved_snippets"]) == (0, 0, 0, 0)
    assert s["unchanged"] == s["ids_kept"] == s["stories_in_scope_after"]
    assert_consistent(service)


def test_merged_ids_redirect(tmp_path: Path, embedder: Embedder) -> None:
    settings, ids = split_online(tmp_path, embedder)
    service = build_service(settings, embedder=embedder)
    try:
        before = assignments(service)
        old_stories = {s for s, _ in before.values()}
        job = run_reindex(service)
        assert job["state"] == "succeeded", job["error"]
        s = job["summary"]
        assert s["merged"] > 0 and s["stories_after"] < s["stories_before"]
        assert_consistent(service)
        live = {
            r[0]
            for r in service.repo.conn.execute("SELECT id FROM stories WHERE merged_into IS NULL")
        }
        assert live <= old_stories  # merges keep an old id; none had to be made up
        with LiveServer(service) as server, httpx.Client(base_url=server.url) as client:
            listed = {st["id"] for st in client.get("/v1/stories?limit=200").json()["stories"]}
            assert listed == live
            for old in old_stories - live:
                got = client.get(f"/v1/stories/{old}")
                assert got.status_code == 200
                target = got.json()["merged_into"]
                assert target in live
                survivor = client.get(f"/v1/stories/{target}").json()
                assert survivor["merged_into"] is None
                assert survivor["snippet_count"] > 0
    finally:
        service.close()


def test_dry_run_changes_nothing(tmp_path: Path, embedder: Embedder) -> None:
    settings, _ = split_online(tmp_path, embedder)
    service = build_service(settings, embedder=embedder)
    try:
        before = assignments(service)
        stories_before = service.repo.counts()
        job = run_reindex(service, ReindexOptions(dry_run=True))
        assert job["state"] == "succeeded"
        s = job["summary"]
        assert s["dry_run"] and s["merged"] > 0 and s["changes"]["merges"]
        assert s["moved_snippets"] == s["changes"]["moved_snippets"] > 0
        assert s["stories_after"] < s["stories_before"]
        assert assignments(service) == before
        assert service.repo.counts() == stories_before
        assert service.repo.get_meta("generation") is None
    finally:
        service.close()


def test_window_leaves_older_stories_alone(service: Service) -> None:
    data = seed_story()
    old, new = data.items[:10], data.items[10:]
    for it in old:
        service.ingest([item_incoming(it, it.published_at - 30 * DAY)])
    ingest_items(service, new)
    before = assignments(service)
    job = run_reindex(service, ReindexOptions(window_days=3))
    assert job["state"] == "succeeded"
    n_old = len(old)
    assert job["summary"]["snippets_in_scope"] == len(before) - n_old
    after = assignments(service)
    old_ids = sorted(before)[:n_old]
    assert {i: after[i] for i in old_ids} == {i: before[i] for i in old_ids}
    assert_consistent(service)


# -- online traffic during the job -------------------------------------------------
def test_snippets_posted_during_the_job_are_carried_over(
    service: Service, embedder: Embedder
) -> None:
    data = seed_story()
    first, late = data.items[:15], data.items[15:]
    ingest_items(service, first)
    hook = PauseHook("cluster")
    opts = ReindexOptions()
    job = service.jobs.start("reindex", opts.as_dict(), service.reindex_job(opts, hook=hook))
    assert hook.reached.wait(60)
    with LiveServer(service) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        posted = []
        for it in late:
            r = client.post(
                "/v1/snippets",
                json={"text": it.text, "title": it.title, "lang": it.lang, "external_id": it.key},
            )
            assert r.status_code == 201, r.text
            posted.append(r.json()["id"])
        # a repeat of one sent during the job answers `exists`, not a second row
        again = client.post(
            "/v1/snippets",
            json={"text": late[0].text, "lang": late[0].lang, "external_id": late[0].key},
        )
        assert again.json()["status"] == "exists"
        hook.go.set()
        service.jobs.wait(60)
        state = client.get(f"/v1/jobs/{job['id']}").json()
        assert state["state"] == "succeeded", state
        assert state["summary"]["carried_over"] == len(late)
        rows = assignments(service)
        assert len(rows) == len(data.items)  # none lost, none duplicated
        for sid in posted:
            snippet = client.get(f"/v1/snippets/{sid}").json()
            story = client.get(f"/v1/stories/{snippet['story_id']}").json()
            assert story["merged_into"] is None
            members = {v["id"] for r in story["reports"] for v in [r["lead"], *r["variants"]]}
            assert sid in members
    assert_consistent(service)


# -- crashes -------------------------------------------------------------------------
@pytest.mark.parametrize("phase", PHASES)
def test_killed_in_each_phase_leaves_a_consistent_service(
    phase: str, settings: Settings, embedder: Embedder
) -> None:
    data = seed_story()
    service = build_service(settings, embedder=embedder)
    ingest_items(service, data.items[::-1])
    before = assignments(service)
    with pytest.raises(Killed):
        run_reindex(service, hook=StopHook(phase=phase))
    job_id = service.repo.conn.execute("SELECT MAX(id) FROM jobs").fetchone()[0]
    crash(service)

    service = build_service(settings, embedder=embedder)  # the restart
    try:
        job = service.get_job(job_id)
        assert job["state"] == "failed" and "interrupted" in job["error"]
        assert_consistent(service)
        after = assignments(service)
        assert set(after) == set(before)
        if PHASES.index(phase) < PHASES.index("swap"):
            assert after == before  # nothing visible changed before the swap
        again = run_reindex(service)
        assert again["state"] == "succeeded"
        assert_consistent(service)
        assert service.get_story(next(iter(assignments(service).values()))[0])["reports"]
    finally:
        service.close()


def test_model_change_reembeds_resumes_and_updates_identity(
    settings: Settings, embedder: Embedder
) -> None:
    data = seed_story()
    service = build_service(settings, embedder=embedder)
    ingest_items(service, data.items)
    target = PermutedEmbedder(embedder)
    n = len(data.items)
    with pytest.raises(Killed):  # dies after the first committed batch of 10
        run_reindex(service, target=target, batch=10, hook=StopHook(batches=1))
    crash(service)

    service = build_service(settings, embedder=embedder)  # still the old model's data
    try:
        assert service.repo.get_meta("model") == embedder.identity.key
        assert_consistent(service)
        job = run_reindex(service, target=target, batch=10)
        assert job["state"] == "succeeded", job["error"]
        s = job["summary"]
        assert s["model_changed"] and s["snippets_reembedded"] == n - 10  # resumed
        key = target.identity.key
        assert service.repo.get_meta("model") == key
        assert service.embedder is target
        assert_consistent(service)
        first = min(assignments(service))
        text = service.repo.snippets([first])[first]
        stored = service.repo.vectors([first])[first]
        fresh = target.embed([model_input(text.title, text.text, settings.embed_chars)])[0]
        assert np.allclose(stored, fresh, atol=1e-5)
        assert service.repo.conn.execute("SELECT COUNT(*) FROM reembedded").fetchone()[0] == 0
        # the new model, the new index and the new stored vectors agree: a near copy of a
        # stored snippet is recognised as one
        original = data.items[0]
        (out,) = service.ingest(
            [
                Incoming(
                    title=original.title,
                    text=original.text + " (updated)",
                    lang=original.lang,
                    source=None,
                    url=None,
                    published_at=original.published_at,
                    external_id=None,
                    received_at=time.time(),
                )
            ]
        )
        assert out.status == "duplicate"
    finally:
        service.close()
    build_service(
        settings, embedder=PermutedEmbedder(embedder)
    ).close()  # restarts on the new model
    with pytest.raises(ModelMismatch):
        build_service(settings, embedder=embedder)
