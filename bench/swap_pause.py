"""How long the nightly swap holds up online ingest.

    python bench/swap_pause.py [--n 100000] [--out bench/results/swap_pause.json]

A synthetic collection (bench/reindex.py: Zipf-sized stories of near-translations; by
default 2% of snippets misplaced online and 1% of stories split, `--misplaced` and
`--split` to change it) is written through the real SQLite repository with the rows
online would have left (counts, languages, neighbour cosines); the real service starts
on it and the real re-index job runs,
while a feeder thread keeps submitting one-snippet batches (every 20 ms) through
the service's ingest path, the one the HTTP layer calls. For every batch it records
the wait (submit to commit) and whether it was refused (Overloaded: a 503 over HTTP).
Reported: the job's phase times, the longest wait during the swap and repair
phases, the longest wait over the whole job, and the count of refusals. Vectors are
generated (no model); text evidence is off, as in bench/reindex.py. The service starts
on an exact (flat) index file written beside the database, so that a large run does not
spend its first quarter of an hour building the HNSW index the service would build at a
first start; the job builds its own as always.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
RESULTS = ROOT / "bench" / "results" / "swap_pause.json"


def profiled_swap(top: int) -> list[str]:
    """Wraps the job's swap in cProfile (wall time: the pause is what counts); the returned list
    gets the top `top` lines by cumulative time once the swap has run."""
    import cProfile
    import io
    import pstats

    import engine.reindex.runner as runner

    report: list[str] = []
    plain = runner.swap

    def swap(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        prof = cProfile.Profile()
        try:
            return prof.runcall(plain, *args, **kwargs)
        finally:
            text = io.StringIO()
            pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(top)
            report.extend(text.getvalue().splitlines())

    runner.swap = swap  # type: ignore[assignment]
    return report


def run(n: int, misplaced: float, split: float, profile: int = 0) -> dict:
    from reindex import (
        DIM,
        StoredModel,
        damaged,
        neighbour_cosines,
        synthetic,
        write_collection,
    )

    from app.settings import Settings
    from app.wiring import build_service
    from engine.errors import Overloaded
    from engine.records import Incoming
    from engine.reindex import ReindexOptions
    from index import FlatIndex
    from storage.sqlite import SQLiteRepository

    data = synthetic(n)
    story, report = damaged(data, misplaced=misplaced, split=split)
    out: dict = {"n": n, "misplaced": misplaced, "split": split}
    with tempfile.TemporaryDirectory(prefix="storyline-bench-swap-") as tmp:
        settings = Settings(data_dir=Path(tmp), window_days=3.0)
        embedder = StoredModel()
        started = time.perf_counter()
        repo = SQLiteRepository(settings.db_path, DIM)
        repo.writer.set_meta("model", embedder.identity.key)
        knn = neighbour_cosines(data["vectors"])
        write_collection(repo, data, story, report, embedder.identity.key, knn)
        repo.close()
        flat = FlatIndex(DIM)
        flat.add(np.arange(1, n + 1, dtype=np.int64), data["vectors"])
        meta = {"model": embedder.identity.key, "watermark": n, "changes": 0}
        flat.save(settings.index_path, meta)
        del flat
        out["write_s"] = round(time.perf_counter() - started, 2)
        service = build_service(settings, embedder=embedder)  # type: ignore[arg-type]
        newest = float(data["published"].max())
        waits: list[tuple[float, float]] = []  # (submitted at, seconds waited)
        refused: list[float] = []
        stop = threading.Event()

        def feed() -> None:
            k = 0
            while not stop.is_set():
                item = Incoming(
                    title=None,
                    text=f"late snippet {k}",
                    lang="en",
                    source="feeder",
                    url=None,
                    published_at=newest + k,
                    external_id=None,
                    received_at=time.time(),
                )
                k += 1
                t0 = time.perf_counter()
                try:
                    service.ingest([item])
                    waits.append((t0, time.perf_counter() - t0))
                except Overloaded:
                    refused.append(t0)
                time.sleep(0.02)

        profile_lines = profiled_swap(profile) if profile else None
        feeder = threading.Thread(target=feed, daemon=True)
        try:
            feeder.start()
            time.sleep(1.0)
            opts = ReindexOptions()
            job_start = time.perf_counter()
            job = service.jobs.run(
                "reindex", opts.as_dict(), service.reindex_job(opts, text_evidence=False)
            )
            job_end = time.perf_counter()
            time.sleep(1.0)
        finally:
            stop.set()
            feeder.join(30)
            service.close()
        seconds = job["summary"]["seconds"]
        # the swap and repair are the job's last phases (cleanup between them is short)
        tail = sum(seconds.get(p, 0.0) for p in ("swap", "cleanup", "repair"))
        swap_from = job_end - tail
        during_job = [w for t, w in waits if job_start <= t <= job_end]
        during_swap = [w for t, w in waits if t + w >= swap_from and t <= job_end]
        out.update(
            seconds=seconds,
            carried_over=job["summary"].get("carried_over"),
            moved=job["summary"].get("moved_snippets"),
            rewritten=job["summary"].get("rewritten"),
            repaired=job["summary"].get("repaired"),
            stories={k: job["summary"].get(k) for k in ("stories_before", "stories_after")},
            batches=len(waits),
            refused=len(refused),
            wait_s={
                "after_job_p50": _pct([w for t, w in waits if t > job_end], 50),
                "job_p50": _pct(during_job, 50),
                "job_max": round(max(during_job, default=0.0), 3),
                "swap_max": round(max(during_swap, default=0.0), 3),
            },
        )
        if profile_lines is not None:
            print("\n".join(profile_lines), file=sys.stderr)
            out["swap_profile"] = profile_lines
    return out


def _pct(xs: list[float], q: float) -> float | None:
    return round(float(np.percentile(xs, q)), 4) if xs else None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, nargs="*", default=[100_000])
    p.add_argument("--misplaced", type=float, default=0.02)
    p.add_argument("--split", type=float, default=0.01)
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument(
        "--profile-swap",
        type=int,
        default=0,
        metavar="TOP",
        help="profile the swap (wall time); print and keep the TOP lines",
    )
    args = p.parse_args()
    runs = []
    for n in args.n:
        print(f"swap pause bench: n={n}", file=sys.stderr, flush=True)
        runs.append(run(n, args.misplaced, args.split, args.profile_swap))
        print(json.dumps(runs[-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"runs": runs}, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
