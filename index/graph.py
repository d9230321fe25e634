"""k-NN graphs for batch jobs: every query at once, exact while small, IVF when large.

The service's own index answers one micro-batch at a time and is chosen for
that (index/factory.py). A batch job asks for the neighbours of up to millions
of snippets at once: brute force is quadratic, and building HNSW costs more
than the search it saves, whereas an inverted-file index trains in seconds and
searches `nprobe` lists per query (recall@10 about 0.97 at nprobe=16 on the
re-index benchmark; see bench/reindex.py).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from index.untyped import faiss

EXACT_BELOW = 50_000


def knn_graph(
    vectors: np.ndarray,
    queries: np.ndarray,
    k: int,
    *,
    exact_below: int = EXACT_BELOW,
    nprobe: int = 16,
    chunk: int = 20_000,
    progress: Callable[[int, int], None] | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k by inner product of `vectors[queries]` among `vectors`.

    Returns (scores float32 (q, k), positions int64 (q, k)), best first; -1 pads.
    The query itself is usually among its own hits; callers drop it.
    """
    n, dim = vectors.shape
    k = min(k, n)
    if k == 0 or len(queries) == 0:
        return np.zeros((len(queries), k), np.float32), np.full((len(queries), k), -1, np.int64)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index: faiss.Index
    if n < exact_below:
        index = faiss.IndexFlatIP(dim)
    else:
        nlist = int(4 * np.sqrt(n))
        quantizer = faiss.IndexFlatIP(dim)  # kept alive by this frame: IVF does not own it
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        sample = np.random.default_rng(seed).choice(n, min(n, 40 * nlist), replace=False)
        index.train(vectors[np.sort(sample)])
        index.nprobe = nprobe
    index.add(vectors)
    scores = np.empty((len(queries), k), dtype=np.float32)
    found = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        pos = queries[start : start + chunk]
        scores[start : start + len(pos)], found[start : start + len(pos)] = index.search(
            vectors[pos], k
        )
        if progress is not None:
            progress(start + len(pos), len(queries))
    return scores, found
