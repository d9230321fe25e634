"""FAISS-backed vector index behind a small, storage-agnostic interface."""

import faiss

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
