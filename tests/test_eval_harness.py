"""The harness drives the real service (writer, pipeline, thresholds) and the real re-index."""

from __future__ import annotations

import numpy as np
import pytest

from app.settings import Settings
from embeddings import Embedder
from evaluation import datasets
from evaluation.harness import CachedEmbedder, evaluate, run_online

needs_tatoeba = pytest.mark.skipif(
    not (datasets.DEV_DATA / "tatoeba").is_dir(), reason="no ../shared/dev-data/tatoeba"
)


@pytest.fixture(scope="module")
def cached(embedder: Embedder) -> CachedEmbedder:
    return CachedEmbedder(embedder)


class Counting:
    def __init__(self, inner: Embedder) -> None:
        self.inner, self.identity, self.texts = inner, inner.identity, 0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.texts += len(texts)
        return self.inner.embed(texts)

    def embed_query(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_query(texts)


def test_cached_embedder_embeds_each_text_once(embedder: Embedder) -> None:
    counting = Counting(embedder)
    cached = CachedEmbedder(counting)
    first = cached.embed(["a cat", "a dog", "a cat"])
    assert counting.texts == 2
    again = cached.embed(["a dog", "a cat"])
    assert counting.texts == 2
    np.testing.assert_array_equal(again, first[[1, 0]])
    np.testing.assert_allclose(first, embedder.embed(["a cat", "a dog", "a cat"]), atol=1e-6)
    assert cached.embed([]).shape == (0, embedder.identity.dim)


def test_thresholds_reach_the_service(cached: CachedEmbedder) -> None:
    """Settings overrides move the real decisions: nothing joins, or every story joins."""
    data = datasets.seed_story()
    apart = Settings(report_threshold=5.0, story_threshold=5.0, near_duplicate_threshold=5.0)
    res = run_online(data, cached, apart)
    assert res.thresholds["report"] == 5.0 and res.thresholds["story"] == 5.0
    for level in ("story", "report"):
        assert res.scores[level]["groups"] == len(data.items)
        assert res.scores[level]["pairwise"]["recall"] == 0.0
    together = run_online(data, cached, Settings(story_threshold=-1.0))
    assert together.scores["story"]["groups"] == 1
    assert together.scores["story"]["pairwise"]["recall"] == 1.0
    # the run's ids are the service's own: one story id for every item
    assert len({story for story, _ in together.assignments.values()}) == 1


def test_arrival_orders_are_seeded_and_averaged(cached: CachedEmbedder) -> None:
    data = datasets.seed_story()
    one = run_online(data, cached, seed=3)
    assert run_online(data, cached, seed=3).scores == one.scores
    res = evaluate(data, cached)
    assert res.orders == data.orders and res.mode == "online"
    assert set(res.scores) == {"story", "report"} and res.model == cached.identity.key


def test_seed_story_quality_at_the_model_thresholds(cached: CachedEmbedder) -> None:
    """A floor, not the calibration: the seed page must stay one story, apart from the rest."""
    story = evaluate(datasets.seed_story(), cached).scores["story"]
    assert story["bcubed"]["f1"] >= 0.9, story
    assert story["cross_lingual_recall"] >= 0.9, story


@needs_tatoeba
def test_tatoeba_translations_join_their_reports(cached: CachedEmbedder) -> None:
    data = datasets.load("tatoeba-fra").subset(150)
    res = evaluate(data, cached)
    assert set(res.scores) == {"report"}  # Tatoeba has no story labels worth scoring
    report = res.scores["report"]
    assert report["pairwise"]["f1"] >= 0.6, report
    assert report["cross_lingual_recall"] == report["pairwise"]["recall"]  # every pair crosses


def test_reindex_mode_runs_the_nightly_job(cached: CachedEmbedder) -> None:
    data = datasets.seed_story()
    res = evaluate(data, cached, mode="reindex", orders=1)
    assert res.mode == "reindex" and set(res.scores) == {"story", "report"}
    assert res.scores["story"]["bcubed"]["f1"] >= 0.9, res.scores["story"]


def test_unknown_mode_is_refused(cached: CachedEmbedder) -> None:
    with pytest.raises(ValueError, match="mode must be one of online, reindex"):
        evaluate(datasets.seed_story(), cached, mode="batch")


@needs_tatoeba
@pytest.mark.parametrize("mode", ["online", "reindex"])
def test_mutual_neighbours_recover_translations_through_the_pipeline(
    cached: CachedEmbedder, mode: str
) -> None:
    """The mutual-nearest-neighbour bonus reaches decisions in the real writer and the
    nightly re-cluster: more translation pairs joined, precision kept."""
    data = datasets.load("tatoeba-deu").subset(300)
    without = evaluate(data, cached, Settings(mutual_bonus=0.0), mode=mode, orders=1)
    with_bonus = evaluate(data, cached, Settings(mutual_bonus=0.05), mode=mode, orders=1)
    before, after = without.scores["report"]["pairwise"], with_bonus.scores["report"]["pairwise"]
    assert after["recall"] > before["recall"], (before, after)
    assert after["precision"] >= before["precision"] - 0.05, (before, after)
