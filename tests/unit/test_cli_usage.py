"""CLI commands that stop before loading anything: listings and usage errors, in this
process (the commands at work: tests/integration/test_eval_cli.py,
tests/integration/test_reindex_http.py and tests/e2e/test_cli.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app import cli
from app.cli import main
from evaluation import datasets


def test_eval_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--list"]) == 0
    out = capsys.readouterr().out
    for name in datasets.available():
        assert name in out
    assert "story, report" in out.splitlines()[0]


def test_eval_unknown_dataset_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "seed", "nope"]) == 2
    assert "unknown dataset 'nope'" in capsys.readouterr().err


def test_cli_rejects_a_bad_window(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["reindex", "--data-dir", str(tmp_path), "--window", "0"]) == 2
    assert "window" in capsys.readouterr().err


def test_cli_without_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["reindex", "--data-dir", str(tmp_path / "none")]) == 2
    assert "no database" in capsys.readouterr().err


def test_ingest_checks_every_line_before_loading_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file with only bad lines is reported at once; no data folder is opened."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "  "}\n[1, 2]\n{nope\n{"text": "x", "lang": "english"}\n')
    data = tmp_path / "data"
    assert cli.main(["ingest", str(bad), "--data-dir", str(data), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "created=0 duplicate=0 exists=0 rejected=4"
    assert re.findall(r"rejected line (\d+)", out) == ["1", "2", "3", "4"]
    assert "JSON object" in out and "not valid JSON" in out and "lang" in out
    assert not data.exists()


def test_ingest_drops_fields_outside_the_format_unless_strict(tmp_path: Path) -> None:
    from app.cli.ingest import check
    from app.settings import Settings

    path = tmp_path / "labelled.jsonl"
    lines = [{"text": "Zwei Züge stießen zusammen", "lang": "de", "story": "s1", "key": 1}] * 2
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    found = check(path, Settings(data_dir=tmp_path / "data"))
    assert found.good == [1, 2] and not found.rejected and found.without_lang == 0
    assert found.ignored == {"story": 2, "key": 2}
    strict = check(path, Settings(data_dir=tmp_path / "data"), strict=True)
    assert not strict.good and strict.rejected[0] == (1, "unknown field 'story' (--strict)")
