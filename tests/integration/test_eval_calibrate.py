"""`storyline calibrate` on the session's model: the report knobs are searched together.
(Writing the file: tests/unit/test_calibration_file.py; the full sweeps:
tests/e2e/test_calibration_runs.py.)"""

from __future__ import annotations

import pytest

from embeddings import Embedder
from evaluation import calibrate, datasets
from evaluation.harness import CachedEmbedder


@pytest.fixture(scope="module")
def cached(embedder: Embedder) -> CachedEmbedder:
    return CachedEmbedder(embedder)


def test_margin_weight_and_mutual_bonus_are_searched_with_the_report_threshold(
    cached: CachedEmbedder,
) -> None:
    cal = calibrate.calibrate(
        [datasets.seed_story()],
        cached,
        report_values=[0.65],
        story_values=[0.45],
        margin_values=[0.0, 0.75],
        mutual_values=[0.0, 0.1],
    )
    report_rows = [r for r in cal.rows if r["knob"] == "report"]
    combos = sorted((r["margin_weight"], r["mutual_bonus"]) for r in report_rows)
    assert combos == [(0.0, 0.0), (0.0, 0.1), (0.75, 0.0), (0.75, 0.1)]
    best = max(report_rows, key=lambda r: r["pairwise"]["f1"])["pairwise"]["f1"]
    assert cal.scores["report"] == best
    assert cal.values["report"] == 0.65
    assert cal.values["margin_weight"] in (0.0, 0.75) and cal.values["mutual_bonus"] in (0.0, 0.1)
    assert [r["knob"] for r in cal.rows].count("story") == 1  # once, at the chosen values
    for knob in ("margin_weight", "mutual_bonus"):
        assert f"{knob} {cal.values[knob]:g} (macro pairwise F1" in cal.note()
