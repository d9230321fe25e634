"""Clustering quality on every labelled dev set, and threshold sweeps with plots (`make eval`).

    python bench/quality.py [--model usem3] [--datasets all] [--out bench/results]
                            [--modes online reindex] [--no-sweeps]
                            [--report-grid lo:hi:step] [--story-grid lo:hi:step]

Writes, under --out: quality-<dataset>.json (scores at the model's thresholds, per mode),
quality.md (one table row per dataset and level), sweep-report.json and
sweep-story.json (every sweep point), pr-report.png and pr-story.png (precision,
recall and F1 against each threshold, the default marked). Every number comes
from the real service pipeline (evaluation.harness), in publication order; the
sweeps run online mode only.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.settings import Settings  # noqa: E402
from embeddings import load_embedder  # noqa: E402
from evaluation import tables  # noqa: E402
from evaluation.datasets import load_many  # noqa: E402
from evaluation.harness import MODES, CachedEmbedder, EvalResult, evaluate  # noqa: E402
from evaluation.plots import plot_sweep  # noqa: E402
from evaluation.sweep import grid, sweep  # noqa: E402

SPAN = {"report": (0.20, 0.05), "story": (0.25, 0.05)}  # default +- span, step
LABELS = {
    "report": ("report level: a translation or rewrite joins its report", "report"),
    "story": ("story level: a new report joins its story", "story"),
}


def _dump(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _grid(text: str | None, default: float, knob: str) -> list[float]:
    if text:
        lo, hi, step = (float(x) for x in text.split(":"))
        return grid(lo, hi, step)
    span, step = SPAN[knob]
    return [v for v in grid(default - span, default + span, step) if 0 < v < 1]


def markdown(results: list[EvalResult], stamp: str, plots: list[str]) -> str:
    th = results[0].thresholds
    lines = [
        "# Clustering quality on the dev data",
        "",
        f"Model `{results[0].model}`, {stamp}. Thresholds: report "
        f"{th['report']}, story {th['story']}, margin weight {th['margin_weight']}, "
        f"mutual-neighbour bonus {th['mutual_bonus']} "
        f"({th['calibrated_on'][:60]}...). Produced by `make eval` (bench/quality.py).",
        "",
        tables.markdown(results),
        "",
        "mode: online = snippets assigned one by one in publication order, as the service "
        "does; reindex = the same, then the nightly re-index job re-clusters everything. "
        "pair = pairwise over all item pairs; B3 = B-cubed (per item, so big groups do not "
        "dominate); x-ling R = share of true same-group pairs in different languages put "
        "together; groups/true = groups made against true groups (means over arrival orders "
        "for the seed set).",
    ]
    for p in plots:
        lines += ["", f"![{p}]({p})"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="model spec (default: STORYLINE_MODEL or usem3)")
    ap.add_argument("--datasets", nargs="+", default=["all"])
    ap.add_argument("--limit", type=int, help="only the first N true reports of each dataset")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    ap.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    ap.add_argument("--no-sweeps", action="store_true", help="scores only, no sweeps or plots")
    ap.add_argument("--report-grid", help="lo:hi:step (default: the model's value +- 0.20)")
    ap.add_argument("--story-grid", help="lo:hi:step (default: the model's value +- 0.25)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = Settings(**({"model": args.model} if args.model else {}))
    embedder = CachedEmbedder(
        load_embedder(settings.model, threads=settings.embed_threads, device=settings.device)
    )
    overrides = settings.param_overrides()  # STORYLINE_* overrides apply, as in the service
    datasets = [d.subset(args.limit) for d in load_many(args.datasets)]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    started = time.perf_counter()

    results = []
    for data in datasets:
        per_mode = {}
        for mode in args.modes:
            res = evaluate(data, embedder, overrides, mode)
            results.append(res)
            per_mode[mode] = res.as_dict()
            print(f"{data.name} {mode}: {res.seconds:.1f}s", file=sys.stderr)
        _dump(out / f"quality-{data.name}.json", {"dataset": data.name, "date": stamp} | per_mode)
    print(tables.text(results))
    confused = tables.confusions(results)
    print(confused)

    plots: list[str] = []
    if not args.no_sweeps:
        for knob in ("report", "story"):
            labelled = [d for d in datasets if knob in d.levels]
            if not labelled:
                continue
            default = float(results[0].thresholds[knob])
            values = _grid(getattr(args, f"{knob}_grid"), default, knob)
            t0 = time.perf_counter()
            rows = sweep(labelled, embedder, knob, values, overrides)
            _dump(out / f"sweep-{knob}.json", {"model": embedder.identity.key, "rows": rows})
            title, field = LABELS[knob]
            name = f"pr-{knob}.png"
            plot_sweep(rows, out / name, f"{embedder.identity.key}: {title}", field, default)
            plots.append(name)
            print(
                f"{knob} sweep: {len(values)} points, {time.perf_counter() - t0:.0f}s",
                file=sys.stderr,
            )
    (out / "quality.md").write_text(
        markdown(results, stamp, plots) + "\n" + confused, encoding="utf-8"
    )
    print(f"wrote {out}/quality.md in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
