"""The index file beside the database (`engine.index_files`) with an HNSW index: a start
defers what came after the file's watermark into the exact tail, a clean stop with only
the tail new writes nothing, and batches fold the tail into the graph (no model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.index_files import IndexFiles
from index import HNSWIndex, load_index
from storage.records import BatchWrite, ReportState
from storage.sqlite import SQLiteRepository
from tests.unit.test_storage import DIM, snippet, story

MODEL = "m@1"


def _store(repo: SQLiteRepository, ids: range) -> None:
    repo.writer.commit(
        BatchWrite(
            [snippet(i, i, i) for i in ids],
            [story(i, 1, {"en": 1}, 10.0) for i in ids],
            [ReportState(i, i, 1000.0, 1) for i in ids],
            MODEL,
        )
    )


def test_a_start_defers_what_came_after_the_file_and_batches_fold_it(tmp_path: Path) -> None:
    repo = SQLiteRepository(tmp_path / "db.sqlite", DIM)
    path = tmp_path / "vectors.faiss"
    _store(repo, range(1, 31))
    index = HNSWIndex(DIM)
    stored = repo.vectors(list(range(1, 31)))
    index.add(np.arange(1, 31), np.vstack([stored[i] for i in range(1, 31)]))
    IndexFiles(repo, path, 1000).snapshot(index, MODEL)
    _store(repo, range(31, 111))  # committed after the snapshot, then the process died

    files = IndexFiles(repo, path, 1000)
    started = files.open(MODEL, DIM)
    assert isinstance(started, HNSWIndex) and len(started) == 110 and started.deferred == 80
    assert files.unchanged(started)  # a clean stop now would write nothing: no file holds a tail
    top, _ = started.search(np.vstack([stored[5]]), 1)
    assert top[0, 0] > 0.99
    files.fold(started)  # after a writer batch
    assert started.deferred == 16 and not files.unchanged(started)  # the graph grew
    files.snapshot(started, MODEL)
    saved, meta = load_index(path)
    assert len(saved) == 94 and meta["watermark"] == 94  # the graph: 1-94, the tail above it
    again = IndexFiles(repo, path, 1000).open(MODEL, DIM)
    assert len(again) == 110 and again.deferred == 16
