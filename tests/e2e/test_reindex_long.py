"""The re-index on long inputs: purer than online assignment on 300 Tatoeba translation
pairs in the worst arrival order, and `storyline reindex` dry run, run and re-run on a
split data folder (the re-index itself: tests/integration/test_reindex.py)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from app import cli
from embeddings import Embedder
from engine.service import Service
from evaluation.datasets import Dataset, tatoeba
from tests.helpers import assert_consistent, ingest_items, run_reindex, scores, split_online


def test_reindex_never_undoes_online_on_tatoeba(service: Service, embedder: Embedder) -> None:
    """The worst arrival order (all English first): the repair splits no report online made
    and loses no score (stories/repair.py)."""
    try:
        full = tatoeba("deu-eng")
    except FileNotFoundError:
        pytest.skip("shared/dev-data/tatoeba is not on this machine")
    data = Dataset("tatoeba-300", full.items[:600], "300 translation pairs")
    order = list(data.items)
    random.Random(0).shuffle(order)
    order.sort(key=lambda it: it.lang != "en")  # all English first: the worst order
    ids = ingest_items(service, order, batch=64)
    story_before, report_before = scores(service, data, ids)
    assert run_reindex(service)["state"] == "succeeded"
    story_after, report_after = scores(service, data, ids)
    assert report_after["groups"] <= report_before["groups"]
    assert report_after["bcubed"]["recall"] >= report_before["bcubed"]["recall"]
    assert report_after["bcubed"]["f1"] >= report_before["bcubed"]["f1"] - 0.01
    assert story_after["groups"] <= story_before["groups"]
    assert_consistent(service)


def test_cli_dry_run_then_real_run(
    tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, _ = split_online(tmp_path, embedder)
    data_dir = str(settings.data_dir)
    assert cli.main(["reindex", "--data-dir", data_dir, "--dry-run", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "dry run: nothing was changed" in out and "would merge story" in out
    assert cli.main(["reindex", "--data-dir", data_dir, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "re-index done" in out and "merged" in out and "time: snapshot" in out
    assert cli.main(["reindex", "--data-dir", data_dir, "--quiet"]) == 0
    assert "0 merged, 0 split" in capsys.readouterr().out
