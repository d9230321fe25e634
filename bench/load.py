"""Load test: the real service on loopback, driven for a bounded time by asyncio clients.

Phase 1 (mixed) has writers POSTing snippets (singles and batches of 10) while readers
list stories, open stories and snippets and search; phase 2 (reads only) keeps the
readers going with the writers stopped. Reported: sustained ingest and read rates,
p50/p99 latency per endpoint, error rate, and the server's resident memory sampled
every second, with its slope per phase (in the read-only phase it must stay flat; in
the mixed phase it may grow by about what the stored vectors and index add).

    python bench/load.py --duration 60 --writers 8 --readers 8
writes bench/results/load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.serverproc import ServerProcess  # noqa: E402
from bench.synthetic import snippets  # noqa: E402

QUERIES = ["peace talks", "переговоры", "huelga", "budget vote", "earthquake", "el presidente"]


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.status: dict[str, Counter] = defaultdict(Counter)
        self.ingested = 0
        self.recording = False
        self.phase = "warmup"
        self.by_phase: dict[str, Counter] = defaultdict(Counter)
        self.story_ids: list[int] = []
        self.snippet_ids: list[int] = []

    def record(self, endpoint: str, status: int, seconds: float) -> None:
        self.by_phase[self.phase][endpoint] += 1
        if not self.recording:
            return
        self.latency[endpoint].append(seconds * 1000)
        self.status[endpoint][status] += 1


async def _call(
    http: httpx.AsyncClient, stats: Stats, endpoint: str, method: str, url: str, **kw
) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        r = await http.request(method, url, **kw)
    except httpx.HTTPError as exc:
        stats.record(endpoint, 0, time.perf_counter() - started)
        stats.status[endpoint][type(exc).__name__] += 1
        return None
    stats.record(endpoint, r.status_code, time.perf_counter() - started)
    return r


async def writer(http: httpx.AsyncClient, stats: Stats, feed: list, stop: asyncio.Event) -> None:
    rng = random.Random(len(feed))
    while not stop.is_set() and feed:
        if rng.random() < 0.2 and len(feed) >= 10:
            batch = [feed.pop().as_json() for _ in range(10)]
            r = await _call(
                http,
                stats,
                "POST /v1/snippets/batch",
                "POST",
                "/v1/snippets/batch",
                json={"snippets": batch},
            )
            if r is not None and r.status_code == 200:
                results = r.json()["results"]
                stats.ingested += sum(1 for x in results if x.get("id")) if stats.recording else 0
                stats.story_ids += [x["story_id"] for x in results if x.get("story_id")][:2]
        else:
            r = await _call(
                http, stats, "POST /v1/snippets", "POST", "/v1/snippets", json=feed.pop().as_json()
            )
            if r is not None and r.status_code == 201:
                body = r.json()
                stats.ingested += 1 if stats.recording else 0
                stats.story_ids.append(body["story_id"])
                stats.snippet_ids.append(body["id"])
        if r is not None and r.status_code == 503:
            await asyncio.sleep(0.2)  # shed load: back off as Retry-After says


async def reader(http: httpx.AsyncClient, stats: Stats, seed: int, stop: asyncio.Event) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        pick = rng.random()
        if pick < 0.3:
            await _call(http, stats, "GET /v1/stories", "GET", "/v1/stories", params={"limit": 20})
        elif pick < 0.6 and stats.story_ids:
            sid = rng.choice(stats.story_ids[-500:])
            await _call(http, stats, "GET /v1/stories/{id}", "GET", f"/v1/stories/{sid}")
        elif pick < 0.8 and stats.snippet_ids:
            sid = rng.choice(stats.snippet_ids[-500:])
            await _call(http, stats, "GET /v1/snippets/{id}", "GET", f"/v1/snippets/{sid}")
        elif pick < 0.95:
            await _call(
                http,
                stats,
                "GET /v1/search",
                "GET",
                "/v1/search",
                params={"q": rng.choice(QUERIES), "limit": 10},
            )
        else:
            await _call(http, stats, "GET /v1/info", "GET", "/v1/info")
            await asyncio.sleep(0.01)


async def sample_memory(
    server: ServerProcess, stats: Stats, out: list, stop: asyncio.Event, started: float
) -> None:
    while not stop.is_set():
        try:
            rss = server.memory()["rss"]
        except (OSError, KeyError):
            return
        out.append(
            {
                "t": round(time.perf_counter() - started, 1),
                "phase": stats.phase,
                "rss_mb": round(rss / 2**20, 1),
            }
        )
        await asyncio.sleep(1.0)


def _slope(points: list[dict]) -> float | None:
    """MB per minute by least squares; None with too few samples."""
    if len(points) < 5:
        return None
    t = np.array([p["t"] for p in points])
    y = np.array([p["rss_mb"] for p in points])
    return round(float(np.polyfit(t, y, 1)[0] * 60), 2)


async def drive(args: argparse.Namespace, server: ServerProcess) -> dict:
    feed = list(reversed(snippets(args.snippets, seed=args.seed)))
    stats = Stats()
    stop_writes, stop_all = asyncio.Event(), asyncio.Event()
    memory: list[dict] = []
    limits = httpx.Limits(max_connections=args.writers + args.readers + 4)
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as http:
        tasks = [
            asyncio.create_task(writer(http, stats, feed, stop_writes)) for _ in range(args.writers)
        ]
        tasks += [
            asyncio.create_task(reader(http, stats, i, stop_all)) for i in range(args.readers)
        ]
        mem = asyncio.create_task(sample_memory(server, stats, memory, stop_all, started))
        await asyncio.sleep(args.warmup)
        stats.phase, stats.recording = "mixed", True
        mixed_start = time.perf_counter()
        mixed_reads_before = sum(
            sum(c.values()) for e, c in stats.status.items() if e.startswith("GET")
        )
        await asyncio.sleep(args.duration)
        mixed_seconds = time.perf_counter() - mixed_start
        ingested_mixed = stats.ingested
        reads_mixed = (
            sum(sum(c.values()) for e, c in stats.status.items() if e.startswith("GET"))
            - mixed_reads_before
        )
        stop_writes.set()
        await asyncio.gather(*tasks[: args.writers])
        stats.phase = "reads"
        reads_start = time.perf_counter()
        await asyncio.sleep(args.duration / 2)
        reads_seconds = time.perf_counter() - reads_start
        reads_only = (
            sum(sum(c.values()) for e, c in stats.status.items() if e.startswith("GET"))
            - reads_mixed
            - mixed_reads_before
        )
        stop_all.set()
        await asyncio.gather(*tasks[args.writers :], mem)
        info = (await http.get("/v1/info")).json()

    endpoints = {}
    total = errors = 0
    for name, values in sorted(stats.latency.items()):
        arr = np.array(values)
        codes = stats.status[name]
        bad = sum(n for code, n in codes.items() if not (isinstance(code, int) and code < 400))
        total += len(values)
        errors += bad
        endpoints[name] = {
            "requests": len(values),
            "p50_ms": round(float(np.percentile(arr, 50)), 1),
            "p99_ms": round(float(np.percentile(arr, 99)), 1),
            "max_ms": round(float(arr.max()), 1),
            "statuses": {str(k): v for k, v in codes.items()},
        }
    mixed_mem = [p for p in memory if p["phase"] == "mixed"]
    reads_mem = [p for p in memory if p["phase"] == "reads"]
    dim = info["model"]["dim"]
    return {
        "config": {k: v for k, v in vars(args).items() if k != "out"},
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
        "ingest_per_s": round(ingested_mixed / mixed_seconds, 1),
        "reads_per_s_mixed": round(reads_mixed / mixed_seconds, 1),
        "reads_per_s_read_only": round(reads_only / reads_seconds, 1),
        "error_rate": round(errors / total, 5) if total else None,
        "endpoints": endpoints,
        "memory": {
            "rss_mb_after_warmup": mixed_mem[0]["rss_mb"] if mixed_mem else None,
            "rss_mb_end": memory[-1]["rss_mb"] if memory else None,
            "slope_mb_per_min_mixed": _slope(mixed_mem),
            "slope_mb_per_min_read_only": _slope(reads_mem),
            "stored_vector_mb_per_min_mixed": round(
                ingested_mixed / mixed_seconds * 60 * dim * 4 / 2**20, 2
            ),
            "samples": memory,
        },
        "final_counts": info["counts"],
    }


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="mixed phase, seconds")
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--snippets", type=int, default=20_000, help="feed size (upper bound)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "load.json")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="storyline-load-") as tmp,
        ServerProcess(Path(tmp) / "data") as server,
    ):
        startup = server.start()
        result = asyncio.run(drive(args, server))
        result["startup_s"] = round(startup, 1)
        result["memory"]["peak_rss_mb"] = round(server.memory()["peak_rss"] / 2**20, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    summary = {
        k: result[k]
        for k in ("ingest_per_s", "reads_per_s_mixed", "reads_per_s_read_only", "error_rate")
    }
    print(json.dumps(summary))
    for name, e in result["endpoints"].items():
        print(f"  {name:<26} n={e['requests']:<6} p50={e['p50_ms']:>7} ms  p99={e['p99_ms']:>7} ms")
    m = result["memory"]
    print(
        f"  rss {m['rss_mb_after_warmup']} -> {m['rss_mb_end']} MB; slope mixed "
        f"{m['slope_mb_per_min_mixed']} MB/min "
        f"(vectors alone {m['stored_vector_mb_per_min_mixed']})"
        f", read-only {m['slope_mb_per_min_read_only']} MB/min"
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
