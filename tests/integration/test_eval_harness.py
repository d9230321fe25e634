"""The harness drives the real service (writer, pipeline, thresholds) and the real re-index.
(Its scores on the seed story, online and re-indexed: tests/integration/test_seed_api.py.)"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder
from evaluation import datasets
from evaluation.harness import CachedEmbedder, _ingest, _ordered, evaluate, run_online

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
    """Overrides move the real decisions: nothing joins, or every story joins."""
    data = datasets.seed_story()
    apart = {"report": 5.0, "story": 5.0, "near_duplicate": 5.0, "event_link": False}
    res = run_online(data, cached, apart)
    assert res.thresholds["report"] == 5.0 and res.thresholds["story"] == 5.0
    for level in ("story", "report"):
        assert res.scores[level]["groups"] == len(data.items)
        assert res.scores[level]["pairwise"]["recall"] == 0.0
    together = run_online(data, cached, {"story": -1.0, "event_link": False})
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


@needs_tatoeba
def test_tatoeba_translations_join_their_reports(cached: CachedEmbedder) -> None:
    data = datasets.load("tatoeba-fra").subset(150)
    res = evaluate(data, cached)
    assert set(res.scores) == {"report"}  # Tatoeba has no story labels worth scoring
    report = res.scores["report"]
    assert report["pairwise"]["f1"] >= 0.6, report
    assert report["cross_lingual_recall"] == report["pairwise"]["recall"]  # every pair crosses


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
    without = evaluate(data, cached, {"mutual_bonus": 0.0}, mode=mode, orders=1)
    with_bonus = evaluate(data, cached, {"mutual_bonus": 0.05}, mode=mode, orders=1)
    before, after = without.scores["report"]["pairwise"], with_bonus.scores["report"]["pairwise"]
    assert after["recall"] > before["recall"], (before, after)
    assert after["precision"] >= before["precision"] - 0.05, (before, after)


needs_ntrex = pytest.mark.skipif(
    not (datasets.DEV_DATA / "ntrex" / "passages.jsonl").is_file(),
    reason="no ../shared/dev-data/ntrex",
)


@needs_ntrex
@pytest.mark.parametrize("mode", ["online", "reindex"])
def test_reports_with_many_variants_keep_taking_translations(
    cached: CachedEmbedder, mode: str
) -> None:
    """Passages translated into seven languages: without the relief a report's own
    variants crowd it, and its last translations open reports of their own
    (`scoring.variant_relief`, docs/quality.md experiment 23). Through the real writer
    and the nightly repair."""
    data = datasets.load("ntrex-passages")
    off = evaluate(data, cached, {"variant_relief": False}, mode=mode, orders=1)
    on = evaluate(data, cached, {"variant_relief": True}, mode=mode, orders=1)
    before, after = off.scores["report"], on.scores["report"]
    assert after["cross_lingual_recall"] > before["cross_lingual_recall"] + 0.05, (before, after)
    assert after["groups"] < before["groups"]  # fewer stray translations on their own


@needs_ntrex
def test_stray_paragraphs_are_taken_back_by_their_translations(cached: CachedEmbedder) -> None:
    """A paragraph that joined the translations of the paragraph before it, its own not
    yet there, leaves with its first translation (`assign.take_back`, and `assign.rehome`
    when nothing passes): through the real writer, far fewer reports mix two true ones."""
    data = datasets.load("ntrex-passages")

    def mixed(overrides: dict) -> tuple[int, dict]:
        res = run_online(data, cached, overrides)
        held: dict[int, set[str]] = {}
        for it in data.items:
            held.setdefault(res.assignments[it.key][1], set()).add(it.report)
        return sum(len(v) > 1 for v in held.values()), res.scores["report"]["pairwise"]

    stuck, before = mixed({"rehome": False})
    left, after = mixed({})
    assert left < stuck / 2, (left, stuck)
    assert after["precision"] > before["precision"] and after["f1"] > before["f1"], (before, after)


@needs_tatoeba
def test_rehomed_snippets_leave_consistent_reports(cached: CachedEmbedder, tmp_path: Path) -> None:
    """Snippets pulled out of a report by their late translation (`assign.rehome`) are
    stored in their new report, mostly beside that translation, and every report's and
    story's counts stay true."""
    data = datasets.load("tatoeba-ita").subset(300)
    service = build_service(Settings(data_dir=tmp_path), embedder=cached)
    try:
        answers = _ingest(service, _ordered(data, 0), 64)
        stored = service.repo.snippets([o.id for o in answers.values()])
    finally:
        service.close()
    moved = [k for k, o in answers.items() if stored[o.id].report_id != o.report_id]
    assert moved  # this set has translations that arrive after a wrong join
    db = sqlite3.connect(next(tmp_path.glob("*.db")))
    assert db.execute(
        "SELECT COUNT(*) FROM reports r WHERE r.snippet_count != "
        "(SELECT COUNT(*) FROM snippets s WHERE s.report_id = r.id) OR r.snippet_count < 1"
    ).fetchone() == (0,)
    assert db.execute(
        "SELECT COUNT(*) FROM stories st WHERE st.merged_into IS NULL AND st.report_count != "
        "(SELECT COUNT(*) FROM reports r WHERE r.story_id = st.id)"
    ).fetchone() == (0,)
    assert db.execute(
        "SELECT COUNT(*) FROM snippets s JOIN reports r ON r.id = s.report_id "
        "WHERE r.story_id != s.story_id"
    ).fetchone() == (0,)
    truth = {it.key: it.report for it in data.items}
    report_of = {k: stored[o.id].report_id for k, o in answers.items()}
    with_translation = [
        key
        for key in moved
        if any(report_of[k] == report_of[key] and truth[k] == truth[key] for k in truth if k != key)
    ]
    assert len(with_translation) >= 0.8 * len(moved), (len(with_translation), len(moved))
