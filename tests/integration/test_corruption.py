"""Damaged files at start-up, in this process: a bad index is rebuilt from the database;
a bad database stops the service with a message that names the file and what to do.
(The same as `storyline serve` and `storyline check` processes:
tests/e2e/test_corruption_process.py.)"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder
from engine.check import check
from storage.errors import StorageCorruptError
from storage.sqlite import SQLiteRepository
from tests.helpers import PAGE, copy_folder, damage_db, damage_index

INDEX_DAMAGE = ["truncated", "header_cut", "empty", "bit_flip", "garbage", "trailing"]


@pytest.mark.parametrize("how", INDEX_DAMAGE)
def test_damaged_index_is_rebuilt_in_process(
    clean_folder: tuple[Path, int],
    tmp_path: Path,
    embedder: Embedder,
    how: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = copy_folder(clean_folder[0], tmp_path / "data")
    damage_index(data / "vectors.faiss", how)
    settings = Settings(data_dir=data)
    with caplog.at_level(logging.WARNING):
        svc = build_service(settings, embedder=embedder)
    try:
        assert "corrupt" in caplog.text and "rebuilt from the database" in caplog.text
        assert svc.ready
        stored = {int(i) for ids, _ in svc.repo.iter_vectors() for i in ids}
        assert set(svc.index.ids().tolist()) == stored and len(stored) == clean_folder[1]
        top = svc.search("earthquake in Chile", 1)
        assert "Chile" in top[0]["title"]
    finally:
        svc.close()
    report = check(settings.db_path, settings.index_path)
    assert report.ok and report.index_status == "exact", report.as_dict()


@pytest.mark.parametrize("how", ["header", "truncated", "zeroed_page", "not_sqlite"])
def test_corrupt_database_is_refused_in_process(
    clean_folder: tuple[Path, int], tmp_path: Path, embedder: Embedder, how: str
) -> None:
    data = copy_folder(clean_folder[0], tmp_path / "data")
    damage_db(data / "storyline.db", how)
    with pytest.raises(StorageCorruptError) as info:
        build_service(Settings(data_dir=data), embedder=embedder)
    message = str(info.value)
    assert str(data / "storyline.db") in message and "backup" in message
    # the refused start must not have left the folder locked or the file rewritten
    assert (data / "storyline.db").stat().st_size > 0


def test_every_damaged_page_is_detected(clean_folder: tuple[Path, int], tmp_path: Path) -> None:
    """Random bytes over any one page of the database: opening it must fail, never pass."""
    src = clean_folder[0] / "storyline.db"
    pages = src.stat().st_size // PAGE
    assert pages > 5
    missed = []
    for page in range(pages):
        dst = tmp_path / f"p{page}.db"
        raw = bytearray(src.read_bytes())
        raw[page * PAGE : (page + 1) * PAGE] = os.urandom(PAGE)
        dst.write_bytes(bytes(raw))
        try:
            SQLiteRepository(dst).close()
            missed.append(page)
        except StorageCorruptError:
            pass
    assert not missed, f"pages {missed} of {pages} garbled without the database noticing"
