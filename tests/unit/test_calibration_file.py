"""`storyline calibrate --write`: the calibration file keeps every other model and number,
and a new model starts from the fallback (the sweeps themselves:
tests/integration/test_eval_calibrate.py and tests/e2e/test_calibration_runs.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from embeddings import ModelIdentity
from evaluation import calibrate
from stories.params import FALLBACK, Params

USEM3 = ModelIdentity("usem3", 512, "test")  # an entry the bundled file has; no model loaded


def test_write_keeps_the_other_numbers_and_models(tmp_path: Path) -> None:
    path = tmp_path / "calibration.json"
    shutil.copy(calibrate.CALIBRATION_FILE, path)
    before = json.loads(path.read_text(encoding="utf-8"))
    before["other-model"] = {"near_duplicate": 0.9, "report": 0.5, "story": 0.3}
    path.write_text(json.dumps(before), encoding="utf-8")
    cal = calibrate.Calibration(USEM3.name, USEM3.key, "pairwise")
    cal.values, cal.scores = {"report": 0.61, "story": 0.47}, {"report": 0.8, "story": 0.9}
    cal.datasets = {"report": ["tatoeba-deu"], "story": ["seed"]}
    entry = calibrate.write(cal, path)
    after = json.loads(path.read_text(encoding="utf-8"))
    assert after["other-model"] == before["other-model"]
    mine = after[USEM3.name]
    assert mine == entry and (mine["report"], mine["story"]) == (0.61, 0.47)
    kept = {k: v for k, v in before[USEM3.name].items() if k not in cal.values}
    kept.pop("calibrated_on")
    assert {k: mine[k] for k in kept} == kept
    assert "storyline calibrate" in mine["calibrated_on"]
    assert "tatoeba-deu" in mine["calibrated_on"] and USEM3.key in mine["calibrated_on"]
    assert not list(tmp_path.glob("*.tmp"))


def test_write_a_new_model_starts_from_the_fallback(tmp_path: Path) -> None:
    path = tmp_path / "fresh.json"
    cal = calibrate.Calibration("st:new", "st:new@abc", "bcubed", {"report": 0.7}, {"report": 0.5})
    calibrate.write(cal, path)
    entry = json.loads(path.read_text(encoding="utf-8"))["st:new"]
    assert entry["report"] == 0.7 and entry["story"] == FALLBACK.story
    # what the service reads back (embeddings.calibration -> stories.params)
    params = Params.calibrated(entry)
    assert (params.report, params.story) == (0.7, FALLBACK.story)
    assert params.calibrated_on == entry["calibrated_on"]
