"""The batch k-NN graph: exact while small, IVF when large, checked against brute force."""

from __future__ import annotations

import numpy as np

from index.graph import knn_graph


def clustered(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n // 20, dim))
    x = centres[rng.integers(0, len(centres), n)] + 0.3 * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def brute(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    sims = vectors[queries] @ vectors.T
    return np.argsort(-sims, axis=1)[:, :k]


def test_small_collections_are_exact() -> None:
    v = clustered(2_000)
    q = np.arange(0, 2_000, 7)
    scores, found = knn_graph(v, q, 10)
    assert (found[:, 0] == q).all()  # itself first
    assert np.allclose(scores, np.take_along_axis(v[q] @ v.T, found, axis=1), atol=1e-5)
    exact = brute(v, q, 10)
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact, strict=True)]) == 1.0


def test_large_collections_use_ivf_with_high_recall() -> None:
    v = clustered(20_000, seed=1)
    q = np.random.default_rng(2).choice(20_000, 300, replace=False)
    done = []
    scores, found = knn_graph(
        v, q, 10, exact_below=1_000, chunk=100, progress=lambda d, t: done.append((d, t))
    )
    exact = brute(v, q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact, strict=True)])
    assert recall >= 0.9
    assert done[-1] == (300, 300) and len(done) == 3
    assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first


def test_degenerate_sizes() -> None:
    v = clustered(40)[:1]
    scores, found = knn_graph(v, np.array([0]), 5)
    assert found.tolist() == [[0]]
    scores, found = knn_graph(v, np.zeros(0, dtype=np.int64), 5)
    assert found.shape == (0, 1)
