"""CLI commands that stop before loading anything: listings and usage errors, in this
process (the commands at work: tests/integration/test_eval_cli.py,
tests/integration/test_reindex_http.py and tests/e2e/test_cli.py)."""

from __future__ import annotations

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
