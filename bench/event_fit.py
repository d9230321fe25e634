"""Fit the event link (stories/event.py) on the labelled news streams, and check it travels.

    python bench/event_fit.py [--datasets ntrex-articles ntrex-passages seed] [--l2 1e-3]
                              [--out bench/results/event-fit.json] [--write]

Each dataset becomes (snippet, candidate story) pairs by teacher forcing
(`evaluation.event_fit.pairs`); the weights are fitted with every dataset weighing the
same. Leave one dataset out: the weights fitted on the others, scored on it (pairwise
precision and recall of links at logit 0), show how far the fit depends on one file.
`--write` stores the weights in embeddings/calibration.json under the model's `event`
entry, keeping its merge and repair margins.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.settings import load_settings  # noqa: E402
from embeddings.calibration import CALIBRATION_FILE  # noqa: E402
from embeddings.load import load_embedder  # noqa: E402
from evaluation.datasets import load  # noqa: E402
from evaluation.event_fit import Stream, accuracy, fit, pairs  # noqa: E402
from evaluation.harness import CachedEmbedder  # noqa: E402
from stories.features import features_of  # noqa: E402
from stories.text import model_input  # noqa: E402


def stream(name: str, embedder: CachedEmbedder, chars: int) -> Stream:
    data = load(name)
    items = sorted(data.items, key=lambda it: it.published_at)
    vectors = embedder.embed([model_input(it.title, it.text, chars) for it in items])
    feats = [features_of(it.title, it.text, it.lang, it.published_at) for it in items]
    return Stream(name, np.asarray(vectors), feats, [it.story for it in items])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=["ntrex-articles", "ntrex-passages", "seed"])
    ap.add_argument("--l2", type=float, default=1e-3)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "event-fit.json"))
    ap.add_argument("--write", action="store_true", help="store the weights in calibration.json")
    args = ap.parse_args()

    settings = load_settings()
    embedder = CachedEmbedder(load_embedder(settings.model, threads=settings.embed_threads))
    data = {n: pairs(stream(n, embedder, settings.embed_chars)) for n in args.datasets}
    model = fit(list(data.values()), l2=args.l2)
    result: dict = {
        "model": embedder.identity.key,
        "l2": args.l2,
        "weights": model.as_dict(),
        "in_sample": {n: accuracy(model, *xy) for n, xy in data.items()},
        "leave_one_out": {},
    }
    print(f"{embedder.identity.key}: {json.dumps(model.as_dict())}")
    for held in args.datasets:
        others = [data[n] for n in args.datasets if n != held]
        if not others:
            continue
        m = fit(others, l2=args.l2)
        result["leave_one_out"][held] = {"weights": m.as_dict(), **accuracy(m, *data[held])}
    for name in args.datasets:
        a = result["in_sample"][name]
        b = result["leave_one_out"].get(name, {})
        print(
            f"{name:16s} pairs {int(a['pairs']):6d}  in-sample P {a['precision']:.3f} "
            f"R {a['recall']:.3f}  left out P {b.get('precision', float('nan')):.3f} "
            f"R {b.get('recall', float('nan')):.3f}"
        )
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.write:
        table = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
        name = embedder.identity.key.split("@")[0]
        old = table.setdefault(name, {}).get("event") or {}
        fresh = model.as_dict()
        for margin in ("merge_margin", "repair_margin"):
            fresh[margin] = old.get(margin, fresh[margin])
        table[name]["event"] = fresh
        CALIBRATION_FILE.write_text(
            json.dumps(table, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        print(f"wrote {name}.event in {CALIBRATION_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
