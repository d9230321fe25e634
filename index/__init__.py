"""FAISS-backed vector index behind a small, storage-agnostic interface."""

import os

# FAISS's OpenMP threads spin for a while after each parallel search; on a small machine
# they then fight the embedding model's BLAS threads for the cores: a one-query search
# right after an embedding took 3-10 ms instead of 0.1-1 ms, and embedding slowed too
# (bench/service.py). Sleeping threads cost nothing. Read when libgomp loads, so before
# the first `import faiss`; an operator's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import faiss  # noqa: E402

from index.base import VectorIndex
from index.errors import IndexCorruptError
from index.factory import build_index, choose_kind, load_index, rebuild
from index.flat import FlatIndex
from index.hnsw import HNSWIndex

# faiss-cpu 1.15 ships with distance_compute_blas_threshold = 128000: every batch smaller
# than that (the writer's 64 queries, the re-index's k-NN blocks) takes the one-query-at-a-
# time path, 8x slower at 100k vectors than the matrix product (bench/service.py). 20 is
# the threshold FAISS used for years; single queries stay on the direct path.
faiss.cvar.distance_compute_blas_threshold = 20

__all__ = [
    "FlatIndex",
    "HNSWIndex",
    "IndexCorruptError",
    "VectorIndex",
    "build_index",
    "choose_kind",
    "load_index",
    "rebuild",
]
