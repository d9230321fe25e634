"""FAISS-backed vector index behind a small, storage-agnostic interface."""

from index.base import VectorIndex
from index.errors import IndexCorruptError
from index.factory import build_index, choose_kind, load_index, rebuild
from index.flat import FlatIndex
from index.hnsw import HNSWIndex

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
