"""Re-index benchmark: time per phase, growth with size, peak memory, ANN recall.

    python bench/reindex.py [--sizes 10000 100000] [--cluster-sizes 1000000] [--quick]

Full runs (`--sizes`): synthetic news-like vectors (512-d, stories of reports of
near-translations, Zipf-sized) are written through the real SQLite repository
with a deliberately damaged "online" assignment (10% of snippets in a wrong
story, 5% of stories split in two); then the real job runs: snapshot, index
(FAISS, kind chosen by size), k-NN, clustering, id mapping and the swap into
SQLite. No model is involved (vectors are generated; text evidence is off).

Cluster-only runs (`--cluster-sizes`, for 1M where a full run would spend its
time writing 2 GB of vectors into SQLite and building HNSW on two cores): the
k-NN graph comes from a FAISS IVF index, and the clustering phase
(`stories.recluster.recluster`) plus the id mapping run exactly as in the job.

Recall@10 of the approximate index (HNSW as the service builds it; IVF for the
cluster-only run) is measured against exact search on sampled queries. Each
size runs in its own process so peak RSS (ru_maxrss) belongs to that size.
Writes bench/results/reindex.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "reindex.json"
DIM = 512
DAY = 86400.0


def synthetic(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Stories (Zipf sizes) of reports of near-translations, over ten days."""
    rng = np.random.default_rng(seed)
    sizes = np.minimum(rng.zipf(1.6, size=n), 400)
    story_of = np.repeat(np.arange(len(sizes)), sizes)[:n]
    n_stories = int(story_of.max()) + 1
    centres = rng.standard_normal((n_stories, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    # reports: about 3 snippets each, within a story
    report_local = (np.arange(n) - np.searchsorted(story_of, story_of)) // 3
    report_key = story_of * 1000 + report_local
    _, report_of = np.unique(report_key, return_inverse=True)
    n_reports = int(report_of.max()) + 1
    report_story = np.zeros(n_reports, dtype=np.int64)
    report_story[report_of] = story_of
    rep = centres[report_story] + 0.8 * _unit(rng.standard_normal((n_reports, DIM)))
    rep = _unit(rep)
    vectors = _unit(rep[report_of] + 0.15 * _unit(rng.standard_normal((n, DIM))))
    story_time = rng.uniform(0, 10 * DAY, n_stories)
    published = story_time[story_of] + rng.uniform(0, DAY, n)
    langs = rng.integers(0, 5, n)
    return {
        "vectors": vectors.astype(np.float32),
        "story": story_of.astype(np.int64),
        "report": report_of.astype(np.int64),
        "published": published,
        "lang": langs,
    }


def neighbour_cosines(vectors: np.ndarray, k: int = 4) -> np.ndarray:
    """Each snippet's top-k cosines to the others, as online keeps them up to date (the
    same k-NN search the job makes: on the NTREX bench passages the job found 2,253 of
    2,254 rows as online had left them)."""
    from index.graph import knn_graph

    n = len(vectors)
    scores, found = knn_graph(vectors, np.arange(n), min(k + 1, n))
    other = (found >= 0) & (found != np.arange(n)[:, None])
    order = np.argsort(~other, axis=1, kind="stable")
    scores = np.take_along_axis(scores, order, axis=1)[:, :k]
    other = np.take_along_axis(other, order, axis=1)[:, :k]
    return np.where(other, scores, np.nan).astype(np.float32)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def damaged(
    data: dict[str, np.ndarray], seed: int = 1, misplaced: float = 0.10, split: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """An online result to repair: wrong stories for `misplaced` of the snippets, `split`
    of the stories in two. Returns (story id, report id) per snippet, ids from 1."""
    rng = np.random.default_rng(seed)
    story = data["story"].copy()
    report = data["report"].copy()
    n_stories = int(story.max()) + 1
    halves = rng.random(n_stories) < split
    half = (rng.random(len(story)) < 0.5) & halves[story]
    story = np.where(half, story + n_stories, story)
    report = np.where(half, report + int(report.max()) + 1, report)
    wrong = rng.random(len(story)) < misplaced
    story = np.where(wrong, rng.integers(0, n_stories, len(story)), story)
    # a moved snippet opens its own report in the wrong story
    report = np.where(wrong, int(report.max()) + 1 + np.arange(len(story)), report)
    _, story = np.unique(story, return_inverse=True)
    _, report = np.unique(report, return_inverse=True)
    return story.reshape(-1) + 1, report.reshape(-1) + 1


def write_collection(repo, data, story, report, model: str, knn=None) -> None:  # noqa: ANN001
    """Through the repository's one write path, as the online writer commits. `knn`: each
    snippet's neighbour cosines (`neighbour_cosines`), as online keeps them; none by
    default (the job then rewrites every row's)."""
    from storage.records import BatchWrite, NewSnippet, ReportState, StoryState

    vecs = data["vectors"]
    n = len(vecs)
    langs = ["en", "de", "fr", "ru", "es"]
    step = 20_000
    for start in range(0, n, step):
        stop = min(start + step, n)
        rows = [
            NewSnippet(
                id=i + 1,
                external_id=None,
                title=None,
                text=f"synthetic snippet {i}",
                lang=langs[int(data["lang"][i])],
                lang_detected=False,
                source="bench",
                url=None,
                published_at=float(data["published"][i]),
                received_at=float(data["published"][i]),
                content_hash=f"h{i}",
                report_id=int(report[i]),
                story_id=int(story[i]),
                status="created",
                vector=vecs[i],
                story_sim=0.0,
                knn_sims=(
                    np.zeros(0, dtype=np.float32) if knn is None else knn[i][np.isfinite(knn[i])]
                ),
                new_report=False,
                new_story=False,
            )
            for i in range(start, stop)
        ]
        repo.writer.commit(BatchWrite(rows, [], [], model))
    # reports and stories as the online writer would have left them
    rid, rinv = np.unique(report, return_inverse=True)
    r_story = np.zeros(len(rid), dtype=np.int64)
    r_story[rinv] = story
    r_first = np.full(len(rid), np.inf)
    np.minimum.at(r_first, rinv, data["published"])
    r_count = np.bincount(rinv)
    reports = [
        ReportState(int(a), int(b), float(c), int(d))
        for a, b, c, d in zip(rid, r_story, r_first, r_count, strict=True)
    ]
    sid, sinv = np.unique(story, return_inverse=True)
    from stories.vectors import group_sums

    sums = group_sums(sinv, vecs, len(sid))
    first = np.full(len(sid), np.inf)
    last = np.full(len(sid), -np.inf)
    np.minimum.at(first, sinv, data["published"])
    np.maximum.at(last, sinv, data["published"])
    count = np.bincount(sinv)
    report_count = np.bincount(np.unique(np.stack([sinv, report]), axis=1)[0], minlength=len(sid))
    lang_count = np.zeros((len(sid), len(langs)), dtype=np.int64)
    np.add.at(lang_count, (sinv, data["lang"]), 1)
    title = np.zeros(len(sid), dtype=np.int64)
    title[sinv[::-1]] = np.arange(n)[::-1] + 1
    stories = [
        StoryState(
            id=int(s),
            first_seen=float(first[k]),
            last_seen=float(last[k]),
            updated_at=float(last[k]),
            snippet_count=int(count[k]),
            report_count=int(report_count[k]),
            centroid_sum=sums[k],
            title_snippet_id=int(title[k]),
            title_sim=0.0,
            languages={langs[j]: int(c) for j, c in enumerate(lang_count[k]) if c},
        )
        for k, s in enumerate(sid)
    ]
    repo.writer.commit(BatchWrite([], stories, reports, model))


class StoredModel:
    """Stands in for the model that made the stored vectors: nothing is re-embedded."""

    def __init__(self) -> None:
        from embeddings.base import ModelIdentity

        self.identity = ModelIdentity("usem3", DIM, "bench")

    def embed(self, texts: list[str]) -> np.ndarray:
        rng = np.random.default_rng(len(texts))
        return _unit(rng.standard_normal((len(texts), DIM)))

    def embed_query(self, texts: list[str]) -> np.ndarray:
        return self.embed(texts)


def recall_at_10(approx, exact, queries: np.ndarray) -> float:  # noqa: ANN001
    _, a = approx.search(queries, 10)
    _, e = exact.search(queries, 10)
    hits = sum(len(set(x.tolist()) & set(y.tolist())) for x, y in zip(a, e, strict=True))
    return hits / (10 * len(queries))


def purity(pred: np.ndarray, true: np.ndarray) -> dict:
    from evaluation.metrics import bcubed

    sample = np.random.default_rng(0).choice(len(pred), min(len(pred), 200_000), replace=False)
    b = bcubed(pred[sample].tolist(), true[sample].tolist())
    return {"groups": int(len(np.unique(pred))), "bcubed": b.as_dict()}


def full_run(n: int) -> dict:
    from app.settings import Settings
    from app.wiring import build_service
    from engine.reindex import ReindexOptions
    from index import FlatIndex, HNSWIndex

    data = synthetic(n)
    story, report = damaged(data)
    out: dict = {"n": n, "mode": "full", "true_stories": int(data["story"].max()) + 1}
    with tempfile.TemporaryDirectory(prefix="storyline-bench-reindex-") as tmp:
        settings = Settings(data_dir=Path(tmp), window_days=3.0, writer_linger_ms=1.0)
        embedder = StoredModel()
        started = time.perf_counter()
        from storage.sqlite import SQLiteRepository

        repo = SQLiteRepository(settings.db_path, DIM)
        repo.writer.set_meta("model", embedder.identity.key)
        write_collection(repo, data, story, report, embedder.identity.key)
        repo.close()
        out["write_s"] = round(time.perf_counter() - started, 2)
        service = build_service(settings, embedder=embedder)  # type: ignore[arg-type]
        try:
            online = purity(story, data["story"])
            opts = ReindexOptions()
            started = time.perf_counter()
            job = service.jobs.run(
                "reindex", opts.as_dict(), service.reindex_job(opts, text_evidence=False)
            )
            out["job_s"] = round(time.perf_counter() - started, 2)
            s = job["summary"]
            rows = service.repo.conn.execute("SELECT story_id FROM snippets ORDER BY id")
            after = np.array([r[0] for r in rows], dtype=np.int64)
            out.update(
                seconds=s["seconds"],
                index=s["index"],
                rounds=s["rounds"],
                stories_before=s["stories_before"],
                stories_after=s["stories_after"],
                merged=s["merged"],
                split=s["split"],
                ids_kept=s["ids_kept"],
                moved=s["moved_snippets"],
                story_quality={"online": online, "reindex": purity(after, data["story"])},
            )
            sample = data["vectors"][np.random.default_rng(2).choice(n, min(n, 500), replace=False)]
            exact = FlatIndex(DIM)
            ids = np.arange(1, n + 1, dtype=np.int64)
            exact.add(ids, data["vectors"])
            started = time.perf_counter()
            hnsw = HNSWIndex(DIM)
            hnsw.add(ids, data["vectors"])
            out["hnsw_build_s"] = round(time.perf_counter() - started, 2)
            out["recall_at_10"] = {"hnsw": round(recall_at_10(hnsw, exact, sample), 4)}
        finally:
            service.close()
    return out


def cluster_only(n: int) -> dict:
    import faiss

    from embeddings.calibration import calibration_table
    from stories.idmap import map_ids
    from stories.params import Params
    from stories.recluster import recluster

    data = synthetic(n)
    story, _ = damaged(data)
    vecs = data["vectors"]
    out: dict = {"n": n, "mode": "cluster-only", "true_stories": int(data["story"].max()) + 1}
    faiss.omp_set_num_threads(os.cpu_count() or 2)
    nlist = int(4 * np.sqrt(n))
    started = time.perf_counter()
    quantizer = faiss.IndexFlatIP(DIM)
    ivf = faiss.IndexIVFFlat(quantizer, DIM, nlist, faiss.METRIC_INNER_PRODUCT)
    train = vecs[np.random.default_rng(3).choice(n, min(n, 40 * nlist), replace=False)]
    ivf.train(train)
    ivf.add(vecs)
    ivf.nprobe = 16
    out["ivf"] = {"nlist": nlist, "nprobe": 16, "build_s": round(time.perf_counter() - started, 2)}
    k = 33
    started = time.perf_counter()
    sims = np.empty((n, k), dtype=np.float32)
    nbr = np.empty((n, k), dtype=np.int64)
    for s in range(0, n, 50_000):
        sims[s : s + 50_000], nbr[s : s + 50_000] = ivf.search(vecs[s : s + 50_000], k)
    own = nbr == np.arange(n)[:, None]
    order = np.argsort(own, axis=1, kind="stable")
    nbr = np.take_along_axis(nbr, order, axis=1)[:, : k - 1]
    sims = np.take_along_axis(sims, order, axis=1)[:, : k - 1]
    out["knn_s"] = round(time.perf_counter() - started, 2)
    sample = np.random.default_rng(4).choice(n, 200, replace=False)
    e = np.argpartition(-(vecs @ vecs[sample].T), 10, axis=0)[:10].T  # exact top-10 (a set)
    _, a = ivf.search(vecs[sample], 10)
    hits = sum(len(set(x.tolist()) & set(y.tolist())) for x, y in zip(a, e, strict=True))
    out["recall_at_10"] = {"ivf": round(hits / 2000, 4)}
    del ivf
    params = Params.calibrated(calibration_table()["usem3"])  # as the service runs usem3
    started = time.perf_counter()
    got = recluster(vecs, nbr, sims, data["lang"], data["published"], params)
    out["cluster_s"] = round(time.perf_counter() - started, 2)
    out["rounds"] = list(got.rounds)
    started = time.perf_counter()
    m = map_ids(story, got.stories)
    out["map_s"] = round(time.perf_counter() - started, 2)
    out.update(merged=m.merged, split=m.split, ids_kept=m.kept)
    out["story_quality"] = {
        "online": purity(story, data["story"]),
        "reindex": purity(got.stories, data["story"]),
    }
    return out


def one(n: int, mode: str) -> None:
    result = full_run(n) if mode == "full" else cluster_only(n)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))


def growth(points: list[tuple[int, float]]) -> float | None:
    """Exponent b of t ~ n^b between the smallest and largest size."""
    if len(points) < 2 or points[0][1] <= 0:
        return None
    (n0, t0), (n1, t1) = points[0], points[-1]
    return round(float(np.log(t1 / t0) / np.log(n1 / n0)), 2)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    p.add_argument("--cluster-sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--quick", action="store_true", help="2k full and 10k cluster-only")
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)
    p.add_argument("--mode", default="full", help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()
    if args.one:
        one(args.one, args.mode)
        return
    if args.quick:
        args.sizes, args.cluster_sizes = [2_000], [10_000]
    runs = [(n, "full") for n in args.sizes] + [(n, "cluster") for n in args.cluster_sizes]
    results = []
    for n, mode in runs:
        print(f"reindex bench: {mode} n={n}", file=sys.stderr, flush=True)
        proc = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--mode", mode],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if proc.returncode != 0:
            results.append({"n": n, "mode": mode, "error": proc.stderr[-2000:]})
            print(proc.stderr[-2000:], file=sys.stderr)
            continue
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), file=sys.stderr)
    full = [(r["n"], r["seconds"]["cluster"]) for r in results if r.get("mode") == "full"]
    only = [(r["n"], r["cluster_s"]) for r in results if r.get("mode") == "cluster-only"]
    summary = {
        "machine": {"cpus": os.cpu_count()},
        "runs": results,
        "growth_exponent": {"cluster_full": growth(full), "cluster_only": growth(only)},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary["growth_exponent"]))


if __name__ == "__main__":
    main()
