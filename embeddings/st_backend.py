"""Any sentence-transformers model, by hub name or local path: the road to bigger models."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from embeddings.base import ModelIdentity, normalise_rows


def _version_of(model_path: Path | None, name: str) -> str:
    """A version that changes when the weights' configuration changes.

    Hashing the small config files (not the weights) is enough to notice a
    different checkpoint under the same name, and it is instant.
    """
    if model_path is None or not model_path.is_dir():
        return "hub"
    digest = hashlib.sha256(name.encode())
    for cfg in sorted(model_path.glob("*.json")):
        digest.update(cfg.name.encode())
        digest.update(cfg.read_bytes())
    return digest.hexdigest()[:12]


class SentenceTransformerEmbedder:
    def __init__(
        self,
        name_or_path: str,
        device: str | None = None,
        batch_size: int = 64,
        query_prefix: str = "",
        document_prefix: str = "",
    ) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - declared dependency
            raise ImportError(
                "sentence-transformers models need: pip install sentence-transformers torch==2.13.0"
            ) from exc
        path = Path(name_or_path).expanduser()
        local = path if path.exists() else None
        try:
            self._model = SentenceTransformer(str(local or name_or_path), device=device)
        except Exception as exc:
            raise RuntimeError(
                f"Could not load sentence-transformers model {name_or_path!r}: {exc}. "
                "Give a local model directory (this machine may have no access to a model hub) "
                "or a name already in the local cache."
            ) from exc
        dimension = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension  # sentence-transformers < 5.1
        )
        dim = dimension()
        if dim is None:
            raise RuntimeError(f"Model {name_or_path!r} does not report its embedding dimension.")
        name = local.name if local else name_or_path
        self.identity = ModelIdentity(f"st:{name}", int(dim), _version_of(local, name))
        self._batch_size = batch_size
        self._query_prefix = query_prefix
        self._document_prefix = document_prefix

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.identity.dim), dtype=np.float32)
        out = self._model.encode(
            texts,
            batch_size=self._batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return normalise_rows(np.asarray(out))

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._encode([self._document_prefix + t for t in texts])

    def embed_query(self, texts: list[str]) -> np.ndarray:
        return self._encode([self._query_prefix + t for t in texts])
