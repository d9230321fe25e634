"""Crash safety: the real service in a child process, SIGKILLed over and over while
several clients POST (and, where the service has one, while a re-index runs).

What must hold at the end: every snippet that was acknowledged is stored exactly
once, under the id it was acknowledged with, in a story that exists; the index
holds exactly the stored vectors; no story points at a missing snippet.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from engine.check import check
from tests.helpers import load_jsonl
from tests.serverproc import ServerProcess

CLIENTS = 4
KILLS = 22
SNAPSHOT_EVERY = 5
BASE_TIME = 1718366400  # 2024-06-14T12:00:00Z: every snippet inside one window


def corpus() -> list[dict]:
    rows = load_jsonl("seed_story.jsonl") + load_jsonl("unrelated_news.jsonl")
    return [{k: r[k] for k in ("title", "text", "lang") if r.get(k)} for r in rows]


@dataclass
class Ledger:
    """What the clients were told: external_id -> every (id, story_id) acknowledged."""

    acks: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    sent: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client(threading.Thread):
    """Sends its snippets (single or batch POSTs) and retries anything not acknowledged."""

    def __init__(self, number: int, base: str, ledger: Ledger, stop: threading.Event) -> None:
        super().__init__(daemon=True, name=f"client-{number}")
        self.number, self.base, self.ledger, self.stop_flag = number, base, ledger, stop
        self.rng = random.Random(number)
        self.texts = corpus()
        self.pending: list[dict] = []
        self.next_item = 0
        self.draining = False
        self.error: BaseException | None = None

    def make(self) -> dict:
        n = self.next_item
        self.next_item += 1
        base = self.texts[(self.number * 7 + n) % len(self.texts)]
        item = dict(base)
        kind = self.rng.random()
        if kind < 0.3:
            item["text"] = f"{base.get('text', '')} (update {self.number}-{n})"
        elif kind < 0.45:
            item = dict(base)  # exact copy: the duplicate path
        ext = f"c{self.number}-{n}"
        if kind > 0.9:
            ext = f"shared-{n // 4}"  # several clients race on the same external_id
        item["external_id"] = ext
        item["published_at"] = time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(BASE_TIME + 60 * (n % 600))
        )
        return item

    def run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # reported by _drain: a thread cannot fail the test
            self.error = exc

    def _loop(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as http:
            while True:
                if self.stop_flag.is_set() and (not self.draining or not self.pending):
                    return
                if not self.pending and not self.draining:
                    self.pending = [self.make() for _ in range(self.rng.choice([1, 1, 1, 3]))]
                if not self.pending:
                    time.sleep(0.02)
                    continue
                batch = self.pending
                with self.ledger.lock:
                    self.ledger.sent.update(i["external_id"] for i in batch)
                try:
                    if len(batch) == 1:
                        r = http.post("/v1/snippets", json=batch[0])
                        results = [r.json()] if r.status_code == 201 else None
                    else:
                        r = http.post("/v1/snippets/batch", json={"snippets": batch})
                        results = r.json()["results"] if r.status_code == 200 else None
                except (httpx.TransportError, json.JSONDecodeError) as exc:
                    with self.ledger.lock:
                        self.ledger.failures[type(exc).__name__] += 1
                    time.sleep(0.05)
                    continue
                if results is None:
                    with self.ledger.lock:
                        self.ledger.failures[f"http {r.status_code}"] += 1
                    assert r.status_code in (503,), r.text  # only "not now" is acceptable
                    time.sleep(0.05)
                    continue
                with self.ledger.lock:
                    for item, res in zip(batch, results, strict=True):
                        assert res.get("error") is None, res
                        self.ledger.acks[item["external_id"]].append((res["id"], res["story_id"]))
                        self.ledger.statuses[res["status"]] += 1
                self.pending = []


def _snapshot_temps(data: Path) -> list[Path]:
    return list(data.glob(".vectors.faiss.*.tmp"))


def _kill_during_snapshot(server: ServerProcess, data: Path, limit: float) -> bool:
    """Poll for an unfinished snapshot file and kill the moment one appears."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if _snapshot_temps(data):
            server.kill()
            return True
        time.sleep(0.0005)
    server.kill()
    return False


@dataclass
class Run:
    kills: Counter = field(default_factory=Counter)
    temps_left: int = 0


