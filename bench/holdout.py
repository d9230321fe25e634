"""Leave one language out: does a report threshold calibrated on some languages suit another?

    python bench/holdout.py CALIBRATE_JSON [--metric pairwise] [--out bench/results/holdout.json]

Reads the sweep `storyline calibrate --json` wrote (report level, one row per dataset and
threshold) and, for each dataset in turn, picks the threshold with the best mean F1 over the
others, then reports the held-out dataset's F1 there against its own best threshold. The
product is judged on languages it was not calibrated on (Russian and Spanish); this is the
dev data's way of asking how much a calibration loses when it meets a new language.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path


def holdout(rows: list[dict], metric: str = "pairwise") -> dict:
    f1: dict[str, dict[float, float]] = defaultdict(dict)
    for r in rows:
        if r["knob"] == "report" and r["level"] == "report":
            f1[r["dataset"]][round(r["value"], 4)] = r[metric]["f1"]
    values = sorted(set.intersection(*(set(v) for v in f1.values())))
    out = {}
    for held in sorted(f1):
        others = [d for d in f1 if d != held]
        chosen = max(values, key=lambda t: statistics.fmean(f1[d][t] for d in others))
        best = max(values, key=lambda t: f1[held][t])
        out[held] = {
            "chosen_on_others": chosen,
            "f1_at_chosen": f1[held][chosen],
            "own_best": best,
            "f1_at_own_best": f1[held][best],
            "loss": f1[held][best] - f1[held][chosen],
        }
    pooled = max(values, key=lambda t: statistics.fmean(f1[d][t] for d in f1))
    return {"metric": metric, "grid": values, "pooled_choice": pooled, "datasets": out}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sweep", type=Path)
    ap.add_argument("--metric", default="pairwise", choices=("pairwise", "bcubed"))
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    res = holdout(json.loads(args.sweep.read_text())["rows"], args.metric)
    print(f"{args.metric} F1; threshold chosen on all sets together: {res['pooled_choice']}")
    print(f"{'held out':14} {'chosen on rest':>14} {'F1 there':>9} {'own best':>9} "
          f"{'F1 there':>9} {'loss':>6}")  # fmt: skip
    for name, r in res["datasets"].items():
        print(f"{name:14} {r['chosen_on_others']:14.2f} {r['f1_at_chosen']:9.3f} "
              f"{r['own_best']:9.2f} {r['f1_at_own_best']:9.3f} {r['loss']:6.3f}")  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(res, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
