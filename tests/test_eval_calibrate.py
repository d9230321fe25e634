"""`storyline calibrate`: sweeps pick thresholds, --write stores them with the model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from embeddings import Embedder
from evaluation import calibrate, datasets
from evaluation.harness import CachedEmbedder
from evaluation.sweep import best_value, grid

needs_tatoeba = pytest.mark.skipif(
    not (datasets.DEV_DATA / "tatoeba").is_dir(), reason="no ../shared/dev-data/tatoeba"
)


@pytest.fixture(scope="module")
def cached(embedder: Embedder) -> CachedEmbedder:
    return CachedEmbedder(embedder)


@pytest.mark.slow
@needs_tatoeba
def test_calibrate_picks_the_best_swept_values(cached: CachedEmbedder) -> None:
    sets = [datasets.load("tatoeba-deu").subset(60), datasets.seed_story()]
    cal = calibrate.calibrate(
        sets, cached, report_values=[0.3, 0.65, 0.95], story_values=[-1.0, 0.45, 5.0]
    )
    assert cal.datasets == {"report": ["tatoeba-deu", "seed"], "story": ["seed"]}
    assert set(cal.curves["report"]) == {0.3, 0.65, 0.95}
    assert cal.values["report"] == max(cal.curves["report"], key=cal.curves["report"].get)
    # a story threshold that joins everything, or nothing, cannot beat a sensible one
    assert cal.values["story"] == 0.45
    assert cal.curves["story"][0.45] > max(cal.curves["story"][-1.0], cal.curves["story"][5.0])
    # every point is kept for the record: 3 values x 2 sets, then 3 values x 1 set
    assert len(cal.rows) == 9


@pytest.mark.slow
def test_coarse_then_fine_search(cached: CachedEmbedder) -> None:
    cal = calibrate.calibrate([datasets.seed_story()], cached, report_values=[0.65])
    curve = cal.curves["story"]
    coarse = grid(*calibrate.COARSE["story"])
    assert set(coarse) <= set(curve)
    coarse_best = best_value({v: curve[v] for v in coarse})
    fine = sorted(set(curve) - set(coarse))
    assert fine and all(abs(v - coarse_best) <= calibrate.FINE_SPAN + 1e-9 for v in fine)
    assert cal.values["story"] == best_value(curve)


def test_write_keeps_the_other_numbers_and_models(tmp_path: Path, cached: CachedEmbedder) -> None:
    path = tmp_path / "calibration.json"
    shutil.copy(calibrate.CALIBRATION_FILE, path)
    before = json.loads(path.read_text(encoding="utf-8"))
    before["other-model"] = {"near_duplicate": 0.9, "report": 0.5, "story": 0.3}
    path.write_text(json.dumps(before), encoding="utf-8")
    cal = calibrate.Calibration(cached.identity.name, cached.identity.key, "pairwise")
    cal.values, cal.scores = {"report": 0.61, "story": 0.47}, {"report": 0.8, "story": 0.9}
    cal.datasets = {"report": ["tatoeba-deu"], "story": ["seed"]}
    entry = calibrate.write(cal, path)
    after = json.loads(path.read_text(encoding="utf-8"))
    assert after["other-model"] == before["other-model"]
    mine = after[cached.identity.name]
    assert mine == entry and (mine["report"], mine["story"]) == (0.61, 0.47)
    kept = {k: v for k, v in before[cached.identity.name].items() if k not in cal.values}
    kept.pop("calibrated_on")
    assert {k: mine[k] for k in kept} == kept
    assert "storyline calibrate" in mine["calibrated_on"]
    assert "tatoeba-deu" in mine["calibrated_on"] and cached.identity.key in mine["calibrated_on"]
    assert not list(tmp_path.glob("*.tmp"))


def test_write_a_new_model_starts_from_the_fallback(tmp_path: Path) -> None:
    from embeddings.thresholds import FALLBACK, Thresholds

    path = tmp_path / "fresh.json"
    cal = calibrate.Calibration("st:new", "st:new@abc", "bcubed", {"report": 0.7}, {"report": 0.5})
    calibrate.write(cal, path)
    entry = json.loads(path.read_text(encoding="utf-8"))["st:new"]
    assert entry["report"] == 0.7 and entry["story"] == FALLBACK.story
    # what embeddings.thresholds reads back
    numbers = {k: float(v) for k, v in entry.items() if k != "calibrated_on"}
    assert Thresholds(**numbers, calibrated_on=entry["calibrated_on"]).report == 0.7


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
