"""Start-up steps begun before the service (`engine.startup`): taken while the file is the
one that was read, errors raised where the step is taken."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine import startup
from index import FlatIndex, IndexCorruptError
from storage.errors import StorageCorruptError
from storage.sqlite import SQLiteRepository
from storage.sqlite.schema import closed_cleanly


def saved_index(path: Path, n: int) -> None:
    rng = np.random.default_rng(n)
    vectors = rng.standard_normal((n, 8)).astype(np.float32)
    index = FlatIndex(8)
    index.add(np.arange(1, n + 1), vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    index.save(path, {"model": "m", "n": n})


def test_an_index_loaded_ahead_is_taken_only_while_it_is_the_same_file(tmp_path: Path) -> None:
    db, path = tmp_path / "none.db", tmp_path / "vectors.faiss"
    saved_index(path, 100)
    startup.begin(db, path)
    begun = startup.take("index", path)
    assert begun is not None
    index, meta = begun.result()
    assert len(index) == 100 and meta == {"model": "m", "n": 100}
    assert startup.take("index", path) is None  # taken once

    startup.begin(db, path)
    saved_index(path, 101)  # replaced after the load began: the caller loads it again
    assert startup.take("index", path) is None

    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))
    startup.begin(db, path)
    begun = startup.take("index", path)
    assert begun is not None
    with pytest.raises(IndexCorruptError, match="checksum"):
        begun.result()


def test_a_database_check_begun_ahead_raises_where_it_is_taken(tmp_path: Path) -> None:
    path, no_index = tmp_path / "s.db", tmp_path / "none.faiss"
    SQLiteRepository(path, 4).close()
    startup.begin(path, no_index)
    begun = startup.take("database", path)
    assert begun is not None
    begun.result()
    assert not closed_cleanly(path)  # the check ahead consumed the clean-stop mark
    assert startup.take("index", no_index) is None  # no file, nothing begun

    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database" * 100)
    startup.begin(bad, no_index)
    begun = startup.take("database", bad)
    assert begun is not None
    with pytest.raises(StorageCorruptError, match="bad.db"):
        begun.result()
