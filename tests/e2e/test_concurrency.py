"""Concurrency: 16 clients (storyline_client) POST overlapping snippets (the same
external_id from several at once) over real HTTP, through the one writer. No duplicates, no
lost writes, no deadlock, every answer for an external_id names the same snippet and
(through merges) its story, and the grouping equals a sequential run of the same input in
the order the writer committed it."""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder
from engine.check import check
from engine.records import Incoming
from storyline_client import Client, ItemError, Snippet
from tests.helpers import LiveServer, load_jsonl

CLIENTS = 16
BASE_TIME = 1718366400  # 2024-06-14T12:00:00Z


def corpus() -> list[dict]:
    """~75 snippets: the seed story, unrelated news, rewrites and exact copies of both."""
    rows = load_jsonl("seed_story.jsonl") + load_jsonl("unrelated_news.jsonl")
    out = []
    for i, r in enumerate(rows):
        base = {k: r[k] for k in ("title", "text", "lang") if r.get(k)}
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(BASE_TIME + 600 * i))
        out.append({**base, "external_id": f"x{i}", "published_at": stamp})
        out.append({**base, "external_id": f"copy{i}", "published_at": stamp})  # exact copy
        if i % 2 == 0:
            text = base.get("text", "") + " Updated with more details later in the day."
            out.append({**base, "text": text, "external_id": f"upd{i}", "published_at": stamp})
    return out


def client_plan(k: int, items: list[dict]) -> list[list[dict]]:
    """Each client sends an overlapping half of the items, shuffled, as singles and batches."""
    rng = random.Random(k)
    mine = [it for i, it in enumerate(items) if (i + k) % 2 == 0 or rng.random() < 0.25]
    rng.shuffle(mine)
    plan, i = [], 0
    while i < len(mine):
        size = rng.choice([1, 1, 2, 5])
        plan.append(mine[i : i + size])
        i += size
    return plan


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # a longer linger so that concurrent requests really share writer batches
    return Settings(data_dir=tmp_path / "data", writer_linger_ms=5.0, embed_batch_size=16)


def _partition(labels: dict[str, int]) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = defaultdict(set)
    for ext, label in labels.items():
        groups[label].add(ext)
    return {frozenset(g) for g in groups.values()}


def test_concurrent_clients_match_a_sequential_run(
    live: LiveServer, tmp_path: Path, embedder: Embedder
) -> None:
    items = corpus()
    answers: dict[str, list[dict]] = defaultdict(list)
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client(k: int) -> None:
        try:
            with Client(live.url, timeout=120) as api:  # the README's client, retries and all
                start.wait(30)
                for chunk in client_plan(k, items):
                    snippets = [Snippet(**it) for it in chunk]
                    if len(chunk) == 1:
                        outcomes: list[Any] = [api.post(snippets[0])]
                    else:
                        outcomes = api.post_batch(snippets)
                    assert not [o for o in outcomes if isinstance(o, ItemError)], outcomes
                    results = [asdict(o) for o in outcomes]
                    with lock:
                        for it, res in zip(chunk, results, strict=True):
                            answers[it["external_id"]].append(res)
        except BaseException as exc:
            with lock:
                errors.append(f"client {k}: {exc!r}")

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not any(t.is_alive() for t in threads), "a client is stuck: deadlock?"
    assert not errors, errors

    svc = live.service
    sent = {it["external_id"] for it in items}
    assert set(answers) == sent  # every item was sent by at least one client
    assert sum(len(v) for v in answers.values()) > len(sent) * 1.3  # real overlap
    # exactly one write per external_id; every answer for it names the same snippet
    for ext, res in answers.items():
        assert len({r["id"] for r in res}) == 1, (ext, res)
        assert sum(r["status"] != "exists" for r in res) == 1, (ext, res)
    rows = sorted(svc.repo.snippets(range(1, 10_000)).values(), key=lambda r: r.id)
    assert len(rows) == len(sent)  # no duplicates, no lost writes
    assert {r.external_id for r in rows} == sent
    assert len(svc.index) == len(rows)
    for r in rows:
        assert answers[r.external_id][0]["id"] == r.id
    # every answer's story is the snippet's story, or one merged into it since
    merged = dict(
        svc.repo.conn.execute("SELECT id, merged_into FROM stories WHERE merged_into IS NOT NULL")
    )

    def final(story: int) -> int:
        while story in merged:
            story = merged[story]
        return story

    for r in rows:
        told = {final(a["story_id"]) for a in answers[r.external_id]}
        assert told == {r.story_id}, (r.external_id, answers[r.external_id], r.story_id)

    # the same input, one snippet at a time, in the writer's commit order (snippet ids)
    replay = build_service(Settings(data_dir=tmp_path / "replay"), embedder=embedder)
    try:
        for r in rows:
            replay.ingest(
                [
                    Incoming(
                        title=r.title,
                        text=r.text,
                        lang=None if r.lang_detected else r.lang,
                        source=r.source,
                        url=r.url,
                        published_at=r.published_at,
                        external_id=r.external_id,
                        received_at=r.received_at,
                    )
                ]
            )
        again = sorted(replay.repo.snippets(range(1, 10_000)).values(), key=lambda r: r.id)
    finally:
        replay.close()
    assert [r.external_id for r in again] == [r.external_id for r in rows]
    assert [r.status for r in again] == [r.status for r in rows]
    stories = _partition({r.external_id: r.story_id for r in rows})
    reports = _partition({r.external_id: r.report_id for r in rows})
    assert _partition({r.external_id: r.story_id for r in again}) == stories
    assert _partition({r.external_id: r.report_id for r in again}) == reports
    assert 2 < len(stories) < len(rows)  # a grouping with something to agree on
    svc_settings = svc.config
    report = check(svc_settings.db_path, svc_settings.index_path)
    assert report.ok, report.problems