def _stored(db: Path) -> dict[str, tuple[int, int]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT external_id, id, story_id FROM snippets").fetchall()
    finally:
        conn.close()
    by_ext: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for ext, sid, story in rows:
        by_ext[ext].append((sid, story))
    assert all(ext is not None for ext in by_ext), "every snippet in this test has an external_id"
    assert all(len(v) == 1 for v in by_ext.values()), "an external_id stored twice"
    return {ext: v[0] for ext, v in by_ext.items()}


def _redirects(db: Path) -> dict[int, int]:
    """Story ids merged into another (online merges, re-index) -> the surviving id."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT id, merged_into FROM stories WHERE merged_into IS NOT NULL")
        return dict(rows.fetchall())
    finally:
        conn.close()


def _verify(data: Path, ledger: Ledger, server: ServerProcess, same_story: bool) -> dict:
    info = httpx.get(f"{server.url}/v1/info", timeout=30).json()
    live_index = info["index"]["size"]
    assert server.stop() in (0, -15)
    stored = _stored(data / "storyline.db")
    merged = _redirects(data / "storyline.db")
    acked = dict(ledger.acks)
    # every acknowledged snippet is stored once, under the id it was acknowledged with
    for ext, answers in acked.items():
        assert ext in stored, f"{ext} was acknowledged as {answers} but is not stored"
        ids = {sid for sid, _ in answers}
        assert ids == {stored[ext][0]}, f"{ext}: acknowledged as {answers}, stored {stored[ext]}"
        if same_story:  # the acknowledged story, or the one it was merged into since
            resolved = {merged.get(story, story) for _, story in answers}
            assert resolved == {stored[ext][1]}, (ext, answers, stored[ext])
    # nothing stored that was never sent; everything sent was acknowledged in the end
    assert set(stored) <= ledger.sent
    assert set(stored) == set(acked), set(stored) ^ set(acked)
    assert live_index == len(stored), f"live index {live_index} vs {len(stored)} stored"
    report = check(data / "storyline.db", data / "vectors.faiss")
    assert report.ok, report.problems
    assert report.index_status == "exact", report.index_detail
    assert not _snapshot_temps(data)
    return {"stored": len(stored), "live_index": live_index, **report.counts}


def _drain(clients: list[Client], stop: threading.Event, timeout: float = 180) -> None:
    for c in clients:
        c.draining = True
    stop.set()
    for c in clients:
        c.join(timeout)
        assert not c.is_alive(), f"{c.name} did not finish (deadlock or lost answer?)"
        assert c.error is None, f"{c.name}: {c.error!r}"


def test_sigkill_during_ingest_and_snapshots(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"STORYLINE_INDEX_SNAPSHOT_EVERY": str(SNAPSHOT_EVERY), "STORYLINE_WRITER_LINGER_MS": "2"}
    rng = random.Random(20261125)
    ledger, stop, run = Ledger(), threading.Event(), Run()
    with ServerProcess(data, env) as server:
        clients = [Client(i, server.url, ledger, stop) for i in range(CLIENTS)]
        for c in clients:
            c.start()
        for k in range(KILLS):
            server.start()
            if k % 7 == 3:  # during start-up: index load, top-up or rebuild
                time.sleep(rng.uniform(0.5, 2.5))
                server.kill()
                run.kills["startup"] += 1
                continue
            server.wait_ready()
            if k % 2:
                hit = _kill_during_snapshot(server, data, limit=6.0)
                run.kills["snapshot" if hit else "snapshot_missed"] += 1
            else:
                time.sleep(rng.uniform(0.2, 2.0))
                server.kill()
                run.kills["random"] += 1
            run.temps_left += len(_snapshot_temps(data))
        server.start()
        server.wait_ready()
        _drain(clients, stop)
        counts = _verify(data, ledger, server, same_story=True)
    summary = {
        "kills": dict(run.kills),
        "restarts": server.starts,
        "acknowledged": len(ledger.acks),
        "statuses": dict(ledger.statuses),
        "client_failures": dict(ledger.failures),
        "unfinished_snapshot_files_seen": run.temps_left,
        **counts,
    }
    print("crash run:", json.dumps(summary))
    assert sum(run.kills.values()) >= 20
    assert run.kills["snapshot"] >= 3, summary  # kills really landed inside snapshots
    assert len(ledger.acks) >= 50, summary


def _until_a_reindex_runs(url: str, tries: int = 50) -> None:
    """Start a re-index (or find the running one) and return while it is still running.

    A small collection re-indexes in well under a second, so a blind sleep before the
    kill often lands after the job ended; polling its state makes the kill land inside.
    """
    for _ in range(tries):
        r = httpx.post(f"{url}/v1/reindex", json={}, timeout=30)
        assert r.status_code in (202, 409), r.text
        job_id = r.json()["id"] if r.status_code == 202 else r.json()["error"]["job_id"]
        state = httpx.get(f"{url}/v1/jobs/{job_id}", timeout=30).json()["state"]
        if state in ("queued", "running"):
            return
    raise AssertionError(f"no re-index was still running after {tries} starts")


def _reindex_available(url: str) -> bool:
    r = httpx.post(f"{url}/v1/reindex", json={}, timeout=30)
    return r.status_code not in (404, 405)


def test_sigkill_during_reindex(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"STORYLINE_INDEX_SNAPSHOT_EVERY": str(SNAPSHOT_EVERY)}
    rng = random.Random(7)
    ledger, stop = Ledger(), threading.Event()
    kills = Counter()
    with ServerProcess(data, env) as server:
        server.start()
        server.wait_ready()
        clients = [Client(i, server.url, ledger, stop) for i in range(CLIENTS)]
        for c in clients:
            c.start()
        time.sleep(3)  # something to re-index
        if not _reindex_available(server.url):
            _drain(clients, stop)
            server.stop()
            pytest.xfail("POST /v1/reindex is not served (404/405): no re-index to interrupt")
        for _ in range(6):
            _until_a_reindex_runs(server.url)
            time.sleep(rng.uniform(0.0, 0.05))
            server.kill()
            kills["reindex"] += 1
            server.start()
            server.wait_ready()
        interrupted = server.log_tail(10**7).count("interrupted by a restart")
        assert interrupted >= 3, f"only {interrupted} kills landed inside a running re-index"
        kills["inside_a_running_reindex"] = interrupted
        _drain(clients, stop)
        deadline = time.monotonic() + 240
        job = None
        while time.monotonic() < deadline:
            r = httpx.post(f"{server.url}/v1/reindex", json={}, timeout=30)
            if r.status_code == 202:
                job = r.json()
                break
            time.sleep(1)
        assert job is not None, "a re-index never became startable again"
        while job["state"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.5)
            job = httpx.get(f"{server.url}/v1/jobs/{job['id']}", timeout=30).json()
        assert job["state"] == "succeeded", job
        counts = _verify(data, ledger, server, same_story=False)
    print("reindex crash run:", json.dumps({"kills": dict(kills), **counts}))
