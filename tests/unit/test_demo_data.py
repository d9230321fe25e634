"""`storyline demo`'s data: from ../shared when it is there, else the shipped subset, said
out loud; every snippet is valid input with an external_id. (The demo serving and loading:
tests/e2e/test_demo.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli.demo import SHARED, SHIPPED, load_data
from app.cli.ingest import check
from app.settings import Settings


def test_without_shared_the_shipped_subset_is_used_and_named(tmp_path: Path) -> None:
    data = load_data(300, shared=tmp_path / "absent")
    assert len(data.seed) == 13 and len(data.passages) == 150
    assert all("not found" in note and str(SHIPPED) in note for note in data.notes)
    assert len(load_data(40, shared=tmp_path).passages) == 40


def test_the_shipped_files_are_valid_ingest_input(tmp_path: Path) -> None:
    for name in ("seed-story.jsonl", "ntrex-passages.jsonl"):
        found = check(SHIPPED / name, Settings(data_dir=tmp_path))
        assert found.good and not found.rejected and not found.ignored, name
        assert found.without_lang == 0


@pytest.mark.skipif(not (SHARED / "seed-story.txt").exists(), reason="no ../shared")
def test_with_shared_the_seed_page_and_the_dev_stream_are_read() -> None:
    data = load_data(300)
    assert len(data.seed) == 13 and len(data.passages) == 300
    ids = [s["external_id"] for s in data.seed + data.passages]
    assert len(set(ids)) == len(ids) and all(i.startswith(("seed:", "ntrex:")) for i in ids)
    assert "not found" not in " ".join(data.notes)
    shipped = load_data(150, shared=SHARED.parent / "absent")
    assert shipped.seed == data.seed and shipped.passages == data.passages[:150]
