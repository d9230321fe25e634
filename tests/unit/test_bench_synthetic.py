"""The benchmark tooling's pure parts: the synthetic data behaves as the benchmarks assume,
its embedder loads by model spec, and the hold-out threshold choice (a tiny run of
bench/service.py: tests/e2e/test_bench_service.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.holdout import holdout  # noqa: E402
from bench.synthetic import SyntheticEmbedder, factory, snippets  # noqa: E402
from embeddings import Embedder  # noqa: E402
from stories.text import model_input  # noqa: E402


def test_snippets_are_deterministic_and_shaped_like_news() -> None:
    a, b = snippets(300, seed=5), snippets(300, seed=5)
    assert a == b
    assert snippets(300, seed=6) != a
    assert len({s.external_id for s in a}) == 300
    assert {s.lang for s in a} == {"en", "ru", "es"}
    assert all(a[i].published_at <= a[i + 1].published_at for i in range(len(a) - 1))
    assert 180 < np.mean([len(s.text) for s in a]) < 320
    events = {s.event for s in a}
    assert 20 < len(events) < 150  # several snippets per event
    assert len({s.report for s in a}) > len(events)  # and several reports per event


def test_synthetic_embedder_clusters_by_event_and_report() -> None:
    items = snippets(600, seed=9)
    emb = SyntheticEmbedder()
    assert isinstance(emb, Embedder)
    vectors = emb.embed([model_input(s.title, s.text, 2000) for s in items])
    assert vectors.dtype == np.float32 and vectors.shape == (600, 512)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vectors, emb.embed([model_input(s.title, s.text, 2000) for s in items]))
    sims = vectors @ vectors.T
    event = np.array([s.event for s in items])
    report = np.array([s.report for s in items])
    lang = np.array([s.lang for s in items])
    upper = np.triu(np.ones_like(sims, dtype=bool), 1)
    same_report = (report[:, None] == report[None, :]) & upper
    translations = same_report & (lang[:, None] != lang[None, :])
    same_event = (event[:, None] == event[None, :]) & ~same_report & upper
    unrelated = (event[:, None] != event[None, :]) & upper
    assert np.median(sims[translations]) > 0.85
    assert 0.4 < np.median(sims[same_event]) < np.median(sims[translations])
    assert np.median(sims[unrelated]) < 0.2


def test_factory_is_loadable_by_model_spec() -> None:
    from embeddings import load_embedder

    emb = load_embedder("py:bench.synthetic:factory", threads=2)
    assert emb.identity.name == "bench-synthetic"
    assert factory().identity == emb.identity


def test_holdout_picks_each_threshold_on_the_other_sets() -> None:
    table = {"a": {0.6: 0.9, 0.7: 0.5}, "b": {0.6: 0.4, 0.7: 0.8}, "c": {0.6: 0.3, 0.7: 0.6}}
    rows = [
        {"knob": "report", "level": "report", "dataset": d, "value": t, "pairwise": {"f1": f}}
        for d, by in table.items()
        for t, f in by.items()
    ]
    res = holdout(rows)
    # a held out: b and c prefer 0.7 (means 0.7 vs 0.35), where a scores 0.5 against its 0.9
    assert res["datasets"]["a"]["chosen_on_others"] == 0.7
    assert res["datasets"]["a"]["loss"] == pytest.approx(0.4)
    # b held out: a and c prefer 0.6 (0.6 vs 0.55); b loses 0.4 there
    assert res["datasets"]["b"]["chosen_on_others"] == 0.6
    assert res["datasets"]["b"]["f1_at_chosen"] == 0.4
    assert res["pooled_choice"] == 0.7  # means 0.533 vs 0.633
